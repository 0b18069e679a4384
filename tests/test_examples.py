"""The example scripts run end to end (tiny budgets) and resume correctly."""

import importlib.util
import json
import os
import re

import keras
import numpy as np
import pytest

import keras_memory
import keras_memory.training
from keras_memory import papers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A tiny run of train.py without XLA: its compilation took three quarters of each run's time
# (29 s against 7 s for 5 steps) and is not what these tests are about. The first test keeps
# XLA, train.py's default.
TINY = ["--units", "8", "--no-jit", "--memory-size", "8", "--word-size", "4", "--task-arg",
        "max_length=3", "--eval-every", "5", "--eval-batches", "1", "--verbose", "0", "--batch-size", "4"]
TINY_XLA = [a for a in TINY if a != "--no-jit"]


def test_train_script_writes_its_run_directory_and_resumes(tmp_path):
    train = load_example("train")
    run_dir = str(tmp_path / "run")
    train.main(["--steps", "10", "--run-dir", run_dir, *TINY_XLA])
    for name in ("model.keras", "best.keras", "state.json", "results.json", "evaluations.json", "history.csv", "args.json"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    with open(os.path.join(run_dir, "evaluations.json")) as f:
        first = json.load(f)
    assert [e["sequences"] for e in first] == [20, 40]

    # An existing run is not silently overwritten.
    with pytest.raises(SystemExit, match="--resume"):
        train.main(["--steps", "10", "--run-dir", run_dir, *TINY_XLA])

    # Resuming to 20 steps continues the sequence count instead of restarting.
    train.main(["--steps", "20", "--run-dir", run_dir, "--resume", *TINY_XLA])
    with open(os.path.join(run_dir, "evaluations.json")) as f:
        resumed = json.load(f)
    assert [e["sequences"] for e in resumed] == [20, 40, 60, 80]
    with open(os.path.join(run_dir, "results.json")) as f:
        results = json.load(f)
    assert 0.0 <= results["final"]["generalization"]["bit_accuracy"] <= 1.0
    assert set(results) >= {"final", "best", "sequences"}
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    assert model.output_shape == (None, None, 8)


def test_train_script_records_its_command_settings_and_curve_in_the_results_file(tmp_path):
    """--results PATH: a copy of results.json with the command line, its settings, the
    learning curve and the summary a results page quotes; learning_curves reads it."""
    train = load_example("train")
    curves = load_example("learning_curves")
    run_dir, path = str(tmp_path / "run"), str(tmp_path / "data" / "run.json")
    argv = ["--steps", "20", "--run-dir", run_dir, "--seed", "3", "--results", path, *TINY]
    train.main(argv)
    with open(path) as f:
        results = json.load(f)
    with open(os.path.join(run_dir, "results.json")) as f:
        assert json.load(f) == results
    assert results["command"] == "python examples/train.py " + " ".join(argv)
    assert results["settings"]["seed"] == 3 and results["settings"]["memory_size"] == 8
    assert results["settings"]["steps"] == 20 and not results["resumed"]
    assert [e["sequences"] for e in results["evaluations"]] == [20, 40, 60, 80]
    errors = [e["validation_bit_errors_per_sequence"] for e in results["evaluations"]]
    assert results["learning"]["final_error"] == pytest.approx(np.mean(errors))
    assert results["learning"]["sequences"] == results["sequences"] == 80
    assert set(results["learning"]["below"]) == {"1", "0.1"}
    assert results["environment"] == keras_memory.training.environment()
    from_file = curves.main(["--group", "A", path])["A"]["runs"][0]
    from_dir = curves.main(["--group", "A", run_dir])["A"]["runs"][0]
    assert {k: v for k, v in from_file.items() if k != "run"} == {
        k: v for k, v in from_dir.items() if k != "run"}
    assert from_file["final_error"] == results["learning"]["final_error"]
    with pytest.raises(SystemExit, match="no learning curve"):
        curves.main(["--group", "A", os.path.join(run_dir, "args.json")])


def test_learning_curves_plots_the_parts_of_a_curriculum_one_after_another(tmp_path):
    """--curriculum: a group per part, each part's periods counted on from the last."""
    curves = load_example("learning_curves")

    def part(name, levels, errors):
        history = [{"epoch": i + 1, "level": level, "bit_errors_per_sequence": error,
                    "next_level": 2 * level if error < 1 else level}
                   for i, (level, error) in enumerate(zip(levels, errors))]
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"settings": {"eval_every": 5, "batch_size": 4},
                                    "curriculum": {"history": history}}))
        return str(path)

    first = part("first", [6, 12, 12], [0.5, 2.0, 0.9])
    second = part("second", [6, 12, 24], [0.1, 0.2, 1.5])
    out = tmp_path / "fig" / "curriculum.png"
    summary = curves.main(["--curriculum", "--group", "A", first, "--group", "B", second,
                           "--out", str(out)])
    assert out.exists()
    assert summary == {
        "A": {"periods": 3, "sequences": 60, "levels": [6, 12], "mastered": 12},
        "B": {"periods": 3, "sequences": 60, "levels": [6, 12, 24], "mastered": 12}}
    with pytest.raises(SystemExit):  # one run per part
        curves.main(["--curriculum", "--group", "A", first, second, "--out", str(out)])
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"settings": {}, "evaluations": []}))
    with pytest.raises(SystemExit, match="no curriculum history"):
        curves.main(["--curriculum", "--group", "A", str(plain), "--out", str(out)])


def test_train_script_trains_an_lstm_baseline(tmp_path):
    train = load_example("train")
    results = train.main(["--cell", "lstm", "--steps", "5", "--run-dir", str(tmp_path / "lstm"),
                          "--task", "associative_recall", "--units", "8", "--eval-every", "5",
                          "--eval-batches", "1", "--verbose", "0", "--batch-size", "4"])
    assert results["final"]["validation"]["num_sequences"] > 0


