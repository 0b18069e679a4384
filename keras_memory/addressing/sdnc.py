"""Sparse temporal links of the Sparse DNC (Rae et al., 2016, Suppl. D.1).

The Sparse DNC (SDNC) reads, writes and tracks usage exactly as Sparse Access
Memory (`keras_memory.addressing.sam`) and replaces the DNC's `N x N` link
matrix (`keras_memory.addressing.dnc.link_matrix`) by two sparse matrices
with at most `K_L` non-zeros per row (Suppl. D.1, eqs 17-22):

- `N_t(i, j) = (1 - w_t(i)) N_{t-1}(i, j) + w_t(i) p_{t-1}(j)` (eq. 19),
  `N_t ~ L_t`: row `i` holds the slots written just before slot `i`;
- `P_t(i, j) = (1 - w_t(j)) P_{t-1}(i, j) + w_t(j) p_{t-1}(i)` (eq. 20),
  `P_t ~ L_t^T`: row `i` holds the slots written just after slot `i`;
- the precedence `p_t = (1 - sum_i w_t(i)) p_{t-1} + w_t` (eq. 11) kept with
  at most `K_L` non-zeros;
- `f_t = N_t w^r_{t-1}` (eq. 21) and `b_t = P_t w^r_{t-1}` (eq. 22).

Both recursions are the same with `i` and `j` swapped, so `P_t = N_t^T` as
long as no row is truncated. That is what makes every step `O(K_L^2)` per
touched row and independent of `N` here:

- eq. 19 changes only the rows of `N` in the write support;
- eq. 20 adds entries only to the rows of `P` in the support of `p_{t-1}`;
  its column decay `(1 - w_t(j))` reaches every row with an entry in a
  written column, so it is applied lazily: a per-slot running sum
  `rho(j) = sum_t log(1 - w_t(j))` changes only at written slots, each entry
  of `P` keeps the `rho` of its column from when it was last set, and its
  value is `stored * exp(rho(j) - rho_then)` (exactly eq. 20's product of
  decays; the paper does not say how it applied the decay);
- `f = N w` is evaluated as `P^T w` from the rows of `P` at the read support,
  `b = P w` as `N^T w` from the rows of `N` there (equal to eqs 21-22 while
  no row is truncated; the paper does not say how it evaluated them).

The paper truncates every row to its `K_L` largest entries ("at most `K_L`
rows change", Suppl. D.1) but does not say how the read weighting stays
sparse after `f` and `b` are mixed in, nor whether self-links are kept. Here
`f` and `b` keep their `K_L` largest entries (a read head then touches at
most `K + 2 K_L` rows) and self-links are dropped as in the DNC's
`L_t(i, i) = 0` (eq. 14). No gradient flows through `N`, `P` or `p` ("for
implementation simplicity we did not pass gradients through the temporal
linkage matrices", Suppl. D.1); the gradient does reach `f` and `b` through
the previous read weights.

Storage: a sparse matrix is a pair `(indices, values)` of shape `(B, N, K_L)`
(row `i` has the columns `indices[b, i]` with `values[b, i]`), plus for `P`
the `(B, N, K_L)` array of `rho` values and the `(B, N)` `rho` itself. The
precedence is `(indices, values)` of shape `(B, K_L)`. Empty entries have
value 0 (their index does not matter). Indices may be float32 (exact below
`2**24`): only the touched entries are cast. Rows are read and written with
`keras_memory.addressing.sam.gather_rows` and `keras.ops.scatter_update` at
explicit `(batch, row)` pairs, so under XLA the updates run in place and
nothing of size `N` is kept for backpropagation.

Reference:
    Rae, Hunt, Harley, Danihelka, Senior, Wayne, Graves & Lillicrap, 2016.
    Scaling Memory-Augmented Neural Networks with Sparse Reads and Writes.
    NIPS 2016, arXiv 1610.09027, Supplementary D.1.
"""

import numpy as np
from keras import ops

from keras_memory import backend
from keras_memory.addressing import sam

#: Floor of the retention `1 - w(j)` before its logarithm (a write weight of
#: exactly 1 would otherwise give `log 0`).
MIN_RETENTION = 1e-30


def total_by_index(indices, values):
    """Per entry, the sum of the values of every entry with the same index.

    Args:
        indices: `(..., C)`.
        values: `(..., C)`.

    Returns:
        `(..., C)`: entry `c` gets `sum_{c': indices[c'] = indices[c]} values[c']`.
    """
    same = ops.expand_dims(indices, -1) == ops.expand_dims(indices, -2)
    return ops.sum(ops.where(same, ops.expand_dims(values, -2), 0.0), axis=-1)


