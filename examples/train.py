"""Train a memory cell on an algorithmic task from the command line.

Examples:

    # The NTM paper's copy task (lengths 1-20), Collier & Beel's recipe.
    python examples/train.py --cell ntm --task copy --steps 30000

    # Resume the same run after an interruption (same --run-dir).
    python examples/train.py --cell ntm --task copy --steps 30000 --resume

    # Sparse Access Memory with 100,000 slots on associative recall.
    python examples/train.py --cell sam --memory-size 100000 --word-size 32 \
        --task associative_recall

    # The SAM paper's curriculum (section 4.3): the items of associative
    # recall double whenever an evaluation period's training error is below
    # 1 bit per sequence, on 100,000 slots found through the LSH index.
    python examples/train.py --cell sam --memory-size 100000 --word-size 32 \
        --search lsh --task associative_recall --batch-size 8 --curriculum

    # The DNC, and the SAM paper's sparse DNC, on repeat copy.
    python examples/train.py --cell dnc --num-read-heads 4 --task repeat_copy
    python examples/train.py --cell sdnc --memory-size 1024 --word-size 32 --task repeat_copy

    # Where the trained DNC's heads read and wrote, on a validation example.
    python examples/train.py --cell dnc --task copy --run-dir runs/dnc_copy_s1 \
        --plot-access docs/figures/dnc_copy_access.png

    # An LSTM baseline on associative recall, with task arguments.
    python examples/train.py --cell lstm --units 256 --task associative_recall \
        --task-arg max_items=6

Every run directory gets: `model.keras` (the latest model with its optimizer
state, saved every `--eval-every` steps), `best.keras` (the model of the best
validation check so far), `state.json` (how far the run got,
read by `--resume`), `logs/` (TensorBoard, where tensorflow is installed), `history.csv`
(training metrics per evaluation period), `evaluations.json` (validation
results against sequences seen) and `results.json` (the final and the best
model evaluated on the validation and generalization splits, the command and
its settings, the learning curve, when it fell below 1 and 0.1 bit errors per
sequence, and the package versions and machine of the process that wrote it,
`keras_memory.training.environment()`). `--results PATH` writes a copy of
`results.json` to `PATH` as well, e.g. under `docs/data/` for a results page.

One run at a time per run directory: a run holds `<run-dir>/.lock` (its pid)
while it trains, and a second one on the same directory exits naming the
first one's pid. `--resume` continues exactly where the checkpoint left off
(the same batches, in the same order, and the same validation batches as an
uninterrupted run), and stops with an error naming the file if
`model.keras`, `best.keras` or `state.json` is corrupt.
"""

import argparse
import ast
import importlib.util
import json
import os
import shlex
import shutil
import sys
import time

import keras

from keras_memory import recipes, tasks
from keras_memory.training import (
    CorruptFileError,
    CurriculumStream,
    DoublingCurriculum,
    DirectoryInUseError,
    DirectoryLock,
    StopAtThreshold,
    TaskEvaluation,
    RestoreRandomState,
    RunCheckpoint,
    TrainingStream,
    build_model,
    check_keras_file,
    default_optimizer,
    environment,
    load_checkpoint,
    resume_state,
    evaluate_task,
    learning_summary,
)


def make_cell(args):
    """The cell named by `--cell`, sized by the command line (`keras_memory.recipes`)."""
    if args.cell not in CELLS:
        raise ValueError(f"Unknown --cell {args.cell!r}; allowed: {', '.join(CELLS)}")
    settings = {}
    if args.cell == "ntm":
        settings = dict(memory_size=args.memory_size, word_size=args.word_size,
                        num_read_heads=args.num_read_heads, num_write_heads=args.num_write_heads,
                        shift_range=args.shift_range, memory_init=args.memory_init or "random")
    elif args.cell == "sam":
        settings = dict(memory_size=args.memory_size, word_size=args.word_size,
                        num_heads=args.num_heads, k=args.k, search=args.search,
                        lsh_tables=args.lsh_tables, lsh_bits=args.lsh_bits,
                        lsh_bucket_size=args.lsh_bucket_size, lsh_recent=args.lsh_recent,
                        memory_init=args.memory_init or "zeros")
    elif args.cell == "dnc":
        if args.memory_init is not None:
            raise SystemExit("--memory-init: the DNC's memory always starts at zero")
        settings = dict(memory_size=args.memory_size, word_size=args.word_size,
                        num_read_heads=args.num_read_heads)
    elif args.cell == "sdnc":
        settings = dict(memory_size=args.memory_size, word_size=args.word_size,
                        num_heads=args.num_heads, k=args.k, num_links=args.num_links,
                        search=args.search, lsh_tables=args.lsh_tables, lsh_bits=args.lsh_bits,
                        lsh_bucket_size=args.lsh_bucket_size, lsh_recent=args.lsh_recent,
                        memory_init=args.memory_init or "zeros")
    return recipes.make_cell(args.cell, units=args.units, seed=args.seed, **settings)


