"""Keras Tuner searches shaped like the papers' grids, from the command line.

    # The Table A.1 grid of LANTM on COPY, small regime (36 trials of 10,000 steps).
    python tuning/search.py --model lantm --task copy --regime small

    # A tiny grid (2 learning rates x seed 1, short sequences, 30 steps) in minutes on a CPU.
    python tuning/search.py --model lantm --task copy --regime small --quick

    # Part of a grid: one seed, the angle bound on.
    python tuning/search.py --model slantm --task reverse --fix seed=1 --fix bound_action=True

    # NTM / SAM: a random search (20 trials) on the NTM copy task.
    python tuning/search.py --model ntm --task copy --steps 5000 --max-trials 20

    # HAM: the paper's random search, with its curriculum up to 32 leaves.
    python tuning/search.py --model ham --task reverse --epochs 100 --max-trials 20
    python tuning/search.py --model ham --task stack --quick

Re-running the same command resumes the search: finished trials are kept
and not run again; a trial that was interrupted is run again. A re-run walks
the grid of its own command line, so `--fix seed=1` and then the same command
without it trains seeds 2 and 3 only. Outside distributed mode one search
runs per project at a time (`<directory>/.<project-name>.lock`); a corrupt
`oracle.json` or `trial.json` stops the re-run with an error naming the
file and how to go on. Each search
writes `results.csv` (every trial, ranked) and `results.md` (the best trial
next to the paper's Table 1(b) number, then every trial) into
`<directory>/<project-name>/`.

Distributed: set `KERASTUNER_TUNER_ID` (`chief`, then `tuner0`, `tuner1`, ...),
`KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` and run the same command
everywhere with the same `--directory` (see `tuning/launch_distributed.sh`,
and `tuning/launch_local.py` for one worker per GPU on one host).
"""

import argparse
import ast
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from hypermodels import (  # noqa: E402
    ALL_MODELS,
    HAM_MODELS,
    HAM_OBJECTIVE,
    HAM_TASKS,
    ham_space,
    quick_ham_space,
    LIE_ACCESS_MODELS,
    LIE_ACCESS_TASKS,
    MEMORY_OBJECTIVE,
    OBJECTIVE,
    grid_size,
    memory_space,
    quick_lie_access_space,
    quick_memory_space,
    restrict_space,
    table_a1_space,
    task_args_for,
)

QUICK_STEPS = 30
#: HAM `--quick`: a tree of 4 leaves from 2, 2 epochs of 3 batches of 8.
QUICK_HAM = {"leaves": 4, "epochs": 2, "batches": 3, "batch_size": 8, "validation_batches": 2,
             "curriculum_start": 0}
QUICK_TEST_BATCHES = 2
QUICK_RANDOM_TRIALS = 2
RANDOM_TRIALS = 20


def parse_pairs(pairs, option):
    """`["a=1", "b=x,y"]` -> `{"a": [1], "b": ["x", "y"]}`."""
    result = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"{option} expects NAME=VALUE, received {pair!r}")
        key, value = pair.split("=", 1)
        result[key] = [_literal(v) for v in value.split(",")]
    return result