@pytest.mark.parametrize("cell, flags, expected", [
    ("dnc", ["--num-read-heads", "2"], {"num_read_heads": 2, "memory_size": 8}),
    ("sdnc", ["--num-heads", "2", "--k", "2", "--num-links", "3"],
     {"num_heads": 2, "k": 2, "num_links": 3, "memory_size": 8}),
])
def test_train_script_trains_the_dnc_and_the_sdnc_with_their_settings(tmp_path, cell, flags,
                                                                      expected):
    import keras

    train = load_example("train")
    run_dir = tmp_path / cell
    results = train.main(["--cell", cell, "--steps", "5", "--run-dir", str(run_dir),
                          "--task", "repeat_copy",
                          "--task-arg", "max_repeats=2", *flags, *TINY])
    assert results["final"]["validation"]["num_sequences"] > 0
    model = keras.models.load_model(run_dir / "model.keras")
    cells = [layer.cell for layer in model.layers if hasattr(layer, "cell")]
    assert [type(c).__name__ for c in cells] == [{"dnc": "DNCCell", "sdnc": "SDNCCell"}[cell]]
    config = cells[0].get_config()
    assert {name: config[name] for name in expected} == expected
    if cell == "dnc":  # --plot-access draws the run's best model and trains nothing
        pytest.importorskip("matplotlib")
        png = tmp_path / "figures" / "access.png"
        state = (run_dir / "state.json").read_text()
        access = train.main(["--cell", cell, "--run-dir", str(run_dir), "--task", "repeat_copy",
                             "--task-arg", "max_repeats=2", "--plot-access", str(png)])
        assert png.stat().st_size > 0
        assert access["read_modes"].shape[-2:] == (2, 3)
        assert (run_dir / "state.json").read_text() == state


def test_train_script_refuses_a_memory_init_for_the_dnc(tmp_path):
    train = load_example("train")
    with pytest.raises(SystemExit, match="--memory-init"):
        train.main(["--cell", "dnc", "--memory-init", "random", "--steps", "5",
                    "--run-dir", str(tmp_path / "dnc"), *TINY])


def test_quickstart_runs_end_to_end_and_writes_the_numbers_it_prints(tmp_path):
    pytest.importorskip("matplotlib")
    quickstart = load_example("quickstart")
    path = tmp_path / "quickstart.json"
    argv = ["--minutes", "0.05", "--max-length", "3", "--out", str(tmp_path), "--results", str(path)]
    rows = quickstart.main(argv)
    assert len(rows) == 2 and all(0.0 <= r["bit_accuracy"] <= 1.0 for _, r in rows)
    png = tmp_path / "quickstart_access.png"
    assert png.stat().st_size > 10_000
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    model = keras.models.load_model(tmp_path / "quickstart_ntm.keras")
    x = np.zeros((1, 7, 9), "float32")
    assert model.predict_on_batch(x).shape == (1, 7, 8)
    # --results: the command, its settings and every number printed.
    results = json.loads(path.read_text())
    assert results["command"] == "python examples/quickstart.py " + " ".join(argv)
    assert results["settings"]["minutes"] == 0.05 and results["settings"]["max_length"] == 3
    assert [r["label"] for r in results["rows"]] == [label for label, _ in rows]
    for recorded, (_, printed) in zip(results["rows"], rows):
        assert {k: recorded[k] for k in printed} == printed
        assert recorded["num_sequences"] == 320
    assert results["stopped_by_time_limit"] and not results["stopped_early"]
    assert results["sequences"] == 32 * results["train_steps"] > 0
    assert results["script_seconds"] > results["train_seconds"] > 0


LANTM_TINY = ["--task-arg", "max_length=3", "--steps", "8", "--test-batches", "1",
              "--batch-size", "4", "--no-jit", "--verbose", "0"]


