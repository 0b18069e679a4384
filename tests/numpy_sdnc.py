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
