"""Memory-access equations of the Differentiable Neural Computer.

Every function here is a pure function of tensors written with `keras.ops`,
one per equation of the Methods section of Graves et al. (2016), so that each
can be tested on its own against a NumPy reference. Section names below are
the Methods subsections of the paper ("Interface parameters", "Content-based
addressing", "Dynamic memory allocation", "Write weighting", "Reading and
writing to memory", "Temporal memory linkage", "Read weighting").

Where the paper is silent, the functions follow DeepMind's implementation
(github.com/google-deepmind/dnc, `dnc/addressing.py` and `dnc/access.py`):
the epsilons of the cosine similarity and the usage floor before the
cumulative product of the allocation weighting.

Shapes use these letters:

- `B`: batch size.
- `R`: number of read heads.
- `N`: number of memory slots (`memory_size`).
- `W`: width of a memory slot (`word_size`).

The DNC has one write head; write weightings have shape `(B, N)`.

Reference:
    Graves, Wayne, Reynolds, Harley, Danihelka, Grabska-Barwińska,
    Gómez Colmenarejo, Grefenstette, Ramalho, Agapiou, Puigdomènech Badia,
    Hermann, Zwols, Ostrovski, Cain, King, Summerfield, Blunsom, Kavukcuoglu &
    Hassabis, "Hybrid computing using a neural network with dynamic external
    memory", Nature 538, 471-476, 2016.
"""

from keras import ops

from keras_memory import backend
from keras_memory.validation import check_option

#: Added under the square roots of the norms of the cosine similarity, to the
#: norm product, and used as the usage floor before the cumulative product of
#: the allocation weighting (DeepMind's `_EPSILON`, `dnc/addressing.py`).
EPSILON = 1e-6

#: The order of the three read modes in the interface vector and in
#: `read_weighting`: the paper's `pi[1]` backward, `pi[2]` content,
#: `pi[3]` forward ("Read weighting").
READ_MODES = ("backward", "content", "forward")

#: Transfer functions of the key strengths: the paper's `oneplus` and the
#: `softplus` of DeepMind's implementation.
STRENGTH_ACTIVATIONS = ("oneplus", "softplus")


def oneplus(x):
    """The paper's `oneplus(x) = 1 + log(1 + e^x)` ("Interface parameters").

    It maps the raw key strengths to `[1, inf)`.
    """
    return 1.0 + ops.softplus(x)


def interface_size(num_read_heads, word_size):
    """Size of the interface vector `xi_t`: `R W + 3 W + 5 R + 3`."""
    return num_read_heads * word_size + 3 * word_size + 5 * num_read_heads + 3


def parse_interface(interface, num_read_heads, word_size, strength_activation="oneplus"):
    """Split the interface vector and apply its transfer functions.

    Methods, "Interface parameters": `xi_t = [k^{r,1..R}; beta^{r,1..R};
    k^w; beta^w; e; v; f^{1..R}; g^a; g^w; pi^{1..R}]`, in that order, with
    `oneplus` on the strengths, the logistic sigmoid on the erase vector, the
    free gates, the allocation gate and the write gate, a softmax over the
    three read modes of each read head, and no transfer function on the keys
    and the write vector.

    Args:
        interface: tensor of shape `(B, R W + 3 W + 5 R + 3)`.
        num_read_heads: `R`.
        word_size: `W`.
        strength_activation: `"oneplus"` (the paper) or `"softplus"`
            (DeepMind's implementation, `CosineWeights`).

    Returns:
        A dict of tensors: `read_keys` `(B, R, W)`, `read_strengths` `(B, R)`,
        `write_key` `(B, W)`, `write_strength` `(B,)`, `erase` `(B, W)`,
        `write_vector` `(B, W)`, `free_gates` `(B, R)`, `allocation_gate`
        `(B,)`, `write_gate` `(B,)` and `read_modes` `(B, R, 3)` in the order
        of `READ_MODES` (backward, content, forward).
    """
    check_option("strength_activation", strength_activation, STRENGTH_ACTIVATIONS)
    r, w = num_read_heads, word_size
    strength = oneplus if strength_activation == "oneplus" else ops.softplus
    sizes = [("read_keys", r * w), ("read_strengths", r), ("write_key", w),
             ("write_strength", 1), ("erase", w), ("write_vector", w),
             ("free_gates", r), ("allocation_gate", 1), ("write_gate", 1),
             ("read_modes", 3 * r)]
    parts, start = {}, 0
    for name, size in sizes:
        parts[name] = interface[:, start:start + size]
        start += size
    return {
        "read_keys": ops.reshape(parts["read_keys"], (-1, r, w)),
        "read_strengths": strength(parts["read_strengths"]),
        "write_key": parts["write_key"],
        "write_strength": strength(parts["write_strength"][:, 0]),
        "erase": ops.sigmoid(parts["erase"]),
        "write_vector": parts["write_vector"],
        "free_gates": ops.sigmoid(parts["free_gates"]),
        "allocation_gate": ops.sigmoid(parts["allocation_gate"][:, 0]),
        "write_gate": ops.sigmoid(parts["write_gate"][:, 0]),
        "read_modes": ops.softmax(ops.reshape(parts["read_modes"], (-1, r, 3)), axis=-1),
    }


