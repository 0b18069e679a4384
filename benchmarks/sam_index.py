"""Recall, query time and size of `SAMCell`'s LSH index against the memory size.

The index (`keras_memory.addressing.sam`: `lsh_update`, `lsh_candidates`) is
what `SAMCell(search="lsh")` keeps in its state. For each `N`, this script
writes rows into an `N x W` memory the way SAM allocates them, through the
same functions the cell calls each step: `--rows-per-step` rows per step, in
least recently accessed order, `1.25 N` writes in all, so every row is
written and the first quarter is written twice (the index must forget the
old content and file the new). Every word is a fresh N(0, 1) vector. Then:

- self-recall: the share of rows found as the top-1 when queried with their
  own current content, over `--self-queries` rows spread over every age (the
  table also gives it per age quartile, oldest first);
- recall@K: the share of the exact top-`K` (cosine over all `N` rows) that the
  index returns, for `--queries` queries near a stored row (the row plus
  N(0, `--noise`^2) per entry) and for random N(0, 1) queries; recall@1 too;
- the time of one step's query (`--heads` keys, batch 1, compiled) and of
  the exact search it replaces, median of `--repeats`, and the index's size.

(a)-(c) are measured for each `--probes` value (`SAMCell`'s `lsh_probes`,
the neighbouring buckets a query also reads per table) on the same index.

Prints a Markdown table, writes JSON; the last line is the largest size's
`N=<n> self-recall <x> recall@K <y> query <t> ms` (recall@K for near queries).

    python benchmarks/sam_index.py                         # 1,024 .. 1,048,576
    python benchmarks/sam_index.py --sizes 65536,1048576
    python benchmarks/sam_index.py --probes 0,4,8
"""

import argparse
import json
import os
import time

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,16384,65536,262144,1048576",
                        help="comma-separated memory sizes N")
    parser.add_argument("--word-size", type=int, default=32)
    parser.add_argument("--k", type=int, default=4, help="K of recall@K (SAMCell's k)")
    parser.add_argument("--tables", type=int, default=4, help="lsh_tables")
    parser.add_argument("--bucket-size", type=int, default=32, help="lsh_bucket_size")
    parser.add_argument("--bits", type=int, default=None, help="lsh_bits (default: the cell's)")
    parser.add_argument("--recent", type=int, default=256, help="lsh_recent")
    parser.add_argument("--probes", default="0",
                        help="comma-separated lsh_probes values, each measured on the same index")
    parser.add_argument("--rows-per-step", type=int, default=20,
                        help="rows written per step: R (k + 1) = 20 for 4 heads, k = 4")
    parser.add_argument("--heads", type=int, default=4, help="keys per timed query")
    parser.add_argument("--self-queries", type=int, default=4096)
    parser.add_argument("--queries", type=int, default=256,
                        help="near and random queries each (scored against the exact search)")
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "results", "sam_index.json"))
    return parser.parse_args(argv)


