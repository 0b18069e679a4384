"""Sparse Access Memory addressing (Rae et al., 2016) as pure functions.

Shapes: `B` batch, `N` memory slots, `W` word size, `R` heads, `K` rows read
per head. The memory is `(B, N, W)`; row indices are int32.

The memory is touched only by `gather_nd` and `scatter_nd_*` with explicit
`[batch, row]` index pairs (`keras_memory.backend`, the one module with code
for each backend: `keras.ops` has no such gather and scatter), and every
search runs on a `stop_gradient` view. Inside TensorFlow's `tf.while_loop`
the gradients of these ops keep only O(K * W) tensors per step for
backpropagation, never the `(B, N, W)` memory, and under XLA (TensorFlow with
`jit_compile=True`, or JAX) the scatters run in place (research: `sam.md`
section 9; the paper's "revert the sparse modifications" backward pass,
section 3.4, is then not needed). Everything else is `keras.ops`.
"""

import math

import numpy as np
from keras import ops

from keras_memory import backend

EPSILON = 1e-6


def batch_row_indices(rows):
    """`[batch, row]` index pairs for `gather_nd`/`scatter_nd` on `(B, N, ...)`.

    Args:
        rows: int32 tensor `(B, ...)` of row indices.

    Returns:
        int32 tensor `(B, ..., 2)`.
    """
    rows = ops.cast(rows, "int32")
    shape = ops.shape(rows)
    batch = ops.reshape(ops.arange(shape[0], dtype="int32"), (-1,) + (1,) * (len(shape) - 1))
    return ops.stack([ops.broadcast_to(batch, shape), rows], axis=-1)


def gather_rows(memory, rows):
    """Rows of `memory` (B, N, W) at `rows` (B, ...): `(B, ..., W)`."""
    return backend.gather_nd(memory, batch_row_indices(rows))


def cosine_similarity(keys, rows):
    """Cosine similarity of each key with its candidate rows (paper eq. 2, `d`).

    Args:
        keys: `(B, R, W)`.
        rows: `(B, R, K, W)`, the rows gathered for each head.

    Returns:
        `(B, R, K)`. The epsilon keeps zero rows and zero keys finite
        (similarity 0), as in the DNC's `CosineWeights`.
    """
    dot = ops.einsum("brw,brkw->brk", keys, rows)
    key_norm = ops.sqrt(ops.sum(ops.square(keys), -1) + EPSILON)
    row_norm = ops.sqrt(ops.sum(ops.square(rows), -1) + EPSILON)
    return dot / (key_norm[..., None] * row_norm + EPSILON)


def exact_top_k(memory, keys, k):
    """Indices of the `k` rows most similar (cosine) to each key, no gradient.

    This is the paper's "SAM linear" (exact nearest neighbours, section 4.1):
    O(N * W) per step, but nothing of it is kept for backpropagation.

    Args:
        memory: `(B, N, W)`.
        keys: `(B, R, W)`.
        k: int, `1 <= k <= N`.

    Returns:
        int32 `(B, R, k)`; ties go to the lowest row index.
    """
    memory = ops.stop_gradient(memory)
    keys = ops.stop_gradient(keys)
    # (B, N, W) x (B, W, R): the layout XLA's CPU dot handles fastest.
    dots = ops.matmul(memory, ops.transpose(keys, (0, 2, 1)))
    norms = ops.sqrt(ops.sum(ops.square(memory), -1, keepdims=True) + EPSILON)
    scores = ops.transpose(dots / norms, (0, 2, 1))  # the key norm does not change the order
    return backend.top_k(scores, k)[1]