def cosine_similarity(keys, memory, epsilon=EPSILON):
    """Cosine similarity `D(u, v) = u . v / (|u| |v|)` ("Content-based addressing").

    Computed as DeepMind's `CosineWeights` does: each norm is
    `sqrt(sum(x^2) + epsilon)` and `epsilon` is added to the norm product, so
    that an all-zero memory gives a similarity of 0 and finite gradients.

    Args:
        keys: tensor of shape `(B, H, W)` (`H` keys).
        memory: tensor of shape `(B, N, W)`.
        epsilon: small positive float. Defaults to `1e-6`.

    Returns:
        Tensor of shape `(B, H, N)`.
    """
    dot = ops.einsum("bhw,bnw->bhn", keys, memory)
    key_norm = ops.sqrt(ops.sum(ops.square(keys), axis=-1) + epsilon)
    memory_norm = ops.sqrt(ops.sum(ops.square(memory), axis=-1) + epsilon)
    return dot / (key_norm[:, :, None] * memory_norm[:, None, :] + epsilon)


def content_weighting(keys, strengths, memory, epsilon=EPSILON):
    """Content-based addressing ("Content-based addressing").

    `C(M, k, beta)[i] = exp(D(k, M[i]) beta) / sum_j exp(D(k, M[j]) beta)`.

    Args:
        keys: tensor of shape `(B, H, W)`.
        strengths: key strengths `beta`, shape `(B, H)`.
        memory: tensor of shape `(B, N, W)`.
        epsilon: see `cosine_similarity`.

    Returns:
        Weighting of shape `(B, H, N)`; each row sums to 1.
    """
    similarity = cosine_similarity(keys, memory, epsilon)
    return ops.softmax(strengths[:, :, None] * similarity, axis=-1)


def retention(free_gates, previous_read_weights):
    """The memory retention vector ("Dynamic memory allocation").

    `psi_t = prod_{i=1}^{R} (1 - f^i_t w^{r,i}_{t-1})`.

    Args:
        free_gates: `f_t` in `[0, 1]`, shape `(B, R)`.
        previous_read_weights: `w^r_{t-1}`, shape `(B, R, N)`.

    Returns:
        Tensor of shape `(B, N)` in `[0, 1]`.
    """
    return ops.prod(1.0 - free_gates[:, :, None] * previous_read_weights, axis=1)


def usage(previous_usage, previous_write_weights, retention_vector):
    """The usage vector ("Dynamic memory allocation").

    `u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} o w^w_{t-1}) o psi_t`.

    Args:
        previous_usage: `u_{t-1}` in `[0, 1]`, shape `(B, N)`.
        previous_write_weights: `w^w_{t-1}`, shape `(B, N)`.
        retention_vector: `psi_t`, shape `(B, N)` (see `retention`).

    Returns:
        Tensor of shape `(B, N)` in `[0, 1]`.
    """
    u, w = previous_usage, previous_write_weights
    return (u + w - u * w) * retention_vector