def _literal(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=ALL_MODELS, default="lantm",
                   help="a Table 1(b) model (grid search over Table A.1) or ntm / sam "
                        "(random search)")
    p.add_argument("--task", default="copy",
                   help=f"Lie-access models: one of {', '.join(LIE_ACCESS_TASKS)}; "
                        "ntm / sam: a keras_memory.tasks name")
    p.add_argument("--regime", choices=("small", "large"), default="small",
                   help="small: 500 batches cycled; large: a fresh batch every step")
    p.add_argument("--steps", type=int, default=None,
                   help=f"training steps per trial (default 10,000; --quick {QUICK_STEPS})")
    p.add_argument("--quick", action="store_true",
                   help="a tiny grid (2 learning rates x 1 seed), short sequences, "
                        f"{QUICK_STEPS} steps, {QUICK_TEST_BATCHES} test batches, no XLA")
    p.add_argument("--directory", default=os.path.join("runs", "tuning"))
    p.add_argument("--project-name", default=None,
                   help="default <model>_<task>_<regime> (+ _quick)")
    p.add_argument("--max-trials", type=int, default=None,
                   help="cap on the trials of the project, earlier runs included "
                        f"(grid: default the whole grid; random: default {RANDOM_TRIALS})")
    p.add_argument("--fix", action="append", default=[], metavar="NAME=V1[,V2]",
                   help="restrict a search dimension, e.g. seed=1 or learning_rate=0.01,0.02")
    p.add_argument("--task-arg", action="append", default=[], metavar="NAME=VALUE",
                   help="task constructor argument, e.g. max_length=8 (repeatable)")
    p.add_argument("--test-batches", type=int, default=None,
                   help="Lie-access: batches of the 2x test set (default 100 = 3,200 examples)")
    p.add_argument("--eval-every", type=int, default=None, help="ntm / sam: steps between checks")
    p.add_argument("--eval-batches", type=int, default=None,
                   help="ntm / sam: batches per check and split (default 10)")
    p.add_argument("--batch-size", type=int, default=None, help="default 32 (HAM: 50)")
    p.add_argument("--epochs", type=int, default=None, help="HAM: epochs per trial (default 100)")
    p.add_argument("--batches", type=int, default=None,
                   help="HAM: batches per epoch (default 1,000)")
    p.add_argument("--leaves", type=int, default=None, help="HAM: the full tree (default 32)")
    p.add_argument("--curriculum-start", type=int, default=None,
                   help="HAM: leaves of the first curriculum stage (0: no curriculum; default 2, "
                        "--quick 0)")
    p.add_argument("--validation-batches", type=int, default=None,
                   help="HAM: batches of each validation measurement (default 20)")
    p.add_argument("--jit", dest="jit_compile", action="store_true", default=None,
                   help="compile with XLA (the default, except with --quick)")
    p.add_argument("--no-jit", dest="jit_compile", action="store_false")
    p.add_argument("--search-seed", type=int, default=None, help="random search: the oracle's seed")
    p.add_argument("--overwrite", action="store_true", help="delete the project and start again")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads of each trial (keras_memory.backend.limit_cpu_threads; "
                        "default: the backend's)")
    p.add_argument("--fit-log", default=None,
                   help="append a JSON line per trial start and end to this file")
    p.add_argument("--report-only", action="store_true",
                   help="write results.csv / results.md from the project and exit")
    p.add_argument("--evaluate-trial", default=None, metavar="TRIAL_ID",
                   help="HAM: test and generalization errors of this completed trial's best "
                        "epoch, written to its trial_<id>/evaluation.json and the reports")
    p.add_argument("--test-examples", type=int, default=2500,
                   help="HAM --evaluate-trial: sequences of each measurement (as "
                        "examples/ham_tables.py)")
    p.add_argument("--verbose", type=int, default=1, help="0: quiet; 1: Keras Tuner's trial log; "
                                                         "2: also Keras' per-epoch lines")
    return p


def search_space(args):
    """The search space of `args`: Table A.1 (or the quick grid) with `--fix` applied."""
    if args.model in LIE_ACCESS_MODELS:
        space = quick_lie_access_space(args.model) if args.quick else table_a1_space(args.model)
    elif args.model in HAM_MODELS:
        space = (quick_ham_space if args.quick else ham_space)(args.model, args.task)
    else:
        space = quick_memory_space(args.model) if args.quick else memory_space(args.model)
    return restrict_space(space, parse_pairs(args.fix, "--fix"))


def settings(args):
    """Fill in the defaults that depend on the model and `--quick`."""
    lie_access = args.model in LIE_ACCESS_MODELS
    if lie_access and args.task not in LIE_ACCESS_TASKS:
        raise SystemExit(f"--task must be one of {', '.join(LIE_ACCESS_TASKS)} for {args.model}")
    if args.model in HAM_MODELS:
        if args.task not in HAM_TASKS:
            raise SystemExit(f"--task must be one of {', '.join(HAM_TASKS)} for {args.model}")
        defaults = QUICK_HAM if args.quick else {"leaves": 32, "epochs": 100, "batches": 1000,
                                                 "batch_size": 50, "validation_batches": 20,
                                                 "curriculum_start": 2}
        for name, value in defaults.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
        args.steps = args.epochs * args.batches
    if args.batch_size is None:
        args.batch_size = 32
    if args.steps is None:
        args.steps = QUICK_STEPS if args.quick else 10_000
    if args.test_batches is None:
        args.test_batches = QUICK_TEST_BATCHES if args.quick else 100
    if args.eval_batches is None:
        args.eval_batches = QUICK_TEST_BATCHES if args.quick else 10
    if args.jit_compile is None:
        args.jit_compile = not args.quick
    if args.max_trials is None and not lie_access:
        args.max_trials = QUICK_RANDOM_TRIALS if args.quick else RANDOM_TRIALS
    if args.project_name is None:
        args.project_name = f"{args.model}_{args.task}" + (f"_{args.regime}" if lie_access else "")
        args.project_name += "_quick" if args.quick else ""
    task_args = {k: v[0] for k, v in parse_pairs(args.task_arg, "--task-arg").items()}
    args.task_kwargs = task_args_for(args.model, args.task, args.quick, task_args)
    return args


