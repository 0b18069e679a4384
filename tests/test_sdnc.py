"""SDNCCell and its sparse temporal links: the link functions against a dense
NumPy reference of the paper's equations, invariants, the cell's step, the
Keras contract and bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import numpy_sdnc as ref
from contract import CellContract
from keras_memory import MemoryRNN, SDNCCell
from keras_memory.addressing import sdnc

B = 2


def _np(x):
    return ops.convert_to_numpy(x)


class SparseLinks:
    """The link state of `keras_memory.addressing.sdnc` for `B` examples."""

    def __init__(self, n, k):
        self.n, self.k = n, k
        zeros = np.zeros((B, n, k), "float32")
        self.n_idx, self.n_val = zeros, zeros
        self.p_idx, self.p_val, self.p_log = zeros, zeros, zeros
        self.rho = np.zeros((B, n), "float32")
        self.prec_idx = np.zeros((B, k), "float32")
        self.prec_val = np.zeros((B, k), "float32")

    def step(self, rows, values, mask=None):
        rows, values = rows.astype("float32"), values.astype("float32")
        self.n_idx, self.n_val = sdnc.update_predecessor_links(
            self.n_idx, self.n_val, rows, values, self.prec_idx, self.prec_val, mask)
        self.rho = sdnc.decay_columns(self.rho, rows, values, mask)
        self.p_idx, self.p_val, self.p_log = sdnc.update_successor_links(
            self.p_idx, self.p_val, self.p_log, self.rho, rows, values,
            self.prec_idx, self.prec_val, mask)
        prec_idx, prec_val = sdnc.sparse_precedence(self.prec_idx, self.prec_val, rows, values)
        if mask is not None:
            prec_idx = ops.where(mask[:, None] > 0, prec_idx, self.prec_idx)
            prec_val = ops.where(mask[:, None] > 0, prec_val, self.prec_val)
        self.prec_idx, self.prec_val = prec_idx, prec_val

    def dense(self):
        n_links = _np(sdnc.densify(self.n_idx, self.n_val, self.n))
        current = sdnc.successor_values(self.rho, self.p_idx, self.p_val, self.p_log)
        p_links = _np(sdnc.densify(self.p_idx, current, self.n))
        precedence = _np(sdnc.densify(self.prec_idx, self.prec_val, self.n))
        return n_links, p_links, precedence

    def follow(self, rows, weights):
        rows, weights = rows.astype("float32"), weights.astype("float32")
        f = sdnc.follow_links(self.p_idx, self.p_val, rows, weights, self.k, self.rho,
                              self.p_log)
        b = sdnc.follow_links(self.n_idx, self.n_val, rows, weights, self.k)
        return [_np(sdnc.densify(i, v, self.n)) for i, v in (f, b)]


def _random_write(rng, n, m, total=0.9):
    """`m` rows (repeats allowed) and weights summing to at most `total`."""
    rows = rng.integers(0, n, size=(B, m))
    values = rng.uniform(size=(B, m))
    values *= rng.uniform(0.2, total, size=(B, 1)) / values.sum(-1, keepdims=True)
    values[rng.uniform(size=(B, m)) < 0.2] = 0.0
    return rows, values


def _dense(rows, values, n):
    out = np.zeros(rows.shape[:-1] + (n,))
    for index in np.ndindex(rows.shape[:-1]):
        np.add.at(out[index], rows[index], values[index])
    return out


# ---------------------------------------------------------------- link functions
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merge_top_k_sums_repeats_drops_the_excluded_slot_and_keeps_the_largest(seed):
    rng = np.random.default_rng(seed)
    n, c, k = 9, 12, 4
    idx = rng.integers(0, n, size=(3, c))
    val = rng.uniform(size=(3, c))
    exclude = rng.integers(0, n, size=(3,))
    got_idx, got_val = sdnc.merge_top_k(idx.astype("float32"), val.astype("float32"), k,
                                        exclude=exclude.astype("float32"))
    got = _np(sdnc.densify(got_idx, got_val, n))
    for b in range(3):
        dense = _dense(idx[b], val[b], n)
        dense[exclude[b]] = 0.0
        np.testing.assert_allclose(got[b], ref.top_k_dense(dense, k), atol=1e-6)
    assert (np.diff(_np(got_val), axis=-1) <= 0).all()  # largest first
    # Every surviving index is distinct.
    kept = [set(_np(got_idx)[b][_np(got_val)[b] > 0]) for b in range(3)]
    assert all(len(s) == int((_np(got_val)[b] > 0).sum()) for b, s in enumerate(kept))


def test_merge_top_k_pads_with_zeros_when_few_entries_remain():
    idx = np.array([[3.0, 3.0, 5.0, 5.0]], "float32")
    val = np.array([[0.25, 0.5, 0.125, 0.0]], "float32")
    got_idx, got_val = sdnc.merge_top_k(idx, val, 3, exclude=np.array([5.0], "float32"))
    np.testing.assert_allclose(_np(got_val), [[0.75, 0.0, 0.0]])
    assert _np(got_idx)[0, 0] == 3.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_untruncated_links_equal_the_dense_equations_19_to_22(seed):
    # K_L = N: nothing is truncated, so the sparse links must be exactly
    # eqs 19-20, the precedence eq. 11, and f, b eqs 21-22; and P = N^T.
    rng = np.random.default_rng(seed)
    n, m, r, s = 7, 5, 2, 4
    links = SparseLinks(n, n)
    n_links, p_links = np.zeros((B, n, n)), np.zeros((B, n, n))
    precedence = np.zeros((B, n))
    for t in range(25):
        rows, values = _random_write(rng, n, m)
        links.step(rows, values)
        write = _dense(rows, values, n)
        for b in range(B):
            n_links[b], p_links[b], precedence[b] = ref.links_step(
                n_links[b], p_links[b], precedence[b], write[b])
        got_n, got_p, got_prec = links.dense()
        np.testing.assert_allclose(got_n, n_links, atol=1e-5, err_msg=str(t))
        np.testing.assert_allclose(got_p, p_links, atol=1e-5, err_msg=str(t))
        np.testing.assert_allclose(got_prec, precedence, atol=1e-6, err_msg=str(t))
        np.testing.assert_allclose(p_links, np.swapaxes(n_links, 1, 2), atol=1e-12)
        read_rows = rng.integers(0, n, size=(B, r, s))
        read_weights = rng.uniform(size=(B, r, s)) / s
        forward, backward = links.follow(read_rows, read_weights)
        read = _dense(read_rows, read_weights, n)
        for b in range(B):
            for h in range(r):
                want_f, want_b = ref.directional(n_links[b], p_links[b], read[b, h])
                np.testing.assert_allclose(forward[b, h], want_f, atol=1e-5)
                np.testing.assert_allclose(backward[b, h], want_b, atol=1e-5)
    assert n_links.max() > 0.1 and (n_links > 0).sum() > n  # the run did link slots


@pytest.mark.parametrize("seed", [0, 1])
def test_truncated_links_equal_the_reference_and_keep_their_invariants(seed):
    rng = np.random.default_rng(seed)
    n, m, k, r, s = 12, 6, 3, 2, 5
    links = SparseLinks(n, k)
    n_links, p_links = np.zeros((B, n, n)), np.zeros((B, n, n))
    precedence = np.zeros((B, n))
    for t in range(30):
        rows, values = _random_write(rng, n, m)
        links.step(rows, values)
        write = _dense(rows, values, n)
        for b in range(B):
            n_links[b], p_links[b], precedence[b] = ref.links_step(
                n_links[b], p_links[b], precedence[b], write[b], k)
        got_n, got_p, got_prec = links.dense()
        np.testing.assert_allclose(got_n, n_links, atol=1e-5, err_msg=str(t))
        np.testing.assert_allclose(got_p, p_links, atol=1e-5, err_msg=str(t))
        np.testing.assert_allclose(got_prec, precedence, atol=1e-6, err_msg=str(t))
        for dense in (got_n, got_p):
            assert ((dense > 0).sum(-1) <= k).all()
            assert (dense >= 0).all() and (dense <= 1 + 1e-6).all()
            np.testing.assert_array_equal(np.diagonal(dense, axis1=1, axis2=2), 0.0)
        assert (got_n.sum(-1) <= 1 + 1e-5).all()
        assert (got_prec.sum(-1) <= 1 + 1e-5).all() and ((got_prec > 0).sum(-1) <= k).all()
        read_rows = rng.integers(0, n, size=(B, r, s))
        read_weights = rng.uniform(size=(B, r, s)) / s
        forward, backward = links.follow(read_rows, read_weights)
        read = _dense(read_rows, read_weights, n)
        for b in range(B):
            for h in range(r):
                want_f, want_b = ref.directional(n_links[b], p_links[b], read[b, h], k)
                np.testing.assert_allclose(forward[b, h], want_f, atol=1e-5)
                np.testing.assert_allclose(backward[b, h], want_b, atol=1e-5)
    assert (p_links > 0).sum() > n and (n_links > 0).sum() > n


def test_one_hot_writes_link_each_slot_to_the_one_written_before():
    n = 6
    links = SparseLinks(n, 2)
    for slot in range(4):
        links.step(np.full((B, 1), slot), np.ones((B, 1)))
    n_links, p_links, precedence = links.dense()
    expected = np.zeros((n, n))
    expected[[1, 2, 3], [0, 1, 2]] = 1.0
    np.testing.assert_allclose(n_links[0], expected, atol=1e-6)
    np.testing.assert_allclose(p_links[0], expected.T, atol=1e-6)
    np.testing.assert_allclose(precedence[0], np.eye(n)[3], atol=1e-6)
    forward, backward = links.follow(np.full((B, 1, 1), 1), np.ones((B, 1, 1)))
    np.testing.assert_allclose(forward[0, 0], np.eye(n)[2], atol=1e-6)
    np.testing.assert_allclose(backward[0, 0], np.eye(n)[0], atol=1e-6)


def test_a_zero_mask_leaves_every_link_state_unchanged():
    rng = np.random.default_rng(0)
    n = 8
    links = SparseLinks(n, 3)
    for _ in range(5):
        links.step(*_random_write(rng, n, 4))
    before = [_np(t) for t in vars(links).values() if not isinstance(t, int)]
    mask = np.array([0.0, 1.0], "float32")
    links.step(*_random_write(rng, n, 4), mask=mask)
    after = [_np(t) for t in vars(links).values() if not isinstance(t, int)]
    for old, new in zip(before, after):
        np.testing.assert_array_equal(new[0], old[0])
    assert any(not np.array_equal(new[1], old[1]) for old, new in zip(before, after))


def test_follow_links_passes_gradient_to_the_read_weights_only():
    rng = np.random.default_rng(1)
    n = 6
    links = SparseLinks(n, 3)
    for _ in range(6):
        links.step(*_random_write(rng, n, 3))
    rows = tf.constant(rng.integers(0, n, size=(B, 1, 2)), tf.float32)
    weights = tf.constant(rng.uniform(size=(B, 1, 2)), tf.float32)
    values = tf.constant(links.n_val)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([weights, values])
        _, got = sdnc.follow_links(links.n_idx, values, rows, weights, 3)
        loss = tf.reduce_sum(got * tf.range(1.0, 4.0))
    assert tape.gradient(loss, values) is None
    grad = _np(tape.gradient(loss, weights))
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0


# ------------------------------------------------------------------- the cell
SMALL = dict(units=8, memory_size=10, word_size=4, num_heads=2, k=2, num_links=2)


class TestSDNCCellContract(CellContract):
    input_dim = 3
    # Controller kernel, recurrent kernel, bias; head layer kernel, bias.
    expected_num_trainable_weights = 5

    def make_cell(self, **overrides):
        return SDNCCell(**{**SMALL, **overrides})


def _reference_weights(cell):
    return {
        "kernel": cell.controller.kernel.numpy().astype("float64"),
        "recurrent_kernel": cell.controller.recurrent_kernel.numpy().astype("float64"),
        "bias": cell.controller.bias.numpy().astype("float64"),
        "head_kernel": cell.head_parameters.kernel.numpy().astype("float64"),
        "head_bias": cell.head_parameters.bias.numpy().astype("float64"),
    }


def _reference_config(cell):
    return {key: getattr(cell, key) for key in (
        "units", "memory_size", "word_size", "num_heads", "k", "num_links",
        "usage_threshold", "clip_value")}


def _sparse_to_dense(cell, states, b):
    """The cell's link states of example `b` as dense N, P and p."""
    n, kl = cell.memory_size, cell.num_links
    n_idx, n_val, p_idx, p_val, p_log = (states[i][b : b + 1].reshape(1, n, kl)
                                         for i in range(8, 13))
    rho, prec_idx, prec_val = states[13][b : b + 1], states[14][b : b + 1], states[15][b : b + 1]
    dense_n = _np(sdnc.densify(n_idx, n_val, n))[0]
    dense_p = _np(sdnc.densify(p_idx, sdnc.successor_values(rho, p_idx, p_val, p_log), n))[0]
    return dense_n, dense_p, _np(sdnc.densify(prec_idx, prec_val, n))[0]


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        dict(units=6, memory_size=6, word_size=3, num_heads=1, k=2, num_links=6,
             clip_value=5.0),
        dict(units=5, memory_size=12, word_size=3, num_heads=3, k=1, num_links=3,
             usage_threshold=0.05),
    ],
)
def test_cell_steps_equal_the_numpy_reference(config):
    keras.utils.set_random_seed(0)
    cell = SDNCCell(**config, dtype="float64")
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True, dtype="float64")
    rng = np.random.default_rng(0)
    steps = 10
    x = rng.normal(size=(2, steps, 3))
    rnn(x)
    # Larger weights than the initialisers give, so that every gate moves.
    for weight in cell.controller.weights + cell.head_parameters.weights:
        weight.assign(rng.normal(size=weight.shape) * 1.5)
    outputs, *states = (_np(t) for t in rnn(x))
    weights, cfg = _reference_weights(cell), _reference_config(cell)
    for b in range(2):
        state = ref.initial_state(cfg)
        for t in range(steps):
            expected, state = ref.sdnc_step(x[b, t], state, weights, cfg)
            np.testing.assert_allclose(outputs[b, t], expected, atol=1e-8, err_msg=str(t))
        np.testing.assert_allclose(states[3][b], state["memory"].reshape(-1), atol=1e-8)
        np.testing.assert_array_equal(states[4][b], state["last_access"])
        for got, want in zip(_sparse_to_dense(cell, states, b),
                             (state["n_links"], state["p_links"], state["precedence"])):
            np.testing.assert_allclose(got, want, atol=1e-8)
        # The links were used, and reads followed them.
        assert state["n_links"].max() > 0.01
        assert any(len(e) > cell.k for e in state["entries"])