def allocation_weighting(usage_vector, epsilon=EPSILON):
    """The allocation weighting ("Dynamic memory allocation").

    With the free list `phi_t`, the slot indices sorted by ascending usage,
    `a_t[phi_t[j]] = (1 - u_t[phi_t[j]]) prod_{i=1}^{j-1} u_t[phi_t[i]]`.

    The usage is first floored as `epsilon + (1 - epsilon) u`, as in
    DeepMind's `Freeness._allocation`: the gradient of a cumulative product
    divides by its inputs, and a usage of exactly 0 (every fresh memory) would
    make it wrong or infinite. The sort order is treated as a constant for the
    gradient, as the paper says ("We ignore these discontinuities"); the
    gradient flows through the sorted values, which are scattered back to
    their slots (`unsort`). Ties go to the lower slot index, so a fresh memory
    is filled from slot 0 upwards.

    Args:
        usage_vector: `u_t` in `[0, 1]`, shape `(B, N)`.
        epsilon: the usage floor. Defaults to `1e-6`.

    Returns:
        Tensor of shape `(B, N)`, non-negative, summing to at most 1.
    """
    u = epsilon + (1.0 - epsilon) * usage_vector
    # phi_t (ascending usage) and the sorted usages. `top_k` of `-u` rather
    # than `argsort` and `take_along_axis`: the same order (ties to the lower
    # index), and the gradient of its values compiles under XLA inside
    # `keras.layers.RNN`, where that of `take_along_axis` does not.
    negative_sorted, free_list = backend.top_k(-u, k=u.shape[-1])
    sorted_usage = -negative_sorted
    # Exclusive cumulative product: prod_{i<j} u[phi[i]].
    shifted = ops.concatenate([ops.ones_like(sorted_usage[:, :1]), sorted_usage[:, :-1]], axis=-1)
    sorted_allocation = (1.0 - sorted_usage) * ops.cumprod(shifted, axis=-1)
    return unsort(sorted_allocation, free_list)


def unsort(sorted_values, permutation):
    """Scatter `sorted_values` back: `out[b, permutation[b, j]] = sorted_values[b, j]`.

    Args:
        sorted_values: tensor of shape `(B, N)`.
        permutation: integer tensor of shape `(B, N)`, a permutation of
            `0..N-1` in each row.

    Returns:
        Tensor of shape `(B, N)`.
    """
    shape = ops.shape(sorted_values)
    permutation = ops.cast(permutation, "int32")
    batch = ops.zeros_like(permutation) + ops.arange(shape[0], dtype="int32")[:, None]
    indices = ops.stack([batch, permutation], axis=-1)
    return ops.scatter(
        ops.reshape(indices, (-1, 2)), ops.reshape(sorted_values, (-1,)), shape
    )


def write_weighting(allocation, write_content_weights, allocation_gate, write_gate):
    """The write weighting ("Write weighting").

    `w^w_t = g^w_t [g^a_t a_t + (1 - g^a_t) c^w_t]`.

    Args:
        allocation: `a_t`, shape `(B, N)`.
        write_content_weights: `c^w_t`, shape `(B, N)`.
        allocation_gate: `g^a_t` in `[0, 1]`, shape `(B,)`.
        write_gate: `g^w_t` in `[0, 1]`, shape `(B,)`.

    Returns:
        Tensor of shape `(B, N)`, non-negative, summing to at most 1.
    """
    g_a = allocation_gate[:, None]
    return write_gate[:, None] * (g_a * allocation + (1.0 - g_a) * write_content_weights)


def write_memory(memory, write_weights, erase, write_vector):
    """Erase and write ("Reading and writing to memory").

    `M_t = M_{t-1} o (E - w^w_t e_t^T) + w^w_t v_t^T`, `E` all ones.

    Args:
        memory: `M_{t-1}`, shape `(B, N, W)`.
        write_weights: `w^w_t`, shape `(B, N)`.
        erase: `e_t` in `[0, 1]`, shape `(B, W)`.
        write_vector: `v_t`, shape `(B, W)`.

    Returns:
        `M_t`, shape `(B, N, W)`.
    """
    w = write_weights[:, :, None]
    return memory * (1.0 - w * erase[:, None, :]) + w * write_vector[:, None, :]


