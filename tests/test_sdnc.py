"""SDNCCell and its sparse temporal links: the link functions against a dense
NumPy reference of the paper's equations, invariants, the cell's step, the
Keras contract and bad input."""

import keras
import numpy as np
import pytest
from keras import ops

import numpy_sdnc as ref
from backend_utils import BACKEND, gradients, needs_float64, tensor, xla
from contract import CellContract
from test_sam import _memory_sized_selects_in_the_forward_loop, _stored_per_step, needs_a_traced_loop
from keras_memory import MemoryRNN, SDNCCell
from keras_memory.addressing import sdnc

B = 2


def _np(x):
    return ops.convert_to_numpy(x)


class SparseLinks:
    """The link state of `keras_memory.addressing.sdnc` for `B` examples."""

    def __init__(self, n, k):
        self.n, self.k = n, k
        zeros = tensor(np.zeros((B, n, k), "float32"))
        self.n_idx, self.n_val = zeros, zeros
        self.p_idx, self.p_val, self.p_log = zeros, zeros, zeros
        self.rho = tensor(np.zeros((B, n), "float32"))
        self.prec_idx = tensor(np.zeros((B, k), "float32"))
        self.prec_val = tensor(np.zeros((B, k), "float32"))

    def step(self, rows, values, mask=None):
        rows, values = tensor(rows.astype("float32")), tensor(values.astype("float32"))
        mask = None if mask is None else tensor(np.asarray(mask, "float32"))
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
        rows, weights = tensor(rows.astype("float32")), tensor(weights.astype("float32"))
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
    rows = tensor(rng.integers(0, n, size=(B, 1, 2)).astype("float32"))
    weights = tensor(rng.uniform(size=(B, 1, 2)).astype("float32"))
    values = tensor(links.n_val)

    def loss(weights, values):
        _, got = sdnc.follow_links(links.n_idx, values, rows, weights, 3)
        return ops.sum(got * ops.arange(1.0, 4.0))

    _, (grad, values_grad) = gradients(loss, [weights, values], allow_missing=True)
    # None on TensorFlow and PyTorch, zeros on JAX: no gradient reaches the links.
    assert values_grad is None or not values_grad.any()
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0


# ------------------------------------------------------------------- the cell
SMALL = dict(units=8, memory_size=10, word_size=4, num_heads=2, k=2, num_links=2)


class TestSDNCCellContract(CellContract):
    input_dim = 3
    # Controller kernel, recurrent kernel, bias; head layer kernel, bias.
    expected_num_trainable_weights = 5

    def make_cell(self, **overrides):
        return SDNCCell(**{**SMALL, **overrides})


class TestSDNCCellLSHContract(CellContract):
    input_dim = 3
    # The LSH hyperplanes are not trained.
    expected_num_trainable_weights = 5

    def make_cell(self, **overrides):
        return SDNCCell(**{**SMALL, "search": "lsh", "lsh_bucket_size": 4, "lsh_recent": 2,
                           **overrides})

    # The Keras plumbing of these does not depend on the search (the exact
    # cell runs it by default); the LSH step, masking, shapes, stateful use
    # and the `.keras` round trip of its index run by default here.
    slow_contract_tests = (
        "test_sequential_model_fits",
        "test_fit_reduces_the_loss",
        "test_stacked_rnn_cells",
        "test_mixed_precision",
    )


# The cell in float64 against the float64 reference where Keras computes
# float64 in float64 (TensorFlow, see backend_utils.needs_float64); elsewhere
# in float32, to float32 precision.
REFERENCE_DTYPE, REFERENCE_ATOL = (("float64", 1e-8) if BACKEND == "tensorflow"
                                   else ("float32", 1e-5))


def _reference_weights(cell):
    planes = ({"hyperplanes": _np(cell.lsh_hyperplanes).astype("float64")}
              if cell.search == "lsh" else {})
    return {**planes,
        "kernel": _np(cell.controller.kernel).astype("float64"),
        "recurrent_kernel": _np(cell.controller.recurrent_kernel).astype("float64"),
        "bias": _np(cell.controller.bias).astype("float64"),
        "head_kernel": _np(cell.head_parameters.kernel).astype("float64"),
        "head_bias": _np(cell.head_parameters.bias).astype("float64"),
    }


def _reference_config(cell):
    return {key: getattr(cell, key) for key in (
        "units", "memory_size", "word_size", "num_heads", "k", "num_links",
        "usage_threshold", "clip_value", "search", "lsh_recent")}


