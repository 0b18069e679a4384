"""Lie-access memory: head actions, weightings and the appended memory.

The equations of Yang & Rush (2017), "Lie-Access Neural Turing Machines", as
pure functions on tensors, so that each one can be tested on its own. Where
the paper leaves a detail open, the functions follow the authors' Torch code
(`harvardnlp/lie-access-memory`); each docstring names the file.

Shapes: `B` batch, `C` memory slots (the preallocated capacity), `k` key
dimension (2 on the plane, 3 on the sphere), `W` value width.

The memory is a list of `(key, value, strength)` entries that grows by one
entry per step (section 3). Here it is preallocated: `C` slots with a
`last_used` time each. A slot that was never written has a negative
`last_used` and takes no part in any weighting, so a preallocated memory
reads exactly like the growing list of the paper. A new entry goes into the
least recently used slot (`least_recently_used`): the empty slots first, in
index order, then, once the memory is full, the slot whose last write or
read lies furthest back, the eviction the paper suggests for bounding the
memory (section 6).

Reference:
    - [Yang & Rush, 2017. Lie-Access Neural Turing Machines](
      https://arxiv.org/abs/1611.02854)
"""

import math

from keras import ops

#: `eps` of the authors' `InvNormalize` layer (`layers/InvNormalize.lua`).
INVERSE_SQUARE_EPSILON = 1e-10
#: `epsilon_read_weight` of the authors' code, added to every strength-weighted weight.
READ_EPSILON = 1e-9
#: Added to the denominator of the final L1 normalisation (`layers/Normalize.lua`).
NORMALIZE_EPSILON = 1e-10
#: `eps` of the authors' `normalize` onto the sphere (`models/slantm.lua`).
SPHERE_EPSILON = 1e-10


def bound_translation(action, power=2.0):
    """The bounded translation `a / (1 + |a|^p)^(1/p)` (`bound_act`).

    Every LANTM configuration of the paper bounds the action this way, which
    keeps `|a| < 1` (the authors' `Normalize(p, eps=1)` layer, section 3.1).

    Args:
        action: `(..., k)` raw translation.
        power: The exponent `p` (`bound_act_exp`). Defaults to `2`.

    Returns:
        The bounded translation, same shape.
    """
    norm_p = ops.sum(ops.abs(action) ** power, axis=-1, keepdims=True)
    return action / (1.0 + norm_p) ** (1.0 / power)


def normalize(x, epsilon=SPHERE_EPSILON):
    """Projects onto the unit sphere: `x / sqrt(eps + |x|^2)` (`models/slantm.lua`)."""
    return x / ops.sqrt(epsilon + ops.sum(ops.square(x), axis=-1, keepdims=True))


def interpolate_head(candidate, previous, gate, key_space="plane"):
    """Random-access interpolation of a head (section 3.2).

    Plane: `q_bar = g * q_cand + (1 - g) * q_prev`. Sphere: the candidate is
    projected onto the sphere first and the mixture after,
    `q_bar = normalize(g * normalize(q_cand) + (1 - g) * q_prev)`
    (`models/slantm.lua`, `mix_keys`).

    Args:
        candidate: `(B, k)` random-access key `q_cand` from the controller.
        previous: `(B, k)` the head of the previous step.
        gate: `(B, 1)` interpolation gate `g` in `(0, 1)`.
        key_space: `"plane"` or `"sphere"`.

    Returns:
        `(B, k)` the interpolated head, before the Lie action.
    """
    if key_space == "sphere":
        candidate = normalize(candidate)
        return normalize(gate * candidate + (1.0 - gate) * previous)
    return gate * candidate + (1.0 - gate) * previous


def cross(u, v):
    """Cross product of two `(..., 3)` tensors."""
    u0, u1, u2 = u[..., 0], u[..., 1], u[..., 2]
    v0, v1, v2 = v[..., 0], v[..., 1], v[..., 2]
    return ops.stack([u1 * v2 - u2 * v1, u2 * v0 - u0 * v2, u0 * v1 - u1 * v0], axis=-1)


def rodrigues_rotate(point, axis, cos_angle, sin_angle):
    """Rotates `point` about the unit `axis` (Rodrigues' formula, section 3.1).

    `q' = q cos(t) + (u x q) sin(t) + u (u . q) (1 - cos(t))`, the action of
    SO(3) on the sphere that SLANTM uses (`models/slantm.lua`).

    Args:
        point: `(..., 3)` points.
        axis: `(..., 3)` unit rotation axes `u`.
        cos_angle: `(..., 1)` cosines of the angles.
        sin_angle: `(..., 1)` sines of the angles.

    Returns:
        `(..., 3)` the rotated points.
    """
    along = ops.sum(axis * point, axis=-1, keepdims=True)
    return (
        point * cos_angle
        + cross(axis, point) * sin_angle
        + axis * along * (1.0 - cos_angle)
    )