def make_hypermodel(args, space):
    from hypermodels import HAMHyperModel, LieAccessHyperModel, MemoryHyperModel

    verbose = 2 if args.verbose >= 2 else 0
    if args.model in HAM_MODELS:
        return HAMHyperModel(args.model, args.task, epochs=args.epochs, batches=args.batches,
                             batch_size=args.batch_size, leaves=args.leaves,
                             curriculum_start=args.curriculum_start,
                             validation_batches=args.validation_batches, space=space,
                             task_args=args.task_kwargs, jit_compile=args.jit_compile,
                             verbose=verbose, fit_log=args.fit_log)
    if args.model in LIE_ACCESS_MODELS:
        return LieAccessHyperModel(args.model, args.task, args.regime, steps=args.steps,
                                   space=space, task_args=args.task_kwargs,
                                   test_batches=args.test_batches, batch_size=args.batch_size,
                                   jit_compile=args.jit_compile, verbose=verbose,
                                   fit_log=args.fit_log)
    return MemoryHyperModel(args.model, args.task, steps=args.steps, space=space,
                            task_args=args.task_kwargs, eval_every=args.eval_every,
                            eval_batches=args.eval_batches, batch_size=args.batch_size,
                            jit_compile=args.jit_compile, verbose=verbose, fit_log=args.fit_log)


def make_tuner(args, hypermodel):
    import keras_tuner as kt

    from tuners import ResumableGridSearch, ResumableRandomSearch

    common = dict(directory=args.directory, project_name=args.project_name,
                  overwrite=args.overwrite, max_consecutive_failed_trials=3)
    if args.model in LIE_ACCESS_MODELS:
        return ResumableGridSearch(hypermodel, objective=kt.Objective(OBJECTIVE, "max"),
                                   max_trials=args.max_trials, **common)
    return ResumableRandomSearch(hypermodel, objective=kt.Objective(OBJECTIVE, "min"),
                                 max_trials=args.max_trials, seed=args.search_seed, **common)


def paper_result(args):
    from keras_memory import papers

    if args.model in HAM_MODELS:
        return papers.HAM_TABLES[args.task]
    if args.model not in LIE_ACCESS_MODELS:
        return None

    return papers.table_1b(args.model, args.task, args.regime)


def meta_of(args, space):
    return {"model": args.model, "task": args.task, "regime": args.regime, "steps": args.steps,
            "quick": args.quick, "task_args": args.task_kwargs, "test_batches": args.test_batches,
            "batch_size": args.batch_size, "space": space, "grid_size": grid_size(space),
            "objective": (OBJECTIVE if args.model in LIE_ACCESS_MODELS
                          else HAM_OBJECTIVE if args.model in HAM_MODELS else MEMORY_OBJECTIVE),
            "paper": paper_result(args)}


def report(args, space):
    from tuners import write_reports

    project_dir = os.path.join(args.directory, args.project_name)
    csv_path, md_path, ranked = write_reports(project_dir, meta_of(args, space), list(space))
    done = [t for t in ranked if t["rank"] is not None]
    print(f"{len(done)} of {len(ranked)} trials completed. Wrote {csv_path} and {md_path}")
    if done and args.model in LIE_ACCESS_MODELS:
        best = done[0]
        fine, coarse = paper_result(args)
        print(f"Best trial {best['trial_id']}: fine/coarse {best['metrics']['fine']:.1f}/"
              f"{best['metrics']['coarse']:.1f} (paper, Table 1(b): {fine:g}/{coarse:g}); "
              f"{best['values']}")
    elif done and args.model in HAM_MODELS:
        best = done[0]
        test, generalization = paper_result(args)
        print(f"Best trial {best['trial_id']}: {best['metrics'][OBJECTIVE]:.2f}% validation "
              f"sequence error (paper: {test:g}% test, {generalization:g}% generalization); "
              f"{best['values']}")
    elif done:
        best = done[0]
        print(f"Best trial {best['trial_id']}: {best['metrics'][OBJECTIVE]:.4g} generalization bit "
              f"errors per sequence; {best['values']}")
    return ranked