def _sparse_to_dense(cell, states, b):
    """The cell's link states of example `b` as dense N, P and p."""
    n, kl = cell.memory_size, cell.num_links
    n_idx, n_val, p_idx, p_val, p_log = (tensor(states[i][b : b + 1].reshape(1, n, kl))
                                         for i in range(8, 13))
    rho, prec_idx, prec_val = (tensor(states[i][b : b + 1]) for i in (13, 14, 15))
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
        # Buckets with room for every row (the reference models no overflow)
        # and a recent ring of 2: rows allocated earlier come from the tables.
        dict(units=6, memory_size=12, word_size=3, num_heads=2, k=2, num_links=2,
             search="lsh", lsh_bits=2, lsh_bucket_size=12, lsh_recent=2),
    ],
    ids=["small", "all-links", "three-heads", "lsh"],
)
def test_cell_steps_equal_the_numpy_reference(config):
    keras.utils.set_random_seed(0)
    cell = SDNCCell(**config, dtype=REFERENCE_DTYPE)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True,
                           dtype=REFERENCE_DTYPE)
    rng = np.random.default_rng(0)
    steps = 10
    x = rng.normal(size=(2, steps, 3)).astype(REFERENCE_DTYPE)
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
            np.testing.assert_allclose(outputs[b, t], expected, atol=REFERENCE_ATOL,
                                       err_msg=str(t))
        np.testing.assert_allclose(states[3][b], state["memory"].reshape(-1),
                                   atol=REFERENCE_ATOL)
        np.testing.assert_array_equal(states[4][b], state["last_access"])
        for got, want in zip(_sparse_to_dense(cell, states, b),
                             (state["n_links"], state["p_links"], state["precedence"])):
            np.testing.assert_allclose(got, want, atol=REFERENCE_ATOL)
        if cell.search == "lsh":
            np.testing.assert_array_equal(states[18][b], state["recent"])
            head, tail = states[22][b].astype(int)
            order, row = [], head
            while row != -1 and len(order) <= cell.memory_size:
                order.append(row)
                row = int(states[20][b][row])
            assert order == state["ring"] and tail == state["ring"][-1]
        # The links were used, and reads followed them.
        assert state["n_links"].max() > 0.01
        assert any(len(e) > cell.k for e in state["entries"])


def _randomise(cell, rng, scale=1.5):
    for weight in cell.controller.weights + cell.head_parameters.weights:
        weight.assign(rng.normal(size=weight.shape) * scale)


def test_reads_follow_the_links_forward_and_backward():
    # Slots 0..3 written in turn; then a head that read slot 1 alone finds
    # slot 2 forward and slot 0 backward, whatever its content read.
    keras.utils.set_random_seed(0)
    cell = SDNCCell(units=4, memory_size=6, word_size=3, num_heads=1, k=1, num_links=2)
    rnn = keras.layers.RNN(cell, return_state=True)
    x = np.zeros((1, 1, 2), "float32")
    rnn(x)
    n, kl = 6, 2
    states = [_np(s) for s in cell.get_initial_state(1)]
    links = SparseLinks(n, kl)
    for slot in range(4):
        links.step(np.full((B, 1), slot), np.ones((B, 1)))
    link_states = [links.n_idx, links.n_val, links.p_idx, links.p_val, links.p_log]
    for i, value in zip(range(8, 13), link_states):
        states[i] = _np(value)[:1].reshape(1, -1)
    states[13], states[14], states[15] = (_np(t)[:1] for t in (links.rho, links.prec_idx,
                                                               links.prec_val))
    states[3] = np.eye(n, 3, dtype="float32").reshape(1, -1) + 0.1  # distinct rows
    s = cell.read_support
    states[4] = np.array([[1.0] * (n - 1) + [0.0]], "float32")  # the LRA row is 5
    states[5] = np.array([[1.0] + [0.0] * (s - 1)], "float32")
    states[6] = np.array([[1.0] + [0.0] * (s - 1)], "float32")
    # Head parameters: no write (alpha -> 0), each read mode in turn.
    w = 3
    for mode, expected in ((0, 0), (2, 2)):
        bias = np.zeros(cell.head_parameter_size, "float32")
        bias[2 * w] = -30.0  # alpha = sigmoid(-clip) ~ 0
        bias[2 * w + 3 + mode] = 30.0
        cell.head_parameters.kernel.assign(np.zeros_like(cell.head_parameters.kernel))
        cell.head_parameters.bias.assign(bias)
        output, new_states = cell(ops.convert_to_tensor(x[:, 0]),
                                  [ops.convert_to_tensor(t) for t in states])
        rows = _np(new_states[5])[0]
        weights = _np(new_states[6])[0]
        total = _dense(rows[None].astype(int), weights[None], n)[0]
        assert np.argmax(total) == expected and total[expected] > 0.99, (mode, total)
        np.testing.assert_allclose(_np(output)[0, 4:], states[3].reshape(n, w)[expected],
                                   atol=1e-3)


