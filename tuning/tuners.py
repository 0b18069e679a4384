"""Keras Tuner tuners that resume, run in parallel, and report.

- `ResumableGridSearch`: a `keras_tuner.GridSearch` whose oracle
  (`ResumableGridOracle`) hands out the first grid point no trial has taken
  yet. Keras Tuner 1.4.8's own `GridSearchOracle` does neither well:
  * it does not save where it is in the grid, so a search re-run with
    `overwrite=False` after an interruption (or after `max_trials`) reloads
    its finished trials and then stops at once, without the rest of the grid;
  * it derives each new point from a finished trial, so in distributed mode
    at most one or two trials run at a time, whatever the number of workers.
  The replacement enumerates the grid (every dimension an `hp.Choice` or
  `hp.Fixed`, the last declared varying fastest, as `GridSearch` does) and
  keeps the set of points taken in the oracle's saved state
  (`tried_so_far`), so any number of workers take distinct points, a
  finished point is never run again, and a trial interrupted mid-way is run
  again (Keras Tuner's retry queue) when the search is re-run.
- `ResumableRandomSearch`: `keras_tuner.RandomSearch` with the same
  process handling (Keras Tuner's random oracle already resumes).

Both are `_ProcessHandling` tuners:
  * the search space comes from `HyperModel.declare_hyperparameters`, so
    starting a tuner (the chief in particular) builds no model;
  * a distributed chief serves the oracle and exits about a second after the
    last worker finishes (the library's loop sleeps 20 s);
  * an idle worker (the grid is all taken, trials still running elsewhere)
    waits `idle_sleep` seconds between requests instead of spinning.

`collect_trials` and `write_reports` turn a project directory into a
ranked CSV and a Markdown table.
"""

import csv
import itertools
import json
import os
import time

import keras_tuner as kt
from keras_tuner.src.engine import trial as trial_module

from hypermodels import HAM_MODELS, LIE_ACCESS_MODELS, OBJECTIVE

#: Keras Tuner's environment variables for distributed tuning.
TUNER_ID = "KERASTUNER_TUNER_ID"
ORACLE_IP = "KERASTUNER_ORACLE_IP"
ORACLE_PORT = "KERASTUNER_ORACLE_PORT"


def is_distributed():
    return ORACLE_IP in os.environ


def is_chief():
    return is_distributed() and "chief" in os.environ.get(TUNER_ID, "")


def is_worker():
    return is_distributed() and not is_chief()


def _choices(hp):
    """The values of one grid dimension."""
    if isinstance(hp, kt.engine.hyperparameters.Fixed):
        return [hp.value]
    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        return [hp.default, not hp.default]
    if isinstance(hp, kt.engine.hyperparameters.Choice):
        values = list(hp.values)
        # GridSearch's order: the default first, then the others in order.
        values.remove(hp.default)
        return [hp.default] + values
    raise ValueError(
        f"ResumableGridOracle only walks Choice, Fixed and Boolean hyperparameters; "
        f"{hp.name!r} is a {type(hp).__name__}"
    )


class ResumableGridOracle(kt.oracles.GridSearchOracle):
    """A grid oracle that resumes and lets any number of workers run in parallel.

    Each new trial gets the first point of the grid (in `GridSearch`'s
    order) whose hash is not in `tried_so_far`, the set of every point a
    trial has been created for; that set is part of the saved oracle state.
    When every point is taken, the oracle answers `IDLE` while trials run
    elsewhere and `STOPPED` once none does.

    Conditional hyperparameters are not supported (the grids here have none).

    Args:
        max_trials: Optional cap on the number of trials in the project
            (those of earlier runs included). `None`: the whole grid.
        **kwargs: As `keras_tuner.oracles.GridSearchOracle`.
    """

    def __init__(self, objective=None, max_trials=None, **kwargs):
        # Trial ids are `len(trials)` padded to `len(str(max_trials))` digits;
        # keep the library's `max_trials` at None so every run of a project
        # names its trials alike ("0000", "0001", ...), and enforce the cap here.
        super().__init__(objective=objective, max_trials=None, **kwargs)
        self.trial_limit = max_trials

    def grid(self):
        """Every point of the grid, as dicts of values, in search order."""
        space = [hp for hp in self.get_space().space]
        names = [hp.name for hp in space]
        for combination in itertools.product(*(_choices(hp) for hp in space)):
            yield dict(zip(names, combination))

    def populate_space(self, trial_id):
        if self.trial_limit is not None and len(self.trials) >= self.trial_limit:
            values = None
        else:
            values = next((point for point in self.grid()
                           if self._compute_values_hash(point) not in self._tried_so_far), None)
        if values is not None:
            return {"status": trial_module.TrialStatus.RUNNING, "values": values}
        if self.ongoing_trials:
            return {"status": trial_module.TrialStatus.IDLE, "values": None}
        return {"status": trial_module.TrialStatus.STOPPED, "values": None}

    @kt.synchronized
    def end_trial(self, trial):
        # Oracle.end_trial, without GridSearchOracle's bookkeeping (unused here).
        kt.Oracle.end_trial(self, trial)