def squared_distances(query, keys):
    """Squared Euclidean distances `d_i = |q - k_i|^2` (the `PowSum` layer).

    On the sphere this is the squared chordal distance, as in the authors'
    code, not the geodesic one.

    Args:
        query: `(B, k)` a head.
        keys: `(B, C, k)` the memory keys.

    Returns:
        `(B, C)` distances.
    """
    return ops.sum(ops.square(keys - query[:, None, :]), axis=-1)


def inverse_square_weights(distances, valid, epsilon=INVERSE_SQUARE_EPSILON):
    """Inverse-square weighting `w_i = (d_i + eps)^-1 / sum_j (d_j + eps)^-1` (section 3.2).

    Computed as the authors' `InvNormalize` does, through the ratios
    `(min_j d_j + eps) / (d_i + eps)`, each at most 1, so that a head sitting
    exactly on a key gives that key the limit weight (nearly all of it)
    instead of an overflow or a NaN. The minimum is a constant for the
    gradient; it cancels in the normalisation, so the gradient is exact.

    Args:
        distances: `(B, C)` squared distances.
        valid: `(B, C)` boolean, the slots that hold an entry. At least one
            slot per row must be valid.
        epsilon: The `eps` of the weighting. Defaults to `1e-10`.

    Returns:
        `(B, C)` weights summing to 1 over the valid slots, 0 elsewhere.
    """
    large = ops.cast(3.0e38, distances.dtype)
    masked = ops.where(valid, distances, large)
    nearest = ops.stop_gradient(ops.min(masked, axis=-1, keepdims=True))
    ratios = ops.where(valid, (nearest + epsilon) / (masked + epsilon), 0.0)
    return ratios / ops.sum(ratios, axis=-1, keepdims=True)


def softmax_weights(scores, valid):
    """`softmax(scores)` over the valid slots only (0 on the others)."""
    large = ops.cast(-1.0e30, scores.dtype)
    masked = ops.where(valid, scores, large)
    shifted = masked - ops.stop_gradient(ops.max(masked, axis=-1, keepdims=True))
    exp = ops.where(valid, ops.exp(shifted), 0.0)
    return exp / ops.sum(exp, axis=-1, keepdims=True)


def softmax_distance_weights(distances, temperature, valid, floor=1e-6):
    """Softmax weighting `softmax(-d_i / softplus(T))` of the `-s` variants (section 3.2).

    Args:
        distances: `(B, C)` squared distances.
        temperature: `(B, 1)` the controller's raw temperature `T`.
        valid: `(B, C)` boolean mask of the slots that hold an entry.
        floor: Added to `softplus(T)` so that a temperature driven to 0 cannot
            divide by zero (not in the paper). Defaults to `1e-6`.

    Returns:
        `(B, C)` weights.
    """
    return softmax_weights(-distances / (ops.softplus(temperature) + floor), valid)


def inner_product_weights(query, keys, valid, sharpening=None):
    """RAM baseline weighting `softmax(<q, k_i>)` (`models/ram.lua`).

    With weight sharpening, `softmax((1 + softplus(beta)) <q, k_i>)`.

    Args:
        query: `(B, k)` read key.
        keys: `(B, C, k)` memory keys.
        valid: `(B, C)` boolean mask of the slots that hold an entry.
        sharpening: Optional `(B, 1)` raw sharpening coefficient `beta`.

    Returns:
        `(B, C)` weights.
    """
    scores = ops.sum(keys * query[:, None, :], axis=-1)
    if sharpening is not None:
        scores = scores * (1.0 + ops.softplus(sharpening))
    return softmax_weights(scores, valid)


