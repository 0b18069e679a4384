"""Associative recall over thousands of items: a trained SAM on sequences far longer than it saw.

Rae et al. (2016) report that SAM models trained on short sequences
generalise to sequences of 200,000 steps (Suppl. Fig. 8). This script takes a
model trained by `examples/train.py --cell sam --task associative_recall`
(2-6 items), rebuilds its `SAMCell` with `--memory-size` slots (the trained
weights do not depend on the memory size; the LSH hyperplanes are drawn
afresh, they are not trained) and evaluates it on episodes of each
`--items` count: the query item and the answer can lie thousands of steps
apart, so the answer must be found among tens of thousands of written rows.
An episode of `n` items is `4 n + 8` steps. Inference only: nothing is
stored for backpropagation.

Prints one line per item count and a Markdown table, writes JSON; the last
line is the largest count's `items=<n> steps=<t> bit errors <e> sequences
right <s>%`.

    python examples/sam_long_recall.py --model runs/sam_assoc_100k_lsh_s1/best.keras \
        --items 6,100,1000,4000 --memory-size 100000
    python examples/sam_long_recall.py --model ... --search exact   # the same weights, exact search
"""

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a .keras model written by examples/train.py")
    p.add_argument("--items", default="6,100,1000,4000", help="comma-separated item counts")
    p.add_argument("--memory-size", type=int, default=100_000)
    p.add_argument("--search", choices=("lsh", "exact"), default="lsh")
    p.add_argument("--lsh-probes", type=int, default=0,
                   help="SAMCell's lsh_probes: neighbouring buckets read per table")
    p.add_argument("--lsh-tables", type=int, default=None,
                   help="hash tables of the index (default: the trained model's)")
    p.add_argument("--lsh-bits", type=int, default=None,
                   help="bits per table (default: buckets for twice the memory)")
    p.add_argument("--lsh-bucket-size", type=int, default=None,
                   help="slots per bucket (default: the trained model's)")
    p.add_argument("--lsh-recent", type=int, default=None,
                   help="rows allocated last that every query also searches (default: the "
                        "trained model's)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--batches", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="JSON file (default: next to the model)")
    return p.parse_args(argv)


def resized(model, memory_size, search, lsh_probes=0, **index):
    """The model rebuilt around a `SAMCell` with `memory_size` slots and the
    given search, same trained weights; `index` may set `lsh_tables`,
    `lsh_bits`, `lsh_bucket_size` and `lsh_recent` (None: as trained, but
    `lsh_bits`, which defaults to buckets for twice the memory)."""
    import keras

    from keras_memory import SAMCell, training

    rnn = model.get_layer(training.MEMORY_LAYER_NAME)
    config = {**rnn.cell.get_config(), "memory_size": memory_size, "search": search,
              "lsh_bits": None, "lsh_probes": lsh_probes}
    config.update({k: v for k, v in index.items() if v is not None})
    cell = SAMCell.from_config(config)
    readout = model.get_layer(training.READOUT_LAYER_NAME)
    inputs = keras.Input((None, model.input_shape[-1]))
    sequence = type(rnn)(cell, return_sequences=True)(inputs)
    outputs = keras.layers.Dense(readout.units)(sequence)
    new = keras.Model(inputs, outputs)
    for target, source in zip(new.trainable_weights, model.trainable_weights):
        target.assign(source)
    # XLA: without it every sparse write copies the memory (see docs/performance.md).
    new.compile(jit_compile=True)
    return new


def main(argv=None):
    import keras
    import numpy as np

    from keras_memory import tasks
    from keras_memory.metrics import evaluate_predictions

    args = parse_args(argv)
    trained = keras.saving.load_model(args.model, compile=False)
    model = resized(trained, args.memory_size, args.search, args.lsh_probes,
                    lsh_tables=args.lsh_tables, lsh_bits=args.lsh_bits,
                    lsh_bucket_size=args.lsh_bucket_size, lsh_recent=args.lsh_recent)
    task = tasks.get("associative_recall")
    rng = np.random.default_rng(args.seed)
    rows = []
    for items in [int(n) for n in args.items.split(",")]:
        start = time.perf_counter()
        outs, ys, ws = [], [], []
        for _ in range(args.batches):
            x, y, w = task.generate(rng, args.batch_size, num_items=items)
            outs.append(np.asarray(model.predict_on_batch(x)))
            ys.append(y)
            ws.append(w)
        metrics = evaluate_predictions(np.concatenate(outs), np.concatenate(ys),
                                       np.concatenate(ws), from_logits=True)
        row = {"items": items, "steps": int(x.shape[1]),
               "rows_written": 4 * int(x.shape[1]),
               "bit_errors_per_sequence": float(metrics["bit_errors_per_sequence"]),
               "sequence_accuracy": float(metrics["sequence_accuracy"]),
               "sequences": args.batch_size * args.batches,
               "seconds": time.perf_counter() - start}
        rows.append(row)
        print(f"items={items} steps={row['steps']}: {row['bit_errors_per_sequence']:.3f} bit "
              f"errors per sequence, {100 * row['sequence_accuracy']:.1f}% of sequences right "
              f"({row['seconds']:.0f} s)", flush=True)
    print("\n| items | steps | bit errors per sequence | sequences entirely right |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['items']:,} | {r['steps']:,} | {r['bit_errors_per_sequence']:.3f} | "
              f"{100 * r['sequence_accuracy']:.1f}% |")
    result = {"command": "python examples/sam_long_recall.py " + " ".join(argv or sys.argv[1:]),
              "settings": vars(args), "machine": {"platform": platform.platform(),
                                                  "cpus": os.cpu_count()},
              "rows": rows}
    output = args.output or os.path.join(os.path.dirname(os.path.abspath(args.model)),
                                         f"long_recall_{args.search}_{args.memory_size}.json")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as f:
        json.dump(result, f, indent=1)
    last = rows[-1]
    print(f"items={last['items']} steps={last['steps']} bit errors "
          f"{last['bit_errors_per_sequence']:.3f} sequences right "
          f"{100 * last['sequence_accuracy']:.1f}%")
    return result


if __name__ == "__main__":
    main()