def sparse_read(memory, keys, strengths, rows, valid=None):
    """The sparse read (paper eq. 4): a softmax over the `K` candidate rows only.

    `w(s_i) = softmax_i(beta * cos(q, M(s_i)))` over the `K` rows `s_i` of
    each head (truncating the dense weighting to its `K` largest entries and
    renormalising, section 3.1), and `r = sum_i w(s_i) M(s_i)`. The
    similarity and the key strength `beta` are not fixed by the paper; this is
    the NTM/DNC convention (research: `sam.md` section 11).

    Args:
        memory: `(B, N, W)`.
        keys: `(B, R, W)`.
        strengths: `(B, R)`, positive.
        rows: int32 `(B, R, K)`, the candidate rows.
        valid: optional boolean `(B, R, K)`; invalid candidates get weight 0.

    Returns:
        `(weights (B, R, K), reads (B, R, W))`. Gradients reach `keys`,
        `strengths` and only the `K` gathered rows of `memory`.
    """
    gathered = gather_rows(memory, rows)
    logits = strengths[..., None] * cosine_similarity(keys, gathered)
    if valid is not None:
        logits = ops.where(valid, logits, ops.full_like(logits, -1e9))
    weights = ops.softmax(logits, axis=-1)
    reads = ops.einsum("brk,brkw->brw", weights, gathered)
    return weights, reads


def least_recently_accessed(last_access, num):
    """The `num` least recently accessed rows (paper eq. 6, usage `U^(2)`).

    `U_T(i) = T - last_access(i)`, so the argmin of the usage is the argmin of
    the last access time. The paper breaks ties arbitrarily; here the lowest
    index wins, so an empty memory fills rows `0, 1, 2, ...` in order.

    Args:
        last_access: `(B, N)`, the step of each row's last access.
        num: int, the number of distinct rows wanted (one per writing head).

    Returns:
        int32 `(B, num)`, distinct rows, oldest first.
    """
    return backend.top_k(-ops.stop_gradient(last_access), num)[1]


def clip(values, limit):
    """`clip(values, -limit, limit)` whose gradient keeps only a boolean mask.

    The gradient is `clip`'s (zero where the value was clipped), but written
    as a select between `values` and a `stop_gradient` clipped copy it keeps
    only the boolean mask for the backward pass (inside `tf.while_loop`, one
    byte per value instead of the input and the output in float32).
    """
    inside = ops.logical_and(values >= -limit, values <= limit)
    return ops.where(inside, values, ops.stop_gradient(ops.clip(values, -limit, limit)))


def write_weights(previous_read_weights, alpha, gamma):
    """Sparse write weights (paper eq. 5).

    `w^W_t = alpha_t (gamma_t w^R_{t-1} + (1 - gamma_t) I^U_t)`, kept in sparse
    form: per head the weights on its `K` previously read rows and on its one
    least recently accessed row.

    Args:
        previous_read_weights: `(B, R, K)`.
        alpha: `(B, R)` write gates in `[0, 1]`.
        gamma: `(B, R)` interpolation gates in `[0, 1]`.

    Returns:
        `(on_previous_rows (B, R, K), on_lra_row (B, R))`.
    """
    on_previous = (alpha * gamma)[..., None] * previous_read_weights
    on_lra = alpha * (1.0 - gamma)
    return on_previous, on_lra


def sparse_write(memory, previous_rows, on_previous, lra_rows, on_lra, words, mask=None,
                 old_lra=None):
    """The sparse memory update (paper Suppl. eq. 8, `M_t = M_{t-1} - E_t + A_t`).

    The least recently accessed row of each head is zeroed (`E_t`), then every
    head adds `w^W_t(i) a_t` to its previously read rows and its LRA row
    (`A_t`). All changes go in one `tensor_scatter_nd_add`; rows hit twice add
    up, which is "erase, then add both".

    Args:
        memory: `(B, N, W)`.
        previous_rows: int32 `(B, R, K)`.
        on_previous: `(B, R, K)` write weights on those rows.
        lra_rows: int32 `(B, R)`.
        on_lra: `(B, R)` write weights on the LRA rows.
        words: `(B, R, W)`, the write word `a_t` of each head.
        mask: optional `(B,)` 0/1; where 0 the memory is left unchanged.
        old_lra: optional `(B, R, W)`, the LRA rows already gathered from
            `memory`. Every other read of the old memory must feed the
            scatter like this: XLA then runs the scatter in place, where a
            read of the old memory left hanging after it costs a full copy
            of the memory every step.

    Returns:
        The new memory `(B, N, W)`.
    """
    if old_lra is None:
        old_lra = gather_rows(memory, lra_rows)  # (B, R, W)
    lra_delta = on_lra[..., None] * words - old_lra
    # An einsum keeps `words` itself for the gradient (a broadcast product
    # would keep a second, expanded copy of it every step).
    previous_delta = ops.einsum("brk,brw->brkw", on_previous, words)
    if mask is not None:
        lra_delta = lra_delta * mask[:, None, None]
        previous_delta = previous_delta * mask[:, None, None, None]
    heads, per_head, width = previous_delta.shape[1], previous_delta.shape[2], memory.shape[2]
    rows = ops.concatenate(
        [ops.reshape(ops.cast(previous_rows, "int32"), (-1, heads * per_head)),
         ops.reshape(ops.cast(lra_rows, "int32"), (-1, lra_delta.shape[1]))], 1
    )
    deltas = ops.concatenate(
        [ops.reshape(previous_delta, (-1, heads * per_head, width)), lra_delta], 1
    )
    return backend.scatter_nd_add(memory, batch_row_indices(rows), deltas)