def evaluate_trial(args, space):
    """HAM: the test and generalization errors of a completed trial (section 4.1).

    Rebuilds the trial's model from its hyperparameters, loads the weights the
    tuner kept (the epoch of lowest validation error), and measures them as
    `examples/ham_tables.py` does (`keras_memory.recipes.ham.evaluate`, seed 0).
    Writes `trial_<id>/evaluation.json`, which `results.csv` then shows.
    """
    import time

    import keras_tuner as kt

    from keras_memory.recipes import ham as ham_recipe

    if args.model not in HAM_MODELS:
        raise SystemExit(f"--evaluate-trial is for --model {' or '.join(HAM_MODELS)}, "
                         f"received --model {args.model}")
    trial_dir = os.path.join(args.directory, args.project_name, f"trial_{args.evaluate_trial}")
    trial_path = os.path.join(trial_dir, "trial.json")
    weights = os.path.join(trial_dir, "checkpoint.weights.h5")
    if not os.path.isfile(trial_path):
        raise SystemExit(f"--evaluate-trial {args.evaluate_trial}: no {trial_path}")
    trial = kt.engine.trial.Trial.load(trial_path)
    if trial.status != "COMPLETED":
        raise SystemExit(f"--evaluate-trial {args.evaluate_trial}: the trial is {trial.status}; "
                         "only a completed trial has the weights of its best epoch.")
    if not os.path.isfile(weights):
        raise SystemExit(f"--evaluate-trial {args.evaluate_trial}: {weights} is missing.")
    hypermodel = make_hypermodel(args, space)
    model = hypermodel.build(trial.hyperparameters)
    model.load_weights(weights)
    start = time.perf_counter()
    test, generalization = ham_recipe.evaluate(model, args.task, args.test_examples,
                                               args.batch_size, seed=0,
                                               jit_compile=args.jit_compile)
    result = {"test_error": test, "generalization_error": generalization,
              "examples": args.test_examples, "seed": 0,
              "seconds": time.perf_counter() - start}
    with open(os.path.join(trial_dir, "evaluation.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"Trial {args.evaluate_trial}: test error {test:.2f}%, generalization error "
          f"{generalization:.2f}% ({args.test_examples:,} sequences each)")
    return result


def main(argv=None):
    args = settings(parser().parse_args(argv))
    space = search_space(args)
    if args.report_only:
        return report(args, space)
    if args.evaluate_trial is not None:
        evaluate_trial(args, space)
        return report(args, space)
    if args.threads:
        from keras_memory.backend import limit_cpu_threads

        limit_cpu_threads(args.threads)

    from tuners import is_distributed

    if is_distributed():  # The chief's oracle hands each trial to one worker.
        return _search(args, space)
    # One search per project: two would each train every point.
    from keras_memory.training import DirectoryInUseError, DirectoryLock

    project_dir = os.path.join(args.directory, args.project_name)
    lock = DirectoryLock(project_dir, lock_file=os.path.join(
        args.directory, f".{args.project_name}.lock"))  # Survives --overwrite.
    try:
        lock.acquire()
    except DirectoryInUseError as error:
        raise SystemExit(f"Cannot start the search: {error} Run the searches of one project "
                         "one after the other, or distributed (see tuning/README.md).") from None
    try:
        return _search(args, space)
    finally:
        lock.release()


def _search(args, space):
    from tuners import CorruptProjectError, check_project_files, is_worker

    if not args.overwrite and not is_worker():
        try:
            check_project_files(os.path.join(args.directory, args.project_name))
        except CorruptProjectError as error:
            raise SystemExit(f"Cannot reload the search: {error}") from None
    hypermodel = make_hypermodel(args, space)
    tuner = make_tuner(args, hypermodel)
    project_dir = os.path.join(args.directory, args.project_name)
    if not is_worker():
        os.makedirs(project_dir, exist_ok=True)  # --overwrite removed it
        with open(os.path.join(project_dir, "search.json"), "w") as f:
            json.dump(meta_of(args, space), f, indent=1)
    kind = "grid" if args.model in LIE_ACCESS_MODELS else "random search"
    print(f"{args.model} on {args.task}: {kind} of {grid_size(space)} points"
          + (f", at most {args.max_trials} trials" if args.max_trials else "")
          + f", {args.steps:,} steps per trial, project {project_dir}", flush=True)
    tuner.search(verbose=min(args.verbose, 1))
    if is_worker():
        return None
    return report(args, space)


if __name__ == "__main__":
    main()
