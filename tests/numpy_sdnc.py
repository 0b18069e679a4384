"""A dense NumPy reference of the Sparse DNC's temporal links, from the paper.

Rae et al. (2016), Supplementary D.1: eqs 19-20 (the sparse link matrices
`N` and `P`), eq. 11 (the precedence `p`) and eqs 21-22 (the forward and
backward weightings), written on dense `(N, N)` arrays in float64, one
example at a time, without TensorFlow. `links_step` is the paper's
recursion with no truncation (`K_L = N`); with `k` it also truncates, as
`keras_memory.addressing.sdnc` does, every row it changes (and the
precedence) to its `k` largest entries, while the column decay of eq. 20
still reaches every row (eagerly here, lazily in the package).
Self-links are dropped (`N(i, i) = P(i, i) = 0`) in both.
"""

import numpy as np


def top_k_dense(vector, k):
    """`vector` with all but its `k` largest entries set to 0."""
    if k is None or k >= vector.size:
        return vector.copy()
    out = np.zeros_like(vector)
    keep = np.argsort(-vector, kind="stable")[:k]
    out[keep] = vector[keep]
    return out


def links_step(n_links, p_links, precedence, write, k=None):
    """One step of eqs 19, 20 and 11 (Suppl. D.1) on dense arrays.

    Args:
        n_links: `N_{t-1}`, `(N, N)`; row `i`: slots written before `i`.
        p_links: `P_{t-1}`, `(N, N)`; row `i`: slots written after `i`.
        precedence: `p_{t-1}`, `(N,)`.
        write: `w_t`, `(N,)`, summing to at most 1.
        k: `K_L`, or None for no truncation.

    Returns:
        `(N_t, P_t, p_t)`.
    """
    size = write.size
    new_n = n_links.copy()
    for i in np.flatnonzero(write):
        row = (1.0 - write[i]) * n_links[i] + write[i] * precedence  # eq. 19
        row[i] = 0.0
        new_n[i] = top_k_dense(row, k)
    new_p = p_links * (1.0 - write)[None, :]  # eq. 20, decay of every column
    for i in np.flatnonzero(precedence):
        row = new_p[i] + write * precedence[i]  # eq. 20, new entries
        row[i] = 0.0
        new_p[i] = top_k_dense(row, k)
    new_precedence = top_k_dense((1.0 - write.sum()) * precedence + write, k)  # eq. 11
    assert new_n.shape == new_p.shape == (size, size)
    return new_n, new_p, new_precedence


def directional(n_links, p_links, read, k=None):
    """`f = N w` (eq. 21) and `b = P w` (eq. 22), truncated to `k` entries.

    With truncated links they are evaluated as the package does, `f = P^T w`
    and `b = N^T w`; without truncation `P = N^T` and the two forms agree.
    """
    if k is None:
        return n_links @ read, p_links @ read
    return top_k_dense(p_links.T @ read, k), top_k_dense(n_links.T @ read, k)


def initial_state(cfg):
    """The SDNCCell's initial state for one example (zero memory).

    With `search="lsh"` also `recent` (the last `lsh_recent` rows allocated,
    -1 while empty), `count` and `ring`, the rows from least to most recently
    accessed (SAM's least accessed ring, Suppl. A.3)."""
    n, w, r, units = (cfg[key] for key in ("memory_size", "word_size", "num_heads", "units"))
    lsh = {"recent": [-1] * cfg["lsh_recent"], "count": 0,
           "ring": list(range(n))} if cfg.get("search") == "lsh" else {}
    return {**lsh,
        "h": np.zeros(units), "c": np.zeros(units), "reads": np.zeros((r, w)),
        "memory": np.zeros((n, w)), "last_access": np.zeros(n),
        # Per head, the (row, weight) entries of its last read; none yet.
        "entries": [[] for _ in range(r)], "step": 0,
        "n_links": np.zeros((n, n)), "p_links": np.zeros((n, n)), "precedence": np.zeros(n),
    }