def mark_accessed(last_access, rows, weights, step, threshold, mask=None):
    """Usage update (paper section 3.2): rows accessed above `threshold` get `step`.

    `U^(2)_T(i) = T - max{t : w^W_t(i) + w^R_t(i) > delta}` is kept as the last
    access time. Each access is tested on its own weight (any head's read or
    write weight above `delta` refreshes the row; research: `sam.md`
    section 11). No gradient flows through the usage.

    Args:
        last_access: `(B, N)`.
        rows: int32 `(B, ...)`.
        weights: `(B, ...)`, the access weight on each row.
        step: `(B,)` or scalar, the current step.
        threshold: float `delta`.
        mask: optional `(B,)` 0/1; where 0 nothing is marked.

    Returns:
        The new `(B, N)` last-access times.
    """
    weights = ops.stop_gradient(weights)
    last_access = ops.stop_gradient(last_access)
    count = int(np.prod(rows.shape[1:]))
    rows = ops.reshape(rows, (-1, count))
    weights = ops.reshape(weights, (-1, count))
    accessed = weights > threshold
    if mask is not None:
        accessed = ops.logical_and(accessed, ops.stop_gradient(mask)[:, None] > 0)
    old = backend.gather_nd(last_access, batch_row_indices(rows))
    # `step` is a scalar or one value per example; zeros_like broadcasts it
    # with static shapes (XLA).
    step = ops.reshape(ops.stop_gradient(ops.cast(step, last_access.dtype)), (-1, 1))
    new = ops.where(accessed, step + ops.zeros_like(old), old)
    # The outer stop_gradient matters: without it TensorFlow still builds the
    # scatter's gradient, which keeps the (B, N) input and output every step.
    return ops.stop_gradient(
        backend.scatter_nd_max(last_access, batch_row_indices(rows), new)
    )


# ------------------------------------------------------------------ LSH index
def lsh_codes(vectors, hyperplanes):
    """SimHash bucket codes: one code per table from the signs of projections.

    Args:
        vectors: `(..., W)`.
        hyperplanes: `(L, bits, W)`, fixed random directions.

    Returns:
        int32 `(..., L)`, codes in `[0, 2**bits)`.
    """
    projections = ops.einsum("...w,lbw->...lb", ops.stop_gradient(vectors), hyperplanes)
    bits = ops.cast(projections > 0, "int32")
    powers = ops.convert_to_tensor(np.left_shift(1, np.arange(hyperplanes.shape[1])), "int32")
    return ops.sum(bits * powers, -1)


def lsh_initial_table(num_tables, num_buckets, bucket_size, memory_size):
    """The starting bucket table `(L, buckets, C)`: every row in some slot.

    Slot `(l, b, c)` holds row `(b * C + c) mod N`. The starting memory is
    uniform, so which bucket an untouched row sits in does not matter; what
    matters is that every slot names a real row.
    """
    slots = ops.arange(num_buckets * bucket_size, dtype="int32") % memory_size
    table = ops.reshape(slots, (1, num_buckets, bucket_size))
    return ops.tile(table, (num_tables, 1, 1))


