"""Addressing and memory-access equations of the Neural Turing Machine.

Every function here is a pure function of tensors written with `keras.ops`, so
each equation of Graves et al. (2014), section 3, can be tested on its own
against a NumPy reference and reused by other cells.

Shapes use these letters:

- `B`: batch size.
- `H`: number of heads addressed at once.
- `N`: number of memory slots (`memory_size`).
- `W`: width of a memory slot (`word_size`).

Reference:
    Graves, Wayne & Danihelka, "Neural Turing Machines", arXiv:1410.5401, 2014.
"""

from keras import ops

#: Added to the norm product of the cosine similarity (eq. 6). A memory that is
#: all zeros then gives a similarity of 0 instead of 0/0.
COSINE_EPSILON = 1e-8

#: Added under the square roots of the norms in eq. 6, so that their gradient
#: stays finite where a key or a memory row is all zeros (d sqrt(x)/dx is
#: infinite at 0).
NORM_EPSILON = 1e-16

#: Floor applied to the shifted weighting before sharpening (eq. 9), so that
#: `log(w)` and the gradient of `w ** gamma` stay finite where `w == 0`.
SHARPEN_EPSILON = 1e-16


def cosine_similarity(keys, memory, epsilon=COSINE_EPSILON):
    """Cosine similarity of every key with every memory slot (eq. 6).

    `K[u, v] = u . v / (||u|| ||v|| + epsilon)`, where each norm is computed as
    `sqrt(sum(x^2) + 1e-16)` so that its gradient is finite at zero.

    Args:
        keys: tensor of shape `(B, H, W)`.
        memory: tensor of shape `(B, N, W)`.
        epsilon: small positive float added to the norm product. Defaults to
            `1e-8` (Collier & Beel, 2018).

    Returns:
        Tensor of shape `(B, H, N)` with values in `[-1, 1]`.
    """
    dot = ops.einsum("bhw,bnw->bhn", keys, memory)
    key_norm = ops.sqrt(ops.sum(ops.square(keys), axis=-1) + NORM_EPSILON)  # (B, H)
    memory_norm = ops.sqrt(ops.sum(ops.square(memory), axis=-1) + NORM_EPSILON)  # (B, N)
    norms = key_norm[:, :, None] * memory_norm[:, None, :]
    return dot / (norms + epsilon)


def content_weighting(keys, strengths, memory, epsilon=COSINE_EPSILON):
    """Content-based addressing (section 3.3.1, eq. 5).

    `w^c(i) = softmax_i(beta * K[k, M(i)])`.

    Args:
        keys: tensor of shape `(B, H, W)`.
        strengths: key strengths `beta >= 0`, shape `(B, H)`.
        memory: tensor of shape `(B, N, W)`.
        epsilon: see `cosine_similarity`.

    Returns:
        Weighting of shape `(B, H, N)`; each row sums to 1.
    """
    similarity = cosine_similarity(keys, memory, epsilon)
    return ops.softmax(strengths[:, :, None] * similarity, axis=-1)


def interpolate(content_weights, previous_weights, gate):
    """Interpolation gate (section 3.3.2, eq. 7).

    `w^g = g * w^c + (1 - g) * w_{t-1}`.

    Args:
        content_weights: tensor of shape `(B, H, N)`.
        previous_weights: the heads' weightings at the previous step,
            shape `(B, H, N)`.
        gate: `g` in `[0, 1]`, shape `(B, H)`.

    Returns:
        Weighting of shape `(B, H, N)`.
    """
    gate = gate[:, :, None]
    return gate * content_weights + (1.0 - gate) * previous_weights


def circular_shift(weights, shift_weights):
    """Circular convolution with a shift distribution (section 3.3.2, eq. 8).

    `w~(i) = sum_j w^g(j) s(i - j)`, indices modulo `N`. The shift distribution
    covers the offsets `-S, ..., +S`, in that order, where
    `2 * S + 1 = shift_weights.shape[-1]`; an offset of `+1` moves the
    weighting one slot towards higher indices.

    Args:
        weights: tensor of shape `(B, H, N)`.
        shift_weights: tensor of shape `(B, H, 2 * S + 1)`.

    Returns:
        Shifted weighting of shape `(B, H, N)`.
    """
    num_shifts = shift_weights.shape[-1]
    shift_range = (num_shifts - 1) // 2
    # roll(w, k)[i] = w[i - k], so sum_k s(k) * roll(w, k)[i] is eq. 8.
    shifted = ops.stack(
        [ops.roll(weights, k, axis=-1) for k in range(-shift_range, shift_range + 1)],
        axis=-2,
    )  # (B, H, 2S+1, N)
    return ops.einsum("bhs,bhsn->bhn", shift_weights, shifted)


