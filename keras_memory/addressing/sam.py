"""Sparse Access Memory addressing (Rae et al., 2016) as pure functions.

Shapes: `B` batch, `N` memory slots, `W` word size, `R` heads, `K` rows read
per head. The memory is `(B, N, W)`; row indices are int32.

The memory is touched only by `gather_nd` and `scatter_nd_*` with explicit
`[batch, row]` index pairs (`keras_memory.backend`, the one module with code
for each backend: `keras.ops` has no such gather and scatter), and every
search runs on a `stop_gradient` view. Inside TensorFlow's `tf.while_loop`
the gradients of these ops keep only O(K * W) tensors per step for
backpropagation, never the `(B, N, W)` memory, and under XLA (TensorFlow with
`jit_compile=True`, or JAX) the scatters run in place (`tests/test_sam.py`
checks both; the paper's "revert the sparse modifications" backward pass,
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
    the NTM/DNC convention (content addressing with a key strength, Graves et
    al. 2014, section 3.3.1), a choice the paper leaves open.

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
    write weight above `delta` refreshes the row; the paper does not say
    whether the weights of several heads are summed first). No gradient flows through the usage.

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
    return lsh_probe_codes(vectors, hyperplanes)[..., 0]


def orthogonal_hyperplanes(normal):
    """Make each table's hyperplanes orthonormal (blocks of `W` when bits > W).

    With orthonormal directions the `2**bits` buckets of a table split an
    isotropic distribution of rows exactly evenly (each code is an orthant of
    a rotated frame); independent random directions cut cells of very unequal
    size, and the largest buckets overflow first.

    Args:
        normal: `(L, bits, W)` draw of N(0, 1) entries.

    Returns:
        `(L, bits, W)`.
    """
    tables, bits, width = normal.shape
    blocks = []
    for start in range(0, bits, width):
        block = normal[:, start:start + width]  # (L, b, W), b <= W
        q, _ = ops.qr(ops.transpose(block, (0, 2, 1)))  # (L, W, b), orthonormal columns
        blocks.append(ops.transpose(q, (0, 2, 1)))
    return ops.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]


def lsh_empty_index(num_tables, num_buckets, bucket_size, memory_size):
    """An index that holds no row: `(table (L, buckets, C), codes (L, N))`, all -1.

    `table[l, b]` lists the rows in bucket `b` of table `l` (-1 marks a free
    slot); `codes[l, i]` is the bucket row `i` is filed under in table `l`, or
    -1 when it is in none (never written, zero, or its bucket was full).
    """
    table = -ops.ones((num_tables, num_buckets, bucket_size), "int32")
    codes = -ops.ones((num_tables, memory_size), "int32")
    return table, codes


def lsh_build(memory, hyperplanes, bucket_size):
    """Index every non-zero row of one memory `(N, W)` at once: O(N log N).

    The same index as inserting rows `0, 1, ..., N-1` one after another with
    `lsh_update` (each takes the lowest free slot of its bucket; a row whose
    bucket is full is left out of that table). Used for a memory that does not
    start empty (`memory_init="random"`) and by `benchmarks/sam_index.py`.

    Args:
        memory: `(N, W)`.
        hyperplanes: `(L, bits, W)`.
        bucket_size: int `C`.

    Returns:
        `(table int32 (L, 2**bits, C), codes int32 (L, N))`, as
        `lsh_empty_index`.
    """
    memory = ops.stop_gradient(memory)
    n = memory.shape[0]
    num_tables, bits = hyperplanes.shape[0], hyperplanes.shape[1]
    num_buckets = 2**bits
    present = ops.any(ops.not_equal(memory, 0), axis=-1)
    all_codes = lsh_codes(memory, hyperplanes)  # (N, L)
    positions = ops.arange(n, dtype="int32")
    tables, codes = [], []
    for t in range(num_tables):
        # Zero rows get the sentinel bucket `num_buckets` and are left out.
        code = ops.where(present, all_codes[:, t], num_buckets)
        # Sort by bucket, ties to the lowest row: top_k breaks ties that way
        # on every backend (a plain argsort is not stable on TensorFlow).
        order = backend.top_k(-ops.cast(code, "float32"), n)[1]
        ordered = ops.take(code, order)
        rank = positions - ops.cast(ops.searchsorted(ordered, ordered, side="left"), "int32")
        kept = ops.logical_and(rank < bucket_size, ordered < num_buckets)
        # Slots of rows left out go to one spare slot past the end, dropped.
        spare = num_buckets * bucket_size
        slot = ops.where(kept, ordered * bucket_size + rank, spare)
        flat = ops.scatter_update(
            -ops.ones((spare + 1,), "int32"), slot[:, None], order
        )
        tables.append(ops.reshape(flat[:spare], (num_buckets, bucket_size)))
        codes.append(ops.scatter_update(
            -ops.ones((n,), "int32"), order[:, None], ops.where(kept, ordered, -1)
        ))
    return ops.stack(tables), ops.stack(codes)


def lsh_update(table, codes, rows, words, hyperplanes, active):
    """Re-file written rows under their new content: O(n * L * C) per call.

    The index keeps every non-zero row of the memory (section 3.5: the index
    "is kept in sync on every write or erase"). For each row in `rows`, in
    each table: if the bucket of its new content differs from the one it is
    filed under, it is removed from the old bucket and put in the lowest free
    slot of the new one (rows earlier in `rows` first). A row whose new
    bucket is full stays out of that table (its code becomes -1) until its
    next write; a row whose content is zero is filed nowhere.

    Args:
        table: `(B, L, buckets, C)` row indices, -1 for free slots, int32 or
            float32 (only the touched entries are cast, never the whole
            table).
        codes: `(B, L, N)`, the bucket each row is filed under, -1 for none,
            same dtype as `table`.
        rows: int32 `(B, n)`, the rows written this step.
        words: `(B, n, W)`, their content after the write.
        hyperplanes: `(L, bits, W)`.
        active: bool `(B, n)`; only these entries are re-filed. Each row must
            appear at most once among the active entries.

    Returns:
        `(table, codes)` updated.
    """
    num_tables, bucket_size = table.shape[1], table.shape[3]
    n = rows.shape[1]
    present = ops.any(ops.not_equal(ops.stop_gradient(words), 0), axis=-1)
    target = ops.where(present[..., None], lsh_codes(words, hyperplanes), -1)  # (B, n, L)
    shape = ops.shape(target)
    batch = ops.broadcast_to(ops.arange(shape[0], dtype="int32")[:, None, None], shape)
    tables = ops.broadcast_to(ops.arange(num_tables, dtype="int32")[None, None, :], shape)
    row = ops.broadcast_to(ops.cast(rows, "int32")[:, :, None], shape)
    row_index = ops.stack([batch, tables, row], -1)
    filed = ops.cast(backend.gather_nd(codes, row_index), "int32")  # (B, n, L)
    move = ops.logical_and(active[..., None], filed != target)

    # Remove from the old bucket.
    old_index = ops.stack([batch, tables, ops.maximum(filed, 0)], -1)
    old_bucket = ops.cast(backend.gather_nd(table, old_index), "int32")  # (B, n, L, C)
    hit = old_bucket == row[..., None]
    found = ops.logical_and(ops.logical_and(move, filed >= 0), ops.any(hit, -1))
    slot = ops.cast(ops.argmax(ops.cast(hit, "int32"), -1), "int32")
    delta = ops.where(found, -1 - row, 0)
    table = backend.scatter_nd_add(
        table, ops.concatenate([old_index, slot[..., None]], -1), ops.cast(delta, table.dtype)
    )

    # Put in the new bucket: the insert ranked `j`-th among this call's
    # inserts into that bucket takes its `j`-th free slot.
    insert = ops.logical_and(move, target >= 0)
    new_index = ops.stack([batch, tables, ops.maximum(target, 0)], -1)
    new_bucket = ops.cast(backend.gather_nd(table, new_index), "int32")  # (B, n, L, C)
    same = ops.logical_and(
        ops.equal(target[:, :, None, :], target[:, None, :, :]), insert[:, None, :, :]
    )  # (B, n_i, n_j, L)
    earlier = ops.tril(ops.ones((n, n), "int32"), -1)  # earlier[i, j] = 1 for j < i
    rank = ops.sum(ops.cast(same, "int32") * earlier[None, :, :, None], 2)  # (B, n, L)
    free = ops.cast(new_bucket < 0, "int32")
    nth_free = ops.logical_and(free > 0, ops.cumsum(free, -1) == rank[..., None] + 1)
    slot = ops.cast(ops.argmax(ops.cast(nth_free, "int32"), -1), "int32")
    placed = ops.logical_and(insert, ops.sum(free, -1) > rank)
    delta = ops.where(placed, row + 1, 0)  # a free slot holds -1
    table = backend.scatter_nd_add(
        table, ops.concatenate([new_index, slot[..., None]], -1), ops.cast(delta, table.dtype)
    )
    now_filed = ops.where(placed, target, -1)
    codes = backend.scatter_nd_add(
        codes, row_index, ops.cast(ops.where(move, now_filed - filed, 0), codes.dtype)
    )
    return table, codes


def first_occurrences(rows):
    """bool `(B, n)`: True where a row appears for the first time in `rows` (B, n)."""
    n = rows.shape[1]
    equal = ops.equal(rows[:, :, None], rows[:, None, :])  # (B, n_i, n_j)
    earlier = ops.tril(ops.ones((n, n), "bool"), -1)
    return ops.logical_not(ops.any(ops.logical_and(equal, earlier[None]), -1))


def recent_append(recent, count, rows, active):
    """Append `rows` (B, m) to the ring of the `F` rows allocated last.

    Args:
        recent: `(B, F)` row indices, -1 for empty entries (int32 or float32).
        count: `(B,)`, rows appended so far.
        rows: int32 `(B, m)`, `m <= F`.
        active: bool `(B,)`; where False nothing is appended.

    Returns:
        `(recent, count)`.
    """
    size, m = recent.shape[1], rows.shape[1]
    position = (ops.cast(count, "int32")[:, None] + ops.arange(m, dtype="int32")[None]) % size
    index = batch_row_indices(position)
    old = backend.gather_nd(recent, index)
    new = ops.where(active[:, None], ops.cast(rows, recent.dtype), old)
    recent = backend.scatter_nd_add(recent, index, new - old)
    return recent, count + ops.cast(active, count.dtype) * m


def lsh_probe_codes(keys, hyperplanes, probes=0):
    """The buckets a key probes in each table: its own, then `probes` neighbours.

    Multi-probe LSH (Lv et al. 2007, "Multi-probe LSH: efficient indexing
    for high-dimensional similarity search"): besides the key's own bucket,
    a table is probed at the buckets that differ from it in one of the
    `probes` bits whose hyperplanes pass closest to the key (the smallest
    `|projection|`), nearest first. A near neighbour that falls on the other
    side of a hyperplane falls mostly across one of those, so probing them
    finds neighbours that the key's own bucket misses, for `probes` more
    buckets read per table instead of more tables.

    Args:
        keys: `(..., W)`.
        hyperplanes: `(L, bits, W)`.
        probes: int in `[0, bits]`, the extra buckets per table.

    Returns:
        int32 `(..., L, 1 + probes)`; `[..., 0]` is `lsh_codes(keys, hyperplanes)`.
    """
    bits_per_table = hyperplanes.shape[1]
    if not 0 <= probes <= bits_per_table:
        raise ValueError(
            f"`probes` must be in [0, bits per table = {bits_per_table}]. Received: "
            f"probes={probes!r}"
        )
    projections = ops.einsum("...w,lbw->...lb", ops.stop_gradient(keys), hyperplanes)
    bits = ops.cast(projections > 0, "int32")
    powers = ops.convert_to_tensor(np.left_shift(1, np.arange(bits_per_table)), "int32")
    codes = ops.sum(bits * powers, -1, keepdims=True)  # (..., L, 1)
    if probes == 0:
        return codes
    # The `probes` least confident bits; flipping bit `i` adds or removes `2**i`.
    nearest = backend.top_k(-ops.abs(projections), probes)[1]  # (..., L, P)
    flipped = ops.take_along_axis(bits, nearest, axis=-1)
    flips = (1 - 2 * flipped) * ops.take(powers, nearest)
    return ops.concatenate([codes, codes + flips], -1)


def lsh_candidates(table, recent, memory, keys, hyperplanes, k, probes=0):
    """Approximate top-k: the query's buckets in each table plus the recent rows.

    Each key is hashed into one bucket per table (and `probes` neighbouring
    buckets, `lsh_probe_codes`); the rows filed there and the `F` rows
    allocated last are re-scored exactly by cosine similarity on the current
    memory, duplicates and free slots are dropped and the best `k` kept.
    O((L * (1 + probes) * C + F) * W) per key, whatever `N`.

    Args:
        table: `(B, L, buckets, C)`, -1 for free slots.
        recent: `(B, F)`, -1 for empty entries.
        memory: `(B, N, W)`.
        keys: `(B, R, W)`.
        hyperplanes: `(L, bits, W)`.
        k: int, `k <= L * (1 + probes) * C + F`.
        probes: int, extra buckets probed per table (0: the key's own only).

    Returns:
        `(rows int32 (B, R, k), valid bool (B, R, k))`; when fewer than `k`
        distinct rows were found the rest are padding, row 0 and
        `valid=False`.
    """
    memory = ops.stop_gradient(memory)
    keys = ops.stop_gradient(keys)
    codes = lsh_probe_codes(keys, hyperplanes, probes)  # (B, R, L, 1 + P)
    heads, tables = codes.shape[1], codes.shape[2]
    codes = ops.reshape(ops.transpose(codes, (0, 1, 3, 2)), (-1, heads * (1 + probes), tables))
    buckets = ops.cast(backend.gather_nd(table, _bucket_indices(codes)), "int32")  # (B, R(1+P), L, C)
    buckets = ops.reshape(buckets, (-1, heads, (1 + probes) * tables * buckets.shape[-1]))
    recent = ops.cast(recent, "int32")[:, None, :]
    recent = ops.broadcast_to(recent, (ops.shape(buckets)[0], heads, recent.shape[-1]))
    candidates = ops.concatenate([buckets, recent], -1)  # (B, R, M), repeats and -1s
    scores = cosine_similarity(keys, gather_rows(memory, ops.maximum(candidates, 0)))
    scores = ops.where(candidates < 0, ops.full_like(scores, -3.0), scores)
    return distinct_top_k(candidates, scores, k)


def distinct_top_k(candidates, scores, k):
    """The `k` best distinct rows among candidates that may repeat.

    A row filed in several tables comes back once from each. Rather than
    sorting the `M` candidates to drop the repeats (`O(M log M)`, most of a
    query's time on the CPU), each of `k` rounds takes the best score, breaks
    ties to the lowest row index, and masks every copy of that row:
    `O(k M)`.

    Args:
        candidates: int32 `(..., M)` row indices.
        scores: `(..., M)`, below -2 where a candidate is unusable.
        k: int, rows to pick.

    Returns:
        `(rows int32 (..., k), valid bool (..., k))`, best first; when fewer
        than `k` usable distinct rows exist the rest are row 0 and
        `valid=False`.
    """
    unusable = ops.full_like(scores, -3.0)
    largest = ops.full_like(candidates, np.iinfo(np.int32).max)
    rows, valid = [], []
    for _ in range(k):
        best = ops.max(scores, axis=-1, keepdims=True)
        row = ops.min(ops.where(scores == best, candidates, largest), axis=-1, keepdims=True)
        found = best > -2.0
        rows.append(ops.where(found, row, 0))
        valid.append(found)
        scores = ops.where(candidates == row, unusable, scores)
    return ops.concatenate(rows, -1), ops.concatenate(valid, -1)


def _bucket_indices(codes):
    """`[batch, table, code]` index triples `(B, n, L, 3)` for codes `(B, n, L)`."""
    codes = ops.cast(codes, "int32")
    shape = ops.shape(codes)
    b = ops.broadcast_to(ops.arange(shape[0], dtype="int32")[:, None, None], shape)
    t = ops.broadcast_to(ops.arange(shape[2], dtype="int32")[None, None, :], shape)
    return ops.stack([b, t, codes], -1)


def default_lsh_bits(memory_size, bucket_size):
    """`ceil(log2(2 N / C))`, at least 1: buckets for twice the memory.

    With `2**bits * C >= 2 N` slots per table the buckets are on average at
    most half full when every row is written, so a bucket overflows rarely
    unless the rows crowd into few directions."""
    return int(max(1, math.ceil(math.log2(max(2.0 * memory_size / bucket_size, 1.0)))))


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
    """`ring_touch` for each column of `rows` (B, n), in order.

    The touches depend on each other (each moves a row behind the last), so
    they run one after another, in a loop rather than unrolled: a step of
    `SDNCCell` touches `R (2 s + 1)` rows (164 with its defaults), and XLA
    took minutes and gigabytes to compile that many unrolled copies.
    """
    if rows.shape[1] == 1:
        return ring_touch(nxt, prev, head, tail, rows[:, 0], accessed[:, 0])

    def touch(i, ring):
        return ring_touch(*ring, ops.take(rows, i, axis=1), ops.take(accessed, i, axis=1))

    # The ring is not differentiated; without stop_gradient TensorFlow would
    # still build the loop's gradient and its accumulators, which XLA refuses.
    ring = [ops.stop_gradient(x) for x in (nxt, prev, head, tail)]
    ring = ops.fori_loop(0, rows.shape[1], touch, tuple(ring))
    return tuple(ops.stop_gradient(x) for x in ring)


def ring_oldest(nxt, head, num):
    """The `num` least recently accessed rows: the first `num` from the head."""
    rows = [head]
    for _ in range(num - 1):
        rows.append(ops.cast(backend.gather_nd(nxt, batch_row_indices(rows[-1])), "int32"))
    return ops.stack(rows, axis=1)
