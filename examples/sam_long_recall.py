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

`--key-similarity` adds, per item count, how near the queries of the answer
come to the rows they read (`key_similarity`): an LSH index finds a row only
when the query hashes with it, and the chance of that falls fast as their
cosine similarity drops below 1.
"""

import argparse
import json
import os
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
    p.add_argument("--key-similarity", action="store_true",
                   help="also measure, on the first episode batch of each item count run step by "
                        "step with the exact search, how near the queries of the answer come to "
                        "the earlier rows they read (see key_similarity)")
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


def sam_cell(model):
    """The `SAMCell` of a model built by `resized`."""
    return next(layer.cell for layer in model.layers if hasattr(layer, "cell"))


def lsh_collision_chance(cosine, tables, bits):
    """The chance that an index of `tables` random-hyperplane tables of `bits` bits
    files two vectors at cosine similarity `cosine` in the same bucket of at least
    one table: `1 - (1 - p**bits)**tables`, with `p = 1 - angle / pi` the chance
    that one hyperplane leaves both on the same side (Charikar 2002)."""
    import numpy as np

    p = 1 - np.arccos(np.clip(cosine, -1, 1)) / np.pi
    return 1 - (1 - p ** bits) ** tables


def key_similarity(model, x, answer_steps, min_age=16, tables=4, bits=13):
    """How near the queries come to the rows they read: what an LSH index can find.

    Runs the `SAMCell` of `model` (built with `search="exact"`) step by step on
    `x` and, at each of `answer_steps` and the 4 steps before them, takes every
    head whose read puts more than half its weight on one row written at least
    `min_age` steps earlier (a row of an earlier item, not of the query just
    written). Returns the cosine similarity of the head's query with that row
    (percentiles 10, 50 and 90), the number of such reads, and
    `lsh_collision_chance` of each read for an index of `tables` tables of
    `bits` bits, averaged over the reads.
    """
    import keras
    import numpy as np
    from keras import ops

    cell = sam_cell(model)
    r, k, n, w = cell.num_heads, cell.k, cell.memory_size, cell.word_size
    steps = {s for a in answer_steps for s in range(a - 4, a + 1)}
    states = cell.get_initial_state(batch_size=len(x))
    memory = np.zeros((len(x), n, w), np.float32)
    written = np.full((len(x), n), -1)  # the step each row was last written
    similarity = []
    for t in range(x.shape[1]):
        step = ops.convert_to_tensor(x[:, t], "float32")
        queries = (keras.ops.convert_to_numpy(cell.head_activations(step, states)["queries"])
                   if t in steps else None)
        _, states = cell(step, states)
        new = keras.ops.convert_to_numpy(ops.reshape(states[3], (-1, n, w)))
        written[np.any(new != memory, -1)] = t
        memory = new
        if queries is None:
            continue
        rows = keras.ops.convert_to_numpy(states[5]).reshape(-1, r, k).astype(int)
        weights = keras.ops.convert_to_numpy(states[6]).reshape(-1, r, k)
        top = np.take_along_axis(rows, weights.argmax(-1)[..., None], -1)[..., 0]  # (B, r)
        for b, head in zip(*np.nonzero(weights.max(-1) > 0.5)):
            row = top[b, head]
            if 0 <= written[b, row] <= t - min_age:
                q, m = queries[b, head], memory[b, row]
                similarity.append(float(q @ m / (np.linalg.norm(q) * np.linalg.norm(m) + 1e-12)))
    if not similarity:
        return {"reads": 0}
    return {"reads": len(similarity),
            "cosine_percentiles_10_50_90": [float(v) for v in
                                            np.percentile(similarity, [10, 50, 90])],
            "index_tables": tables, "index_bits": bits,
            "found_by_tables": float(np.mean(lsh_collision_chance(
                np.asarray(similarity), tables, bits)))}


def main(argv=None):
    import keras
    import numpy as np

    from keras_memory import tasks, training
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
        outs, ys, ws, xs = [], [], [], []
        for _ in range(args.batches):
            x, y, w = task.generate(rng, args.batch_size, num_items=items)
            outs.append(np.asarray(model.predict_on_batch(x)))
            ys.append(y)
            ws.append(w)
            xs.append(x)
        metrics = evaluate_predictions(np.concatenate(outs), np.concatenate(ys),
                                       np.concatenate(ws), from_logits=True)
        row = {"items": items, "steps": int(x.shape[1]),
               "rows_written": 4 * int(x.shape[1]),
               "bit_errors_per_sequence": float(metrics["bit_errors_per_sequence"]),
               "sequence_accuracy": float(metrics["sequence_accuracy"]),
               "sequences": args.batch_size * args.batches,
               "seconds": time.perf_counter() - start}
        if args.key_similarity:
            # The tables and bits of the index evaluated (as trained: 4 of 13 at 100,000).
            index = sam_cell(model).index if args.search == "lsh" else None
            exact = resized(trained, args.memory_size, "exact")
            answer = np.nonzero(ws[0].reshape(len(x), x.shape[1], -1).sum(-1).max(0) > 0)[0]
            row["key_similarity"] = key_similarity(
                exact, xs[0], answer, tables=index.tables if index else 4,
                bits=index.bits if index else 13)
            print(f"items={items}: key similarity {row['key_similarity']}", flush=True)
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
              "settings": vars(args), "environment": training.environment(),
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
