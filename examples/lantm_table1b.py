"""Reproduce one cell of Table 1(b) of the Lie-access paper (Yang & Rush, 2017).

Trains one model on one task in one sample regime with the authors' protocol
and prints our fine / coarse accuracy on 3,200 examples of twice the training
length next to the paper's:

    # LANTM on COPY, small regime (16K examples seen 20 times, 10,000 steps).
    python examples/lantm_table1b.py --model lantm --task copy --regime small

    # SLANTM on REPEAT COPY; the RAM/Tape baseline with sharpening.
    python examples/lantm_table1b.py --model slantm --task repeat_copy
    python examples/lantm_table1b.py --model tape --task copy --sharpen

    # A shorter run (the checks scale with --steps), resumed after a stop.
    python examples/lantm_table1b.py --model lantm --task reverse --steps 4000 --resume

    # The Markdown table of every finished run under runs/table1b.
    python examples/lantm_table1b.py --summary runs/table1b

    # Where a trained model stops generalizing: accuracy at sizes across the
    # 2x test range (also written to results.json after every run).
    python examples/lantm_table1b.py --profile runs/table1b/slantm_reverse_small_s1

Models: `lstm`, `ram`, `tape` (RAM/Tape), `lantm`, `lantm-s` (softmax
weighting), `slantm`, `slantm-s` (on the sphere). The protocol is the
authors' code (`train.lua`, `fb.lua`): batches of 32 of one length each;
RMSProp (`keras_memory.training.lie_access_optimizer`) with their
learning-rate decay and a global gradient norm clip of 32; the loss only on
the answer; no writes while answering; fine and coarse accuracy checked 10
times in the second half of training (every `steps / 20` steps) and the best
of each reported.

The run directory (`--run-dir`, default `runs/table1b/<model>_<task>_<regime>_s<seed>`,
with a suffix per option: see `default_run_name`)
gets `model.keras` and `state.json` after every 500 steps (so `--resume`
continues a stopped run), `results.json`, and for LANTM and SLANTM
`trajectories.png`: where the read and write heads went in key space on one
test example (like the paper's Figures 2b and 3b).
"""

import argparse
import json
import os
import sys
import time

import keras
import numpy as np

from keras_memory import papers
from keras_memory.recipes import lantm as recipe
from keras_memory.training import (
    RunCheckpoint,
    dtype_policy,
    evaluate_task,
    lie_access_optimizer,
    resume_state,
)