CELLS = ("ntm", "sam", "dnc", "sdnc", "lstm")


def init_weights(model, path):
    """Copy the weights of the model saved at `path` into `model`.

    Every weight when the two models have the same ones; else the trainable
    weights alone, when those match (a SAM with another memory size or
    index keeps its own hash hyperplanes and initial memory)."""
    source = keras.models.load_model(path, compile=False)
    for which in ("weights", "trainable_weights"):
        mine, theirs = getattr(model, which), getattr(source, which)
        if [w.shape for w in mine] == [w.shape for w in theirs]:
            for target, value in zip(mine, theirs):
                target.assign(value)
            print(f"Initialised the {which.replace('_', ' ')} from {path}.")
            return
    raise SystemExit(
        f"--init-from {path}: its trainable weights have the shapes "
        f"{[tuple(w.shape) for w in source.trainable_weights]}, this model's "
        f"{[tuple(w.shape) for w in model.trainable_weights]}; give the cell the sizes it was "
        "trained with")


def curriculum_state(curriculum, previous):
    """The curriculum's level, mastered level and per-epoch history, for state and results."""
    return {"level": curriculum.stream.level, "mastered": curriculum.mastered,
            "threshold": curriculum.threshold, "history": previous + curriculum.history}


def parse_task_args(pairs):
    """`["max_length=20", "num_bits=8"]` -> `{"max_length": 20, "num_bits": 8}`."""
    kwargs = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"--task-arg expects NAME=VALUE, received {pair!r}")
        key, value = pair.split("=", 1)
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    return kwargs


def make_optimizer(args):
    if args.optimizer == "adam":
        # Adam 1e-3 as Collier & Beel (2018); see default_optimizer for the clip.
        return default_optimizer(args.learning_rate, args.clip_norm)
    # Graves et al. (2014), section 4: RMSProp with momentum 0.9 and every
    # gradient component clipped to (-10, 10).
    return keras.optimizers.RMSprop(args.learning_rate, rho=0.95, momentum=0.9,
                                    clipvalue=args.clip_value)