def merge_top_k(indices, values, k, exclude=None):
    """A sparse vector from candidate entries: duplicates summed, top `k` kept.

    Entries with equal indices are one entry (their values add up); entries
    whose index equals `exclude` (a row's own slot: self-links) are dropped;
    of the rest the `k` largest are kept (the row truncation of Suppl. D.1).
    Values must be non-negative. `O(C^2)` for `C` candidates, independent of
    `N`.

    Args:
        indices: `(..., C)` slot indices (int or float).
        values: `(..., C)`, non-negative.
        k: int, `k <= C`.
        exclude: optional `(...)` slot index to drop.

    Returns:
        `(indices (..., k), values (..., k))`, largest first; when fewer than
        `k` entries remain the rest have value 0.
    """
    indices = ops.stop_gradient(indices)
    count = indices.shape[-1]
    same = ops.expand_dims(indices, -1) == ops.expand_dims(indices, -2)
    total = total_by_index(indices, values)
    earlier = ops.convert_to_tensor(np.tril(np.ones((count, count), bool), -1))
    keep = ops.logical_not(ops.any(ops.logical_and(same, earlier), axis=-1))
    if exclude is not None:
        keep = ops.logical_and(
            keep, indices != ops.cast(ops.expand_dims(exclude, -1), indices.dtype)
        )
    top_values, positions = backend.top_k(ops.where(keep, total, -1.0), k)
    return ops.take_along_axis(indices, positions, axis=-1), ops.maximum(top_values, 0.0)


def _set_rows(array, rows, values):
    """`array[b, rows[b, m]] = values[b, m]`; duplicate rows must carry equal values."""
    index = ops.reshape(sam.batch_row_indices(rows), (-1, 2))
    tail = tuple(array.shape[2:])
    return ops.scatter_update(
        array, index, ops.reshape(ops.cast(values, array.dtype), (-1,) + tail)
    )


def _select(mask, new, old):
    """`new` where `mask[b] > 0`, else `old` (mask `(B,)` or None)."""
    if mask is None:
        return new
    mask = ops.reshape(mask, (-1,) + (1,) * (len(new.shape) - 1))
    return ops.where(mask > 0, new, old)


def sparse_precedence(precedence_indices, precedence_values, write_rows, write_values):
    """The precedence (eq. 11) kept to its `K_L` largest entries (Suppl. D.1).

    `p_t = (1 - sum_i w_t(i)) p_{t-1} + w_t`; no gradient.

    Args:
        precedence_indices: the slots of `p_{t-1}`, `(B, K_L)`.
        precedence_values: the values of `p_{t-1}`, `(B, K_L)`.
        write_rows: `(B, M)` rows of the write weighting (repeats add up).
        write_values: `(B, M)`, the write weighting on them, summing to at
            most 1.

    Returns:
        `(indices, values)` of `p_t`, `(B, K_L)`.
    """
    precedence_indices = ops.stop_gradient(precedence_indices)
    write_rows = ops.stop_gradient(write_rows)
    p_val = ops.stop_gradient(precedence_values)
    w_val = ops.stop_gradient(write_values)
    written = ops.sum(w_val, axis=-1, keepdims=True)
    indices, values = merge_top_k(
        ops.concatenate([precedence_indices, ops.cast(write_rows, precedence_indices.dtype)], -1),
        ops.concatenate([(1.0 - written) * p_val, w_val], -1),
        precedence_indices.shape[-1],
    )
    return ops.stop_gradient(indices), ops.stop_gradient(values)


