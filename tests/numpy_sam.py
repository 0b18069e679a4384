"""A NumPy reference of one Sparse Access Memory step, written from the paper.

Rae et al. (2016), sections 3.1-3.3 and Suppl. A, with the choices the
`SAMCell` docstring makes where the paper is silent (per-head writes, cosine
times a softplus strength, sigmoid gates, ties to the lowest index). Written
loop by loop in float64, without TensorFlow, so that it checks
`keras_memory.addressing.sam` and `SAMCell` independently of how they
vectorise.

One example at a time. The state is a dict:

- `h`, `c`: `(units,)`; `reads`: `(R, W)`; `memory`: `(N, W)`;
- `last_access`: `(N,)`, the step of each row's last access above `delta`;
- `read_rows`: `(R, k)` ints; `read_weights`: `(R, k)`; `step`: int;
- with `search="lsh"` also `table` `(L, buckets, C)` ints (-1 for a free
  slot), `codes` `(L, N)` ints (the bucket each row is filed under, -1 for
  none), `recent`, the list of the last `F` rows allocated (-1 while empty),
  `count`, the rows allocated so far, and `ring`, a Python list of the rows
  from least to most recently accessed (the paper's least accessed ring,
  Suppl. A.3).
"""

import numpy as np

EPSILON = 1e-6


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.logaddexp(0.0, x)


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """keras.layers.LSTMCell's step (gates in the order i, f, c, o)."""
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(z, 4)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, c


def cosine(q, m):
    """addressing.cosine_similarity for one key and one row (epsilon included)."""
    q_norm = np.sqrt(np.sum(q * q) + EPSILON)
    m_norm = np.sqrt(np.sum(m * m) + EPSILON)
    return float(q @ m) / (q_norm * m_norm + EPSILON)


def search_score(q, m):
    """The order exact_top_k ranks rows by: q.m / sqrt(|m|^2 + eps).

    The key's norm is the same for every row, so this orders the rows as the
    cosine does."""
    return float(q @ m) / np.sqrt(np.sum(m * m) + EPSILON)


def initial_state(cfg, memory=None, hyperplanes=None):
    n, w, r, k, units = (cfg[key] for key in ("memory_size", "word_size", "num_heads",
                                                "k", "units"))
    state = {
        "h": np.zeros(units), "c": np.zeros(units), "reads": np.zeros((r, w)),
        "memory": np.zeros((n, w)) if memory is None else np.array(memory, np.float64),
        "last_access": np.zeros(n),
        # Before the first step every head "read" rows 0..k-1 with weight 0.
        "read_rows": np.array([list(range(k))] * r), "read_weights": np.zeros((r, k)),
        "step": 0,
    }
    if cfg.get("search", "exact") == "lsh":
        tables, buckets, size = cfg["lsh_tables"], cfg["num_buckets"], cfg["lsh_bucket_size"]
        state["table"] = np.full((tables, buckets, size), -1, dtype=np.int64)
        state["codes"] = np.full((tables, n), -1, dtype=np.int64)
        if memory is not None:  # file the rows of a memory that does not start empty
            moves = lsh_moves(state["codes"], state["memory"], list(range(n)), hyperplanes)
            state["table"], state["codes"] = lsh_apply(state["table"], state["codes"], moves)
        state["recent"] = [-1] * cfg["lsh_recent"]
        state["count"] = 0
        state["ring"] = list(range(n))
    return state


def least_recently_accessed(last_access, num):
    """The `num` rows with the smallest last access time, ties to the lowest index."""
    order = sorted(range(len(last_access)), key=lambda i: (last_access[i], i))
    return order[:num]


def top_k_exact(memory, q, k):
    """The `k` rows with the highest cosine to `q`, ties to the lowest index."""
    scores = [search_score(q, memory[i]) for i in range(len(memory))]
    order = sorted(range(len(memory)), key=lambda i: (-scores[i], i))
    return order[:k], [True] * k