def compiled(fn):
    """`fn` compiled by the backend's XLA (TensorFlow, JAX); as is on PyTorch."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    return fn


def fill(n, args, planes, rng):
    """Write `1.25 N` rows as SAM allocates them; return the memory, the
    index and the step of each row's last write."""
    from keras import ops

    from keras_memory.addressing import sam as addressing
    from keras_memory import backend

    m, w = args.rows_per_step, args.word_size
    steps = -(-(5 * n // 4) // m)
    words = rng.normal(size=(steps * m, w)).astype("float32")
    bits = planes.shape[1]
    table, codes = addressing.lsh_empty_index(args.tables, 2**bits, args.bucket_size, n)
    state = (ops.zeros((1, n, w)), ops.cast(table[None], "float32"),
             ops.cast(codes[None], "float32"), -ops.ones((1, args.recent)), ops.zeros((1,)))

    def run(words, memory, table, codes, recent, count):
        def step(s, carry):
            memory, table, codes, recent, count = carry
            rows = ((s * m + ops.arange(m, dtype="int32")) % n)[None]  # the LRA order
            new = ops.slice(words, (s * m, 0), (m, w))[None]
            memory = backend.scatter_nd_update(memory, addressing.batch_row_indices(rows), new)
            active = ops.ones((1, m), "bool")
            table, codes = addressing.lsh_update(table, codes, rows, new, planes, active)
            recent, count = addressing.recent_append(recent, count, rows, active[:, 0])
            return memory, table, codes, recent, count

        return ops.fori_loop(0, steps, step, (memory, table, codes, recent, count))

    start = time.perf_counter()
    state = compiled(run)(ops.convert_to_tensor(words), *state)
    seconds = time.perf_counter() - start
    written_at = np.zeros(n, np.int64)  # the step of each row's last write
    for s in range(steps):
        written_at[(s * m + np.arange(m)) % n] = s
    return state, written_at, steps, seconds


def measure(n, args, probes=(0,)):
    import keras
    from keras import ops

    from keras_memory.addressing import sam as addressing

    rng = np.random.default_rng(args.seed)
    bits = args.bits or addressing.default_lsh_bits(n, args.bucket_size)
    planes = addressing.orthogonal_hyperplanes(ops.convert_to_tensor(
        rng.normal(size=(args.tables, bits, args.word_size)).astype("float32")))
    (memory, table, codes, recent, _), written_at, steps, fill_s = fill(n, args, planes, rng)
    memory_np = keras.ops.convert_to_numpy(memory)[0]

    exact = compiled(lambda mem, keys: addressing.exact_top_k(mem, keys, args.k))
    near_rows = rng.choice(n, size=args.queries)
    near = (memory_np[near_rows] + args.noise * rng.normal(
        size=(args.queries, args.word_size))).astype("float32")
    random_keys = rng.normal(size=(args.queries, args.word_size)).astype("float32")
    self_rows = np.sort(rng.choice(n, size=min(n, args.self_queries), replace=False))
    age = written_at.max() - written_at[self_rows]
    quartile = np.minimum(4 * np.argsort(np.argsort(-age, kind="stable")) // len(self_rows), 3)
    return [
        dict(measure_search(n, args, p, planes, memory, table, recent, memory_np, exact,
                            near, random_keys, self_rows, quartile),
             N=n, bits=bits, writes=steps * args.rows_per_step, fill_s=fill_s,
             filed_share=float((keras.ops.convert_to_numpy(codes)[0] >= 0).mean()),
             index_mib=4 * (int(np.prod(table.shape)) + int(np.prod(codes.shape))
                            + args.recent + 1) / 2**20,
             memory_mib=4 * n * args.word_size / 2**20)
        for p in probes
    ]


def measure_search(n, args, probes, planes, memory, table, recent, memory_np, exact, near,
                   random_keys, rows, quartile):
    """(a)-(c) for one `probes` value."""
    import keras
    from keras import ops

    from keras_memory.addressing import sam as addressing

    search = compiled(lambda t, r, mem, keys: addressing.lsh_candidates(
        t, r, mem, keys, planes, args.k, probes)[0])

    def index_top(keys):
        out = [keras.ops.convert_to_numpy(search(table, recent, memory, ops.convert_to_tensor(
            keys[None, i:i + 512]))) for i in range(0, len(keys), 512)]
        return np.concatenate(out, axis=1)[0]

    def exact_top(keys):
        out = [keras.ops.convert_to_numpy(exact(memory, ops.convert_to_tensor(
            keys[None, i:i + 128]))) for i in range(0, len(keys), 128)]
        return np.concatenate(out, axis=1)[0]

    # (a) self-recall over rows of every age.
    found = index_top(memory_np[rows])[:, 0] == rows
    by_age = [float(found[quartile == q].mean()) for q in range(4)]

    # (b) recall@K against the exact search.
    def recall(keys):
        got, want = index_top(keys), exact_top(keys)
        at_k = np.mean([len(set(g) & set(e)) / args.k for g, e in zip(got, want)])
        return float(at_k), float(np.mean(got[:, 0] == want[:, 0]))

    near_k, near_1 = recall(near)
    random_k, random_1 = recall(random_keys)

    # (c) one step's query, against the exact search it replaces.
    keys = ops.convert_to_tensor(near[None, :args.heads])

    def timed(fn, *a):
        keras.ops.convert_to_numpy(fn(*a))
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            keras.ops.convert_to_numpy(fn(*a))
            times.append(time.perf_counter() - start)
        return 1000.0 * float(np.median(times))

    query_ms = timed(search, table, recent, memory, keys)
    exact_ms = timed(exact, memory, keys)
    return {
        "probes": probes,
        "self_recall": float(found.mean()), "self_recall_by_age_oldest_first": by_age,
        "near_recall_at_k": near_k, "near_recall_at_1": near_1,
        "random_recall_at_k": random_k, "random_recall_at_1": random_1,
        "query_ms": query_ms, "exact_ms": exact_ms,
    }


def markdown(result):
    """The Markdown table of a result (as quoted in docs/cells/sam.md)."""
    k = result["settings"]["k"]
    lines = [f"| N | probes | self-recall (oldest quarter) | near recall@{k} (@1) | "
             f"random recall@{k} (@1) | query | exact search | index | memory |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(
            f"| {r['N']:,} | {r.get('probes', 0)} | {r['self_recall']:.4f} ({r['self_recall_by_age_oldest_first'][0]:.4f})"
            f" | {r['near_recall_at_k']:.3f} ({r['near_recall_at_1']:.3f})"
            f" | {r['random_recall_at_k']:.3f} ({r['random_recall_at_1']:.3f})"
            f" | {r['query_ms']:.2f} ms | {r['exact_ms']:.2f} ms | {r['index_mib']:.1f} MiB"
            f" | {r['memory_mib']:.1f} MiB |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    probes = [int(p) for p in args.probes.split(",")]
    rows = []
    for n in sizes:
        for row in measure(n, args, probes):
            rows.append(row)
            print(f"N={n}: {row}", flush=True)
    from keras_memory.training import environment

    result = {"command": "python benchmarks/sam_index.py " + " ".join(argv or []),
              "settings": {key: v for key, v in vars(args).items() if key != "output"},
              "environment": environment(),
              "rows": rows}
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=1)
    print("\n" + markdown(result))
    last = rows[-1]
    print(f"N={last['N']} self-recall {last['self_recall']:.4f} recall@K "
          f"{last['near_recall_at_k']:.4f} query {last['query_ms']:.3f} ms")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