def apply_strengths(weights, strengths, valid, epsilon=READ_EPSILON):
    """`w_i <- (s_i w_i + eps) / sum_j (s_j w_j + eps)`, both weightings (section 3.2).

    Multiplies by the strength each entry was written with, adds the
    authors' `epsilon_read_weight` and renormalises (with `1e-10` in the
    denominator, `layers/Normalize.lua`). Slots without an entry stay at 0.

    Args:
        weights: `(B, C)` weights from a weighting function.
        strengths: `(B, C)` memory strengths `s_i` in `[0, 1]`.
        valid: `(B, C)` boolean mask of the slots that hold an entry.
        epsilon: Defaults to `1e-9`.

    Returns:
        `(B, C)` the final read weights.
    """
    scaled = ops.where(valid, strengths * weights + epsilon, 0.0)
    return scaled / (ops.sum(scaled, axis=-1, keepdims=True) + NORMALIZE_EPSILON)


def read(weights, values):
    """The read `r = sum_i w_i v_i` (section 3.2): `(B, C)`, `(B, C, W)` -> `(B, W)`."""
    return ops.einsum("bc,bcw->bw", weights, values)


def tape_keys(weights, keys, valid):
    """The RAM/Tape forward and backward keys (`models/ram.lua`).

    `f = sum_i w_i k_{i+1}` (the key of the entry after each one read) and
    `b = sum_i w_i k_{i-1}` (the entry before), over the slots in index
    order; weight on a slot whose successor (predecessor) is empty or out of
    range is dropped, as in the authors' sums over `i < L` and `i > 1`.

    Args:
        weights: `(B, C)` read weights.
        keys: `(B, C, k)` memory keys.
        valid: `(B, C)` boolean mask of the slots that hold an entry.

    Returns:
        `(forward, backward)`, each `(B, k)`.
    """
    valid = ops.cast(valid, keys.dtype)
    masked_keys = keys * valid[..., None]
    zero = ops.zeros_like(keys[:, :1])
    following = ops.concatenate([masked_keys[:, 1:], zero], axis=1)
    preceding = ops.concatenate([zero, masked_keys[:, :-1]], axis=1)
    forward = ops.einsum("bc,bck->bk", weights, following)
    backward = ops.einsum("bc,bck->bk", weights, preceding)
    return forward, backward


def initial_last_used(capacity, initial_slots=1):
    """`last_used` of a fresh memory: 0 for the initial slots, negative for empty ones.

    The empty slots get `i - capacity - 1`, increasing with the index `i`, so
    `least_recently_used` fills them in index order.

    Args:
        capacity: Number of slots `C`.
        initial_slots: Number of slots holding the learned initial entries.

    Returns:
        A `(C,)` float32 tensor.
    """
    index = ops.arange(capacity, dtype="float32")
    return ops.where(index < initial_slots, 0.0, index - capacity - 1.0)


def valid_slots(last_used):
    """The slots that hold an entry: those with `last_used >= 0`."""
    return last_used >= 0.0


def least_recently_used(last_used):
    """Index of the slot to write next: the smallest `last_used`, ties to the lowest index.

    Args:
        last_used: `(B, C)` the time each slot was last written or read.

    Returns:
        `(B,)` int32 slot indices.
    """
    return ops.cast(ops.argmin(last_used, axis=-1), "int32")


def mark_read(last_used, weights, time, threshold):
    """Sets `last_used = time` on the slots read with weight `>= threshold`."""
    return ops.where(weights >= threshold, time, last_used)


def append(memory, key, value, strength, time, write):
    """Appends one `(key, value, strength)` entry to the least recently used slot (section 3).

    Args:
        memory: Tuple `(keys (B, C, k), values (B, C, W), strengths (B, C),
            last_used (B, C))`.
        key: `(B, k)` the write head after its action.
        value: `(B, W)` the value to store.
        strength: `(B, 1)` its strength.
        time: `(B, 1)` the current step number (`>= 1`).
        write: `(B, 1)` 1 to write, 0 to leave the memory unchanged (the
            authors' code discards the entry written while answering).

    Returns:
        The new `(keys, values, strengths, last_used)`.
    """
    keys, values, strengths, last_used = memory
    slot = least_recently_used(last_used)
    chosen = ops.one_hot(slot, ops.shape(last_used)[-1], dtype=keys.dtype) * write
    keep = 1.0 - chosen
    keys = keys * keep[..., None] + chosen[..., None] * key[:, None, :]
    values = values * keep[..., None] + chosen[..., None] * value[:, None, :]
    strengths = strengths * keep + chosen * strength
    last_used = ops.where(chosen > 0.0, time, last_used)
    return keys, values, strengths, last_used


def angle_bound(raw, bias=-5.0):
    """SLANTM's learned maximum angle `pi * sigmoid(b + bias)` (`bound_act`, `models/slantm.lua`)."""
    return math.pi * ops.sigmoid(raw + bias)