# ----------------------------------------------------------------- masking
def _masked_inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 3)).astype("float32")
    x[0, 4:] = 0.0   # padded tail
    x[1, 0] = 0.0    # padded first step
    x[1, 3] = 0.0    # a hole
    return x


@pytest.mark.parametrize("rnn_kwargs", [dict(return_sequences=True),
                                        dict(return_sequences=False,
                                             zero_output_for_mask=True)])
def test_memory_rnn_with_a_mask_equals_keras_rnn(rnn_kwargs):
    if BACKEND == "jax" and not rnn_kwargs.get("zero_output_for_mask"):
        pytest.skip("Keras' JAX RNN takes the cell's first state for its previous output: "
                    "no reference for a cell whose output is wider")
    keras.utils.set_random_seed(0)
    cell = SDNCCell(**SMALL, seed=1)
    x = _masked_inputs()
    masking = keras.layers.Masking(0.0)
    masked, mask = masking(x), masking.compute_mask(x)
    ours = MemoryRNN(cell, return_state=True, **rnn_kwargs)
    keras_rnn = keras.layers.RNN(cell, return_state=True, **rnn_kwargs)
    ours(masked, mask=mask)
    _randomise(cell, np.random.default_rng(1))
    expected = keras_rnn(masked, mask=mask)
    got = ours(masked, mask=mask)
    assert len(got) == len(expected) == 1 + len(cell.state_size)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-5)


def test_memory_rnn_padded_steps_change_nothing():
    keras.utils.set_random_seed(0)
    cell = SDNCCell(**SMALL, seed=1)
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    padded = x.copy()
    padded[:, 4:] = 0.0
    rnn = MemoryRNN(cell, return_state=True)
    rnn(x)
    _randomise(cell, np.random.default_rng(1))
    masking = keras.layers.Masking(0.0)
    full = rnn(masking(padded), mask=masking.compute_mask(padded))
    truncated = rnn(x[:, :4])
    unmasked = rnn(padded)  # without the mask the zero steps do write and link
    for a, b in zip(full, truncated):
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-6)
    # [output, h, c, reads, memory, last_access, ..., n_values (10)]
    for index in (4, 5, 10):
        assert not np.allclose(_np(unmasked[index]), _np(truncated[index]))


# ------------------------------------------------- what the loop stores
AUDIT_N, AUDIT_W, AUDIT_KL = 4099, 3, 2


def _audit_cell(search="exact"):
    return SDNCCell(units=4, memory_size=AUDIT_N, word_size=AUDIT_W, num_heads=1, k=2,
                    num_links=AUDIT_KL, search=search, lsh_bucket_size=8, lsh_recent=4)


def _memory_sized(shape):
    return shape is not None and any(
        d in (AUDIT_N, AUDIT_N * AUDIT_W, AUDIT_N * AUDIT_KL) for d in shape)


@needs_a_traced_loop
@pytest.mark.parametrize("search", ["exact", "lsh"])
@pytest.mark.parametrize("mask", [False, True])
def test_the_loop_stores_nothing_of_memory_size_per_step(mask, search):
    stored = _stored_per_step(_audit_cell(search), mask=mask)
    assert len(stored) > 10  # the audit sees the loop's accumulators
    offenders = [(str(shape), producer) for shape, producer in stored if _memory_sized(shape)]
    assert offenders == [], f"tensors of memory size stored per step: {offenders}"
    unknown = {producer for shape, producer in stored if shape is None}
    assert unknown <= {"ReadVariableOp"}, unknown


@needs_a_traced_loop
def test_a_masked_memory_rnn_selects_nothing_of_memory_size_in_its_loop():
    assert _memory_sized_selects_in_the_forward_loop(
        _audit_cell(), MemoryRNN, memory_sized=_memory_sized) == []


