"""The Keras Tuner searches of `tuning/`: spaces, the quick grid, distributed and resumed runs.

Tiny settings everywhere (LANTM on `lantm_copy` with `alphabet_size=4,
max_length=3`, a few steps, one test batch, no XLA): the file runs in a few
minutes on two CPU cores.
"""

import contextlib
import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

kt = pytest.importorskip("keras_tuner")
pytest.importorskip("tensorboard")  # Keras Tuner's TensorFlow trials import it.

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUNING = os.path.join(ROOT, "tuning")
if TUNING not in sys.path:
    sys.path.insert(0, TUNING)

import hypermodels  # noqa: E402
import search  # noqa: E402
import tuners  # noqa: E402

TINY = ["--task-arg", "alphabet_size=4", "--task-arg", "max_length=3", "--test-batches", "1",
        "--no-jit", "--verbose", "0"]
#: A 2 x 2 grid: two learning rates, seeds 1 and 2.
GRID_4 = ["--model", "lantm", "--task", "copy", "--quick", "--steps", "6",
          "--fix", "seed=1,2"] + TINY
#: A 3-point grid: seeds 1, 2, 3.
GRID_3 = ["--model", "lantm", "--task", "copy", "--quick", "--steps", "6",
          "--fix", "learning_rate=0.01", "--fix", "seed=1,2,3"] + TINY


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND=keras.backend.backend(),
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    for name in (tuners.TUNER_ID, tuners.ORACLE_IP, tuners.ORACLE_PORT):
        env.pop(name, None)
    return env


def _trial_states(project_dir):
    states = {}
    for entry in sorted(os.listdir(project_dir)):
        path = os.path.join(project_dir, entry, "trial.json")
        if entry.startswith("trial_") and os.path.exists(path):
            with open(path) as f:
                states[entry] = json.load(f)
    return states


def _key(values):
    return tuple(sorted(values.items()))