def checkpointed_seconds(evaluations):
    """Training seconds behind `evaluations` written by earlier starts of a run.

    Each start's clock begins at 0 (`TaskEvaluation`'s `seconds`), so the
    time of a start is the `seconds` of its last evaluation, the one its
    checkpoint was taken after; training after that was lost and is repeated
    by the next start.
    """
    total, last = 0.0, 0.0
    for record in evaluations:
        if record["seconds"] < last:  # A new start.
            total += last
        last = record["seconds"]
    return total + last


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cell", choices=CELLS, default="ntm")
    p.add_argument("--task", choices=tasks.available(), default="copy")
    p.add_argument("--task-arg", action="append", metavar="NAME=VALUE",
                   help="task constructor argument, e.g. max_length=10 (repeatable)")
    p.add_argument("--units", type=int, default=100, help="controller / LSTM size")
    p.add_argument("--memory-size", type=int, default=128)
    p.add_argument("--word-size", type=int, default=20)
    p.add_argument("--num-read-heads", type=int, default=1, help="NTM / DNC read heads")
    p.add_argument("--num-write-heads", type=int, default=1)
    p.add_argument("--shift-range", type=int, default=1)
    p.add_argument("--num-heads", type=int, default=4, help="SAM / SDNC access heads")
    p.add_argument("--k", type=int, default=4, help="SAM / SDNC rows read per head")
    p.add_argument("--num-links", type=int, default=8,
                   help="SDNC: entries kept per row of the sparse temporal links")
    p.add_argument("--search", choices=("exact", "lsh"), default="exact",
                   help="SAM / SDNC top-k search")
    p.add_argument("--lsh-tables", type=int, default=4, help="SAM LSH hash tables")
    p.add_argument("--lsh-bits", type=int, default=None,
                   help="SAM LSH bits per table (default: buckets for twice the memory)")
    p.add_argument("--lsh-bucket-size", type=int, default=32, help="SAM LSH slots per bucket")
    p.add_argument("--lsh-recent", type=int, default=256,
                   help="SAM LSH: rows allocated last that every query also searches")
    p.add_argument("--memory-init", default=None,
                   choices=("random", "constant", "learned", "zeros"),
                   help="initial memory (default: the cell's own; NTM: random, SAM and "
                        "SDNC: zeros; the DNC's is always zero)")
    p.add_argument("--steps", type=int, default=10000, help="training batches in all")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--optimizer", choices=("adam", "rmsprop"), default="adam")
    p.add_argument("--clip-norm", type=float, default=1.0, help="global norm clip (adam)")
    p.add_argument("--clip-value", type=float, default=10.0, help="element clip (rmsprop)")
    p.add_argument("--eval-every", type=int, default=200,
                   help="steps between validation checks and checkpoints")
    p.add_argument("--curriculum", action="store_true",
                   help="grow the episodes as the SAM paper does (copy, associative_recall): "
                        "each batch's size drawn up to a level that doubles after every "
                        "--eval-every steps whose mean training error is below "
                        "--curriculum-threshold; best.keras is then the model that mastered "
                        "the highest level")
    p.add_argument("--curriculum-threshold", type=float, default=1.0,
                   help="training bit errors per sequence below which the level doubles")
    p.add_argument("--curriculum-max-level", type=int, default=None,
                   help="the level stops doubling here (default: no bound)")
    p.add_argument("--init-from", default=None, metavar="KERAS",
                   help="start from the weights of this saved model (same cell; its "
                        "trainable weights alone where the memory size or index differ; a new "
                        "run only, not the optimizer state)")
    p.add_argument("--stop-at", type=float, default=None,
                   help="stop once validation bit errors per sequence are <= this")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--run-dir", default=None, help="defaults to runs/<cell>_<task>")
    p.add_argument("--results", default=None, metavar="PATH",
                   help="also write the run's results.json to PATH")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    p.add_argument("--overwrite", action="store_true", help="start --run-dir afresh")
    p.add_argument("--no-jit", dest="jit_compile", action="store_false",
                   help="train without XLA (slower on CPU)")
    p.add_argument("--eval-batches", type=int, default=10,
                   help="batches of the generalization split in the final evaluation")
    p.add_argument("--verbose", type=int, default=1, help="Keras fit verbosity (progress bar)")
    p.add_argument("--plot-access", default=None, metavar="PNG",
                   help="train nothing: draw where the heads of the run's best model (else "
                        "its last) read and wrote on one example of --task and save it here "
                        "(NTM, SAM, DNC, SDNC; needs matplotlib)")
    p.add_argument("--plot-split", choices=tasks.SPLITS, default="validation",
                   help="--plot-access: the split the example is drawn from (with --seed)")
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    run_dir = args.run_dir or os.path.join("runs", f"{args.cell}_{args.task}")
    if args.plot_access:
        return plot_access(args, run_dir)
    # One run per directory: a second one would share its checkpoints.
    lock = DirectoryLock(run_dir)
    try:
        lock.acquire()
    except DirectoryInUseError as error:
        raise SystemExit(f"Cannot start: {error}") from None
    try:
        return run(args, run_dir, command="python examples/train.py " + shlex.join(argv))
    finally:
        lock.release()


def plot_access(args, run_dir):
    """Draw the reads and writes of `run_dir`'s best (else last) model on one example."""
    import numpy as np

    from keras_memory import plotting

    if args.cell == "lstm":
        raise SystemExit("--plot-access draws a memory's heads: --cell lstm has none")
    path = next((p for p in (os.path.join(run_dir, "best.keras"),
                             os.path.join(run_dir, "model.keras")) if os.path.exists(p)), None)
    if path is None:
        raise SystemExit(f"--plot-access: {run_dir} holds no best.keras or model.keras")
    model = keras.models.load_model(path)
    task = tasks.get(args.task, **parse_task_args(args.task_arg))
    x, y, w = task.generate(np.random.default_rng(args.seed), 1, split=args.plot_split)
    access = plotting.record_access(model, x)
    os.makedirs(os.path.dirname(os.path.abspath(args.plot_access)), exist_ok=True)
    plotting.plot_memory_access(access, targets=y, sample_weight=w, path=args.plot_access,
                                title=f"{args.cell.upper()} on {args.task} ({args.plot_split} "
                                      f"example, seed {args.seed}): {os.path.basename(path)}")
    print(f"Wrote {args.plot_access} ({path})")
    return access