def lsh_code(v, hyperplanes_of_table):
    """SimHash code of `v` in one table: bit b set when its projection is > 0."""
    code = 0
    for b, plane in enumerate(hyperplanes_of_table):
        if float(plane @ v) > 0:
            code += 2**b
    return code


def lsh_moves(codes, memory, rows, hyperplanes):
    """The (table, row, old code, new code) of every row to re-file.

    Each distinct row of `rows` (first occurrence, in order) whose bucket in a
    table differs from the one it is filed under; the new code is -1 for a
    zero row."""
    moves, seen = [], set()
    for row in rows:
        if row in seen:
            continue
        seen.add(row)
        for t in range(len(hyperplanes)):
            new = lsh_code(memory[row], hyperplanes[t]) if np.any(memory[row] != 0) else -1
            if codes[t, row] != new:
                moves.append((t, row, int(codes[t, row]), new))
    return moves


def lsh_apply(table, codes, moves):
    """Every removal first, then each insert into the lowest free slot of its
    bucket, in order; a row whose bucket is full is filed nowhere (-1)."""
    table, codes = table.copy(), codes.copy()
    for t, row, old, _ in moves:
        if old >= 0:
            slot = list(table[t, old]).index(row)
            table[t, old, slot] = -1
    for t, row, _, new in moves:
        codes[t, row] = -1
        if new >= 0:
            free = [s for s in range(table.shape[2]) if table[t, new, s] < 0]
            if free:
                table[t, new, free[0]] = row
                codes[t, row] = new
    return table, codes


def probe_codes(v, hyperplanes_of_table, probes):
    """Multi-probe LSH: `v`'s code, then the codes with one of the `probes`
    bits of smallest `|projection|` flipped, nearest first (ties to the lower bit)."""
    code = lsh_code(v, hyperplanes_of_table)
    margins = [abs(float(plane @ v)) for plane in hyperplanes_of_table]
    nearest = sorted(range(len(margins)), key=lambda b: (margins[b], b))[:probes]
    return [code] + [code ^ (1 << b) for b in nearest]


def top_k_lsh(table, recent, memory, q, hyperplanes, k, probes=0):
    """Candidates: the rows filed in the query's buckets of each table (its
    own and `probes` neighbours) and the recent rows, distinct, re-scored by
    cosine; the best `k`, padded with row 0 (invalid) when fewer."""
    candidates = set(int(row) for row in recent if row >= 0)
    for t in range(len(hyperplanes)):
        for code in probe_codes(q, hyperplanes[t], probes):
            candidates.update(int(row) for row in table[t, code] if row >= 0)
    distinct = sorted(candidates, key=lambda i: (-cosine(q, memory[i]), i))
    picked = distinct[:k]
    valid = [True] * len(picked)
    picked += [0] * (k - len(picked))
    valid += [False] * (k - len(valid))
    return picked, valid


