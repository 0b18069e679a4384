"""A float64 NumPy reference of the Hierarchical Attentive Memory, written from the paper.

Independent of `keras_memory.addressing.ham`: the tree is the paper's 1-based
heap held in a dict (`h[1]` the root, children `2e` and `2e + 1`, leaves
`h[n] .. h[2n - 1]`), built and walked with plain recursion and loops.
`to_heap`/`from_heap` convert to and from the package's 0-based
`(2n - 1, d)` array (node `e` of the paper is row `e - 1`).

Reference:
    Andrychowicz & Kurach, "Learning Efficient Algorithms with Hierarchical
    Attentive Memory", arXiv:1602.03218v2, section 3.2 (Figs. 2-5), section 4.1
    (deterministic test-time decisions), section 4.3 (raw HAM), Appendix A.
"""

import numpy as np


def relu(x):
    return np.maximum(x, 0.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {"relu": relu, "sigmoid": sigmoid, None: lambda x: x}


def mlp(layers, x):
    """`layers`: list of `(kernel, bias, activation)`."""
    for kernel, bias, activation in layers:
        x = ACTIVATIONS[activation](x @ kernel + bias)
    return x


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """Keras' LSTMCell: gates in the order input, forget, cell, output."""
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


class Modules:
    """The HAM transformations on single vectors (float64)."""

    def __init__(self, weights, gated_join=False):
        self.w = weights
        self.gated_join = gated_join

    def embed(self, x):
        return mlp(self.w["embed"], x)

    def join(self, left, right):
        """The paper's MLP of the children, or (`HAMCell(join="gated")`, not in the
        paper) their per-entry blend `z * left + (1 - z) * right`, `z` that MLP."""
        value = mlp(self.w["join"], np.concatenate([left, right]))
        if self.gated_join:
            return value * left + (1.0 - value) * right
        return value

    def search(self, node, query):
        """Probability of going right (sigmoid output layer)."""
        return sigmoid(mlp(self.w["search"], np.concatenate([node, query]))[0])

    def write(self, leaf, query):
        x = np.concatenate([leaf, query])
        t = mlp(self.w["write_gate"], x)[0]
        return t * mlp(self.w["write_candidate"], x) + (1.0 - t) * leaf


# --------------------------------------------------------------------- tree
def build_tree(leaves, join):
    """Fig. 2: leaves in `h[n..2n-1]`, inner nodes JOINed recursively."""
    n = len(leaves)
    h = {n + i: np.asarray(v, float) for i, v in enumerate(leaves)}

    def fill(e):
        if e >= n:
            return h[e]
        h[e] = join(fill(2 * e), fill(2 * e + 1))
        return h[e]

    fill(1)
    return h


def to_heap(h, n):
    return np.stack([h[e] for e in range(1, 2 * n)])


def from_heap(rows):
    return {e + 1: np.asarray(row, float) for e, row in enumerate(rows)}


def leaf_distribution(h, n, modules, query):
    """Appendix A: p(leaf) as the product of the branch probabilities on its path."""
    out = np.zeros(n)
    for j in range(n):
        e, p = n + j, 1.0
        while e > 1:
            parent = e // 2
            right = modules.search(h[parent], query)
            p *= right if e % 2 else 1.0 - right
            e = parent
        out[j] = p
    return out


def binary_entropy(p):
    p = np.clip(p, 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    return -(p * np.log(p) + q * np.log(q))


def inverse_entropy(entropy, floor=1e-6):
    """Section 3.3's `1 / H`, continued linearly in `log H` below `floor`."""
    if entropy >= floor:
        return 1.0 / entropy
    return (1.0 + np.log(floor) - np.log(entropy)) / floor


def hard_step(h, n, modules, lstm=None, state=None, read_out=None, x=None):
    """One deterministic hard step (Figs. 3-5, section 4.1: right iff p > 0.5).

    LSTM+HAM: `lstm(h_a, state) -> new_state` with `state = (h, c)`; the query
    of the descent is the previous `h`, WRITE uses the new one. Raw HAM
    (`lstm=None`): the query is `x`, the output `read_out(h_a)` (before the
    write). Returns `(output, new_tree_dict, new_state, info)`.
    """
    h = dict(h)
    query = state[0] if lstm is not None else x
    e, log_prob, entropy, inverse = 1, 0.0, 0.0, 0.0
    while e < n:
        p = modules.search(h[e], query)
        right = p > 0.5
        log_prob += np.log(p if right else 1.0 - p)
        entropy_e = binary_entropy(p)
        entropy += entropy_e
        inverse += inverse_entropy(entropy_e)
        e = 2 * e + 1 if right else 2 * e
    attended = h[e]
    if lstm is not None:
        state = lstm(attended, state)
        output, write_query = state[0], state[0]
    else:
        output, write_query = read_out(attended), x
    h[e] = modules.write(attended, write_query)
    leaf = e
    while e > 1:
        e //= 2
        h[e] = modules.join(h[2 * e], h[2 * e + 1])
    info = dict(leaf=leaf - n, log_prob=log_prob, entropy=entropy, inverse_entropy=inverse)
    return output, h, state, info
