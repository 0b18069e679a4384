"""A NumPy reference of the Neural Turing Machine, written from the paper.

Graves, Wayne & Danihelka (2014), section 3. Written loop by loop, without
`keras`, so that it checks `keras_memory.addressing.ntm` and `NTMCell`
independently of how they vectorise.
"""

import numpy as np


def softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def cosine(u, v, eps=1e-8):
    """Eq. 6 for two vectors."""
    return float(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v) + eps)


def content_weighting(key, beta, memory, eps=1e-8):
    """Eq. 5 for one head: key (W,), beta scalar, memory (N, W) -> (N,)."""
    scores = np.array([beta * cosine(key, row, eps) for row in memory])
    return softmax(scores)


def interpolate(wc, w_prev, g):
    """Eq. 7."""
    return g * wc + (1.0 - g) * w_prev


def circular_shift(w, s):
    """Eq. 8, literally: w~(i) = sum_j w(j) s(i - j), offsets -S..S, mod N."""
    n = len(w)
    shift_range = (len(s) - 1) // 2
    out = np.zeros(n)
    for i in range(n):
        for j in range(n):
            offset = (i - j) % n
            # Map the offset to -S..S (if it is one), then to an index of s.
            if offset > n // 2:
                offset -= n
            if -shift_range <= offset <= shift_range:
                out[i] += w[j] * s[offset + shift_range]
    return out


def sharpen(w, gamma):
    """Eq. 9."""
    p = w**gamma
    return p / p.sum()


def read(w, memory):
    """Eq. 2."""
    return sum(w[i] * memory[i] for i in range(len(w)))


def write(memory, ws, erases, adds):
    """Eq. 3-4 for several write heads: all erases, then all adds."""
    m = memory.copy()
    for w, e in zip(ws, erases):
        m = m * (1.0 - np.outer(w, e))
    for w, a in zip(ws, adds):
        m = m + np.outer(w, a)
    return m


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """keras.layers.LSTMCell's step (gates in the order i, f, c, o)."""
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, c


def ntm_step(x, state, weights, cfg):
    """One NTMCell step for one example, from the paper's equations.

    Args:
        x: input vector.
        state: dict with h, c, reads (R, W), weightings (R+Wr, N), memory (N, W).
        weights: dict with the LSTM kernel, recurrent_kernel, bias and the head
            dense layer's kernel and bias.
        cfg: dict with word_size, num_read_heads, num_write_heads, shift_range,
            clip_value.

    Returns:
        (output, new_state).
    """
    width = cfg["word_size"]
    num_read, num_write = cfg["num_read_heads"], cfg["num_write_heads"]
    num_shifts = 2 * cfg["shift_range"] + 1
    controller_in = np.concatenate([x, state["reads"].reshape(-1)])
    h, c = lstm_step(
        controller_in, state["h"], state["c"],
        weights["kernel"], weights["recurrent_kernel"], weights["bias"],
    )
    params = h @ weights["head_kernel"] + weights["head_bias"]
    params = np.clip(params, -cfg["clip_value"], cfg["clip_value"])
    per_head = width + 3 + num_shifts
    new_w = []
    memory = state["memory"]
    for head in range(num_read + num_write):
        p = params[head * per_head:(head + 1) * per_head]
        key = np.tanh(p[:width])
        beta = softplus(p[width])
        g = sigmoid(p[width + 1])
        s = softmax(p[width + 2:width + 2 + num_shifts])
        gamma = 1.0 + softplus(p[-1])
        w = content_weighting(key, beta, memory)
        w = interpolate(w, state["weightings"][head], g)
        w = circular_shift(w, s)
        new_w.append(sharpen(w, gamma))
    rest = params[(num_read + num_write) * per_head:]
    erases, adds = [], []
    for head in range(num_write):
        chunk = rest[head * 2 * width:(head + 1) * 2 * width]
        erases.append(sigmoid(chunk[:width]))
        adds.append(np.tanh(chunk[width:]))
    reads = np.stack([read(new_w[i], memory) for i in range(num_read)])
    new_memory = write(memory, new_w[num_read:], erases, adds)
    output = np.concatenate([h, reads.reshape(-1)])
    return output, {
        "h": h, "c": c, "reads": reads,
        "weightings": np.stack(new_w), "memory": new_memory,
    }