def sam_step(x, state, weights, cfg):
    """One SAMCell step for one example.

    Args:
        x: input vector.
        state: see the module docstring.
        weights: dict with the LSTM `kernel`, `recurrent_kernel`, `bias`, the
            head layer's `head_kernel`, `head_bias`, and with LSH the
            `hyperplanes` `(L, bits, W)`.
        cfg: dict with units, memory_size, word_size, num_heads, k,
            usage_threshold, clip_value, search and (LSH) lsh_tables,
            num_buckets, lsh_bucket_size, lsh_probes.

    Returns:
        `(output, new_state, info)`; `info` has the rows written and read.
    """
    w, r, k = cfg["word_size"], cfg["num_heads"], cfg["k"]
    delta, clip = cfg["usage_threshold"], cfg["clip_value"]
    lsh = cfg.get("search", "exact") == "lsh"
    now = state["step"] + 1

    # 1. Controller on [x_t, r_{t-1}].
    h, c = lstm_step(np.concatenate([x, state["reads"].reshape(-1)]), state["h"], state["c"],
                     weights["kernel"], weights["recurrent_kernel"], weights["bias"])

    # 2. Head parameters: clip, then the activations.
    params = np.clip(h @ weights["head_kernel"] + weights["head_bias"], -clip, clip)
    per_head = 2 * w + 3
    heads = []
    for i in range(r):
        p = params[i * per_head:(i + 1) * per_head]
        heads.append({"q": np.tanh(p[:w]), "a": np.tanh(p[w:2 * w]),
                      "alpha": sigmoid(p[2 * w]), "gamma": sigmoid(p[2 * w + 1]),
                      "beta": softplus(p[2 * w + 2])})

    # 3. Write: each head zeroes its LRA row, then adds alpha*(1-gamma)*a to
    #    it and alpha*gamma*w_prev(i)*a to each row i it read last step.
    old_memory = state["memory"]
    memory = old_memory.copy()
    last_access = state["last_access"].copy()
    if lsh:
        lra = list(state["ring"][:r])
    else:
        lra = least_recently_accessed(state["last_access"], r)
    for i in range(r):
        memory[lra[i]] = 0.0
    written_rows, written_weights = [], []
    for i in range(r):
        head = heads[i]
        for j in range(k):
            row = int(state["read_rows"][i, j])
            weight = head["alpha"] * head["gamma"] * state["read_weights"][i, j]
            memory[row] = memory[row] + weight * head["a"]
            written_rows.append(row)
            written_weights.append(weight)
    for i in range(r):
        head = heads[i]
        weight = head["alpha"] * (1.0 - head["gamma"])
        memory[lra[i]] = memory[lra[i]] + weight * head["a"]
        written_rows.append(lra[i])
        written_weights.append(weight)
    for row, weight in zip(written_rows, written_weights):
        if weight > delta:
            last_access[row] = now

    new_state = {"h": h, "c": c, "memory": memory, "step": now}
    if lsh:
        # Re-file every written row under its new content (section 3.5), and
        # append the rows just allocated to the recent rows.
        moves = lsh_moves(state["codes"], memory, written_rows, weights["hyperplanes"])
        table, codes = lsh_apply(state["table"], state["codes"], moves)
        recent, count = list(state["recent"]), state["count"]
        for row in lra:
            recent[count % len(recent)] = row
            count += 1
        new_state.update(table=table, codes=codes, recent=recent, count=count)

    # 4. Read: top k rows of the new memory, softmax(beta * cos) over them.
    reads = np.zeros((r, w))
    read_rows = np.zeros((r, k), dtype=np.int64)
    read_weights = np.zeros((r, k))
    for i in range(r):
        head = heads[i]
        if lsh:
            rows, valid = top_k_lsh(table, recent, memory, head["q"], weights["hyperplanes"], k,
                                    cfg.get("lsh_probes", 0))
        else:
            rows, valid = top_k_exact(memory, head["q"], k)
        logits = np.array([head["beta"] * cosine(head["q"], memory[row]) if ok else -1e9
                           for row, ok in zip(rows, valid)])
        weight = softmax(logits)
        for j, row in enumerate(rows):
            reads[i] += weight[j] * memory[row]
        read_rows[i], read_weights[i] = rows, weight
    # 5. Usage of the rows read.
    for i in range(r):
        for j in range(k):
            if read_weights[i, j] > delta:
                last_access[read_rows[i, j]] = now
    if lsh:
        # The ring: every access above delta moves its row to the back, in
        # the order written rows (head by head, then the LRA rows), read rows.
        ring = list(state["ring"])
        touched = list(zip(written_rows, written_weights)) + [
            (int(read_rows[i, j]), read_weights[i, j]) for i in range(r) for j in range(k)
        ]
        for row, weight in touched:
            if weight > delta:
                ring.remove(row)
                ring.append(row)
        new_state["ring"] = ring

    new_state.update(reads=reads, last_access=last_access, read_rows=read_rows,
                     read_weights=read_weights)
    output = np.concatenate([h, reads.reshape(-1)])
    info = {"written_rows": written_rows, "written_weights": np.array(written_weights),
            "lra": lra}
    return output, new_state, info