# ------------------------------------------------------ gradients, outputs
def test_gradients_are_finite_and_reach_every_weight():
    keras.utils.set_random_seed(0)
    cell = SDNCCell(**SMALL)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    x = tensor(np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32"))
    rnn(x)
    _, grads = gradients(lambda: ops.sum(ops.sin(rnn(x))), cell.trainable_weights)
    assert len(grads) == 5
    for variable, grad in zip(cell.trainable_weights, grads):
        assert np.isfinite(grad).all(), variable.path
        assert np.abs(grad).max() > 0, variable.path


@needs_float64
def test_gradients_match_finite_differences(monkeypatch):
    # The links pass no gradient (Suppl. D.1): the cell's gradient is the
    # derivative of its outputs with the links' values held at those of the
    # unperturbed run. Record them there and replay them in the perturbed
    # runs (the searches and the LRA choice do not change within eps).
    import tensorflow as tf  # needs_float64: TensorFlow only

    from keras_memory.cells import sdnc as cell_module

    keras.utils.set_random_seed(0)
    cell = SDNCCell(units=3, memory_size=6, word_size=2, num_heads=2, k=2, num_links=2,
                    dtype="float64")
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 6, 2)))
    rnn = keras.layers.RNN(cell, dtype="float64")  # eager: the steps run in Python
    rnn(x)
    _randomise(cell, np.random.default_rng(1), scale=1.0)
    follow = cell_module.links.follow_links
    recorded, replay = [], {"on": False, "next": 0}

    def frozen(link_indices, link_values, rows, weights, k, *decay):
        if replay["on"]:
            link_indices, link_values, decay = recorded[replay["next"]]
            replay["next"] += 1
        else:
            recorded.append((link_indices, link_values, decay))
        return follow(link_indices, link_values, rows, weights, k, *decay)

    monkeypatch.setattr(cell_module.links, "follow_links", frozen)

    with tf.GradientTape() as tape:
        value = tf.reduce_sum(tf.sin(rnn(x)))
    grads = [_np(tf.convert_to_tensor(g)).reshape(-1)
             for g in tape.gradient(value, cell.trainable_weights)]
    assert len(recorded) >= 2 * 6  # forward and backward at every step
    # The links did carry read weight in this run.
    assert max(float(tf.reduce_max(v)) for _, v, _ in recorded) > 0.05
    replay["on"] = True

    def loss():
        replay["next"] = 0
        result = _np(tf.reduce_sum(tf.sin(rnn(x))))
        assert replay["next"] == len(recorded)
        return result

    assert loss() == pytest.approx(_np(value), abs=1e-12)
    rng = np.random.default_rng(2)
    for variable, analytic in zip(cell.trainable_weights, grads):
        flat = variable.numpy().reshape(-1)
        for index in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            eps = 1e-6
            values = []
            for sign in (1.0, -1.0):
                bumped = flat.copy()
                bumped[index] += sign * eps
                variable.assign(bumped.reshape(variable.shape))
                values.append(loss())
            variable.assign(flat.reshape(variable.shape))
            np.testing.assert_allclose(analytic[index], (values[0] - values[1]) / (2 * eps),
                                       rtol=1e-4, atol=1e-7, err_msg=variable.path)