def lsh_candidates(table, memory, keys, hyperplanes, k):
    """Approximate top-k search in the bucket index: O(L * C * W), not O(N).

    Each key is hashed into one bucket per table; the `L * C` rows named there
    are re-scored exactly by cosine similarity on the current memory (so stale
    entries cost a candidate slot, never a wrong read), duplicates are dropped
    and the best `k` kept. The paper uses LSH for large words and FLANN k-d
    trees otherwise (section 3.5); a hashed bucket table is the index of that
    family that XLA compiles with static shapes.

    Args:
        table: int32 `(B, L, buckets, C)`.
        memory: `(B, N, W)`.
        keys: `(B, R, W)`.
        hyperplanes: `(L, bits, W)`.
        k: int, `k <= L * C`.

    Returns:
        `(rows int32 (B, R, k), valid bool (B, R, k))`; `valid` is False for
        padding when fewer than `k` distinct rows were found.
    """
    memory = ops.stop_gradient(memory)
    keys = ops.stop_gradient(keys)
    codes = lsh_codes(keys, hyperplanes)  # (B, R, L)
    heads, tables = codes.shape[1], codes.shape[2]
    buckets = ops.cast(backend.gather_nd(table, _bucket_indices(codes)), "int32")  # (B, R, L, C)
    candidates = ops.reshape(buckets, (-1, heads, tables * buckets.shape[-1]))  # (B, R, L*C)
    candidates = ops.sort(candidates, axis=-1)
    duplicate = ops.concatenate(
        [ops.zeros_like(candidates[..., :1], "bool"),
         candidates[..., 1:] == candidates[..., :-1]], -1)
    rows = gather_rows(memory, candidates)
    scores = cosine_similarity(keys, rows)
    scores = ops.where(duplicate, ops.full_like(scores, -3.0), scores)
    values, indices = backend.top_k(scores, k)
    picked = ops.take_along_axis(candidates, indices, axis=-1)
    return picked, values > -2.0


def _bucket_indices(codes):
    """`[batch, table, code]` index triples `(B, n, L, 3)` for codes `(B, n, L)`."""
    codes = ops.cast(codes, "int32")
    shape = ops.shape(codes)
    b = ops.broadcast_to(ops.arange(shape[0], dtype="int32")[:, None, None], shape)
    t = ops.broadcast_to(ops.arange(shape[2], dtype="int32")[None, None, :], shape)
    return ops.stack([b, t, codes], -1)


def lsh_insert(table, counts, rows, codes, mask):
    """Insert `rows` into their buckets, each bucket a ring of its newest `C` rows.

    Args:
        table: `(B, L, buckets, C)` row indices, int32 or float32 (only the
            touched entries are cast, never the whole table).
        counts: `(B, L, buckets)`, inserts so far per bucket, same dtype.
        rows: int32 `(B, n)`, the rows to insert.
        codes: int32 `(B, n, L)`, their bucket in each table.
        mask: bool `(B, n)`; only rows where True are inserted.

    Returns:
        `(table, counts)` updated.
    """
    bucket_size = table.shape[3]
    n = codes.shape[1]
    bucket_index = _bucket_indices(codes)  # (B, n, L, 3)
    take = ops.broadcast_to(mask[:, :, None], ops.shape(codes))
    # Rank of each insert among this step's earlier inserts into the same bucket.
    same = ops.logical_and(
        ops.equal(codes[:, :, None, :], codes[:, None, :, :]),
        take[:, None, :, :],
    )  # (B, n_i, n_j, L)
    earlier = ops.tril(ops.ones((n, n), "int32"), -1)  # earlier[i, j] = 1 for j < i
    rank = ops.sum(ops.cast(same, "int32") * earlier[None, :, :, None], 2)
    slot = (ops.cast(backend.gather_nd(counts, bucket_index), "int32") + rank) % bucket_size
    slot_index = ops.concatenate([bucket_index, slot[..., None]], -1)
    # An insert followed by C or more inserts into the same bucket in this call
    # is overwritten within the call: skip it, so each slot gets one write.
    later = ops.sum(ops.cast(same, "int32") * ops.transpose(earlier)[None, :, :, None], 2)
    kept = ops.logical_and(take, later < bucket_size)
    old = backend.gather_nd(table, slot_index)
    # An add of (new - old), zero where not inserting: a skipped insert that
    # lands on the slot of a real one then leaves it alone.
    new = ops.cast(ops.broadcast_to(rows[:, :, None], ops.shape(codes)), table.dtype)
    delta = ops.where(kept, new - old, ops.zeros_like(old))
    table = backend.scatter_nd_add(table, slot_index, delta)
    counts = backend.scatter_nd_add(counts, bucket_index, ops.cast(take, counts.dtype))
    return table, counts