def test_table1b_script_reports_ours_next_to_the_paper_and_draws_trajectories(tmp_path):
    pytest.importorskip("matplotlib")
    script = load_example("lantm_table1b")
    run_dir = tmp_path / "slantm"
    results = script.main(["--model", "slantm", "--task", "copy", "--run-dir", str(run_dir),
                           *LANTM_TINY])
    assert (results["paper_fine"], results["paper_coarse"]) == (100, 100)
    # Checks at steps 5..8 (every steps / 20, after half the run), best of each.
    assert [c["step"] for c in results["checks"]] == [5, 6, 7, 8]
    assert results["fine"] == 100 * max(c["fine"] for c in results["checks"])
    with open(run_dir / "results.json") as f:
        assert json.load(f)["model"] == "slantm"
    with open(run_dir / "trajectories.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    model = keras.models.load_model(run_dir / "model.keras")
    assert model.output_shape == (None, None, 131)
    # The final model scored across the 2x test range: lengths 4..6 for max_length=3.
    assert [r["size"] for r in results["by_size"]] == [4, 5, 6]
    assert results["stopped_on_nan"] is False
    assert all(0.0 <= r["fine"] <= 100.0 and 0.0 <= r["coarse"] <= r["fine"]
               for r in results["by_size"])
    # --profile re-scores a finished run from its files, with the same numbers.
    assert script.main(["--profile", str(run_dir)]) == results["by_size"]
    with pytest.raises(ValueError, match="needs a finished run"):
        script.main(["--profile", str(tmp_path / "missing")])


@pytest.mark.parametrize("order", ["file", "shuffled"])
def test_table1b_script_takes_the_batches_in_file_order_when_asked(tmp_path, monkeypatch, order):
    """--batch-order file: each pass reads its batches in order, as the authors' train.lua."""
    from keras_memory.training import CyclingBatches

    script = load_example("lantm_table1b")
    seen = []
    get = CyclingBatches.__getitem__

    def recording(self, index):
        seen.append(index)
        return get(self, index)

    monkeypatch.setattr(CyclingBatches, "__getitem__", recording)
    argv = ["--model", "lantm", "--task", "copy", "--batch-order", order,
            "--run-dir", str(tmp_path / order), *LANTM_TINY, "--steps", "40"]
    results = script.main(argv)
    assert results["batch_order"] == order
    trained = seen[-40:]  # Before them fit reads batches 0 and 1 for their shapes.
    assert sorted(trained) == list(range(40))
    assert (trained == list(range(40))) == (order == "file")
    name = script.default_run_name(script.parse_args(["--batch-order", order]))
    assert name == "lantm_copy_small_s1" + ("_fileorder" if order == "file" else "")


@pytest.mark.parametrize("model", ["lstm", "tape"])
def test_table1b_script_trains_the_baselines(tmp_path, model):
    script = load_example("lantm_table1b")
    results = script.main(["--model", model, "--task", "reverse", "--sharpen",
                           "--run-dir", str(tmp_path / model), *LANTM_TINY])
    assert (results["paper_fine"], results["paper_coarse"]) == (
        (26, 0) if model == "lstm" else (24, 1))
    assert 0.0 <= results["fine"] <= 100.0


def test_table1b_script_takes_the_authors_configuration_unless_told_otherwise():
    script = load_example("lantm_table1b")
    args = script.parse_args(["--model", "slantm", "--task", "reverse", "--authors-config"])
    # xopts/reverse/slantm_reverse_smalltrain.json
    assert (args.lr, args.decay_delay, args.seed) == (0.02, 300, 2)
    assert args.init_magnitude and args.bound_action == "yes" and args.dtype == "float64"
    args = script.parse_args(["--model", "slantm", "--task", "reverse", "--authors-config",
                              "--seed", "1", "--lr", "0.01", "--dtype", "float32"])
    assert (args.lr, args.seed, args.dtype) == (0.01, 1, "float32")
    args = script.parse_args(["--model", "lstm", "--task", "priority_sort", "--regime", "large",
                              "--authors-config"])
    assert (args.lr, args.decay_delay, args.lstm_layers) == (0.002, 700, 1)
    args = script.parse_args(["--model", "tape", "--task", "repeat_copy", "--authors-config"])
    assert args.key_size == papers.table_1b_config("tape", "repeat_copy", "small")["key_dim"]
    assert script.default_run_name(args) == "tape_repeat_copy_small_s2_authors"
    args = script.parse_args(["--model", "slantm", "--task", "reverse", "--authors-config",
                              "--init-scope", "kernels"])
    assert script.default_run_name(args) == "slantm_reverse_small_s2_authors_kernels"
    plain = script.parse_args(["--model", "slantm", "--task", "reverse"])
    assert (plain.lr, plain.seed, plain.init_magnitude, plain.dtype) == (None, 1, False, "float32")
    assert script.default_run_name(plain) == "slantm_reverse_small_s1"
    varied = script.parse_args(["--model", "slantm", "--task", "repeat_copy", "--seed", "3",
                                "--decay-delay", "600", "--lr=0.02"])
    assert script.default_run_name(varied) == "slantm_repeat_copy_small_s3_lr0.02_dd600"
    double = script.parse_args(["--model", "ram", "--task", "copy", "--authors-config",
                                "--dtype", "float64"])
    assert double.dtype == "float64"
    assert script.default_run_name(double) == "ram_copy_small_s1_authors_float64"
    projected = script.parse_args(["--model", "slantm", "--task", "repeat_copy", "--seed", "8",
                                   "--project-initial-key"])
    assert script.default_run_name(projected) == "slantm_repeat_copy_small_s8_pkey"
    model = script.build(projected, script.make_task("repeat_copy"))
    assert model.get_layer("memory_rnn").cell.project_initial_key
    assert not script.build(varied, script.make_task("repeat_copy")).get_layer(
        "memory_rnn").cell.project_initial_key
    with pytest.raises(SystemExit):  # The plane has no sphere to project onto.
        script.parse_args(["--model", "lantm", "--project-initial-key"])
    with pytest.raises(ValueError, match="No Table 1"):
        papers.table_1b_config("ntm", "copy", "small")


def results_md_commands():
    """`(argv, data file)` of each Table 1(b) command in docs/results.md: the file named
    by a trailing `# <name>.json` comment, else by the command's default run name."""
    commands = []
    with open(os.path.join(ROOT, "docs", "results.md")) as f:
        for line in f:
            if not line.startswith("python examples/lantm_table1b.py "):
                continue
            command, _, comment = line.partition("#")
            argv = command.split()[2:]
            if any(arg.isupper() for arg in argv):  # A placeholder: --seed SEED.
                continue
            commands.append((argv, comment.split()[0] if comment.strip() else None))
    return commands


def test_every_table1b_command_in_the_results_page_has_data_with_its_settings():
    """Each command under Table 1(b) parses and names a results file in docs/data/table1b
    whose recorded settings are the ones the command runs with (older files lack some)."""
    script = load_example("lantm_table1b")
    commands = results_md_commands()
    assert len(commands) >= 40
    for argv, data_file in commands:
        args = script.parse_args(argv)
        name = data_file or script.default_run_name(args) + ".json"
        path = os.path.join(ROOT, "docs", "data", "table1b", name)
        assert os.path.exists(path), (argv, name)
        with open(path) as f:
            results = json.load(f)
        expected = dict(script.run_settings(args),
                        lstm_init=args.lstm_init if args.model == "lstm" else None)
        if isinstance(results.get("bound_action"), str):  # Early runs wrote "auto".
            del expected["bound_action"]
        recorded = {key: results[key] for key in expected if key in results}
        assert recorded == {key: expected[key] for key in recorded}, (argv, name)


def test_table1b_script_initialises_like_the_authors_init_magnitude():
    """--init-magnitude reinitialises every parameter, the embedding and readout too."""
    script = load_example("lantm_table1b")
    args = script.parse_args(["--model", "slantm", "--task", "reverse", "--init-magnitude",
                              "--dtype", "float32"])
    model = script.build(args, script.make_task("reverse"))
    embedding = np.asarray(model.get_layer("memory_rnn").cell.embedding.kernel.numpy())
    readout_bias = np.asarray(model.get_layer("readout").bias.numpy())
    assert np.abs(embedding).max() <= 1.0 and embedding.std() > 0.5  # Not N(0, 1).
    assert readout_bias.std() > 0.5  # Not zeros.
    cell = model.get_layer("memory_rnn").cell
    np.testing.assert_array_equal(np.asarray(cell.controller.bias.numpy())[50:100], 2.0)
    args = script.parse_args(["--model", "slantm", "--task", "reverse", "--init-magnitude",
                              "--init-scope", "kernels", "--dtype", "float32"])
    cell = script.build(args, script.make_task("reverse")).get_layer("memory_rnn").cell
    assert np.abs(np.asarray(cell.embedding.kernel.numpy())).max() > 1.0  # N(0, 1) kept.
    kernel = np.asarray(cell.controller.kernel.numpy())
    assert np.abs(kernel).max() <= 1.0 and kernel.std() > 0.5
    np.testing.assert_array_equal(np.asarray(cell.controller.bias.numpy())[50:100], 2.0)


def test_table1b_lstm_baseline_initialises_like_the_authors_lstm():
    """The authors' models/lstm.lua: Torch default weights, no forget bias, an N(0, 1)
    embedding, learned initial h and c in (-1, 1); --lstm-init keras keeps Keras'."""
    script = load_example("lantm_table1b")
    task = script.make_task("copy")
    args = script.parse_args(["--model", "lstm", "--task", "copy"])
    model = script.build(args, task)
    assert 0.9 < model.get_layer("embedding").kernel.numpy().std() < 1.1
    states = model.get_layer("initial_state").weights
    assert len(states) == 4  # h and c of each of the 2 layers.
    for state in states:
        values = state.numpy()
        assert np.abs(values).max() <= 1.0 and values.std() > 0.5
    first, second = model.get_layer("memory_rnn").cell.cells
    for cell, fan_in in ((first, 128), (second, 256)):
        kernel, recurrent, bias = (w.numpy() for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
        assert np.abs(kernel).max() <= 1 / np.sqrt(fan_in) < 1.01 * np.abs(kernel).max()
        assert np.abs(recurrent).max() <= 1 / 16 < 1.01 * np.abs(recurrent).max()
        # The sum of the two maps' biases: no forget bias, wider than either uniform.
        assert np.abs(bias).max() <= 1 / np.sqrt(fan_in) + 1 / 16
        assert np.abs(bias).max() > 1 / np.sqrt(fan_in)
        assert abs(bias[256:512].mean()) < 0.02
    assert np.abs(model.get_layer("readout").bias.numpy()).max() <= 1 / 16
    assert np.abs(model.get_layer("readout").kernel.numpy()).max() <= 1 / 16
    # Each learned initial state is used (h and c of both layers): changing it changes the output.
    x = task.generate(np.random.default_rng(0), 2)[0][:, :4]  # The first steps suffice.
    for state in states:
        before = np.asarray(model(x))
        state.assign(state.numpy() + 0.5)
        assert not np.allclose(before, np.asarray(model(x)))
    # --init-scope kernels: each layer's kernel drawn on its own, forget bias 2.
    kernels = script.build(script.parse_args(["--model", "lstm", "--task", "copy", "--init-magnitude",
                                              "--init-scope", "kernels", "--dtype", "float32"]), task)
    first, second = kernels.get_layer("memory_rnn").cell.cells
    assert not np.allclose(first.kernel.numpy()[:128], second.kernel.numpy()[:128])
    np.testing.assert_array_equal(second.bias.numpy()[256:512], 2.0)
    keras_args = script.parse_args(["--model", "lstm", "--task", "copy", "--lstm-init", "keras"])
    assert script.default_run_name(keras_args) == "lstm_copy_small_s1_keras"
    keras_model = script.build(keras_args, task)
    assert keras_model.get_layer("embedding").kernel.numpy().std() < 0.1
    bias = keras_model.get_layer("memory_rnn").cell.cells[0].bias.numpy()
    np.testing.assert_array_equal(bias[256:512], 1.0)
    assert "initial_state" not in [layer.name for layer in keras_model.layers]
    # --init-scope kernels keeps its promise of forget bias 2 with Keras' LSTM too.
    keras_kernels = script.build(script.parse_args(
        ["--model", "lstm", "--task", "copy", "--lstm-init", "keras", "--init-magnitude",
         "--init-scope", "kernels", "--dtype", "float32"]), task)
    for cell in keras_kernels.get_layer("memory_rnn").cell.cells:
        np.testing.assert_array_equal(cell.bias.numpy()[256:512], 2.0)
        np.testing.assert_array_equal(cell.bias.numpy()[:256], 0.0)
        assert np.abs(cell.kernel.numpy()).max() <= 1.0 and cell.kernel.numpy().std() > 0.5


@pytest.mark.parametrize("task", [pytest.param("stack", marks=pytest.mark.slow), "reverse"])
def test_ham_tables_script_reports_test_and_generalization_errors(tmp_path, task):
    script = load_example("ham_tables")
    results = script.main(["--task", task, "--leaves", "4", "--epochs", "1", "--batches", "3",
                           "--batch-size", "4", "--test-examples", "8", "--no-jit",
                           "--run-dir", str(tmp_path / task)])
    assert (results["paper_test_error"], results["paper_generalization_error"]) == (0.0, 0.0)
    assert 0.0 <= results["test_error"] <= 100.0 and 0.0 <= results["generalization_error"] <= 100.0
    assert (tmp_path / task / "model.keras").exists()
    assert (tmp_path / task / "leaves.png").exists()
    with open(tmp_path / task / "results.json") as f:
        assert json.load(f)["environment"] == keras_memory.training.environment()
    # --evaluate re-draws the run's own test examples with --seed 0, others with another seed.
    path = str(tmp_path / task / "model.keras")
    args = ["--evaluate", path, "--task", task, "--test-examples", "8", "--batch-size", "4",
            "--no-jit"]
    again = script.main([*args, "--seed", "0"])
    assert again["test_error"] == pytest.approx(results["test_error"])
    assert again["generalization_error"] == pytest.approx(results["generalization_error"])
    assert 0.0 <= script.main([*args, "--seed", "5"])["test_error"] <= 100.0


def test_ham_tables_eta_reaches_training_and_both_evaluations(tmp_path, monkeypatch):
    """`--eta 2` (two memory accesses per output, section 3.1) is the task of
    the training, the test and the generalization, and of `--evaluate`."""
    from keras_memory.recipes import ham as recipe

    script = load_example("ham_tables")
    made, original = [], recipe.make_task

    def make_task(name, leaves, **kwargs):
        task = original(name, leaves, **kwargs)
        made.append((name, task.eta))
        return task

    monkeypatch.setattr(recipe, "make_task", make_task)
    monkeypatch.setattr(script, "make_task", make_task)
    args = ["--task", "add", "--eta", "2", "--leaves", "8", "--epochs", "1", "--batches", "2",
            "--batch-size", "4", "--test-examples", "8", "--no-jit"]
    results = script.main([*args, "--run-dir", str(tmp_path / "add")])
    assert results["args"]["eta"] == 2 and "--eta 2" in script.command_of(results["args"])
    assert len(made) == 2 and set(made) == {("add", 2)}  # training; test and generalization
    script.main(["--evaluate", str(tmp_path / "add" / "model.keras"), "--task", "add", "--eta",
                 "2", "--test-examples", "8", "--batch-size", "4", "--no-jit"])
    assert len(made) == 3 and set(made) == {("add", 2)}
    with pytest.raises(SystemExit, match="--eta is for Table 1"):
        script.main(["--task", "stack", "--eta", "2", "--run-dir", str(tmp_path / "stack")])


@pytest.mark.parametrize("model", ["lstm", "lstm_attention"])
def test_ham_tables_script_trains_the_table1_baselines_with_the_curriculum(tmp_path, model):
    script = load_example("ham_tables")
    args = ["--task", "sort", "--model", model, "--units", "8", "--leaves", "8", "--epochs", "2",
            "--batches", "2", "--batch-size", "4", "--test-examples", "8", "--no-jit",
            "--curriculum", "4", "--curriculum-threshold", "1.0", "--run-dir", str(tmp_path / model)]
    results = script.main(args)
    assert results["model"] == model
    assert (results["paper_test_error"], results["paper_generalization_error"]) == (
        papers.HAM_BASELINES[model]["sort"])
    stages = [h["curriculum_leaves"] for h in results["history"]]
    assert set(stages) <= {4, 8} and stages == sorted(stages) and "curriculum_error" in (
        results["history"][0])
    again = script.main(["--evaluate", str(tmp_path / model / "model.keras"), "--task", "sort",
                         "--test-examples", "8", "--batch-size", "4", "--no-jit"])
    assert again["test_error"] == pytest.approx(results["test_error"])
    assert again["generalization_error"] == pytest.approx(results["generalization_error"])


def test_the_wrong_turn_height_is_where_two_leaves_paths_part():
    analysis = load_example("ham_sort_analysis")
    # Leaves 0-7 of an 8-leaf tree: 0 and 1 are siblings; 3 and 4 sit in the root's two halves.
    assert [analysis.turn_height(0, j) for j in range(8)] == [0, 1, 2, 2, 3, 3, 3, 3]
    assert analysis.turn_height(3, 4) == 3 and analysis.turn_height(6, 7) == 1
    assert analysis.turn_height(64, 63) == 7  # the root of a 128-leaf tree


def test_ham_sort_analysis_splits_the_mistakes_and_draws_the_leaves(tmp_path):
    tables = load_example("ham_tables")
    tables.main(["--task", "sort", "--leaves", "4", "--epochs", "1", "--batches", "2",
                 "--batch-size", "4", "--test-examples", "8", "--no-jit",
                 "--run-dir", str(tmp_path / "sort")])
    analysis = load_example("ham_sort_analysis")
    result = analysis.main([str(tmp_path / "sort" / "model.keras"), "--leaves", "8",
                            "--examples", "40", "--output", str(tmp_path / "a.json"),
                            "--figure", str(tmp_path / "a.png")])
    shares = [result[k] for k in ("share_right_leaf", "share_tie_mistakes", "share_wrong_key")]
    assert abs(sum(shares) - 1.0) < 1e-9  # every answer step is one of the three
    assert result["sequences_with_equal_keys"] > 0 and result["leaves"] == 8
    # One first wrong turn per input that attends a wrong leaf, at a height of the 8-leaf tree.
    heights = {int(h): n for h, n in result["first_wrong_turn_heights"].items()}
    assert set(heights) <= {1, 2, 3}
    assert 0 < sum(heights.values()) <= 40
    assert (sum(heights.values()) > 0) == (result["share_right_leaf"] < 1.0)
    # The median node norm at each height of the 8-leaf trees, leaves (0) to root (3).
    norms = result["node_norm_median_by_height"]
    assert list(norms) == ["0", "1", "2", "3"] and all(v > 0 for v in norms.values())
    # The mean cosine of two different full nodes of each height, over all the trees.
    cosines = result["full_node_cosine_mean_by_height"]
    assert list(cosines) == list(norms)
    assert all(v is None or -1 <= v <= 1 for v in cosines.values()) and cosines["1"] is not None
    written = json.load(open(tmp_path / "a.json"))
    assert written["examples"] == 40
    assert written["command"].startswith("python examples/ham_sort_analysis.py ")
    assert written["command"].endswith("--figure " + str(tmp_path / "a.png"))
    assert (tmp_path / "a.png").exists()
    # --max-items keeps the inputs short in the same tree: at most 2 answer steps each.
    short = analysis.main([str(tmp_path / "sort" / "model.keras"), "--leaves", "8",
                           "--max-items", "2", "--examples", "40",
                           "--output", str(tmp_path / "b.json"), "--figure", str(tmp_path / "b.png")])
    assert result["max_items"] == 8 and short["max_items"] == 2 and short["leaves"] == 8
    assert short["answer_steps"] <= 2 * 40 < result["answer_steps"]
    # Inputs of at most 2 items fill no node above height 1.
    short_cosines = short["full_node_cosine_mean_by_height"]
    assert short_cosines["1"] is not None and short_cosines["2"] is short_cosines["3"] is None
    # JOIN's Jacobian at each height whose children include full nodes: every height of the
    # 8-leaf trees, and with at most 2 items only heights 1 and 2.
    for r, heights in ((result, ["1", "2", "3"]), (short, ["1", "2"])):
        moduli = r["join_jacobian_by_height"]
        assert list(moduli) == heights
        assert all(len(m) == 2 and m[0] >= m[1] >= 0 for m in moduli.values())
    # Against the exact Jacobian of a one-layer ReLU JOIN at (c, c):
    # diag(relu'(z)) (K_left + K_right)^T, z = [c, c] K + b.
    cell = keras_memory.HAMCell(units=4, memory_size=4, hidden_size=3, seed=0)
    cell.build((None, 2))
    child = np.array([0.3, -0.2, 0.5])
    kernel = keras.ops.convert_to_numpy(cell.join.dense_layers[0].kernel).astype(np.float64)
    bias = np.array([0.1, -5.0, 0.2])
    cell.join.dense_layers[0].bias.assign(bias)
    active = (np.concatenate([child, child]) @ kernel + bias) > 0
    exact = np.diag(active.astype(float)) @ (kernel[:3] + kernel[3:]).T
    want = sorted(np.abs(np.linalg.eigvals(exact)), reverse=True)[:2]
    np.testing.assert_allclose(analysis.join_jacobian_moduli(cell, child), want, atol=1e-6)
    # --cap-search-norm: a cap above every node changes nothing; a cap near 0 leaves SEARCH
    # the controller state alone, and the descent goes elsewhere.
    def capped(cap):
        return analysis.main([str(tmp_path / "sort" / "model.keras"), "--leaves", "8",
                              "--examples", "40", "--output", str(tmp_path / "c.json"),
                              "--cap-search-norm", str(cap), "--no-figure"])
    high, low = capped(1e9), capped(1e-9)
    assert high["cap_search_norm"] == 1e9 and not (tmp_path / "c.png").exists()
    for key in ("share_right_leaf", "share_tie_mistakes", "first_wrong_turn_heights"):
        assert high[key] == result[key], key
    assert low["share_right_leaf"] != result["share_right_leaf"]


def test_the_mean_pairwise_cosine_of_the_sort_analysis_is_the_mean_over_pairs():
    """`mean_pairwise_cosine` against the mean over every ordered pair of different
    non-zero rows, computed one pair at a time."""
    analysis = load_example("ham_sort_analysis")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(7, 5))
    vectors[3] = 0.0  # a zero row (an empty subtree) is left out
    rows = [v for v in vectors if np.any(v)]
    pairs = [a @ b / np.linalg.norm(a) / np.linalg.norm(b)
             for i, a in enumerate(rows) for j, b in enumerate(rows) if i != j]
    assert np.isclose(analysis.mean_pairwise_cosine(vectors), np.mean(pairs))
    assert np.isclose(analysis.mean_pairwise_cosine(np.ones((4, 3)) * [[1], [2], [3], [4]]), 1.0)
    assert analysis.mean_pairwise_cosine(vectors[:1]) is None


def test_ham_tables_script_runs_the_curriculum(tmp_path):
    script = load_example("ham_tables")
    results = script.main(["--task", "reverse", "--leaves", "8", "--epochs", "2", "--batches", "2",
                           "--batch-size", "4", "--test-examples", "8", "--no-jit",
                           "--curriculum", "2", "--curriculum-threshold", "1.0",
                           "--run-dir", str(tmp_path / "reverse")])
    assert results["curriculum"] == 2
    stages = [h["curriculum_leaves"] for h in results["history"]]
    assert stages[0] in (2, 4) and stages == sorted(stages)
    assert (tmp_path / "reverse" / "model.keras").exists()


def test_ham_tables_script_goes_on_from_saved_weights_at_another_tree_size(tmp_path):
    script = load_example("ham_tables")
    tiny = ["--task", "stack", "--batches", "2", "--batch-size", "4", "--test-examples", "8",
            "--no-jit"]
    first = script.main([*tiny, "--leaves", "4", "--epochs", "1", "--run-dir", str(tmp_path / "a")])
    again = script.main([*tiny, "--leaves", "8", "--epochs", "0", "--init-from",
                         str(tmp_path / "a" / "model.keras"), "--run-dir", str(tmp_path / "b")])
    assert first["args"]["leaves"] == 4 and again["args"]["leaves"] == 8
    assert 1.0 <= again["distinct_leaves"] <= 8.0
    saved = keras.models.load_model(tmp_path / "a" / "model.keras").get_weights()
    loaded = keras.models.load_model(tmp_path / "b" / "model.keras").get_weights()
    assert len(saved) == len(loaded)
    for a, b in zip(saved, loaded):
        np.testing.assert_array_equal(a, b)


def test_a_resumed_ham_tables_run_equals_the_uninterrupted_run(tmp_path):
    """3 epochs in one go == 2 epochs, then --resume to 3: weights, curriculum and validation."""
    script = load_example("ham_tables")
    tiny = ["--task", "reverse", "--leaves", "8", "--batches", "3", "--batch-size", "4",
            "--test-examples", "8", "--no-jit", "--curriculum", "2",
            "--curriculum-threshold", "1.0", "--seed", "3"]
    whole = script.main([*tiny, "--epochs", "3", "--run-dir", str(tmp_path / "whole")])
    script.main([*tiny, "--epochs", "2", "--run-dir", str(tmp_path / "halves")])
    with pytest.raises(SystemExit, match="--resume"):  # a run directory is never overwritten
        script.main([*tiny, "--epochs", "3", "--run-dir", str(tmp_path / "halves")])
    with pytest.raises(SystemExit, match="other arguments"):
        script.main([*tiny, "--epochs", "3", "--lr", "0.1", "--resume",
                     "--run-dir", str(tmp_path / "halves")])
    # A run started before an option existed (its state lacks the key) resumes at the
    # option's default, and not with another value.
    state_path = tmp_path / "halves" / "state.json"
    state = json.load(open(state_path))
    assert state["args"].pop("no_join_bias") is False
    json.dump(state, open(state_path, "w"))
    with pytest.raises(SystemExit, match="other arguments"):
        script.main([*tiny, "--epochs", "3", "--no-join-bias", "--resume",
                     "--run-dir", str(tmp_path / "halves")])
    halves = script.main([*tiny, "--epochs", "3", "--resume", "--run-dir", str(tmp_path / "halves")])

    def drop_seconds(history):
        return [{k: v for k, v in h.items() if k != "seconds"} for h in history]

    stages = [h["curriculum_leaves"] for h in whole["history"]]
    assert stages == sorted(stages) and len(stages) == 3
    assert drop_seconds(halves["history"]) == drop_seconds(whole["history"])
    assert halves["test_error"] == whole["test_error"]
    a = keras.models.load_model(tmp_path / "whole" / "model.keras").get_weights()
    b = keras.models.load_model(tmp_path / "halves" / "model.keras").get_weights()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def _run_record(run_dir):
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    with open(os.path.join(run_dir, "evaluations.json")) as f:
        evaluations = [{k: v for k, v in e.items() if k != "seconds"} for e in json.load(f)]
    return [keras.ops.convert_to_numpy(w) for w in model.weights], evaluations


def test_a_resumed_run_equals_the_uninterrupted_run(tmp_path):
    """2 evaluation periods in one go == 1 period, then --resume for 1 more: weights and validation."""
    train = load_example("train")
    whole, halves = str(tmp_path / "whole"), str(tmp_path / "halves")
    train.main(["--steps", "10", "--run-dir", whole, *TINY])
    train.main(["--steps", "5", "--run-dir", halves, *TINY])
    train.main(["--steps", "10", "--run-dir", halves, "--resume", *TINY])
    weights, evaluations = _run_record(whole)
    resumed_weights, resumed_evaluations = _run_record(halves)
    assert len(evaluations) == 2
    assert resumed_evaluations == evaluations
    for a, b in zip(weights, resumed_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    # The resumed run's training time counts both starts.
    with open(os.path.join(halves, "results.json")) as f:
        resumed = json.load(f)
    first, second = (e["seconds"] for e in resumed["evaluations"])
    assert resumed["resumed"] and resumed["train_seconds"] >= first + second


CURRICULUM = ["--curriculum", "--curriculum-threshold", "100", "--curriculum-max-level", "10"]


def test_a_resumed_curriculum_run_equals_the_uninterrupted_run_and_keeps_the_mastered_model(
        tmp_path):
    """--curriculum: the level doubles each period (threshold 100 bits) up to 10; resumed at
    the level it had reached, the run trains the same batches; best.keras is the model that
    mastered the highest level."""
    train = load_example("train")
    whole, halves = str(tmp_path / "whole"), str(tmp_path / "halves")
    results = train.main(["--steps", "15", "--run-dir", whole, *TINY, *CURRICULUM])
    train.main(["--steps", "10", "--run-dir", halves, *TINY, *CURRICULUM])
    resumed = train.main(["--steps", "15", "--run-dir", halves, "--resume", *TINY, *CURRICULUM])
    history = results["curriculum"]["history"]
    assert [(h["level"], h["next_level"]) for h in history] == [(3, 6), (6, 10), (10, 10)]
    assert results["curriculum"]["mastered"] == 10
    assert [{k: v for k, v in h.items()} for h in resumed["curriculum"]["history"]] == history
    weights, evaluations = _run_record(whole)
    resumed_weights, resumed_evaluations = _run_record(halves)
    assert resumed_evaluations == evaluations
    for a, b in zip(weights, resumed_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    best = keras.models.load_model(os.path.join(whole, "best.keras"))
    for a, b in zip(weights, best.weights, strict=True):  # the last period mastered level 10
        np.testing.assert_array_equal(a, keras.ops.convert_to_numpy(b))


def test_train_script_starts_from_the_weights_of_a_saved_model(tmp_path):
    train = load_example("train")
    first = str(tmp_path / "first")
    train.main(["--steps", "5", "--run-dir", first, *TINY])
    source = keras.models.load_model(os.path.join(first, "model.keras"))
    # Zero steps of training: the new run's model is the saved one's weights.
    train.main(["--steps", "5", "--run-dir", str(tmp_path / "second"), "--learning-rate", "0",
                "--init-from", os.path.join(first, "model.keras"), *TINY])
    second = keras.models.load_model(str(tmp_path / "second" / "model.keras"))
    for a, b in zip(source.weights, second.weights, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    # Another index: the trainable weights are copied, the index keeps its own.
    sam_dir = str(tmp_path / "sam")
    sam = ["--cell", "sam", "--search", "lsh", "--num-heads", "2", "--k", "2", *TINY]
    train.main(["--steps", "5", "--run-dir", sam_dir, *sam])
    train.main(["--steps", "5", "--run-dir", str(tmp_path / "sam2"), "--learning-rate", "0",
                "--lsh-tables", "2", "--init-from", os.path.join(sam_dir, "model.keras"), *sam])
    sources = keras.models.load_model(os.path.join(sam_dir, "model.keras")).trainable_weights
    copies = keras.models.load_model(str(tmp_path / "sam2" / "model.keras")).trainable_weights
    for a, b in zip(sources, copies, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    with pytest.raises(SystemExit, match="--init-from .*the shapes"):
        train.main(["--steps", "5", "--run-dir", str(tmp_path / "third"), "--units", "6",
                    "--init-from", os.path.join(first, "model.keras"), *TINY[2:]])


def test_train_script_refuses_a_curriculum_for_a_task_it_cannot_grow(tmp_path):
    train = load_example("train")
    with pytest.raises(SystemExit, match="--curriculum: CurriculumStream grows the tasks"):
        train.main(["--task", "repeat_copy", "--steps", "5", "--run-dir", str(tmp_path / "r"),
                    "--curriculum", *TINY[:-4]])
    # One batch a period would fix the time axis at the first level's (a shape error after
    # the first doubling): refused before anything is built.
    with pytest.raises(SystemExit, match="--curriculum needs --eval-every >= 2.*--eval-every 1"):
        train.main(["--task", "associative_recall", "--steps", "5", "--run-dir",
                    str(tmp_path / "a"), "--curriculum", "--eval-every", "1"])


def test_checkpointed_seconds_add_the_starts_of_a_run():
    train = load_example("train")
    starts = [{"seconds": s} for s in (10.0, 20.0, 5.0, 7.0, 3.0)]
    assert train.checkpointed_seconds(starts) == 20.0 + 7.0 + 3.0
    assert train.checkpointed_seconds([]) == 0.0


def test_a_second_train_script_on_a_run_directory_in_use_exits_naming_it(tmp_path):
    from keras_memory.training import DirectoryLock

    train = load_example("train")
    run_dir = str(tmp_path / "run")
    with DirectoryLock(run_dir):
        with pytest.raises(SystemExit, match=rf"{run_dir} is in use .*pid {os.getpid()}"):
            train.main(["--steps", "5", "--run-dir", run_dir, *TINY])
    assert os.listdir(run_dir) == []  # Nothing written, the lock file gone.


def test_corrupt_run_files_stop_a_resume_naming_the_file_before_anything_changes(tmp_path):
    import shutil

    train = load_example("train")
    original = str(tmp_path / "run")
    train.main(["--steps", "5", "--run-dir", original, *TINY])
    for name in ("model.keras", "state.json", "best.keras"):
        for size in (0, 100):  # Empty, and cut short.
            run_dir = str(tmp_path / f"{name}_{size}")
            shutil.copytree(original, run_dir)
            path = os.path.join(run_dir, name)
            with open(path, "rb") as f:
                head = f.read(size)
            with open(path, "wb") as f:
                f.write(head)
            before = {entry: open(os.path.join(run_dir, entry), "rb").read()
                      for entry in os.listdir(run_dir) if entry != "logs"}
            with pytest.raises(SystemExit, match=rf"{re.escape(path)} is corrupt"):
                train.main(["--steps", "10", "--run-dir", run_dir, "--resume", *TINY])
            after = {entry: open(os.path.join(run_dir, entry), "rb").read()
                     for entry in os.listdir(run_dir) if entry != "logs"}
            assert after == before, name  # args.json and the truncated file untouched


def test_sam_long_recall_rebuilds_the_model_with_a_larger_memory(tmp_path):
    import importlib.util

    import keras

    from keras_memory import SAMCell, training

    model = training.build_model(SAMCell(8, memory_size=64, word_size=8, search="lsh", seed=1),
                                 "associative_recall")
    model.save(tmp_path / "m.keras")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "sam_long_recall", os.path.join(root, "examples", "sam_long_recall.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bigger = module.resized(keras.saving.load_model(tmp_path / "m.keras"), 4096, "lsh")
    cell = bigger.get_layer(index=1).cell
    assert (cell.memory_size, cell.search, cell.num_buckets) == (4096, "lsh", 256)
    assert module.resized(keras.saving.load_model(tmp_path / "m.keras"), 4096, "lsh",
                          3).get_layer(index=1).cell.lsh_probes == 3
    for new, old in zip(bigger.trainable_weights, model.trainable_weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(new),
                                      keras.ops.convert_to_numpy(old))
    result = module.main(["--model", str(tmp_path / "m.keras"), "--items", "2,9",
                          "--memory-size", "256", "--batches", "1", "--batch-size", "2",
                          "--output", str(tmp_path / "r.json")])
    assert [r["items"] for r in result["rows"]] == [2, 9]
    assert result["rows"][1]["steps"] == 9 * 4 + 8
    written = json.load(open(tmp_path / "r.json"))
    assert written["environment"] == training.environment()


@pytest.mark.parametrize("cosine", [0.5, 0.8, 0.95])
def test_the_lsh_collision_chance_is_that_of_random_hyperplanes(cosine):
    """Against a Monte Carlo estimate with random Gaussian hyperplanes in 32 dimensions."""
    module = load_example("sam_long_recall")
    rng = np.random.default_rng(0)
    trials, tables, bits, width = 4000, 4, 6, 32
    a = rng.normal(size=(trials, width))
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    other = rng.normal(size=(trials, width))
    other -= np.sum(other * a, -1, keepdims=True) * a
    other /= np.linalg.norm(other, axis=-1, keepdims=True)
    b = cosine * a + np.sqrt(1 - cosine ** 2) * other
    planes = rng.normal(size=(trials, tables, bits, width))
    same = np.all((np.einsum("tlbw,tw->tlb", planes, a) > 0)
                  == (np.einsum("tlbw,tw->tlb", planes, b) > 0), -1)
    observed = np.mean(np.any(same, -1))
    expected = module.lsh_collision_chance(cosine, tables, bits)
    assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / trials) + 1e-3


def test_key_similarity_reports_cosines_and_chances():
    """key_similarity (with the queries of `SAMCell.head_activations`, tested in
    tests/test_sam.py) reports cosines in [-1, 1] and a chance in [0, 1]."""
    import keras

    from keras_memory import SAMCell, tasks, training

    module = load_example("sam_long_recall")
    cell = SAMCell(8, memory_size=64, word_size=8, num_heads=2, k=4, seed=1)
    model = training.build_model(cell, "associative_recall")
    x, _, w = tasks.get("associative_recall").generate(np.random.default_rng(0), 2,
                                                       num_items=6)
    # Sharp reads (beta = softplus(20)), so that heads put more than half their
    # weight on one row, as a trained model's do.
    bias = keras.ops.convert_to_numpy(cell.head_parameters.bias).reshape(2, -1)
    bias[:, 2 * 8 + 2] = 20.0
    cell.head_parameters.bias.assign(bias.reshape(-1))
    answer = np.nonzero(w.reshape(2, x.shape[1], -1).sum(-1).max(0) > 0)[0]
    result = module.key_similarity(model, x, answer, min_age=0)
    assert result["reads"] > 0
    low, mid, high = result["cosine_percentiles_10_50_90"]
    assert -1 <= low <= mid <= high <= 1
    assert 0 <= result["found_by_tables"] <= 1