def sharpen(weights, gamma, epsilon=SHARPEN_EPSILON):
    """Sharpening (section 3.3.2, eq. 9).

    `w(i) = w~(i)^gamma / sum_j w~(j)^gamma`, computed as
    `softmax(gamma * log(max(w~, epsilon)))`, which is the same value without
    overflow and with a finite gradient where `w~` is 0 (a raw `pow` has the
    gradient `w^gamma * log(w)`, i.e. `0 * -inf`, there).

    Args:
        weights: tensor of shape `(B, H, N)`, non-negative.
        gamma: sharpening exponents `>= 1`, shape `(B, H)`.
        epsilon: floor applied to `weights` before the logarithm.

    Returns:
        Weighting of shape `(B, H, N)`; each row sums to 1.
    """
    log_weights = ops.log(ops.maximum(weights, epsilon))
    return ops.softmax(gamma[:, :, None] * log_weights, axis=-1)


def address(
    memory,
    previous_weights,
    keys,
    strengths,
    gates,
    shift_weights,
    gammas,
    epsilon=COSINE_EPSILON,
):
    """The full NTM addressing pipeline (section 3.3, Figure 2).

    Content weighting (eq. 5-6), interpolation (eq. 7), circular shift (eq. 8)
    and sharpening (eq. 9), applied to `H` heads at once.

    Args:
        memory: tensor of shape `(B, N, W)`.
        previous_weights: tensor of shape `(B, H, N)`.
        keys: tensor of shape `(B, H, W)`.
        strengths: tensor of shape `(B, H)`, `beta >= 0`.
        gates: tensor of shape `(B, H)`, `g` in `[0, 1]`.
        shift_weights: tensor of shape `(B, H, 2 * S + 1)`, rows sum to 1.
        gammas: tensor of shape `(B, H)`, `gamma >= 1`.
        epsilon: see `cosine_similarity`.

    Returns:
        Weighting of shape `(B, H, N)`; each row sums to 1.
    """
    weights = content_weighting(keys, strengths, memory, epsilon)
    weights = interpolate(weights, previous_weights, gates)
    weights = circular_shift(weights, shift_weights)
    return sharpen(weights, gammas)


def read_memory(weights, memory):
    """Reading (section 3.1, eq. 2): `r = sum_i w(i) M(i)`.

    Args:
        weights: tensor of shape `(B, H, N)`.
        memory: tensor of shape `(B, N, W)`.

    Returns:
        Read vectors of shape `(B, H, W)`.
    """
    return ops.einsum("bhn,bnw->bhw", weights, memory)


def write_memory(memory, weights, erase, add):
    """Writing: erase, then add (section 3.2, eq. 3-4).

    `M~(i) = M(i) * prod_h [1 - w_h(i) e_h]` followed by
    `M'(i) = M~(i) + sum_h w_h(i) a_h`. With several write heads the erases
    commute and the adds commute (section 3.2), so every erase is applied before
    any add.

    Args:
        memory: tensor of shape `(B, N, W)`.
        weights: write weightings, shape `(B, H, N)`.
        erase: erase vectors in `[0, 1]`, shape `(B, H, W)`.
        add: add vectors, shape `(B, H, W)`.

    Returns:
        The new memory, shape `(B, N, W)`.
    """
    if weights.shape[1] == 1:
        keep = 1.0 - ops.einsum("bhn,bhw->bnw", weights, erase)
    else:
        keep = ops.prod(
            1.0 - weights[:, :, :, None] * erase[:, :, None, :], axis=1
        )
    return memory * keep + ops.einsum("bhn,bhw->bnw", weights, add)