def default_lsh_bits(memory_size, bucket_size):
    """`ceil(log2(N / C))` clamped to `[1, 3]`.

    Bits trade what a query sees against what a table keeps: a query sees
    the `C` rows of one bucket in `2**bits`, a table keeps the newest
    `2**bits * C` rows written. Measured on associative recall with 100,000
    slots (4 heads, `C = 32`, 8 tables), 3 bits learned within about 12,000
    sequences of an exact search over 128 slots, while 8 bits was still at
    5 bits per sequence after 128,000 (a query then sees too few of the rows
    it should learn to find)."""
    return int(min(3, max(1, math.ceil(math.log2(max(memory_size / bucket_size, 1.0))))))


# ------------------------------------------------- least accessed ring, O(1)
def ring_initial(memory_size):
    """The least accessed ring of an untouched memory: rows in index order.

    A doubly linked list over the rows, least recently accessed at the head,
    most recently accessed at the tail (paper Suppl. A.3). Returns
    `(next (N,), prev (N,), ends (2,))` int32, `ends = [head, tail]`, `-1`
    marking the ends of the list.
    """
    rows = ops.arange(memory_size, dtype="int32")
    nxt = ops.cast(ops.where(rows + 1 < memory_size, rows + 1, -1), "int32")
    prev = rows - 1
    return nxt, prev, ops.convert_to_tensor([0, memory_size - 1], "int32")


def _set(array, rows, values, active):
    """`array[b, rows[b]] = values[b]` where `active[b]`, one row per example."""
    index = batch_row_indices(ops.maximum(rows, 0))
    old = backend.gather_nd(array, index)
    new = ops.where(active, ops.cast(values, array.dtype), old)
    return backend.scatter_nd_update(array, index, new)


def ring_touch(nxt, prev, head, tail, rows, active):
    """Move `rows` (one per example) to the tail of the ring: O(1).

    The paper keeps "a circular doubly linked list ... in order of last
    access"; an accessed row moves to the back, and popping the least
    recently accessed row is reading the head (Suppl. A.3).

    Args:
        nxt: `(B, N)` row indices, int32 or float32 (exact below 2**24;
            the cell keeps them as float32 states, and casting them whole
            each step would cost O(N)): the next row of each row.
        prev: `(B, N)`, the same for the previous row.
        head: int32 `(B,)`, the least recently accessed row.
        tail: int32 `(B,)`, the most recently accessed row.
        rows: int32 `(B,)`.
        active: bool `(B,)`; where False nothing moves.

    Returns:
        `(nxt, prev, head, tail)`.
    """
    move = ops.logical_and(active, rows != tail)
    before = ops.cast(backend.gather_nd(prev, batch_row_indices(rows)), "int32")
    after = ops.cast(backend.gather_nd(nxt, batch_row_indices(rows)), "int32")
    was_head = rows == head
    # Unlink.
    nxt = _set(nxt, before, after, ops.logical_and(move, ops.logical_not(was_head)))
    prev = _set(prev, after, before, move)
    head = ops.where(ops.logical_and(move, was_head), after, head)
    # Append at the tail.
    nxt = _set(nxt, tail, rows, move)
    prev = _set(prev, rows, tail, move)
    nxt = _set(nxt, rows, -ops.ones_like(rows), move)
    tail = ops.where(move, rows, tail)
    return nxt, prev, head, tail


def ring_touch_all(nxt, prev, head, tail, rows, accessed):
    """`ring_touch` for each column of `rows` (B, n), in order."""
    for i in range(rows.shape[1]):
        nxt, prev, head, tail = ring_touch(nxt, prev, head, tail, rows[:, i], accessed[:, i])
    return nxt, prev, head, tail


def ring_oldest(nxt, head, num):
    """The `num` least recently accessed rows: the first `num` from the head."""
    rows = [head]
    for _ in range(num - 1):
        rows.append(ops.cast(backend.gather_nd(nxt, batch_row_indices(rows[-1])), "int32"))
    return ops.stack(rows, axis=1)
