"""Time per training step of memory cells, with and without XLA.

Measures `model.train_on_batch` on the copy task's shapes (inputs of 9
channels, 8 output bits, binary cross-entropy), median over `--steps` steps
after `--warmup` steps, for each cell and each `jit_compile` setting, then
prints a Markdown table and writes JSON.

    python benchmarks/step_time.py                       # NTM 128x20 vs LSTM, B=32, T=40
    python benchmarks/step_time.py --batch-size 1 --timesteps 41 --threads 1

Runs on a GPU unchanged when TensorFlow sees one.
"""

import argparse
import json
import os
import time

import numpy as np


def build(cell_name, args):
    import keras

    from keras_memory.recipes import make_cell, memory_settings

    if cell_name == "ntm":
        cell = make_cell("ntm", units=args.units,
                         **memory_settings("ntm", args.memory_size, args.word_size))
    elif cell_name == "lstm":
        cell = make_cell("lstm", units=args.units)
    else:
        raise ValueError(f"Unknown cell {cell_name!r}; allowed: ntm, lstm")
    inputs = keras.Input((args.timesteps, 9))
    outputs = keras.layers.Dense(8)(keras.layers.RNN(cell, return_sequences=True)(inputs))
    return keras.Model(inputs, outputs)


def measure(cell_name, jit_compile, args):
    import keras

    keras.utils.set_random_seed(0)
    model = build(cell_name, args)
    model.compile(keras.optimizers.Adam(1e-3, global_clipnorm=50),
                  keras.losses.BinaryCrossentropy(from_logits=True), jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch_size, args.timesteps, 9)).astype("float32")
    y = (rng.random((args.batch_size, args.timesteps, 8)) < 0.5).astype("float32")
    start = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - start
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    median = float(np.median(times))
    return {
        "cell": cell_name,
        "jit_compile": jit_compile,
        "first_step_s": first,
        "median_step_ms": 1000 * median,
        "per_timestep_ms": 1000 * median / args.timesteps,
        "sequences_per_s": args.batch_size / median,
        "params": model.count_params(),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description="Time per training step of memory cells.")
    p.add_argument("--cells", default="ntm,lstm")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--timesteps", type=int, default=40)
    p.add_argument("--units", type=int, default=100)
    p.add_argument("--memory-size", type=int, default=128)
    p.add_argument("--word-size", type=int, default=20)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="TF intra/inter-op threads (0: default)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "step_time.json"))
    args = p.parse_args(argv)

    import tensorflow as tf

    from keras_memory.backend import limit_cpu_threads
    from keras_memory.training import environment

    if args.threads:
        limit_cpu_threads(args.threads)
    rows = [measure(cell, jit, args) for cell in args.cells.split(",") for jit in (False, True)]

    print(f"\nB={args.batch_size}, T={args.timesteps}, controller {args.units}, "
          f"memory {args.memory_size}x{args.word_size}, device: "
          f"{'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}\n")
    print("| cell | jit_compile | ms per step | ms per timestep | sequences/s | first step (s) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['cell']} | {r['jit_compile']} | {r['median_step_ms']:.1f} | "
              f"{r['per_timestep_ms']:.2f} | {r['sequences_per_s']:.0f} | {r['first_step_s']:.1f} |")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"config": vars(args), "environment": environment(), "results": rows},
                  f, indent=2)
    print(f"\nWrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
