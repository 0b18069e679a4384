"""Quickstart: a Neural Turing Machine learns to copy, on a laptop CPU.

Trains `keras_memory.NTMCell` on the copy task of Graves et al. (2014) with
`model.fit` (progress bar included) for at most a few minutes, then:

- prints the accuracy at the training lengths and at twice the longest
  training length, which the model never saw;
- writes `quickstart_access.png`, where the write and read heads were over
  time on a sequence of that doubled length;
- saves the trained model to `quickstart_ntm.keras`.

Run it with `python examples/quickstart.py` (see the README for the one-line
set-up). `--minutes` changes the training budget, `--out` the output folder,
and `--results PATH` writes the command, its settings and every number it
prints to a JSON file.
"""

import argparse
import json
import os
import shlex
import sys
import time

import keras
import numpy as np

import keras_memory
from keras_memory import plotting, tasks
from keras_memory.training import (
    StopAtThreshold,
    TaskEvaluation,
    TimeLimit,
    TrainingStream,
    build_model,
    default_optimizer,
    evaluate_task,
)


def main(argv=None):
    script_start = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(description="Train an NTM on the copy task.")
    p.add_argument("--minutes", type=float, default=4.0, help="training time budget")
    p.add_argument("--max-length", type=int, default=20, help="longest training sequence")
    p.add_argument("--out", default=".", help="folder for the PNG and the .keras file")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--memory-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--results", default=None, metavar="PATH",
                   help="write the settings and the numbers printed to this JSON file")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    # 1. The task: random 8-bit vectors of length 1..max_length, then a
    #    delimiter; the model must emit them again after the delimiter.
    task = tasks.CopyTask(num_bits=8, min_length=1, max_length=args.max_length)

    # 2. The model: RNN(NTMCell) -> Dense(8) logits, the usual Keras way.
    cell = keras_memory.NTMCell(units=100, memory_size=args.memory_size, word_size=20)
    model = build_model(cell, task)
    model.compile(
        optimizer=default_optimizer(args.learning_rate),  # Adam, global norm clipped to 1
        jit_compile=True,  # XLA: about twice as fast per step on a CPU
        **task.compile_kwargs(),
    )

    # 3. Train until the copy is perfect on validation data or time runs out.
    batch_size, steps_per_epoch = 32, 100
    stream = TrainingStream(task, batch_size, steps_per_epoch, seed=args.seed)
    evaluation = TaskEvaluation(task, batch_size, every=steps_per_epoch, num_batches=2)
    stop = StopAtThreshold(evaluation, "validation_bit_errors_per_sequence", 0.01, patience=3)
    time_limit = TimeLimit(args.minutes * 60)
    callbacks = [
        stream.epoch_callback(),
        evaluation,  # writes validation_* values into the logs every 100 steps
        stop,
        time_limit,
        # NTMs can relapse after converging; keep the best weights seen.
        keras.callbacks.EarlyStopping(monitor="validation_bit_errors_per_sequence", mode="min",
                                      patience=10_000, restore_best_weights=True),
    ]
    start = time.perf_counter()
    model.fit(stream, epochs=300, callbacks=callbacks, verbose=1)  # at most 30,000 steps
    seconds = time.perf_counter() - start
    print(f"\nTrained on {evaluation.sequences:,} sequences in {seconds:.0f} s.")
    best = None
    if evaluation.history:
        best = min(evaluation.history, key=lambda r: r["validation_bit_errors_per_sequence"])
        print(f"Kept the weights of the best validation check ({best['sequences']:,} sequences, "
              f"{best['validation_bit_errors_per_sequence']:.3f} bit errors per sequence).")

    # 4. Accuracy on the training lengths and on twice the longest one.
    long = 2 * args.max_length
    rows = [
        (f"lengths 1-{args.max_length} (training)", evaluate_task(model, task, split="validation")),
        (f"length {long} (2x, never seen)", evaluate_task(model, task, split="generalization",
                                                         length=long)),
    ]
    print(f"\n{'':<34}{'bit accuracy':>14}{'bit errors/seq':>16}{'sequences right':>17}")
    for label, r in rows:
        print(f"{label:<34}{r['bit_accuracy']:>14.4f}{r['bit_errors_per_sequence']:>16.3f}"
              f"{r['sequence_accuracy']:>17.2%}")

    # 5. Where the heads wrote and read, on one sequence of the doubled length.
    x, y, w = task.generate(np.random.default_rng(0), 1, split="generalization", length=long)
    access = plotting.record_access(model, x)
    png = os.path.join(args.out, "quickstart_access.png")
    plotting.plot_memory_access(access, targets=y, sample_weight=w, path=png,
                                title=f"NTM copying a sequence of length {long}")
    print(f"\nHead weightings over time: {png}")

    # 6. Save, reload, check the reloaded model predicts the same.
    path = os.path.join(args.out, "quickstart_ntm.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    same = np.array_equal(model.predict_on_batch(x), reloaded.predict_on_batch(x))
    print(f"Saved {path} (reloaded model gives identical outputs: {same})")
    if args.results:
        results = {
            "command": "python examples/quickstart.py " + shlex.join(argv),
            "settings": vars(args),
            "batch_size": batch_size,
            "sequences": evaluation.sequences,
            "train_steps": evaluation.sequences // batch_size,
            "train_seconds": seconds,
            "script_seconds": time.perf_counter() - script_start,
            "stopped_early": stop.stopped,
            "stopped_by_time_limit": time_limit.stopped,
            "best_check": best,
            "rows": [dict(r, label=label) for label, r in rows],
            "reloaded_outputs_identical": bool(same),
            "evaluations": evaluation.history,
        }
        os.makedirs(os.path.dirname(args.results) or ".", exist_ok=True)
        with open(args.results, "w") as f:
            json.dump(results, f, indent=1)
        print(f"Results: {args.results}")
    return rows


if __name__ == "__main__":
    main()