def sdnc_step(x, state, weights, cfg):
    """One SDNCCell step for one example, written from the papers.

    SAM's write and usage (Rae et al. 2016, eqs 5, 6, Suppl. eq. 8, section
    3.2) as in `numpy_sam.sam_step`, the links of `links_step` fed by the
    heads' mean write weighting, and the DNC's read weighting `pi[1] b +
    pi[2] c + pi[3] f` (Graves et al. 2016, "Read weighting") on SAM's
    sparse content read (eq. 4) and the `K_L` largest entries of `f`, `b`.

    Args:
        x: input vector.
        state: see `initial_state`.
        weights: dict with the LSTM `kernel`, `recurrent_kernel`, `bias` and
            the head layer's `head_kernel`, `head_bias`.
        cfg: dict with units, memory_size, word_size, num_heads, k,
            num_links, usage_threshold, clip_value, and for `search="lsh"`
            lsh_recent (`weights` then has the `hyperplanes`). The index is
            modelled as having room for every row: a query's candidates are
            the non-zero rows that share its bucket in some table, and the
            recent rows.

    Returns:
        `(output, new_state)`.
    """
    import numpy_sam as sam_ref

    n, w, r, k = cfg["memory_size"], cfg["word_size"], cfg["num_heads"], cfg["k"]
    kl, delta = cfg["num_links"], cfg["usage_threshold"]
    now = state["step"] + 1
    h, c = sam_ref.lstm_step(np.concatenate([x, state["reads"].reshape(-1)]), state["h"],
                             state["c"], weights["kernel"], weights["recurrent_kernel"],
                             weights["bias"])
    params = np.clip(h @ weights["head_kernel"] + weights["head_bias"],
                     -cfg["clip_value"], cfg["clip_value"])
    per_head = 2 * w + 6
    heads = []
    for i in range(r):
        p = params[i * per_head:(i + 1) * per_head]
        heads.append({"q": np.tanh(p[:w]), "a": np.tanh(p[w:2 * w]),
                      "alpha": sam_ref.sigmoid(p[2 * w]),
                      "gamma": sam_ref.sigmoid(p[2 * w + 1]),
                      "beta": sam_ref.softplus(p[2 * w + 2]),
                      "modes": sam_ref.softmax(p[2 * w + 3:])})  # backward, content, forward

    # Write (SAM eq. 5, Suppl. eq. 8): zero the LRA rows, then add.
    memory = state["memory"].copy()
    last_access = state["last_access"].copy()
    lsh = cfg.get("search") == "lsh"
    lra = state["ring"][:r] if lsh else sam_ref.least_recently_accessed(state["last_access"], r)
    memory[lra] = 0.0
    written = []
    for i, head in enumerate(heads):
        for row, weight in state["entries"][i]:
            written.append((row, head["alpha"] * head["gamma"] * weight, head["a"]))
    for i, head in enumerate(heads):
        written.append((lra[i], head["alpha"] * (1.0 - head["gamma"]), head["a"]))
    for row, weight, word in written:
        memory[row] += weight * word
        if weight > delta:
            last_access[row] = now

    # Links (Suppl. D.1) from the mean write weighting.
    write = np.zeros(n)
    for row, weight, _ in written:
        write[row] += weight / r
    n_links, p_links, precedence = links_step(
        state["n_links"], state["p_links"], state["precedence"], write, kl)

    if lsh:
        recent, count = list(state["recent"]), state["count"]
        for row in lra:
            recent[count % len(recent)] = row
            count += 1
        planes = weights["hyperplanes"]
        filed = [[sam_ref.lsh_code(memory[j], planes[t]) if np.any(memory[j] != 0) else -1
                  for t in range(len(planes))] for j in range(n)]

    # Read: content, forward, backward.
    reads, entries = np.zeros((r, w)), []
    for i, head in enumerate(heads):
        if lsh:
            codes = [sam_ref.lsh_code(head["q"], planes[t]) for t in range(len(planes))]
            found = {j for j in range(n) if any(f == c for f, c in zip(filed[j], codes))}
            found |= {j for j in recent if j >= 0}
            rows = sorted(found, key=lambda j: (-sam_ref.cosine(head["q"], memory[j]), j))[:k]
            valid = [True] * len(rows) + [False] * (k - len(rows))
            rows += [0] * (k - len(rows))
        else:
            rows, valid = sam_ref.top_k_exact(memory, head["q"], k)
        logits = [head["beta"] * sam_ref.cosine(head["q"], memory[j]) if ok else -1e9
                  for j, ok in zip(rows, valid)]
        content = sam_ref.softmax(logits)
        previous = np.zeros(n)
        for row, weight in state["entries"][i]:
            previous[row] += weight
        forward, backward = directional(n_links, p_links, previous, kl)
        back, mid, fwd = head["modes"]
        head_entries = [(row, mid * weight) for row, weight in zip(rows, content)]
        head_entries += [(j, fwd * forward[j]) for j in np.flatnonzero(forward)]
        head_entries += [(j, back * backward[j]) for j in np.flatnonzero(backward)]
        for row, weight in head_entries:
            reads[i] += weight * memory[row]
            if weight > delta:
                last_access[row] = now
        entries.append(head_entries)
    if lsh:
        # Rows accessed above delta move to the ring's tail in row order.
        ring = list(state["ring"])
        for row in sorted(np.flatnonzero(last_access == now)):
            ring.remove(row)
            ring.append(row)
        lsh = {"recent": recent, "count": count, "ring": ring}
    else:
        lsh = {}
    new_state = {**lsh, "h": h, "c": c, "reads": reads, "memory": memory, "last_access": last_access,
                 "entries": entries, "step": now, "n_links": n_links, "p_links": p_links,
                 "precedence": precedence}
    return np.concatenate([h, reads.reshape(-1)]), new_state
