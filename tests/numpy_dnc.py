"""A NumPy reference of the Differentiable Neural Computer, written from the paper.

Graves et al. (2016), Nature 538, Methods ("Controller network", "Interface
parameters", "Memory addressing"). One example at a time, written loop by loop
without `keras`, so that it checks `keras_memory.addressing.dnc` and `DNCCell`
independently of how they vectorise. The two numerical details the paper
leaves open follow DeepMind's implementation (`dnc/addressing.py`): an epsilon
of 1e-6 in the cosine similarity and a usage floor of 1e-6 before the
allocation's product.
"""

import numpy as np

EPS = 1e-6


def softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def softplus(x):
    return np.logaddexp(0.0, x)


def oneplus(x):
    """"Interface parameters": oneplus(x) = 1 + log(1 + e^x)."""
    return 1.0 + softplus(x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def parse_interface(xi, num_reads, width, strength=oneplus):
    """Split xi_t (one example) in the paper's order, with its transfer functions."""
    r, w = num_reads, width
    out, pos = {}, 0

    def take(size):
        nonlocal pos
        piece = xi[pos:pos + size]
        pos += size
        return piece

    out["read_keys"] = take(r * w).reshape(r, w)
    out["read_strengths"] = strength(take(r))
    out["write_key"] = take(w)
    out["write_strength"] = strength(take(1))[0]
    out["erase"] = sigmoid(take(w))
    out["write_vector"] = take(w)
    out["free_gates"] = sigmoid(take(r))
    out["allocation_gate"] = sigmoid(take(1))[0]
    out["write_gate"] = sigmoid(take(1))[0]
    out["read_modes"] = np.stack([softmax(take(3)) for _ in range(r)])  # (b, c, f)
    assert pos == len(xi)
    return out


def cosine(u, v, eps=EPS):
    """D(u, v) = u.v / (|u||v|), with DeepMind's epsilons."""
    return float(u @ v) / (np.sqrt(u @ u + eps) * np.sqrt(v @ v + eps) + eps)


def content_weighting(key, beta, memory):
    """C(M, k, beta)[i] = exp(D(k, M[i]) beta) / sum_j exp(D(k, M[j]) beta)."""
    return softmax(np.array([cosine(key, row) * beta for row in memory]))


def retention(free_gates, prev_read_weights):
    """psi_t = prod_i (1 - f^i w^{r,i}_{t-1})."""
    psi = np.ones(prev_read_weights.shape[1])
    for i in range(len(free_gates)):
        psi = psi * (1.0 - free_gates[i] * prev_read_weights[i])
    return psi


def usage(prev_usage, prev_write_weights, psi):
    """u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} w^w_{t-1}) psi_t."""
    return (prev_usage + prev_write_weights - prev_usage * prev_write_weights) * psi


def allocation(u, eps=EPS):
    """a[phi[j]] = (1 - u[phi[j]]) prod_{i<j} u[phi[i]], phi = ascending usage."""
    u = eps + (1.0 - eps) * u
    phi = sorted(range(len(u)), key=lambda i: (u[i], i))  # ties: lower index first
    a = np.zeros(len(u))
    product = 1.0
    for j in phi:
        a[j] = (1.0 - u[j]) * product
        product *= u[j]
    return a


def write_weighting(a, cw, g_a, g_w):
    """w^w = g^w (g^a a + (1 - g^a) c^w)."""
    return g_w * (g_a * a + (1.0 - g_a) * cw)


def write(memory, ww, erase, v):
    """M_t = M_{t-1} o (E - w e^T) + w v^T."""
    new = memory.copy()
    for i in range(memory.shape[0]):
        for k in range(memory.shape[1]):
            new[i, k] = memory[i, k] * (1.0 - ww[i] * erase[k]) + ww[i] * v[k]
    return new


def precedence(prev_p, ww):
    """p_t = (1 - sum_i w^w[i]) p_{t-1} + w^w."""
    return (1.0 - ww.sum()) * prev_p + ww


def link(prev_link, prev_p, ww):
    """L[i, j] = (1 - w[i] - w[j]) L[i, j] + w[i] p_{t-1}[j]; L[i, i] = 0."""
    n = len(ww)
    new = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                new[i, j] = (1.0 - ww[i] - ww[j]) * prev_link[i, j] + ww[i] * prev_p[j]
    return new


def forward_backward(link_matrix, prev_read_weights):
    """f^i = L w^{r,i}_{t-1}, b^i = L^T w^{r,i}_{t-1}."""
    forward = np.stack([link_matrix @ w for w in prev_read_weights])
    backward = np.stack([link_matrix.T @ w for w in prev_read_weights])
    return forward, backward


def read_weighting(backward, content, forward, modes):
    """w^{r,i} = pi^i[1] b^i + pi^i[2] c^{r,i} + pi^i[3] f^i."""
    return np.stack([modes[i, 0] * backward[i] + modes[i, 1] * content[i]
                     + modes[i, 2] * forward[i] for i in range(len(modes))])


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """keras.layers.LSTMCell's step (gates in the order i, f, c, o)."""
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, c


def initial_state(units, memory_size, word_size, num_reads):
    n, w, r = memory_size, word_size, num_reads
    return {
        "h": np.zeros(units), "c": np.zeros(units), "reads": np.zeros((r, w)),
        "memory": np.zeros((n, w)), "usage": np.zeros(n), "link": np.zeros((n, n)),
        "precedence": np.zeros(n), "read_weights": np.zeros((r, n)),
        "write_weights": np.zeros(n),
    }


def dnc_step(x, state, weights, cfg):
    """One DNCCell step for one example, from the paper's Methods.

    Args:
        x: input vector.
        state: dict as returned by `initial_state`.
        weights: dict with the LSTM kernel, recurrent_kernel, bias and the
            interface layer's kernel and bias.
        cfg: dict with num_reads, word_size, clip_value (or None) and
            strength ("oneplus" or "softplus").

    Returns:
        (output, new_state).
    """
    r, w = cfg["num_reads"], cfg["word_size"]
    clip = (lambda v: v) if cfg["clip_value"] is None else (
        lambda v: np.clip(v, -cfg["clip_value"], cfg["clip_value"]))
    chi = np.concatenate([x, state["reads"].reshape(-1)])
    h, c = lstm_step(chi, state["h"], state["c"], weights["kernel"],
                     weights["recurrent_kernel"], weights["bias"])
    h, c = clip(h), clip(c)
    xi = h @ weights["interface_kernel"] + weights["interface_bias"]
    p = parse_interface(xi, r, w, oneplus if cfg["strength"] == "oneplus" else softplus)

    psi = retention(p["free_gates"], state["read_weights"])
    u = usage(state["usage"], state["write_weights"], psi)
    cw = content_weighting(p["write_key"], p["write_strength"], state["memory"])
    ww = write_weighting(allocation(u), cw, p["allocation_gate"], p["write_gate"])
    memory = write(state["memory"], ww, p["erase"], p["write_vector"])
    new_link = link(state["link"], state["precedence"], ww)
    prec = precedence(state["precedence"], ww)
    forward, backward = forward_backward(new_link, state["read_weights"])
    content = np.stack([content_weighting(p["read_keys"][i], p["read_strengths"][i], memory)
                        for i in range(r)])
    wr = read_weighting(backward, content, forward, p["read_modes"])
    reads = np.stack([memory.T @ wr[i] for i in range(r)])
    output = np.concatenate([h, reads.reshape(-1)])
    return output, {
        "h": h, "c": c, "reads": reads, "memory": memory, "usage": u, "link": new_link,
        "precedence": prec, "read_weights": wr, "write_weights": ww,
        "read_modes": p["read_modes"],
    }