def _fit_events(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _grid_points(space):
    names = list(space)
    return {_key(dict(zip(names, combo))) for combo in itertools.product(*space.values())}


def _search_space(argv):
    return search.search_space(search.settings(search.parser().parse_args(argv)))


# ---------------------------------------------------------------------------
# Spaces (no training).


@pytest.mark.parametrize("model, size", [("lantm", 36), ("lantm-s", 36), ("slantm", 72),
                                         ("slantm-s", 72), ("ram", 72), ("tape", 144),
                                         ("lstm", 96)])
def test_table_a1_grids_have_the_papers_size(model, size):
    space = hypermodels.table_a1_space(model)
    assert hypermodels.grid_size(space) == size
    assert list(space)[-1] == "seed" and space["seed"] == [1, 2, 3]
    if model == "lstm":
        assert space["learning_rate"] == [2e-1, 2e-2, 2e-3, 2e-4]
        assert space["layers"] == [1, 2, 3, 4] and space["decay_delay"] == [500, 700]
    else:
        assert space["learning_rate"] == [1e-2, 2e-2, 4e-2]
        assert space["decay_delay"] == [300, 600] and space["init"] == ["1", "*"]


def test_restrict_space_casts_to_the_dimension_type():
    space = hypermodels.restrict_space(hypermodels.table_a1_space("slantm"),
                                       {"init": [1], "bound_action": ["False"], "seed": [2]})
    assert space["init"] == ["1"] and space["bound_action"] == [False] and space["seed"] == [2]
    with pytest.raises(ValueError, match="Unknown hyperparameter"):
        hypermodels.restrict_space(space, {"momentum": [0.9]})


def test_objective_is_coarse_first_then_fine():
    # One more sequence right in 3,200 beats any fine accuracy.
    assert (hypermodels.lie_access_objective(0.0, 100 / 3200)
            > hypermodels.lie_access_objective(100.0, 0.0))
    assert hypermodels.lie_access_objective(60.0, 5.0) > hypermodels.lie_access_objective(59.0, 5.0)


def test_every_hypermodel_builds(tmp_path):
    for model in hypermodels.LIE_ACCESS_MODELS:
        hypermodel = hypermodels.LieAccessHyperModel(
            model, "copy", "small", steps=10, task_args={"alphabet_size": 4, "max_length": 3},
            space=hypermodels.quick_lie_access_space(model), jit_compile=False)
        built = hypermodel.build(kt.HyperParameters())
        assert built.output_shape[-1] == hypermodel.task.output_size
    for cell in hypermodels.MEMORY_CELLS:
        hypermodel = hypermodels.MemoryHyperModel(
            cell, "copy", steps=4, task_args={"num_bits": 4, "max_length": 3},
            space=hypermodels.quick_memory_space(cell), jit_compile=False)
        assert hypermodel.build(kt.HyperParameters()).count_params() > 0
    for model in hypermodels.HAM_MODELS:
        for task in ("reverse", "queue"):
            hypermodel = hypermodels.HAMHyperModel(
                model, task, leaves=4, space=hypermodels.quick_ham_space(model, task),
                jit_compile=False)
            assert hypermodel.build(kt.HyperParameters()).count_params() > 0


class _Space(kt.HyperModel):
    """A hypermodel that only declares a space (the black-box trials below train nothing)."""

    def __init__(self, space):
        super().__init__()
        self.space = space

    def declare_hyperparameters(self, hp):
        hypermodels.declare_space(hp, self.space)


class _BlackBox(tuners.ResumableGridSearch):
    """The grid tuner with a trial that trains nothing: it logs the point and scores it."""

    log = None

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        values = {"a": hp.Choice("a", [1, 2, 3]), "b": hp.Choice("b", [True, False])}
        with open(self.log, "a") as f:
            f.write(json.dumps(values) + "\n")
        return {hypermodels.OBJECTIVE: float(values["a"])}


def _black_box(tmp_path, max_trials=None, space=None):
    _BlackBox.log = str(tmp_path / "runs.jsonl")
    return _BlackBox(_Space(space) if space else None,
                     objective=kt.Objective(hypermodels.OBJECTIVE, "max"), max_trials=max_trials,
                     directory=str(tmp_path), project_name="grid", overwrite=False)


def test_grid_oracle_resumes_after_max_trials_in_gridsearch_order(tmp_path):
    _black_box(tmp_path, max_trials=2).search(verbose=0)
    # Re-running the same project covers the rest of the grid (the stock
    # GridSearchOracle stops at once here) and repeats nothing.
    tuner = _black_box(tmp_path)
    tuner.search(verbose=0)
    with open(tmp_path / "runs.jsonl") as f:
        runs = [tuple(json.loads(line).values()) for line in f]
    # GridSearch's order: the last dimension varies fastest.
    assert runs == [(1, True), (1, False), (2, True), (2, False), (3, True), (3, False)]
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    assert sorted(tuner.oracle.trials) == ["0000", "0001", "0002", "0003", "0004", "0005"]
    # Nothing left: a third run trains nothing.
    _black_box(tmp_path).search(verbose=0)
    with open(tmp_path / "runs.jsonl") as f:
        assert len(f.readlines()) == 6


def test_a_search_rerun_with_a_wider_space_only_runs_the_new_points(tmp_path):
    _black_box(tmp_path, space={"a": [1], "b": [True, False]}).search(verbose=0)
    _black_box(tmp_path, space={"a": [1, 2], "b": [True, False]}).search(verbose=0)
    with open(tmp_path / "runs.jsonl") as f:
        runs = [tuple(json.loads(line).values()) for line in f]
    assert runs == [(1, True), (1, False), (2, True), (2, False)]


# ---------------------------------------------------------------------------
# (a) The quick grid, end to end.


def test_quick_grid_writes_csv_and_markdown_with_every_point(tmp_path):
    argv = ["--model", "lantm", "--task", "copy", "--regime", "small", "--quick",
            "--directory", str(tmp_path), "--fit-log", str(tmp_path / "fits.jsonl")] + TINY
    ranked = search.main(argv)
    space = _search_space(argv)
    assert hypermodels.grid_size(space) == 2  # Two learning rates x seed 1.
    project = tmp_path / "lantm_copy_small_quick"
    with open(project / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(ranked) == 2
    for name in list(space) + ["rank", "trial_id", "fine", "coarse", "objective", "seconds"]:
        assert name in rows[0]
    assert {r["status"] for r in rows} == {"COMPLETED"}
    assert [r["rank"] for r in rows] == ["1", "2"]
    assert {float(r["learning_rate"]) for r in rows} == {0.01, 0.02}
    for r in rows:
        fine, coarse = float(r["fine"]), float(r["coarse"])
        assert 0.0 <= fine <= 100.0 and 0.0 <= coarse <= 100.0
        assert float(r["objective"]) == pytest.approx(coarse + 1e-4 * fine, rel=1e-5)
        assert float(r["steps"]) == 30 and float(r["seconds"]) > 0
    # Ranked by coarse, then fine.
    assert ([(float(r["coarse"]), float(r["fine"])) for r in rows]
            == sorted(((float(r["coarse"]), float(r["fine"])) for r in rows), reverse=True))
    markdown = (project / "results.md").read_text()
    assert "| paper, Table 1(b) | 100 | 100 |" in markdown
    assert "| best trial |" in markdown
    assert markdown.count("| COMPLETED |") == 2
    assert len([e for e in _fit_events(tmp_path / "fits.jsonl") if e["event"] == "end"]) == 2


def test_random_search_of_a_memory_cell_reports_bit_errors(tmp_path):
    ranked = search.main(["--model", "ntm", "--task", "copy", "--quick", "--steps", "4",
                          "--eval-every", "2", "--max-trials", "1", "--eval-batches", "1",
                          "--directory", str(tmp_path), "--no-jit", "--verbose", "0"])
    assert len(ranked) == 1 and ranked[0]["status"] == "COMPLETED"
    with open(tmp_path / "ntm_copy_quick" / "results.csv") as f:
        row = next(csv.DictReader(f))
    assert float(row["objective"]) >= 0 and row["memory_size"] == "16"


def test_ham_space_follows_the_paper_and_the_research_notes():
    space = hypermodels.ham_space("ham", "reverse")
    assert space["mlp_depth"] == [1, 2] and space["eta"] == [1, 2]  # the paper's
    assert min(space["learning_rate"]) == 1e-4 and max(space["learning_rate"]) == 1e-2
    assert list(space)[-1] == "seed" and space["seed"] == [1, 2, 3]
    raw = hypermodels.ham_space("ham", "stack")
    assert "eta" not in raw and "gamma" in raw  # raw HAM: one operation per step
    soft = hypermodels.ham_space("dham", "sort")
    assert not {"gamma", "alpha", "alpha_decay"} & set(soft)  # DHAM: no REINFORCE
    quick = hypermodels.quick_ham_space("ham", "reverse")
    assert hypermodels.grid_size(quick) == 2 and quick["seed"] == [1]
    with pytest.raises(ValueError, match="ham, dham|'ham', 'dham'"):
        hypermodels.ham_space("ntm", "reverse")


@pytest.mark.parametrize(
    "model, task", [("ham", "stack"), pytest.param("dham", "reverse", marks=pytest.mark.slow)]
)
def test_random_search_of_ham_reports_the_papers_metric(tmp_path, model, task):
    ranked = search.main(["--model", model, "--task", task, "--quick", "--directory",
                          str(tmp_path), "--verbose", "0"])
    assert len(ranked) == 2 and all(t["status"] == "COMPLETED" for t in ranked)
    for trial in ranked:
        error = trial["metrics"]["objective"]
        assert 0.0 <= error <= 100.0
        assert trial["metrics"]["full_size_epochs"] == 2  # no curriculum in --quick
    markdown = (tmp_path / f"{model}_{task}_quick" / "results.md").read_text()
    assert "The paper (best of its random search): 0% test error" in markdown


def test_evaluate_trial_measures_a_ham_trials_kept_weights_as_ham_tables_does(tmp_path):
    from keras_memory.recipes import ham as ham_recipe

    common = ["--model", "ham", "--task", "stack", "--quick", "--directory", str(tmp_path),
              "--verbose", "0", "--no-jit"]
    search.main(common)
    project = tmp_path / "ham_stack_quick"
    ranked = search.main(common + ["--evaluate-trial", "0", "--test-examples", "16"])
    evaluation = json.loads((project / "trial_0" / "evaluation.json").read_text())
    by_id = {t["trial_id"]: t for t in ranked}
    assert by_id["0"]["metrics"]["test_error"] == evaluation["test_error"]
    assert by_id["0"]["metrics"]["generalization_error"] == evaluation["generalization_error"]
    assert "test_error" not in by_id["1"]["metrics"]
    header, *rows = (project / "results.csv").read_text().splitlines()
    assert header.endswith(",test_error,generalization_error")
    # The same numbers as the recipe gives the trial's model with the kept weights.
    trial = kt.engine.trial.Trial.load(str(project / "trial_0" / "trial.json"))
    args = search.settings(search.parser().parse_args(common))
    model = search.make_hypermodel(args, search.search_space(args)).build(trial.hyperparameters)
    model.load_weights(str(project / "trial_0" / "checkpoint.weights.h5"))
    assert ham_recipe.evaluate(model, "stack", 16, 8, jit_compile=False) == (
        evaluation["test_error"], evaluation["generalization_error"])

    with pytest.raises(SystemExit, match="no .*trial_7"):
        search.main(common + ["--evaluate-trial", "7"])
    (project / "trial_1" / "checkpoint.weights.h5").unlink()
    with pytest.raises(SystemExit, match="checkpoint.weights.h5 is missing"):
        search.main(common + ["--evaluate-trial", "1"])
    with pytest.raises(SystemExit, match="--evaluate-trial is for --model ham or dham"):
        search.main(["--model", "ntm", "--task", "copy", "--quick", "--directory",
                     str(tmp_path), "--evaluate-trial", "0"])


@pytest.mark.parametrize("curriculum_error, full_size_epochs", [(100.0, 0), (0.0, 2)])
def test_a_ham_trial_with_the_curriculum_scores_only_the_full_tree(
        tmp_path, monkeypatch, curriculum_error, full_size_epochs):
    from keras_memory.reinforce import TreeCurriculum

    # The curriculum's measurement is fixed, so the stage each epoch trains at is known:
    # every sequence wrong keeps the tree at 2 leaves, none wrong grows it after epoch 1.
    monkeypatch.setattr(TreeCurriculum, "validation_error", lambda self: curriculum_error)
    hypermodel = hypermodels.HAMHyperModel(
        "ham", "reverse", epochs=2, batches=2, batch_size=4, leaves=4, curriculum_start=2,
        validation_batches=1, space=hypermodels.restrict_space(
            hypermodels.quick_ham_space("ham", "reverse"), {"curriculum_threshold": [1.0],
                                                             "learning_rate": [1e-3]}),
        jit_compile=False)
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    results = hypermodel.fit(hp, model)
    # Threshold 100%: the first epoch (2 leaves) moves to 4 leaves unless every
    # sequence was wrong; only the model at 4 leaves is scored: after the epoch
    # whose end grew the tree (the validation runs after the curriculum) and after
    # every later one.
    assert results["full_size_epochs"] == full_size_epochs
    assert results["curriculum_final_leaves"] == (2.0 if full_size_epochs == 0 else 4.0)
    if full_size_epochs == 0:
        assert results["objective"] == 100.0  # Never at the full tree.
        assert results["final_validation_error"] == 100.0
    else:  # The best of its scored epochs.
        assert 0.0 <= results["objective"] <= results["final_validation_error"] <= 100.0


# ---------------------------------------------------------------------------
# (b) A chief and two workers on loopback.


def test_chief_and_two_workers_run_every_grid_point_exactly_once(tmp_path):
    fit_log = str(tmp_path / "fits.jsonl")
    argv = GRID_4 + ["--directory", str(tmp_path), "--threads", "1", "--fit-log", fit_log]
    command = [sys.executable, os.path.join(TUNING, "launch_local.py"), "--workers", "2",
               "--log-dir", str(tmp_path / "logs"), "--"] + argv
    launcher = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = launcher.communicate(timeout=420)
    finally:
        if launcher.poll() is None:  # Timed out: stop the launcher, the chief and the workers.
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    logs = {name: (tmp_path / "logs" / name).read_text()[-3000:]
            for name in os.listdir(tmp_path / "logs")}
    assert launcher.returncode == 0, (output, logs)

    expected = _grid_points(_search_space(argv))
    assert len(expected) == 4
    project = tmp_path / "lantm_copy_small_quick"
    states = _trial_states(project)
    assert len(states) == 4  # One trial directory per grid point.
    assert {s["status"] for s in states.values()} == {"COMPLETED"}
    assert {_key(s["hyperparameters"]["values"]) for s in states.values()} == expected
    events = _fit_events(fit_log)
    for kind in ("start", "end"):
        trained = [_key(e["values"]) for e in events if e["event"] == kind]
        assert sorted(trained) == sorted(expected)  # Each point trained exactly once.
    assert {e["tuner_id"] for e in events} <= {"tuner0", "tuner1"}
    with open(project / "oracle.json") as f:
        oracle = json.load(f)
    assert sorted(oracle["end_order"]) == sorted(s["trial_id"] for s in states.values())
    assert not oracle["ongoing_trials"] and not oracle["retry_queue"]
    with open(project / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 4
    assert "Chief: every trial is done" in logs["chief.log"]


# ---------------------------------------------------------------------------
# (c) A search killed mid-way and run again.


def test_a_killed_search_resumes_without_repeating_finished_trials(tmp_path):
    fit_log = str(tmp_path / "fits.jsonl")
    command = [sys.executable, os.path.join(TUNING, "search.py")] + GRID_3 + [
        "--directory", str(tmp_path), "--fit-log", fit_log]
    project = tmp_path / "lantm_copy_small_quick"

    process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    try:
        # Kill it once two trials are finished and the next one is training. A
        # trial whose `fit` has ended is on disk once the next one has started.
        while time.time() < deadline:
            events = _fit_events(fit_log)
            finished = [e for e in events if e["event"] == "end"]
            if len(finished) >= 2 and events[-1]["event"] == "start":
                break
            assert process.poll() is None, "the search ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("the search did not finish two trials in time")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    before = {name: state for name, state in _trial_states(project).items()
              if state["status"] == "COMPLETED"}
    assert len(before) >= 2
    mtimes = {name: os.path.getmtime(project / name / "trial.json") for name in before}
    killed_events = _fit_events(fit_log)
    ended = [_key(e["values"]) for e in killed_events if e["event"] == "end"]
    interrupted = [_key(e["values"]) for e in killed_events
                   if e["event"] == "start" and _key(e["values"]) not in ended]
    assert len(interrupted) == 1

    rerun = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]

    after = _trial_states(project)
    assert len(after) == 3
    assert {s["status"] for s in after.values()} == {"COMPLETED"}
    expected = _grid_points(_search_space(GRID_3))
    assert {_key(s["hyperparameters"]["values"]) for s in after.values()} == expected
    for name, state in before.items():  # Finished trials are untouched.
        assert after[name] == state
        assert os.path.getmtime(project / name / "trial.json") == mtimes[name]
    events = _fit_events(fit_log)
    ends = [_key(e["values"]) for e in events if e["event"] == "end"]
    assert sorted(ends) == sorted(expected)  # Every point finished once, none twice.
    starts = [_key(e["values"]) for e in events if e["event"] == "start"]
    for point in expected:
        # Only a trial interrupted by the kill was started twice.
        assert starts.count(point) == (2 if point in interrupted else 1)


def test_a_trial_trains_exactly_like_the_table1b_example(tmp_path):
    """Same model, data, optimizer and checks as `examples/lantm_table1b.py`: same numbers."""
    import importlib.util

    import keras

    spec = importlib.util.spec_from_file_location(
        "lantm_table1b", os.path.join(ROOT, "examples", "lantm_table1b.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    # RAM/Tape with init 1, key size 2 and sharpening (LANTM and SLANTM build the same way).
    results = example.main(["--model", "tape", "--task", "reverse", "--steps", "6", "--no-jit",
                            "--init-magnitude", "--key-size", "2", "--sharpen", "--lr", "0.02",
                            "--seed", "2", "--test-batches", "1", "--task-arg", "alphabet_size=4",
                            "--task-arg", "max_length=3", "--run-dir", str(tmp_path / "example"),
                            "--verbose", "0"])

    keras.utils.clear_session()
    space = hypermodels.restrict_space(hypermodels.table_a1_space("tape"), {
        "decay_delay": [300], "init": ["1"], "learning_rate": [0.02], "key_size": [2],
        "sharpen": [True], "seed": [2]})
    hypermodel = hypermodels.LieAccessHyperModel(
        "tape", "reverse", "small", steps=6, space=space, test_batches=1, jit_compile=False,
        task_args={"alphabet_size": 4, "max_length": 3})
    hp = kt.HyperParameters()
    trial = hypermodel.fit(hp, hypermodel.build(hp))
    assert trial["fine"] == pytest.approx(results["fine"], abs=1e-9)
    assert trial["coarse"] == pytest.approx(results["coarse"], abs=1e-9)
    assert trial["decay_delay_used"] == results["decay_delay"]


def test_a_second_search_on_a_project_in_use_exits_naming_it(tmp_path, monkeypatch):
    """Without distributed mode, one search per project: a second exits before training."""
    from keras_memory.training import DirectoryLock

    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(name, raising=False)
    directory = str(tmp_path)
    project = os.path.join(directory, "ntm_copy_quick")
    with DirectoryLock(project, lock_file=os.path.join(directory, ".ntm_copy_quick.lock")):
        with pytest.raises(SystemExit, match=rf"{project} is in use .*pid {os.getpid()}"):
            search.main(["--model", "ntm", "--task", "copy", "--quick", "--steps", "4",
                         "--directory", directory, "--verbose", "0"])
        assert not any(e.startswith("trial_") for e in os.listdir(project))


def test_truncated_tuner_files_stop_a_rerun_naming_the_file_and_the_way_on(tmp_path):
    import re
    import shutil

    argv = ["--model", "ntm", "--task", "copy", "--quick", "--steps", "4", "--verbose", "0"]
    original = str(tmp_path / "original")
    search.main(argv + ["--directory", original])
    project = "ntm_copy_quick"

    # A truncated oracle.json: a clear error; the finished trials still report.
    directory = str(tmp_path / "oracle")
    shutil.copytree(original, directory)
    oracle = os.path.join(directory, project, "oracle.json")
    with open(oracle, "r+") as f:
        f.truncate(40)
    with pytest.raises(SystemExit, match=rf"{re.escape(oracle)} is corrupt.*--report-only"):
        search.main(argv + ["--directory", directory])
    ranked = search.main(argv + ["--directory", directory, "--report-only"])
    assert len([t for t in ranked if t["rank"] is not None]) == 2

    # A truncated trial.json: a clear error, and the advice given works.
    directory = str(tmp_path / "trial")
    shutil.copytree(original, directory)
    trial = os.path.join(directory, project, "trial_0", "trial.json")
    open(trial, "w").close()
    with pytest.raises(SystemExit, match=rf"{re.escape(trial)} is corrupt.*move "):
        search.main(argv + ["--directory", directory])
    shutil.move(os.path.dirname(trial), str(tmp_path / "trial_0"))
    ranked = search.main(argv + ["--directory", directory])
    assert [t["trial_id"] for t in ranked if t["rank"] is not None] == ["1"]


def _fake_python(tmp_path):
    """An interpreter stand-in that records its pid and sleeps: a chief or worker that never ends."""
    pids = tmp_path / "pids"
    pids.mkdir()
    fake = tmp_path / "fake_python"
    fake.write_text(f"#!/bin/sh\necho $$ > {pids}/$$\nexec sleep 300\n")
    fake.chmod(0o755)
    return str(fake), pids


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # A zombie has ended.
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_stopping_the_local_launcher_stops_the_chief_and_the_workers(tmp_path, signum):
    fake, pids = _fake_python(tmp_path)
    command = [sys.executable, os.path.join(TUNING, "launch_local.py"), "--workers", "2",
               "--python", fake, "--"]
    launcher = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(os.listdir(pids)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        children = [int(name) for name in os.listdir(pids)]
        assert len(children) == 3  # The chief and two workers.
        # The children are in the launcher's process group.
        assert {os.getpgid(pid) for pid in children} == {os.getpgid(launcher.pid)}
        launcher.send_signal(signum)
        launcher.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if _alive(pid)]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()