MODELS = recipe.MODELS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, default="lantm")
    parser.add_argument("--task", choices=papers.TABLE_1B_TASKS, default="copy")
    parser.add_argument("--regime", choices=("small", "large"), default="small")
    parser.add_argument("--steps", type=int, default=10_000,
                        help="optimizer steps of 32 examples (the paper: 10,000)")
    parser.add_argument("--seed", type=int, default=None,
                        help="the paper's grid: 1, 2, 3 (default 1; --authors-config: theirs)")
    parser.add_argument("--authors-config", action="store_true",
                        help="take every setting not given here (lr, decay delay, init, seed, "
                             "angle bound, LSTM layers, RAM key size and sharpening) from the "
                             "authors' grid-selected run of this model, task and regime "
                             "(`keras_memory.papers.TABLE_1B_CONFIGS`)")
    parser.add_argument("--dtype", choices=("auto", "float32", "float64"), default="auto",
                        help="the model's dtype; auto: float64 with --init-magnitude (the authors "
                             "ran on the CPU in double precision, and weights uniform in (-1, 1) "
                             "overflow float32 gradients), else float32")
    parser.add_argument("--lr", type=float, default=None,
                        help="initial learning rate (default 0.01; LSTM 0.002)")
    parser.add_argument("--decay-delay", type=int, default=None,
                        help="iters of 10 steps before the decay (default 300; LSTM 700), "
                             "scaled to --steps")
    parser.add_argument("--init-magnitude", action="store_true",
                        help="every parameter uniform in (-1, 1), LSTM forget bias 1 + 1 "
                             "(the authors' init_magnitude=1; training.torch_uniform_init)")
    parser.add_argument("--init-scope", choices=("all", "kernels"), default="all",
                        help="what --init-magnitude draws: all (the authors: every parameter) or "
                             "kernels (the controller's and heads' kernels, forget bias 2, the "
                             "other parameters at their defaults)")
    parser.add_argument("--lstm-init", choices=("torch", "keras"), default="torch",
                        help="the LSTM baseline's initialisation: torch (the authors' "
                             "models/lstm.lua: Torch's default uniform weights and biases, no "
                             "forget bias, an N(0, 1) embedding, learned initial h and c) or "
                             "keras (Keras' LSTMCell defaults, forget bias 1, an N(0, 0.05) "
                             "embedding, zero initial state)")
    parser.add_argument("--key-size", type=int, default=None,
                        help="RAM and RAM/Tape key size (default 20; 2 for repeat_copy)")
    parser.add_argument("--sharpen", action="store_true", help="RAM weight sharpening")
    parser.add_argument("--bound-action", choices=("auto", "yes", "no"), default="auto",
                        help="LANTM translation / SLANTM angle bound (auto: as in the authors' "
                             "grid-selected configuration of the model and task)")
    parser.add_argument("--project-initial-key", action="store_true",
                        help="SLANTM: project the initial memory slot's learned key onto the "
                             "sphere (the authors' code leaves it raw)")
    parser.add_argument("--batch-order", choices=("shuffled", "file"), default="shuffled",
                        help="the order of each pass's batches: shuffled (Keras' fit) or file "
                             "(the authors' train.lua reads its training file in order)")
    parser.add_argument("--test-batches", type=int, default=100,
                        help="batches of 32 in the 2x test set (the paper: 100)")
    parser.add_argument("--task-arg", action="append", default=[], metavar="NAME=VALUE",
                        help="task constructor argument, e.g. max_length=8 (repeatable)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--run-dir", default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--no-jit", action="store_true")
    parser.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity")
    parser.add_argument("--profile", metavar="RUN_DIR", default=None,
                        help="score RUN_DIR's trained model at sizes across the 2x test range, "
                             "add the profile to its results.json and exit")
    parser.add_argument("--summary", metavar="DIR", default=None,
                        help="print the table of the results.json files under DIR and exit")
    args = parser.parse_args(argv)
    if args.project_initial_key and not args.model.startswith("slantm"):
        parser.error(f"--project-initial-key needs a sphere model (slantm, slantm-s); "
                     f"received --model {args.model}")
    given = {a.split("=")[0] for a in (sys.argv[1:] if argv is None else argv)}
    args.given = sorted(given)
    apply_authors_config(args)
    return args


def apply_authors_config(args):
    """Fills what the command line left open (`args.given`) from the authors' configuration."""
    given = args.given
    config = (papers.table_1b_config(args.model, args.task, args.regime)
              if args.authors_config and not (args.summary or args.profile) else {})
    if args.seed is None:
        args.seed = config.get("seed", 1)
    if config:
        if args.lr is None:
            args.lr = config["learning_rate"]
        if args.decay_delay is None:
            args.decay_delay = config["decay_delay"]
        if "--init-magnitude" not in given:
            args.init_magnitude = bool(config.get("init_magnitude", False))
        if args.bound_action == "auto" and "bound_act" in config:
            args.bound_action = "yes" if config["bound_act"] else "no"
        if args.key_size is None and "key_dim" in config:
            args.key_size = config["key_dim"]
        if "--sharpen" not in given:
            args.sharpen = bool(config.get("wt_sharpening", args.sharpen))
    args.lstm_layers = config.get("num_lstm_layers")
    if args.dtype == "auto":
        args.dtype = "float64" if args.init_magnitude else "float32"


def default_run_name(args):
    """`<model>_<task>_<regime>_s<seed>`, then `_authors` (`--authors-config`),
    `_kernels` (`--init-magnitude --init-scope kernels`), `_keras` (the LSTM
    with `--lstm-init keras`), `_pkey` (`--project-initial-key`), `_fileorder`
    (`--batch-order file`), `_lr<lr>`,
    `_dd<delay>` and `_<dtype>` (an `--lr`, `--decay-delay` or `--dtype`
    given on the command line), so variants do not share a directory."""
    name = f"{args.model}_{args.task}_{args.regime}_s{args.seed}"
    if args.authors_config:
        name += "_authors"
    if args.init_magnitude and args.init_scope == "kernels":
        name += "_kernels"
    if args.model == "lstm" and args.lstm_init == "keras":
        name += "_keras"
    if getattr(args, "project_initial_key", False):
        name += "_pkey"
    if getattr(args, "batch_order", "shuffled") == "file":
        name += "_fileorder"
    given = getattr(args, "given", ())
    if "--lr" in given:
        name += f"_lr{args.lr:g}"
    if "--decay-delay" in given:
        name += f"_dd{args.decay_delay}"
    if "--dtype" in given:
        name += f"_{args.dtype}"
    return name


def init_label(results):
    """The summary's note on the initialisation of a run (`results.json`)."""
    if not results.get("init_magnitude"):
        return ""
    # Runs before --init-scope drew the kernels only.
    return " (init 1)" if results.get("init_scope") == "all" else " (init 1, kernels)"


def bound_action_of(args):
    if args.bound_action == "auto":
        return recipe.authors_bound_action(args.model, args.task, args.regime)
    return args.bound_action == "yes"


def make_task(name, pad_multiple=8, task_args=()):
    """The task `lantm_<name>` with `--task-arg NAME=INT` arguments (`pad_multiple=None`: the test set)."""
    kwargs = {}
    for item in task_args:
        key, _, value = item.partition("=")
        kwargs[key] = int(value)
    task, test_task = recipe.make_tasks(name, **kwargs)
    return task if pad_multiple else test_task


def build(args, task):
    """The model of `--model` for `task` (`keras_memory.recipes.lantm.build_model`)."""
    init = (args.init_scope if args.init_magnitude else "default")
    return recipe.build_model(
        args.model, args.task, task, regime=args.regime, seed=args.seed, init=init,
        lstm_init=args.lstm_init, lstm_layers=args.lstm_layers, key_size=args.key_size,
        sharpen=args.sharpen, bound_action=bound_action_of(args),
        project_initial_key=args.project_initial_key, dtype=args.dtype)


def trajectories_figure(model, task, path, seed=0):
    """Head trajectories of the trained LANTM / SLANTM on one 2x test example."""
    from keras_memory import plotting

    rng = np.random.default_rng(seed)
    x, _, _ = task.generate(rng, 1, split="generalization")
    x = x[:, : int((np.abs(x).sum(-1) > 0).sum())]  # Drop the padding.
    record = plotting.record_heads(model, x)
    plotting.plot_head_trajectories(record, path=path,
                                    title=f"{model.name}: {task.decode(np.argmax(x[0, :, :-1], -1))[:60]}")


def summary(root):
    """The Markdown table of every `results.json` under `root`, ours next to the paper's."""
    rows = []
    for dirpath, _, files in sorted(os.walk(root)):
        if "results.json" in files:
            with open(os.path.join(dirpath, "results.json")) as f:
                rows.append(json.load(f))
    lines = ["| model | task | regime | seed | lr | decay delay | ours fine/coarse | paper fine/coarse "
             "| steps | training time |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['model']}{init_label(r)}"
            # LSTM runs before --lstm-init had Keras' initialisation.
            f"{' (Keras init)' if r['model'] == 'lstm' and r.get('lstm_init', 'keras') == 'keras' else ''}"
            f"{' (sharpen)' if r.get('sharpen') else ''}"
            f"{' (projected initial key)' if r.get('project_initial_key') else ''} | {r['task']} | {r['regime']} | {r['seed']} | {r['learning_rate']:g} | "
            f"{r['decay_delay']} | "
            f"{r['fine']:.1f}/{r['coarse']:.1f} | {r['paper_fine']:g}/{r['paper_coarse']:g} | "
            f"{r['steps']:,} | {r['seconds'] / 60:.1f} min |")
    return "\n".join(lines)


def size_profile(model, task, num_points=8, batch_size=32, seed=0):
    """Fine and coarse accuracy (%) of `model` at sizes across the 2x test range.

    One batch of `batch_size` examples per size (a length, or the repeat count
    of repeat copy), `num_points` sizes from the range's low end to its high
    end: where a model stops generalizing, rather than one average.
    """
    low, high = task.size_range("generalization")
    sizes = sorted({int(round(v)) for v in np.linspace(low, high, num_points)})
    rows = []
    for size in sizes:
        scores = evaluate_task(model, task, num_batches=1, batch_size=batch_size,
                               seed=seed + size, size=size)
        rows.append({"size": size, "fine": 100 * scores["symbol_accuracy"],
                     "coarse": 100 * scores["sequence_accuracy"]})
    return rows


def profile_table(rows):
    lines = ["| size | fine | coarse |", "|---|---|---|"]
    lines += [f"| {r['size']} | {r['fine']:.1f} | {r['coarse']:.1f} |" for r in rows]
    return "\n".join(lines)


def profile_run(run_dir):
    """`--profile`: the size profile of a finished run's model, added to its results."""
    results_path = os.path.join(run_dir, "results.json")
    if not os.path.exists(results_path) or not os.path.exists(os.path.join(run_dir, "model.keras")):
        raise ValueError(f"--profile needs a finished run: {run_dir!r} has no results.json "
                         "and model.keras.")
    with open(results_path) as f:
        results = json.load(f)
    with dtype_policy(results.get("dtype") or "float32"):
        model = keras.models.load_model(os.path.join(run_dir, "model.keras"), compile=False)
        rows = size_profile(model, make_task(results["task"], pad_multiple=None,
                                             task_args=results.get("task_args", ())))
    results["by_size"] = rows
    with open(results_path, "w") as f:
        json.dump(results, f, indent=1)
    print(profile_table(rows))
    return rows


def main(argv=None):
    args = parse_args(argv)
    if args.profile:
        return profile_run(args.profile)
    if args.summary:
        table = summary(args.summary)
        print(table)
        return table
    with dtype_policy(args.dtype):
        return train(args)


def schedule(args):
    """`(learning rate, decay delay)` of a run (`keras_memory.recipes.lantm.schedule`)."""
    return recipe.schedule(args.model, args.steps, args.lr, args.decay_delay)


def run_settings(args):
    """The settings a run records in `results.json`, as the command line sets them."""
    lr, delay = schedule(args)
    return {
        "model": args.model, "task": args.task, "regime": args.regime, "seed": args.seed,
        "steps": args.steps, "learning_rate": lr, "decay_delay": delay,
        "init_magnitude": args.init_magnitude,
        "init_scope": args.init_scope if args.init_magnitude else None,
        "bound_action": bound_action_of(args),
        "authors_config": args.authors_config, "dtype": args.dtype,
        "sharpen": args.sharpen, "key_size": args.key_size,
        "project_initial_key": args.project_initial_key,
        "batch_order": args.batch_order,
    }


def train(args):
    keras.utils.set_random_seed(args.seed)
    lr, delay = schedule(args)
    run_dir = args.run_dir or os.path.join("runs", "table1b", default_run_name(args))
    os.makedirs(run_dir, exist_ok=True)
    task = make_task(args.task, task_args=args.task_arg)
    test_task = make_task(args.task, pad_multiple=None, task_args=args.task_arg)

    batches, epochs = recipe.training_batches(task, args.regime, args.steps, args.batch_size,
                                              args.seed)
    steps_per_epoch = batches.steps_per_epoch
    validation = recipe.validation(test_task, args.steps, args.test_batches, args.batch_size,
                                   verbose=args.verbose > 0)

    model_path = os.path.join(run_dir, "model.keras")
    state_path = os.path.join(run_dir, "state.json")
    state = resume_state(state_path) if args.resume else None
    initial_epoch, elapsed = 0, 0.0
    if state is not None:
        model = keras.models.load_model(model_path)
        initial_epoch = state["epoch"]
        validation.history = state["checks"]
        validation.steps = initial_epoch * steps_per_epoch
        if validation.history:
            validation.best_fine = max(r["fine"] for r in validation.history)
            validation.best_coarse = max(r["coarse"] for r in validation.history)
        elapsed = state.get("seconds", 0.0)
        print(f"Resuming {run_dir} at step {validation.steps}")
    else:
        model = build(args, task)
        model.compile(lie_access_optimizer(lr, delay), jit_compile=not args.no_jit,
                      **task.compile_kwargs())
    print(f"{args.model} on {args.task} ({args.regime} regime): {model.count_params():,} "
          f"parameters, lr {lr}, decay delay {delay}, {args.steps:,} steps")

    start = time.perf_counter()
    checkpoint = RunCheckpoint(model_path, state_path, extra_state=lambda: {
        "checks": validation.history, "seconds": elapsed + time.perf_counter() - start})
    model.fit(batches, epochs=epochs, initial_epoch=initial_epoch, verbose=args.verbose,
              shuffle=args.batch_order == "shuffled",
              # A NaN loss stops the run, as in the authors' `train.lua`.
              callbacks=[batches.epoch_callback(), keras.callbacks.TerminateOnNaN(), validation,
                         checkpoint])
    seconds = elapsed + time.perf_counter() - start

    paper_fine, paper_coarse = papers.table_1b(args.model, args.task, args.regime)
    ours_fine = 100 * (validation.best_fine or 0.0)
    ours_coarse = 100 * (validation.best_coarse or 0.0)
    results = {
        **run_settings(args),
        # From the model, not the arguments: a resumed run keeps its own.
        "lstm_init": (("torch" if any(layer.name == "initial_state" for layer in model.layers)
                       else "keras") if args.model == "lstm" else None),
        "parameters": model.count_params(), "seconds": seconds,
        "fine": ours_fine, "coarse": ours_coarse,
        "paper_fine": paper_fine, "paper_coarse": paper_coarse,
        "checks": validation.history,
        "task_args": list(args.task_arg),
        # TerminateOnNaN stopped the run (the authors' code stops such a run too).
        "stopped_on_nan": bool(getattr(model, "stop_training", False)),
        # The final model (not the best check) at sizes across the test range.
        "by_size": size_profile(model, test_task),
    }
    with open(os.path.join(run_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("\nThe final model by test size:\n" + profile_table(results["by_size"]))
    if results["stopped_on_nan"]:
        print(f"The loss became NaN: training stopped after {validation.steps:,} of "
              f"{args.steps:,} steps.")
    print(f"\n| model | task | regime | ours fine/coarse | paper fine/coarse | steps | wall |")
    print(f"| {args.model} | {args.task} | {args.regime} | {ours_fine:.1f}/{ours_coarse:.1f} | "
          f"{paper_fine:g}/{paper_coarse:g} | {args.steps:,} | {seconds / 60:.1f} min |")
    if args.model in ("lantm", "lantm-s", "slantm", "slantm-s"):
        try:
            trajectories_figure(model, test_task, os.path.join(run_dir, "trajectories.png"))
            print(f"Wrote {os.path.join(run_dir, 'trajectories.png')}")
        except ImportError:
            print("matplotlib is not installed: no trajectories figure")
    return results


if __name__ == "__main__":
    main()