def test_return_weightings_output_and_split_output():
    cell = SDNCCell(**SMALL, return_weightings=True)
    units, r, w, s = 8, 2, 4, 2 + 2 * 2
    assert cell.read_support == s
    assert cell.output_size == units + r * w + r * (4 * s + 2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    rnn = keras.layers.RNN(cell, return_sequences=True)
    rnn(x)
    _randomise(cell, rng)
    parts = {key: _np(v) for key, v in cell.split_output(rnn(x)).items()}
    assert parts["reads"].shape == (2, 5, r, w)
    assert parts["read_rows"].shape == parts["read_weights"].shape == (2, 5, r, s)
    assert parts["write_rows"].shape == parts["write_weights"].shape == (2, 5, r * (s + 1))
    # The content part sums to pi[2]; f and b each to at most 1.
    assert (parts["read_weights"].sum(-1) <= 1 + 1e-5).all()
    assert (parts["read_weights"] >= 0).all() and (parts["write_weights"] >= 0).all()
    rows = parts["read_rows"]
    assert (rows == np.round(rows)).all() and rows.min() >= 0 and rows.max() < 10
    # Each step writes the rows read the step before, then the LRA rows.
    np.testing.assert_array_equal(parts["write_rows"][:, 1:, : r * s],
                                  rows[:, :-1].reshape(2, 4, r * s))
    # Some read weight went along the links (forward or backward).
    assert parts["read_weights"][..., 2:].max() > 1e-3
    plain = SDNCCell(**SMALL)
    assert set(plain.split_output(np.zeros((3, plain.output_size)))) == {"controller", "reads"}


# ---------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(units=0), "units"),
        (dict(units=2.5), "units"),
        (dict(units=4, memory_size=0), "memory_size"),
        (dict(units=4, memory_size=2**24 + 1), "memory_size"),
        (dict(units=4, word_size=0), "word_size"),
        (dict(units=4, num_heads=0), "num_heads"),
        (dict(units=4, memory_size=3, num_heads=4, k=1, num_links=1), "num_heads"),
        (dict(units=4, k=0), "`k`"),
        (dict(units=4, memory_size=4, k=5, num_links=1), "`k`"),
        (dict(units=4, num_links=0), "num_links"),
        (dict(units=4, num_links=1.5), "num_links"),
        (dict(units=4, memory_size=4, k=1, num_links=5), "num_links"),
        (dict(units=4, usage_threshold=1.0), "usage_threshold"),
        (dict(units=4, usage_threshold="0.1"), "usage_threshold"),
        (dict(units=4, memory_init="ones"), "memory_init"),
        (dict(units=4, clip_value=0), "clip_value"),
        (dict(units=4, return_weightings=1), "return_weightings"),
        (dict(units=4, kernel_initializer="no_such_initializer"), "kernel_initializer"),
        (dict(units=4, seed=1.5), "seed"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        SDNCCell(**kwargs)
    assert "Received" in str(info.value)


def test_limits_are_inclusive():
    full = SDNCCell(units=2, memory_size=4, num_heads=4, k=4, num_links=4,
                    usage_threshold=0.0)
    assert (full.num_heads, full.k, full.num_links, full.read_support) == (4, 4, 4, 12)
    largest = SDNCCell(units=2, memory_size=2**24, word_size=1, num_heads=1, k=1, num_links=1)
    assert largest.state_size[3] == 2**24


def test_config_round_trip():
    cell = SDNCCell(**SMALL, usage_threshold=0.01, memory_init="random", clip_value=5.0,
                    return_weightings=True, seed=3)
    clone = SDNCCell.from_config(cell.get_config())
    assert clone.get_config() == cell.get_config()
    assert keras.saving.get_registered_object("keras_memory>SDNCCell") is SDNCCell


def test_docstring_example_runs():
    import doctest

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(SDNCCell, "SDNCCell", globs={"keras": keras, "np": np,
                                                         "SDNCCell": SDNCCell}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted == 3 and result.failed == 0


def test_docs_page_example_builds_and_runs():
    import os
    import re

    path = os.path.join(os.path.dirname(__file__), "..", "docs", "cells", "sdnc.md")
    with open(path) as f:
        code = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    scope = {}
    exec(code, scope)
    model = scope["model"]
    assert model.output_shape == (None, None, 8)
    x = np.random.default_rng(0).uniform(size=(2, 5, 9)).astype("float32")
    assert np.isfinite(model.predict(x, verbose=0)).all()


def test_record_access_finds_the_sdnc_and_densifies_its_weightings():
    from keras_memory import plotting, tasks
    from keras_memory.training import build_model

    keras.utils.set_random_seed(0)
    task = tasks.CopyTask(num_bits=4, max_length=4)
    model = build_model(SDNCCell(**SMALL), task)
    x, _, _ = task.generate(np.random.default_rng(0), 2, length=4)
    access = plotting.record_access(model, x)
    steps = x.shape[1]
    assert access["read_weightings"].shape == (2, steps, 2, 10)
    assert access["write_weightings"].shape == (2, steps, 2, 10)
    np.testing.assert_array_equal(access["rows"], np.arange(10))
    reads = access["read_weightings"]
    assert (reads >= 0).all() and (reads.sum(-1) <= 1 + 1e-5).all()
    # The first step writes only the two least recently accessed rows, 0 and 1.
    first = access["write_weightings"][:, 0]
    assert (first[..., 2:] == 0).all() and (first[..., :2].sum(-1) > 0).all()
    # The weight of each head's read on its backward, content and forward rows
    # adds up to the weight of its whole read.
    modes = access["read_modes"]
    assert modes.shape == (2, steps, 2, 3) and (modes >= 0).all()
    np.testing.assert_allclose(modes.sum(-1), reads.sum(-1), atol=1e-5)
    assert (modes[:, 0, :, 0] == 0).all() and (modes[:, 0, :, 2] == 0).all()  # no links yet


def test_xla_compiled_steps_equal_eager_steps():
    # Rows repeat within a step's updates (a row read by content and along a
    # link, padding entries); every repeat carries the same value, so the
    # compiled scatters must give the eager results.
    keras.utils.set_random_seed(0)
    cell = SDNCCell(**SMALL)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    x = tensor(np.random.default_rng(0).normal(size=(3, 12, 3)).astype("float32"))
    rnn(x)
    _randomise(cell, np.random.default_rng(1))
    eager = [_np(t) for t in rnn(x)]
    compiled = [_np(t) for t in xla(rnn)(x)]
    for a, b in zip(eager, compiled):
        np.testing.assert_allclose(b, a, atol=1e-5)
    assert eager[9].max() > 0.01  # the links (N's values) were written