def update_predecessor_links(link_indices, link_values, write_rows, write_values,
                             precedence_indices, precedence_values, mask=None):
    """Eq. 19 on the rows in the write support: `N_t`.

    `N_t(i, j) = (1 - w_t(i)) N_{t-1}(i, j) + w_t(i) p_{t-1}(j)` for every
    written row `i` (the other rows do not change), without the self-link
    `j = i`, truncated to the `K_L` largest entries. `O(M K_L^2)` for `M`
    written rows; no gradient.

    Args:
        link_indices: the columns of `N_{t-1}`, `(B, N, K_L)`.
        link_values: the values of `N_{t-1}`, `(B, N, K_L)`.
        write_rows: `(B, M)`; a row may repeat (its weights add up).
        write_values: `(B, M)`, `w_t` on those rows.
        precedence_indices: the slots of `p_{t-1}`, `(B, K_L)`.
        precedence_values: the values of `p_{t-1}`, `(B, K_L)`.
        mask: optional `(B,)` 0/1; where 0 nothing changes.

    Returns:
        `(indices, values)` of `N_t`, `(B, N, K_L)`.
    """
    link_indices, write_rows, precedence_indices = (
        ops.stop_gradient(t) for t in (link_indices, write_rows, precedence_indices))
    k = link_indices.shape[-1]
    weight = ops.stop_gradient(total_by_index(write_rows, write_values))  # (B, M)
    old_idx = sam.gather_rows(link_indices, write_rows)  # (B, M, K_L)
    old_val = ops.stop_gradient(sam.gather_rows(link_values, write_rows))
    shape = ops.shape(old_idx)
    p_idx = ops.broadcast_to(ops.expand_dims(precedence_indices, 1), shape)
    p_val = ops.expand_dims(ops.stop_gradient(precedence_values), 1)
    new_idx, new_val = merge_top_k(
        ops.concatenate([old_idx, ops.cast(p_idx, old_idx.dtype)], -1),
        ops.concatenate([(1.0 - weight)[..., None] * old_val, weight[..., None] * p_val], -1),
        k,
        exclude=write_rows,
    )
    new_idx = _select(mask, new_idx, old_idx)
    new_val = _select(mask, new_val, old_val)
    # The outer stop_gradient matters: inside a loop TensorFlow otherwise
    # builds the gradient of every state (see `sam.mark_accessed`).
    return (ops.stop_gradient(_set_rows(link_indices, write_rows, new_idx)),
            ops.stop_gradient(_set_rows(link_values, write_rows, new_val)))


def decay_columns(retention_log, write_rows, write_values, mask=None):
    """The column decay of eq. 20, lazily: `rho_t(j) = rho_{t-1}(j) + log(1 - w_t(j))`.

    Only the written slots change, `O(M^2)`; the entries of `P` in column
    `j` are then worth `stored * exp(rho_t(j) - rho_stored)` (see
    `successor_values`). No gradient. `rho` only decreases; in float32 the
    difference of two large values of it keeps about 7 significant digits,
    so after `rho` reaches `-1e4` (e.g. a slot written 10^5 times with weight
    0.1) a decay is exact to about `1e-3` relative.

    Args:
        retention_log: `rho_{t-1}`, `(B, N)`.
        write_rows: `(B, M)`; a row may repeat (its weights add up).
        write_values: `(B, M)`.
        mask: optional `(B,)` 0/1; where 0 nothing changes.

    Returns:
        `rho_t`, `(B, N)`.
    """
    write_rows = ops.stop_gradient(write_rows)
    weight = ops.stop_gradient(total_by_index(write_rows, write_values))
    rho = ops.stop_gradient(retention_log)
    old = sam.gather_rows(rho, write_rows)
    new = old + ops.log(ops.maximum(1.0 - weight, MIN_RETENTION))
    return ops.stop_gradient(_set_rows(rho, write_rows, _select(mask, new, old)))


def successor_values(retention_log, indices, values, stored_log):
    """The current values of entries of `P`: `values * exp(rho(j) - rho_stored)`.

    Args:
        retention_log: `rho_t`, `(B, N)`.
        indices: `(B, ...)`, the columns `j` of entries of `P`.
        values: `(B, ...)`, their stored values.
        stored_log: `(B, ...)`, the `rho(j)` they were stored at.

    Returns:
        `(B, ...)`, no gradient.
    """
    now = sam.gather_rows(ops.stop_gradient(retention_log), ops.stop_gradient(indices))
    return ops.stop_gradient(values * ops.exp(now - stored_log))