class _ProcessHandling:
    """Tuner mix-in: declared spaces, a chief that exits promptly, workers that do not spin."""

    idle_sleep = 1.0
    chief_poll = 0.5

    def _populate_initial_space(self):
        # The hypermodels declare their whole (unconditional) space: no model build.
        if (self.hypermodel is None or type(self.hypermodel).declare_hyperparameters
                is kt.HyperModel.declare_hyperparameters):
            return super()._populate_initial_space()
        hp = self.oracle.get_space()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)

    def reload(self):
        super().reload()
        if self._is_worker() or self.hypermodel is None or (
                type(self.hypermodel).declare_hyperparameters
                is kt.HyperModel.declare_hyperparameters):
            return
        # The space of this run, not the one saved with the project: a search
        # re-run with another `--fix` (say all seeds after seed 1) walks the new
        # grid. Points are recognised by their values, so finished ones are skipped.
        hp = kt.HyperParameters()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.hyperparameters = hp

    def search(self, *fit_args, **fit_kwargs):
        if is_chief():
            self.save()
            return self._serve()
        if is_worker():
            self._slow_down_idle_requests()
        return super().search(*fit_args, **fit_kwargs)

    def _slow_down_idle_requests(self):
        client = self.oracle
        if getattr(client, "_idle_wrapped", False):
            return
        create_trial = client.create_trial
        sleep = self.idle_sleep

        def create_trial_after_idle(tuner_id):
            trial = create_trial(tuner_id)
            if trial.status == trial_module.TrialStatus.IDLE:
                time.sleep(sleep)
            return trial

        client.create_trial = create_trial_after_idle
        client._idle_wrapped = True

    def _serve(self):
        """Serve the oracle to the workers until the search is over (the chief's part)."""
        from concurrent import futures

        import grpc
        from keras_tuner.src import protos
        from keras_tuner.src.distribute import oracle_chief

        address = f"{os.environ[ORACLE_IP]}:{os.environ[ORACLE_PORT]}"
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        servicer = oracle_chief.OracleServicer(self.oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
        if not server.add_insecure_port(address):
            raise RuntimeError(f"The chief could not listen on {address}")
        server.start()
        print(f"Chief: serving the oracle on {address}", flush=True)
        try:
            while not (servicer.stop_triggered and oracle_chief.exit_chief(self.oracle)):
                time.sleep(self.chief_poll)
        finally:
            server.stop(grace=1.0)
        self.oracle.save()
        print("Chief: every trial is done", flush=True)


class ResumableGridSearch(_ProcessHandling, kt.GridSearch):
    """`keras_tuner.GridSearch` with `ResumableGridOracle` (see the module docstring).

    Args:
        hypermodel: A `HyperModel` whose space is all `Choice`/`Fixed`.
        objective: The objective, e.g. `keras_tuner.Objective("objective", "max")`.
        max_trials: Optional cap on the number of trials of the project.
        **kwargs: As `keras_tuner.Tuner` (`directory`, `project_name`,
            `overwrite`, ...).
    """

    def __init__(self, hypermodel=None, objective=None, max_trials=None, seed=None,
                 hyperparameters=None, tune_new_entries=True, allow_new_entries=True,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3, **kwargs):
        oracle = ResumableGridOracle(
            objective=objective, max_trials=max_trials, seed=seed,
            hyperparameters=hyperparameters, tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries, max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials)
        kt.Tuner.__init__(self, oracle, hypermodel, **kwargs)


class ResumableRandomSearch(_ProcessHandling, kt.RandomSearch):
    """`keras_tuner.RandomSearch` with the process handling of `ResumableGridSearch`."""


# ---------------------------------------------------------------------------
# Project files.


class CorruptProjectError(ValueError):
    """A Keras Tuner project file that is not complete JSON."""


def _load_json(path, advice):
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CorruptProjectError(
            f"{path} is corrupt: not complete JSON ({len(text)} characters; {error}). "
            + advice
        ) from None


def _trial_advice(path):
    trial_dir = os.path.dirname(path)
    return (f"The other trials are kept in their own trial.json files: move {trial_dir} "
            f"out of {os.path.dirname(trial_dir)} and re-run the command. The project "
            "reloads without that trial; its point counts as taken and is not run again.")


def check_project_files(project_dir):
    """Raise `CorruptProjectError`, naming the file, if a project's JSON is cut short.

    Keras Tuner reads `oracle.json` and every `trial_*/trial.json` when it
    reloads a project, and a truncated one (a full disk, a killed write)
    gives a bare `JSONDecodeError`. The message says how to go on without
    losing the finished trials.
    """
    if not os.path.isdir(project_dir):
        return
    for entry in sorted(os.listdir(project_dir)):
        path = os.path.join(project_dir, entry, "trial.json")
        if entry.startswith("trial_") and os.path.isfile(path):
            _load_json(path, _trial_advice(path))
    oracle = os.path.join(project_dir, "oracle.json")
    if os.path.isfile(oracle):
        _load_json(oracle, (
            "The finished trials are intact in trial_*/trial.json, and --report-only "
            "still writes their results.csv and results.md. Keras Tuner cannot reload "
            "the project without its oracle: to go on, keep this project as it is and "
            "search the remaining points in a new one (--project-name, with --fix to "
            "leave out the points done), or start again with --overwrite."))


# ---------------------------------------------------------------------------
# Reports.


def collect_trials(project_dir):
    """Every trial of a project, from its `trial_*/trial.json` files.

    Returns a list of dicts `{"trial_id", "status", "values", "metrics"}`,
    ordered by trial id; `metrics` maps each reported metric to its value.
    """
    trials = []
    if not os.path.isdir(project_dir):
        return trials
    for entry in os.listdir(project_dir):
        path = os.path.join(project_dir, entry, "trial.json")
        if not (entry.startswith("trial_") and os.path.isfile(path)):
            continue
        state = _load_json(path, _trial_advice(path))
        metrics = {}
        for name, history in state.get("metrics", {}).get("metrics", {}).items():
            observations = [value for obs in history.get("observations", [])
                            for value in obs.get("value", [])]
            if observations:  # A trial reports its metrics once; keep the last report.
                metrics[name] = observations[-1]
        evaluation = os.path.join(project_dir, entry, "evaluation.json")
        if os.path.isfile(evaluation):  # search.py --evaluate-trial (HAM)
            metrics.update({k: v for k, v in _load_json(evaluation, "Delete it and run "
                            "--evaluate-trial again.").items()
                            if k in ("test_error", "generalization_error")})
        trials.append({"trial_id": state["trial_id"], "status": state.get("status"),
                       "values": state["hyperparameters"]["values"], "metrics": metrics})
    trials.sort(key=lambda t: int(t["trial_id"]))
    return trials


def rank_trials(trials, direction="max", keys=None):
    """Completed trials best first (by `keys`, default the objective), then the others.

    Sets each trial's `"rank"` (1 = best; `None` for unfinished or failed ones).
    """
    keys = keys or [OBJECTIVE]
    done = [t for t in trials if t["status"] == "COMPLETED" and all(k in t["metrics"] for k in keys)]
    rest = [t for t in trials if t not in done]
    sign = -1.0 if direction == "max" else 1.0
    done.sort(key=lambda t: (tuple(sign * t["metrics"][k] for k in keys), int(t["trial_id"])))
    for rank, t in enumerate(done, 1):
        t["rank"] = rank
    for t in rest:
        t["rank"] = None
    return done + rest


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def write_reports(project_dir, meta, space_names):
    """Write `results.csv` and `results.md` into `project_dir`.

    Args:
        project_dir: The Keras Tuner project directory.
        meta: Dict with `model`, `task`, `regime`, `steps`, `quick` and
            `paper` (the paper's `(fine, coarse)` or `None`).
        space_names: Hyperparameter names, in column order.

    Returns:
        `(csv_path, markdown_path, ranked_trials)`.
    """
    lie_access = meta["model"] in LIE_ACCESS_MODELS
    ham = meta["model"] in HAM_MODELS
    trials = collect_trials(project_dir)
    if lie_access:
        ranked = rank_trials(trials, "max", keys=["coarse", "fine"])
        metric_columns = ["fine", "coarse", OBJECTIVE, "seconds", "steps", "last_fine",
                          "last_coarse", "decay_delay_used", "checks", "parameters"]
    elif ham:
        ranked = rank_trials(trials, "min", keys=[OBJECTIVE])
        metric_columns = [OBJECTIVE, "final_validation_error", "full_size_epochs",
                          "curriculum_final_leaves", "seconds", "steps", "parameters",
                          "test_error", "generalization_error"]
    else:
        ranked = rank_trials(trials, "min", keys=[OBJECTIVE])
        metric_columns = [OBJECTIVE, "validation_bit_errors", "final_generalization_bit_errors",
                          "best_sequences", "seconds", "steps", "parameters"]
    names = list(space_names) + sorted({k for t in trials for k in t["values"]} - set(space_names))

    csv_path = os.path.join(project_dir, "results.csv")
    with open(csv_path + ".partial", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["rank", "trial_id", "status"] + names + metric_columns)
        for t in ranked:
            writer.writerow([_fmt(t["rank"]), t["trial_id"], t["status"]]
                            + [_fmt(t["values"].get(n)) for n in names]
                            + [_fmt(t["metrics"].get(m)) for m in metric_columns])
    os.replace(csv_path + ".partial", csv_path)

    done = [t for t in ranked if t["rank"] is not None]
    lines = [f"# Search: {meta['model']} on {meta['task']}"
             + (f", {meta['regime']} regime" if lie_access else ""), ""]
    lines.append(f"{len(done)} of {len(trials)} trials completed; {meta['steps']:,} steps per trial"
                 + ((" (quick grid: not comparable with the paper)" if lie_access
                     else " (quick search)") if meta.get("quick") else "")
                 + ".")
    lines.append("")
    if lie_access:
        lines.append("Fine / coarse accuracy (%) on the 2x test set, best of the validation checks "
                     "(Yang & Rush, 2017); ranked by coarse, then fine.")
        lines.append("")
        lines.append("| | fine | coarse | trial | hyperparameters |")
        lines.append("|---|---|---|---|---|")
        if done:
            best = done[0]
            lines.append(f"| best trial | {best['metrics']['fine']:.1f} | "
                         f"{best['metrics']['coarse']:.1f} | {best['trial_id']} | "
                         + ", ".join(f"{n}={_fmt(best['values'].get(n))}" for n in names) + " |")
        if meta.get("paper") is not None:
            fine, coarse = meta["paper"]
            lines.append(f"| paper, Table 1(b) | {fine:g} | {coarse:g} | | best of the Table A.1 grid |")
    elif ham:
        lines.append("Validation error (%): the share of sequences with any wrong bit, greedy "
                     "decisions, tree of the full size, best epoch (Andrychowicz & Kurach, 2016, "
                     "section 4.1); ranked lowest first.")
        lines.append("")
        if done:
            best = done[0]
            evaluated = "test_error" in best["metrics"]
            lines.append(f"Best trial {best['trial_id']}: {best['metrics'][OBJECTIVE]:.2f}% "
                         "validation error"
                         + (f", {best['metrics']['test_error']:.2f}% test error and "
                            f"{best['metrics']['generalization_error']:.2f}% generalization error "
                            "(`--evaluate-trial`)" if evaluated else "") + "; "
                         + ", ".join(f"{n}={_fmt(best['values'].get(n))}" for n in names) + ".")
        if meta.get("paper") is not None:
            test, generalization = meta["paper"]
            lines.append(f"The paper (best of its random search): {test:g}% test error, "
                         f"{generalization:g}% generalization error.")
    elif done:
        best = done[0]
        lines.append(f"Best trial {best['trial_id']}: {best['metrics'][OBJECTIVE]:.4g} generalization "
                     "bit errors per sequence (at the check with the fewest validation errors); "
                     + ", ".join(f"{n}={_fmt(best['values'].get(n))}" for n in names) + ".")
    lines += ["", "## All trials", ""]
    shown = (["fine", "coarse", "seconds"] if lie_access
             else [OBJECTIVE, "curriculum_final_leaves", "seconds"] if ham
             else [OBJECTIVE, "validation_bit_errors", "seconds"])
    lines.append("| rank | trial | status | " + " | ".join(names + shown) + " |")
    lines.append("|" + "---|" * (3 + len(names) + len(shown)))
    for t in ranked:
        cells = [_fmt(t["rank"]), t["trial_id"], t["status"]]
        cells += [_fmt(t["values"].get(n)) for n in names]
        number = "{:.1f}" if lie_access else "{:.4g}"
        cells += [(number.format(t["metrics"][m]) if m in t["metrics"] else "") for m in shown]
        lines.append("| " + " | ".join(cells) + " |")
    markdown_path = os.path.join(project_dir, "results.md")
    with open(markdown_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return csv_path, markdown_path, ranked