def run(args, run_dir, command=None):
    """Train, checkpoint and evaluate in `run_dir` (locked by `main`).

    `command` is the command line recorded in the results.
    """
    model_path = os.path.join(run_dir, "model.keras")
    state_path = os.path.join(run_dir, "state.json")
    best_path = os.path.join(run_dir, "best.keras")
    try:
        state = resume_state(state_path)
    except CorruptFileError as error:
        raise SystemExit(f"Cannot read the run in {run_dir}: {error} Start again with "
                         "--overwrite, or put back a copy of the file.") from None
    if state is not None and not args.resume:
        if not args.overwrite:
            raise SystemExit(
                f"{run_dir} already holds a run ({state['epoch']} evaluation periods done). "
                "Pass --resume to continue it or --overwrite to start again."
            )
        for entry in os.listdir(run_dir):  # Everything but the lock.
            path = os.path.join(run_dir, entry)
            if entry != DirectoryLock.NAME:
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        state = None
    os.makedirs(run_dir, exist_ok=True)

    keras.utils.set_random_seed(args.seed)
    task = tasks.get(args.task, **parse_task_args(args.task_arg))
    if state is not None:
        # The checkpoint holds the weights and the optimizer state. Check
        # both models before anything in the run directory changes: a corrupt
        # best.keras would otherwise be replaced by the next best model
        # without a word.
        try:
            if not os.path.exists(model_path):
                raise CorruptFileError(f"{model_path} is missing.")
            model = load_checkpoint(model_path)
            if os.path.exists(best_path):
                check_keras_file(best_path)
        except CorruptFileError as error:
            raise SystemExit(
                f"Cannot resume {run_dir}: {error} Nothing was changed. Put back a "
                "copy of the file, move it out of the run directory (a missing "
                "best.keras is written anew when a validation check beats the best so "
                "far), "
                "or start again with --overwrite."
            ) from None
        print(f"Resuming {run_dir} after {state['epoch']} evaluation periods.")
    else:
        model = build_model(make_cell(args), task)
        model.compile(optimizer=make_optimizer(args), jit_compile=args.jit_compile,
                      **task.compile_kwargs())
        if args.init_from:
            init_weights(model, args.init_from)
    with open(os.path.join(run_dir, "args.json"), "w") as f:
        json.dump(vars(args), f, indent=2)
    if args.verbose:
        model.summary()

    initial_epoch = state["epoch"] if state else 0
    previous = state["evaluations"] if state else []
    if args.curriculum:
        if args.eval_every < 2:
            raise SystemExit("--curriculum needs --eval-every >= 2 (batches per period; Keras "
                             f"infers the shapes from the first two). Received: --eval-every "
                             f"{args.eval_every}")
        saved = (state or {}).get("curriculum", {})
        try:
            stream = CurriculumStream(task, args.batch_size, args.eval_every, seed=args.seed,
                                      level=saved.get("level"),
                                      max_level=args.curriculum_max_level)
            curriculum = DoublingCurriculum(stream, args.curriculum_threshold,
                                            mastered=saved.get("mastered", 0))
        except ValueError as error:
            raise SystemExit(f"--curriculum: {error}") from None
        previous_curriculum = saved.get("history", [])
    else:
        stream = TrainingStream(task, args.batch_size, args.eval_every, seed=args.seed)
        curriculum, previous_curriculum = None, []
    epochs = max(1, args.steps // args.eval_every)
    evaluation = TaskEvaluation(task, args.batch_size, every=args.eval_every,
                                splits=("validation",), verbose=args.verbose,
                                initial_sequences=initial_epoch * args.eval_every * args.batch_size,
                                initial_evaluations=len(previous))
    evaluations_path = os.path.join(run_dir, "evaluations.json")

    class SaveEvaluations(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            with open(evaluations_path, "w") as f:
                json.dump(previous + evaluation.history, f, indent=1)

    def extra_state():
        extra = {"evaluations": previous + evaluation.history}
        if curriculum is not None:
            extra["curriculum"] = curriculum_state(curriculum, previous_curriculum)
        return extra

    if curriculum is None:
        # NTM training can relapse after converging: also keep the best model.
        best = keras.callbacks.ModelCheckpoint(
            best_path, monitor="validation_bit_errors_per_sequence", mode="min",
            save_best_only=True,
            initial_value_threshold=min(
                (e["validation_bit_errors_per_sequence"] for e in previous), default=None))
    else:
        # The validation split stays at the task's sizes: the best model is
        # the first to master the highest level.
        best = keras.callbacks.ModelCheckpoint(
            best_path, monitor="curriculum_mastered", mode="max", save_best_only=True,
            initial_value_threshold=float(curriculum.mastered))
    callbacks = [
        # fit orders each epoch's batches with Python's random: continue its
        # sequence where the checkpointed epoch left it.
        RestoreRandomState(state),
        stream.epoch_callback(),
        evaluation,
        # Before the checkpoints and the logs, which read the level it sets.
        *([curriculum] if curriculum is not None else []),
        SaveEvaluations(),
        RunCheckpoint(model_path, state_path, extra_state=extra_state),
        best,
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
    ]
    # keras.callbacks.TensorBoard writes through tf.summary on every backend.
    if all(importlib.util.find_spec(name) is not None for name in ("tensorboard", "tensorflow")):
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")))
    else:
        print("TensorBoard logs need tensorflow and tensorboard; without them this run "
              "writes none (pip install 'keras-memory[tensorflow,examples]').")
    if args.stop_at is not None:
        callbacks.append(StopAtThreshold(evaluation, "validation_bit_errors_per_sequence",
                                         args.stop_at))
    start = time.perf_counter()
    if initial_epoch < epochs:
        model.fit(stream, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks,
                  verbose=args.verbose)
    seconds = time.perf_counter() - start

    evaluations = previous + evaluation.history
    # A resumed run's training time adds that of its earlier starts (up to
    # their last checkpoint) to this one's.
    results = {"command": command, "settings": vars(args), "resumed": state is not None,
               "train_seconds": checkpointed_seconds(previous) + seconds,
               "sequences": evaluation.sequences, "environment": environment()}
    if curriculum is not None:
        results["curriculum"] = curriculum_state(curriculum, previous_curriculum)
    if evaluations:
        results["learning"] = learning_summary(evaluations)
    models = {"final": model}
    if os.path.exists(best_path):
        models["best"] = keras.models.load_model(best_path)
    for which, m in models.items():
        results[which] = {
            split: evaluate_task(m, task, split=split, num_batches=args.eval_batches,
                                 batch_size=args.batch_size)
            for split in ("validation", "generalization")
        }
    results["evaluations"] = evaluations
    for path in [os.path.join(run_dir, "results.json")] + ([args.results] if args.results else []):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            json.dump(results, f, indent=1)
    print(f"\nTrained for {results['train_seconds']:.0f} s ({evaluation.sequences:,} sequences in all). "
          f"Evaluation of {task!r}:")
    print(f"{'model':<8}{'split':<16}{'bit errors/seq':>16}{'bit acc':>10}{'symbol acc':>12}"
          f"{'seq acc':>10}")
    for which in models:
        for split in ("validation", "generalization"):
            r = results[which][split]
            print(f"{which:<8}{split:<16}{r['bit_errors_per_sequence']:>16.3f}"
                  f"{r['bit_accuracy']:>10.4f}{r['symbol_accuracy']:>12.4f}"
                  f"{r['sequence_accuracy']:>10.4f}")
    if curriculum is not None:
        print(f"Curriculum: level {curriculum.stream.level} reached, "
              f"{curriculum.mastered} mastered (training error < {args.curriculum_threshold}).")
    if "learning" in results:
        below = ", ".join(f"< {t} bit: " + (f"{n:,}" if n is not None else "not reached")
                          for t, n in results["learning"]["below"].items())
        print(f"Sequences until the validation error (mean of the last "
              f"{results['learning']['window']} checks) fell {below}; at the end "
              f"{results['learning']['final_error']:.3f}.")
    print(f"Model, logs and results in {run_dir}/"
          + (f" (results also in {args.results})" if args.results else ""))
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