def update_successor_links(link_indices, link_values, link_logs, retention_log,
                           write_rows, write_values, precedence_indices,
                           precedence_values, mask=None):
    """Eq. 20 on the rows in the support of `p_{t-1}`: `P_t`.

    `P_t(i, j) = (1 - w_t(j)) P_{t-1}(i, j) + w_t(j) p_{t-1}(i)`. The decay
    is already in `retention_log` (`rho_t`, see `decay_columns`); the new
    entries `w_t(j) p_{t-1}(i)` go to the `K_L` rows `i` of `p_{t-1}`, whose
    entries are brought up to date, merged, stripped of the self-link and
    truncated to the `K_L` largest. `O(K_L (K_L + M)^2)`; no gradient.

    Args:
        link_indices: the columns of `P_{t-1}`, `(B, N, K_L)`.
        link_values: its stored values, `(B, N, K_L)`.
        link_logs: the `rho` each entry was stored at, `(B, N, K_L)`.
        retention_log: `rho_t`, `(B, N)`.
        write_rows: the rows of `w_t`, `(B, M)`.
        write_values: `w_t` on them, `(B, M)`.
        precedence_indices: the slots of `p_{t-1}`, `(B, K_L)`.
        precedence_values: the values of `p_{t-1}`, `(B, K_L)`.
        mask: optional `(B,)` 0/1; where 0 nothing changes.

    Returns:
        `(indices, values, logs)` of `P_t`, `(B, N, K_L)`.
    """
    link_indices, write_rows, precedence_indices = (
        ops.stop_gradient(t) for t in (link_indices, write_rows, precedence_indices))
    k = link_indices.shape[-1]
    rows = precedence_indices  # (B, K_L)
    p_val = ops.stop_gradient(total_by_index(rows, precedence_values))
    old_idx = sam.gather_rows(link_indices, rows)  # (B, K_L, K_L)
    old_val = ops.stop_gradient(sam.gather_rows(link_values, rows))
    old_log = ops.stop_gradient(sam.gather_rows(link_logs, rows))
    current = successor_values(retention_log, old_idx, old_val, old_log)
    w_rows = ops.cast(write_rows, old_idx.dtype)
    count = w_rows.shape[-1]
    new_idx, new_val = merge_top_k(
        ops.concatenate([old_idx, ops.broadcast_to(w_rows[:, None, :],
                                                   (ops.shape(rows)[0], k, count))], -1),
        ops.concatenate([current, p_val[..., None]
                         * ops.stop_gradient(write_values)[:, None, :]], -1),
        k,
        exclude=rows,
    )
    new_log = sam.gather_rows(ops.stop_gradient(retention_log), new_idx)
    new_idx = _select(mask, new_idx, old_idx)
    new_val = _select(mask, new_val, old_val)
    new_log = _select(mask, new_log, old_log)
    return (ops.stop_gradient(_set_rows(link_indices, rows, new_idx)),
            ops.stop_gradient(_set_rows(link_values, rows, new_val)),
            ops.stop_gradient(_set_rows(link_logs, rows, new_log)))


def follow_links(link_indices, link_values, rows, weights, k, retention_log=None,
                 link_logs=None):
    """`sum_s w(s) L(rows_s, .)` over a sparse weighting, top `k` kept.

    With `P_t` (and its `rho`) this is `f_t = N_t w^r_{t-1} = P_t^T w^r_{t-1}`
    (eq. 21); with `N_t` it is `b_t = P_t w^r_{t-1} = N_t^T w^r_{t-1}`
    (eq. 22); the equalities hold while no row is truncated (see the module
    docstring). The `K_L` largest entries are kept. The gradient reaches
    `weights` only.

    Args:
        link_indices: the columns of `N_t` or `P_t`, `(B, N, K_L)`.
        link_values: their (stored) values, `(B, N, K_L)`.
        rows: `(B, R, S)`, the support of each head's previous read weights.
        weights: `(B, R, S)`, the weights there.
        k: int, entries kept per head, `k <= S K_L`.
        retention_log: for `P` only, `rho_t`, `(B, N)`.
        link_logs: for `P` only, the `rho` of each entry, `(B, N, K_L)`.

    Returns:
        `(indices (B, R, k), values (B, R, k))`.
    """
    rows = ops.stop_gradient(rows)
    idx = sam.gather_rows(ops.stop_gradient(link_indices), rows)  # (B, R, S, K_L)
    val = sam.gather_rows(ops.stop_gradient(link_values), rows)
    if retention_log is not None:
        logs = ops.stop_gradient(sam.gather_rows(ops.stop_gradient(link_logs), rows))
        val = successor_values(retention_log, idx, val, logs)
    val = val * ops.expand_dims(weights, -1)
    flat = (-1, idx.shape[1], idx.shape[2] * idx.shape[3])
    indices, values = merge_top_k(ops.reshape(idx, flat), ops.reshape(val, flat), k)
    return ops.stop_gradient(indices), values


def densify(indices, values, size):
    """A dense `(B, ..., size)` array from sparse rows `(B, ..., C)` (repeats add up).

    For tests and plots only: `O(size)` per row.
    """
    one_hot = ops.one_hot(ops.cast(indices, "int32"), size, dtype=values.dtype)
    return ops.sum(one_hot * ops.expand_dims(values, -1), axis=-2)