def precedence(previous_precedence, write_weights):
    """The precedence weighting ("Temporal memory linkage").

    `p_t = (1 - sum_i w^w_t[i]) p_{t-1} + w^w_t`, `p_0 = 0`.

    Args:
        previous_precedence: `p_{t-1}`, shape `(B, N)`.
        write_weights: `w^w_t`, shape `(B, N)`.

    Returns:
        `p_t`, shape `(B, N)`, summing to at most 1.
    """
    written = ops.sum(write_weights, axis=-1, keepdims=True)
    return (1.0 - written) * previous_precedence + write_weights


def link_matrix(previous_link, previous_precedence, write_weights):
    """The temporal link matrix ("Temporal memory linkage").

    `L_t[i, j] = (1 - w^w_t[i] - w^w_t[j]) L_{t-1}[i, j] + w^w_t[i] p_{t-1}[j]`
    and `L_t[i, i] = 0`. `L_t[i, j]` is the degree to which slot `i` was
    written right after slot `j`.

    Args:
        previous_link: `L_{t-1}`, shape `(B, N, N)`.
        previous_precedence: `p_{t-1}` (before this step's update), `(B, N)`.
        write_weights: `w^w_t`, shape `(B, N)`.

    Returns:
        `L_t`, shape `(B, N, N)`, with a zero diagonal.
    """
    w_i = write_weights[:, :, None]
    w_j = write_weights[:, None, :]
    link = (1.0 - w_i - w_j) * previous_link + w_i * previous_precedence[:, None, :]
    n = previous_link.shape[-1]
    off_diagonal = ops.cast(1.0 - ops.eye(n), link.dtype)
    return link * off_diagonal


def directional_weightings(link, previous_read_weights):
    """Forward and backward weightings ("Temporal memory linkage").

    `f^i_t = L_t w^{r,i}_{t-1}` and `b^i_t = L_t^T w^{r,i}_{t-1}`.

    Args:
        link: `L_t`, shape `(B, N, N)`.
        previous_read_weights: `w^r_{t-1}`, shape `(B, R, N)`.

    Returns:
        `(forward, backward)`, each of shape `(B, R, N)`.
    """
    # Two batched matmuls, `(L w^T)^T` and `w L`, rather than the einsums of
    # the equations: XLA's CPU backend then reads `L` in place and transposes
    # only the `(B, N, R)` result, where `"bji,brj->bri"` copied `L^T`; a DNC
    # training step at 128 slots, batch 32 and 41 steps took 1.4-1.8x less time.
    forward = ops.swapaxes(
        ops.matmul(link, ops.swapaxes(previous_read_weights, 1, 2)), 1, 2
    )
    backward = ops.matmul(previous_read_weights, link)
    return forward, backward


def read_weighting(backward, content, forward, read_modes):
    """The read weighting ("Read weighting").

    `w^{r,i}_t = pi^i_t[1] b^i_t + pi^i_t[2] c^{r,i}_t + pi^i_t[3] f^i_t`.

    Args:
        backward: `b_t`, shape `(B, R, N)`.
        content: `c^r_t`, shape `(B, R, N)`.
        forward: `f_t`, shape `(B, R, N)`.
        read_modes: `pi_t`, shape `(B, R, 3)`, in the order (backward,
            content, forward) of `READ_MODES`.

    Returns:
        Tensor of shape `(B, R, N)`.
    """
    return (read_modes[:, :, 0:1] * backward + read_modes[:, :, 1:2] * content
            + read_modes[:, :, 2:3] * forward)


def read_memory(read_weights, memory):
    """Read vectors ("Reading and writing to memory"): `r^i_t = M_t^T w^{r,i}_t`.

    Args:
        read_weights: shape `(B, R, N)`.
        memory: `M_t`, shape `(B, N, W)`.

    Returns:
        Read vectors of shape `(B, R, W)`.
    """
    return ops.einsum("brn,bnw->brw", read_weights, memory)
