"""Time per training step of a hard `HAMCell` on masked sequences, against the tree size.

With a mask, `keras.layers.RNN` keeps each padded step's state by selecting
between the old and the new value of every state, the whole tree included:
O(n) per step. `keras_memory.MemoryRNN` (and `HAMRNN`) pass the mask to
`HAMCell.call(step_mask=)` instead, which scales the written path's change
by it: O(log n). This script measures `train_on_batch` under XLA for both
layers, with and without a mask (a quarter of each sequence padded), median
over `--steps` steps after `--warmup`, prints a Markdown table and writes JSON.

    python benchmarks/ham_mask.py                              # 16 .. 65,536 leaves
    python benchmarks/ham_mask.py --leaves 16,1024 --steps 5   # quick
"""

import argparse
import json
import os
import time

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", default="16,1024,65536",
                        help="comma-separated tree sizes (powers of two)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--timesteps", type=int, default=20)
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--hidden-size", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--output", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "results", "ham_mask.json"))
    return parser.parse_args(argv)


def measure(leaves, layer_name, masked, args):
    import keras

    import keras_memory

    keras.utils.clear_session()
    from keras_memory.recipes import make_cell

    cell = make_cell("ham", units=args.units, memory_size=leaves, hidden_size=args.hidden_size,
                     feed_inputs=True, seed=0)
    layer = {"keras.layers.RNN": keras.layers.RNN, "MemoryRNN": keras_memory.MemoryRNN}[layer_name]
    inputs = keras.Input((args.timesteps, 4), batch_size=args.batch_size)
    x = keras.layers.Masking(0.0)(inputs) if masked else inputs
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(cell, return_sequences=True)(x)))
    model.compile("adam", "mse", jit_compile=True)
    rng = np.random.default_rng(0)
    data = rng.normal(size=(args.batch_size, args.timesteps, 4)).astype("float32")
    data[:, args.timesteps * 3 // 4:] = 0.0  # the padded quarter
    target = rng.normal(size=(args.batch_size, args.timesteps, 1)).astype("float32")
    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        model.train_on_batch(data, target)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


KERAS_JAX_MASK = ("Keras' JAX RNN takes a cell's first state for its previous output on "
                  "masked steps, which fails for HAMCell (its output is wider)")


def _keras_rnn_cannot_mask():
    import keras

    return keras.backend.backend() == "jax"


def main(argv=None):
    args = parse_args(argv)
    sizes = [int(s) for s in args.leaves.split(",")]
    rows = []
    for leaves in sizes:
        for layer_name in ("MemoryRNN", "keras.layers.RNN"):
            for masked in (False, True):
                if masked and layer_name == "keras.layers.RNN" and _keras_rnn_cannot_mask():
                    rows.append({"leaves": leaves, "layer": layer_name, "masked": masked,
                                 "ms_per_step": None, "skipped": KERAS_JAX_MASK})
                    print(f"{leaves} leaves, {layer_name}, mask={masked}: skipped: "
                          f"{KERAS_JAX_MASK}", flush=True)
                    continue
                ms = measure(leaves, layer_name, masked, args)
                rows.append({"leaves": leaves, "layer": layer_name, "masked": masked,
                             "ms_per_step": ms})
                print(f"{leaves} leaves, {layer_name}, mask={masked}: {ms:.2f} ms", flush=True)
    print("\n| leaves | MemoryRNN | MemoryRNN, masked | keras.layers.RNN | keras.layers.RNN, masked |")
    print("|---|---|---|---|---|")
    for leaves in sizes:
        cells = {(r["layer"], r["masked"]): r["ms_per_step"] for r in rows if r["leaves"] == leaves}
        print(f"| {leaves:,} | " + " | ".join(
            "n/a" if cells[(layer, masked)] is None else f"{cells[(layer, masked)]:.2f} ms"
            for layer in ("MemoryRNN", "keras.layers.RNN") for masked in (False, True)) + " |")
    from keras_memory.training import environment

    result = {"command": "python benchmarks/ham_mask.py " + " ".join(argv or []),
              "settings": {k: v for k, v in vars(args).items() if k != "output"},
              "environment": environment(),
              "rows": rows}
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
