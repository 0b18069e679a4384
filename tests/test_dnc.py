"""DNCCell and its addressing: each equation against the NumPy reference,
invariants, the paper's step, gradients, the Keras contract and bad input."""

import keras
import numpy as np
import pytest
from keras import ops

import numpy_dnc as ref
from backend_utils import BACKEND, gradients, needs_float64, tensor
from contract import CellContract
from keras_memory import DNCCell, plotting, tasks
from keras_memory.addressing import dnc
from keras_memory.training import build_model

B, R, N, W = 3, 2, 7, 5
SEEDS = [0, 1, 2]
SMALL = dict(units=8, memory_size=6, word_size=4, num_read_heads=2)


def _np(x):
    return ops.convert_to_numpy(x)


def _f32(*arrays):
    """float32 tensors of the backend (PyTorch tensors do not combine with NumPy arrays)."""
    return [tensor(np.asarray(a, "float32")) for a in arrays]


def _weighting(rng, *shape, total=1.0):
    """Random non-negative weightings summing to `total` along the last axis."""
    return ref.softmax(rng.normal(size=shape) * 2.0) * total


class TestDNCCellContract(CellContract):
    input_dim = 3
    # Controller kernel, recurrent kernel, bias; interface kernel, bias.
    expected_num_trainable_weights = 5

    def make_cell(self, **overrides):
        return DNCCell(**{**SMALL, **overrides})


# ------------------------------------------------------- addressing functions
@pytest.mark.parametrize("strength", ["oneplus", "softplus"])
def test_parse_interface_matches_reference(strength):
    rng = np.random.default_rng(0)
    size = dnc.interface_size(R, W)
    assert size == R * W + 3 * W + 5 * R + 3
    xi = rng.normal(size=(B, size)) * 3
    got = {k: _np(v) for k, v in dnc.parse_interface(xi.astype("float32"), R, W, strength).items()}
    fn = ref.oneplus if strength == "oneplus" else ref.softplus
    for b in range(B):
        want = ref.parse_interface(xi[b], R, W, fn)
        assert set(want) == set(got)
        for key, value in want.items():
            np.testing.assert_allclose(got[key][b], value, atol=1e-5, err_msg=key)
    if strength == "oneplus":
        assert (got["read_strengths"] >= 1).all() and (got["write_strength"] >= 1).all()
    with pytest.raises(ValueError, match="strength_activation"):
        dnc.parse_interface(xi.astype("float32"), R, W, "exp")


@pytest.mark.parametrize("seed", SEEDS)
def test_content_weighting_matches_reference(seed):
    rng = np.random.default_rng(seed)
    keys, memory = rng.normal(size=(B, R, W)), rng.normal(size=(B, N, W))
    beta = ref.oneplus(rng.normal(size=(B, R)) * 3)
    got = _np(dnc.content_weighting(*_f32(keys, beta, memory)))
    want = np.array([[ref.content_weighting(keys[b, h], beta[b, h], memory[b])
                      for h in range(R)] for b in range(B)])
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
    cos = _np(dnc.cosine_similarity(*_f32(keys, memory)))
    np.testing.assert_allclose(
        cos[0, 0], [ref.cosine(keys[0, 0], row) for row in memory[0]], atol=1e-5)


def test_content_weighting_is_uniform_with_finite_gradients_on_a_zero_memory():
    keys = tensor(np.ones((1, 1, W), "float32"))
    memory = tensor(np.zeros((1, N, W), "float32"))
    strength = tensor(np.array([[50.0]], "float32"))
    np.testing.assert_allclose(_np(dnc.content_weighting(keys, strength, memory)), 1.0 / N,
                               atol=1e-6)

    def loss(keys, memory):
        got = dnc.content_weighting(keys, strength, memory)
        return ops.sum(got * ops.arange(N, dtype="float32"))

    for grad in gradients(loss, [keys, memory])[1]:
        assert np.isfinite(grad).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_retention_and_usage_match_reference(seed):
    rng = np.random.default_rng(seed)
    free = rng.uniform(size=(B, R))
    prev_reads = _weighting(rng, B, R, N)
    prev_usage = rng.uniform(size=(B, N))
    prev_write = _weighting(rng, B, N, total=0.8)
    psi = _np(dnc.retention(*_f32(free, prev_reads)))
    got = _np(dnc.usage(*_f32(prev_usage, prev_write, psi)))
    for b in range(B):
        want_psi = ref.retention(free[b], prev_reads[b])
        np.testing.assert_allclose(psi[b], want_psi, atol=1e-6)
        np.testing.assert_allclose(got[b], ref.usage(prev_usage[b], prev_write[b], want_psi),
                                   atol=1e-6)
    assert (got >= 0).all() and (got <= 1).all()


def test_usage_follows_writes_and_free_gates():
    # A full write makes the usage 1; a full read with free gate 1 frees it.
    zeros, write, ones = _f32(np.zeros((1, N)), np.eye(N)[None, 2], np.ones((1, N)))
    used = dnc.usage(zeros, write, ones)
    np.testing.assert_allclose(_np(used), _np(write))
    read, free, keep = _f32(np.eye(N)[None, None, 2], np.ones((1, 1)), np.zeros((1, 1)))
    np.testing.assert_allclose(_np(dnc.usage(used, zeros, dnc.retention(free, read))), 0.0)
    np.testing.assert_allclose(_np(dnc.usage(used, zeros, dnc.retention(keep, read))),
                               _np(write))


@pytest.mark.parametrize("seed", SEEDS)
def test_allocation_matches_reference(seed):
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=(B, N))
    u[0, :3] = 0.0  # ties: the lower slot comes first
    u[1, 2] = u[1, 5] = 0.3
    u[2] = 1.0  # a full memory allocates (almost) nothing
    got = _np(dnc.allocation_weighting(tensor(u.astype("float32"))))
    for b in range(B):
        np.testing.assert_allclose(got[b], ref.allocation(u[b]), atol=1e-6)
    assert np.argmax(got[0]) == 0
    assert np.argmax(got[1]) == np.argmin(u[1])
    assert (got >= 0).all() and (got.sum(-1) <= 1 + 1e-6).all()
    assert got[2].sum() < 1e-5


def test_allocation_gradient_matches_finite_differences():
    # The gradient flows through the sorted usages (the order is a constant);
    # an exact zero (a fresh slot) is floored, so the gradient is right there too.
    # No ties: a bump would change the order, where the function jumps. The
    # finite differences are those of the NumPy reference in float64 (the
    # cell's float64 is float32 on some backends); the reference equals the
    # cell (test_allocation_matches_reference).
    u0 = np.array([[0.0, 0.01, 0.5, 0.9, 0.2, 0.7, 0.05]])
    c = np.arange(1.0, N + 1)
    dtype = "float64" if keras.backend.backend() == "tensorflow" else "float32"

    def loss(u):
        return ops.sum(dnc.allocation_weighting(u) * ops.convert_to_tensor(c, dtype))

    grad = gradients(loss, [tensor(u0.astype(dtype))])[1][0][0]
    for i in range(N):
        eps = 1e-7
        up, down = u0.copy(), u0.copy()
        up[0, i] += eps
        down[0, i] -= eps if u0[0, i] > 0 else 0.0
        numeric = (ref.allocation(up[0]) @ c - ref.allocation(down[0]) @ c) / (
            up[0, i] - down[0, i])
        np.testing.assert_allclose(grad[i], numeric, rtol=1e-4, atol=1e-6, err_msg=str(i))


@pytest.mark.parametrize("seed", SEEDS)
def test_write_weighting_and_memory_write_match_reference(seed):
    rng = np.random.default_rng(seed)
    a, cw = _weighting(rng, B, N, total=0.9), _weighting(rng, B, N)
    g_a, g_w = rng.uniform(size=B), rng.uniform(size=B)
    ww = _np(dnc.write_weighting(*_f32(a, cw, g_a, g_w)))
    memory = rng.normal(size=(B, N, W))
    erase, v = rng.uniform(size=(B, W)), rng.normal(size=(B, W))
    new = _np(dnc.write_memory(*_f32(memory, ww, erase, v)))
    for b in range(B):
        want = ref.write_weighting(a[b], cw[b], g_a[b], g_w[b])
        np.testing.assert_allclose(ww[b], want, atol=1e-6)
        np.testing.assert_allclose(new[b], ref.write(memory[b], want, erase[b], v[b]),
                                   atol=1e-5)
    assert (ww.sum(-1) <= 1 + 1e-6).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_precedence_link_and_directions_match_reference(seed):
    rng = np.random.default_rng(seed)
    ww = _weighting(rng, B, N, total=0.7)
    prev_p = _weighting(rng, B, N, total=0.9)
    prev_link = rng.uniform(size=(B, N, N)) / N
    prev_reads = _weighting(rng, B, R, N)
    p = _np(dnc.precedence(*_f32(prev_p, ww)))
    link = _np(dnc.link_matrix(*_f32(prev_link, prev_p, ww)))
    forward, backward = (_np(t) for t in dnc.directional_weightings(*_f32(link, prev_reads)))
    for b in range(B):
        np.testing.assert_allclose(p[b], ref.precedence(prev_p[b], ww[b]), atol=1e-6)
        want_link = ref.link(prev_link[b], prev_p[b], ww[b])
        np.testing.assert_allclose(link[b], want_link, atol=1e-6)
        want_f, want_b = ref.forward_backward(want_link, prev_reads[b])
        np.testing.assert_allclose(forward[b], want_f, atol=1e-6)
        np.testing.assert_allclose(backward[b], want_b, atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_read_weighting_and_read_vectors_match_reference(seed):
    rng = np.random.default_rng(seed)
    back, content, fwd = (_weighting(rng, B, R, N) for _ in range(3))
    modes = _weighting(rng, B, R, 3)
    memory = rng.normal(size=(B, N, W))
    wr = _np(dnc.read_weighting(*_f32(back, content, fwd, modes)))
    reads = _np(dnc.read_memory(*_f32(wr, memory)))
    for b in range(B):
        want = ref.read_weighting(back[b], content[b], fwd[b], modes[b])
        np.testing.assert_allclose(wr[b], want, atol=1e-6)
        np.testing.assert_allclose(reads[b], want @ memory[b], atol=1e-5)
    # Mode order: (backward, content, forward).
    one_hot = np.zeros((B, R, 3), "float32")
    one_hot[..., 2] = 1.0
    np.testing.assert_allclose(_np(dnc.read_weighting(*_f32(back, content, fwd, one_hot))),
                               fwd, atol=1e-6)


def test_links_record_the_order_of_one_hot_writes():
    # Write slots 0, 1, 2, 3 in turn: L[i+1, i] = 1, forward from i reaches
    # i+1 and backward from i reaches i-1.
    link, p = np.zeros((1, N, N), "float32"), np.zeros((1, N), "float32")
    for slot in range(4):
        ww = np.eye(N, dtype="float32")[None, slot]
        link = _np(dnc.link_matrix(*_f32(link, p, ww)))
        p = _np(dnc.precedence(*_f32(p, ww)))
    expected = np.zeros((N, N))
    expected[[1, 2, 3], [0, 1, 2]] = 1.0
    np.testing.assert_allclose(link[0], expected, atol=1e-6)
    np.testing.assert_allclose(p[0], np.eye(N)[3], atol=1e-6)
    reads = np.eye(N, dtype="float32")[None, None, 1]
    forward, backward = dnc.directional_weightings(link, reads)
    np.testing.assert_allclose(_np(forward)[0, 0], np.eye(N)[2], atol=1e-6)
    np.testing.assert_allclose(_np(backward)[0, 0], np.eye(N)[0], atol=1e-6)


def test_invariants_hold_over_random_steps():
    # Usage in [0, 1], allocation and precedence sums <= 1, link in [0, 1]
    # with a zero diagonal and row and column sums <= 1, over many steps of
    # random interface values, chained through the addressing functions.
    rng = np.random.default_rng(0)
    memory, usage, ww, p, link, wr = _f32(np.zeros((B, N, W)), *(np.zeros((B, N)),) * 3,
                                          np.zeros((B, N, N)), np.zeros((B, R, N)))
    tol = 1e-5
    for _ in range(40):
        xi = dnc.parse_interface(*_f32(rng.normal(size=(B, dnc.interface_size(R, W))) * 3),
                                 R, W)
        usage = dnc.usage(usage, ww, dnc.retention(xi["free_gates"], wr))
        alloc = dnc.allocation_weighting(usage)
        cw = dnc.content_weighting(xi["write_key"][:, None], xi["write_strength"][:, None],
                                   memory)[:, 0]
        ww = dnc.write_weighting(alloc, cw, xi["allocation_gate"], xi["write_gate"])
        memory = dnc.write_memory(memory, ww, xi["erase"], xi["write_vector"])
        link = dnc.link_matrix(link, p, ww)
        p = dnc.precedence(p, ww)
        fwd, bwd = dnc.directional_weightings(link, wr)
        cr = dnc.content_weighting(xi["read_keys"], xi["read_strengths"], memory)
        wr = dnc.read_weighting(bwd, cr, fwd, xi["read_modes"])
        u, a, L, pp, w_r = (_np(t) for t in (usage, alloc, link, p, wr))
        assert (u >= -tol).all() and (u <= 1 + tol).all()
        assert (a >= -tol).all() and (a.sum(-1) <= 1 + tol).all()
        assert (pp >= -tol).all() and (pp.sum(-1) <= 1 + tol).all()
        assert (L >= -tol).all() and (L <= 1 + tol).all()
        np.testing.assert_array_equal(np.diagonal(L, axis1=1, axis2=2), 0.0)
        assert (L.sum(-1) <= 1 + tol).all() and (L.sum(-2) <= 1 + tol).all()
        assert (w_r >= -tol).all() and (w_r.sum(-1) <= 1 + tol).all()
    assert u.max() > 0.5 and L.max() > 0.1  # the run did exercise the memory


# ------------------------------------------------------------------- the cell
# The cell in float64 against the float64 reference where Keras computes
# float64 in float64 (TensorFlow, see backend_utils.needs_float64); elsewhere
# in float32, to float32 precision.
REFERENCE_DTYPE, REFERENCE_ATOL = (("float64", 1e-9) if BACKEND == "tensorflow"
                                   else ("float32", 1e-5))


def _reference_weights(cell):
    return {
        "kernel": _np(cell.controller.kernel).astype("float64"),
        "recurrent_kernel": _np(cell.controller.recurrent_kernel).astype("float64"),
        "bias": _np(cell.controller.bias).astype("float64"),
        "interface_kernel": _np(cell.interface.kernel).astype("float64"),
        "interface_bias": _np(cell.interface.bias).astype("float64"),
    }


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        dict(units=5, memory_size=5, word_size=3, num_read_heads=1,
             strength_activation="softplus", clip_value=None),
        dict(units=6, memory_size=4, word_size=2, num_read_heads=3, clip_value=0.5,
             link_gradient=False),
    ],
)
def test_cell_steps_equal_the_reference_dnc(config):
    keras.utils.set_random_seed(0)
    cell = DNCCell(**config, dtype=REFERENCE_DTYPE)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True,
                           dtype=REFERENCE_DTYPE)
    rng = np.random.default_rng(0)
    steps = 8
    x = rng.normal(size=(2, steps, 3)).astype(REFERENCE_DTYPE)
    rnn(x)
    # Larger weights than the initialisers give, so that every gate moves.
    for w in cell.controller.weights + cell.interface.weights:
        w.assign(rng.normal(size=w.shape) * 1.5)
    outputs, *states = (_np(t) for t in rnn(x))

    weights = _reference_weights(cell)
    cfg = dict(num_reads=cell.num_read_heads, word_size=cell.word_size,
               clip_value=cell.clip_value, strength=cell.strength_activation)
    n, r, w = cell.memory_size, cell.num_read_heads, cell.word_size
    for b in range(2):
        state = ref.initial_state(cell.units, n, w, r)
        for t in range(steps):
            expected, state = ref.dnc_step(x[b, t], state, weights, cfg)
            np.testing.assert_allclose(outputs[b, t], expected, atol=REFERENCE_ATOL,
                                       err_msg=str(t))
        if REFERENCE_DTYPE != "float64":
            # In float32, usages closer than its resolution tie, and the free
            # list can order those slots unlike the float64 reference: the same
            # words in other slots (the outputs above agree).
            continue
        final = [state[k].reshape(-1) for k in ("h", "c", "reads", "memory", "usage", "link",
                                                "precedence", "read_weights", "write_weights")]
        for got, want in zip(states, final):
            np.testing.assert_allclose(got[b], want, atol=REFERENCE_ATOL)
    # The memory was used: something was written and linked.
    assert np.abs(states[3]).max() > 0.1 and states[5].max() > 0.01


def test_cell_in_float32_agrees_with_the_reference():
    keras.utils.set_random_seed(1)
    cell = DNCCell(**SMALL)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    x = np.random.default_rng(1).normal(size=(2, 6, 3)).astype("float32")
    outputs = _np(rnn(x))
    weights = _reference_weights(cell)
    cfg = dict(num_reads=2, word_size=4, clip_value=20.0, strength="oneplus")
    for b in range(2):
        state = ref.initial_state(8, 6, 4, 2)
        for t in range(6):
            expected, state = ref.dnc_step(x[b, t].astype("float64"), state, weights, cfg)
            np.testing.assert_allclose(outputs[b, t], expected, atol=1e-5)


def test_return_weightings_appends_the_references_weightings_and_read_modes():
    keras.utils.set_random_seed(0)
    cell = DNCCell(**SMALL, return_weightings=True, dtype=REFERENCE_DTYPE)
    assert cell.output_size == 8 + 2 * 4 + 3 * 6 + 3 * 2
    rnn = keras.layers.RNN(cell, return_sequences=True, dtype=REFERENCE_DTYPE)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 3)).astype(REFERENCE_DTYPE)
    rnn(x)
    for w in cell.controller.weights + cell.interface.weights:  # every gate moves
        w.assign(rng.normal(size=w.shape) * 1.5)
    parts = {k: _np(v) for k, v in cell.split_output(rnn(x)).items()}
    assert parts["reads"].shape == (2, 5, 2, 4)
    assert parts["read_weightings"].shape == (2, 5, 2, 6)
    assert parts["write_weightings"].shape == (2, 5, 1, 6)
    assert parts["read_modes"].shape == (2, 5, 2, 3)
    weights = _reference_weights(cell)
    cfg = dict(num_reads=2, word_size=4, clip_value=cell.clip_value,
               strength=cell.strength_activation)
    for b in range(2):
        state = ref.initial_state(cell.units, 6, 4, 2)
        for t in range(5):
            _, state = ref.dnc_step(x[b, t], state, weights, cfg)
            for key, want in (("read_weightings", state["read_weights"]),
                              ("write_weightings", state["write_weights"][None]),
                              ("read_modes", state["read_modes"])):
                got = parts[key][b, t]
                if REFERENCE_DTYPE != "float64" and key != "read_modes":
                    # In float32, usages closer than its resolution tie and the free
                    # list can order those slots unlike the float64 reference (see
                    # above): the same weights, on other slots.
                    got, want = np.sort(got, axis=-1), np.sort(want, axis=-1)
                np.testing.assert_allclose(got, want, atol=REFERENCE_ATOL,
                                           err_msg=f"{key} step {t}")
    plain = DNCCell(**SMALL)
    assert set(plain.split_output(np.zeros((3, plain.output_size)))) == {"controller", "reads"}


def test_record_access_finds_the_dnc_and_returns_its_weightings():
    keras.utils.set_random_seed(0)
    task = tasks.CopyTask(num_bits=4, max_length=4)
    model = build_model(DNCCell(**SMALL), task)
    x, _, _ = task.generate(np.random.default_rng(0), 2, length=4)
    access = plotting.record_access(model, x)
    steps = x.shape[1]
    assert access["read_weightings"].shape == (2, steps, 2, 6)
    assert access["write_weightings"].shape == (2, steps, 1, 6)
    np.testing.assert_array_equal(access["rows"], np.arange(6))
    # A fresh memory: the first write goes to slot 0 by allocation (or
    # everywhere alike by content), never more to another slot.
    first = access["write_weightings"][:, 0, 0]
    assert (first[:, 0] >= first[:, 1:].max(-1) - 1e-6).all()
    # Each read head's weights of its backward, content and forward weightings.
    assert access["read_modes"].shape == (2, steps, 2, 3)
    np.testing.assert_allclose(access["read_modes"].sum(-1), 1.0, atol=1e-5)
    pytest.importorskip("matplotlib")
    figure = plotting.plot_memory_access(access)
    titles = [ax.get_title(loc="left") for ax in figure.axes]
    assert titles[-4:] == ["read head 0", "read head 0: mode (backward / content / forward)",
                           "read head 1", "read head 1: mode (backward / content / forward)"]


def _gradients(cell, x):
    rnn = keras.layers.RNN(cell, return_sequences=True)
    rnn(x)
    loss, grads = gradients(lambda: ops.sum(ops.sin(rnn(x))), cell.trainable_weights)
    return rnn, loss, grads


def test_gradients_are_finite_and_reach_every_weight():
    keras.utils.set_random_seed(0)
    cell = DNCCell(**SMALL)
    x = tensor(np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32"))
    _, _, grads = _gradients(cell, x)
    assert len(grads) == 5
    for variable, grad in zip(cell.trainable_weights, grads):
        assert np.isfinite(grad).all(), variable.path
        assert np.abs(grad).max() > 0, variable.path


@needs_float64
def test_gradients_match_finite_differences(monkeypatch):
    # The cell stops the gradient of the usage with respect to the previous
    # write weighting (DeepMind's `Freeness`), so its gradient is not the
    # derivative of its outputs. With that stop lifted, it must be.
    keras.utils.set_random_seed(0)
    cell = DNCCell(units=3, memory_size=4, word_size=2, num_read_heads=2, dtype="float64")
    x = tensor(np.random.default_rng(0).normal(size=(2, 5, 2)))
    rnn = keras.layers.RNN(cell, dtype="float64")
    rnn(x)
    for w in cell.trainable_weights:
        w.assign(np.random.default_rng(1).normal(size=w.shape))

    def loss():
        return ops.sum(ops.sin(rnn(x)))

    def flat_gradients():
        return [g.reshape(-1) for g in gradients(loss, cell.trainable_weights)[1]]

    stopped = flat_gradients()
    monkeypatch.setattr(keras.ops, "stop_gradient", lambda t: t)
    full = flat_gradients()
    assert any(not np.allclose(a, b, rtol=1e-3) for a, b in zip(stopped, full))
    rng = np.random.default_rng(2)
    for variable, analytic in zip(cell.trainable_weights, full):
        flat = _np(variable).reshape(-1)
        for index in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            eps = 1e-6
            bumped = flat.copy()
            bumped[index] += eps
            variable.assign(bumped.reshape(variable.shape))
            up = _np(loss())
            bumped[index] -= 2 * eps
            variable.assign(bumped.reshape(variable.shape))
            down = _np(loss())
            variable.assign(flat.reshape(variable.shape))
            np.testing.assert_allclose(analytic[index], (up - down) / (2 * eps),
                                       rtol=1e-4, atol=1e-7, err_msg=variable.path)


def test_link_gradient_false_keeps_the_outputs_and_changes_the_gradients():
    x = tensor(np.random.default_rng(3).normal(size=(2, 6, 3)).astype("float32"))
    results = []
    for flag in (True, False):
        keras.utils.set_random_seed(4)
        cell = DNCCell(**SMALL, link_gradient=flag, seed=4)
        rnn, loss, grads = _gradients(cell, x)
        results.append((_np(rnn(x)), grads))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-6)
    assert any(not np.allclose(a, b, atol=1e-7) for a, b in zip(results[0][1], results[1][1]))


@pytest.mark.parametrize("scale", [0.0, 1e4])
def test_zero_inputs_and_extreme_inputs_stay_finite(scale):
    cell = DNCCell(**SMALL)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    x = tensor((np.random.default_rng(0).normal(size=(2, 8, 3)) * scale).astype("float32"))
    rnn(x)
    for w in cell.trainable_weights:
        w.assign(_np(w) * 50.0)
    assert np.isfinite(_np(rnn(x))).all()
    for grad in gradients(lambda: ops.sum(rnn(x)), cell.trainable_weights)[1]:
        assert np.isfinite(grad).all()


def test_mixed_precision_keeps_memory_in_float32_and_controller_in_half():
    cell = DNCCell(**SMALL, dtype="mixed_bfloat16")
    assert cell.compute_dtype == "float32"
    assert cell.controller.compute_dtype == "bfloat16"
    assert cell.get_config()["dtype"]["config"]["name"] == "mixed_bfloat16"
    clone = DNCCell.from_config(cell.get_config())
    assert clone.controller.compute_dtype == "bfloat16"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(units=0), "units"),
        (dict(units=2.5), "units"),
        (dict(units=4, memory_size=0), "memory_size"),
        (dict(units=4, word_size=-1), "word_size"),
        (dict(units=4, num_read_heads=0), "num_read_heads"),
        (dict(units=4, strength_activation="exp"), "strength_activation"),
        (dict(units=4, clip_value=0), "clip_value"),
        (dict(units=4, clip_value="big"), "clip_value"),
        (dict(units=4, link_gradient="no"), "link_gradient"),
        (dict(units=4, return_weightings=1), "return_weightings"),
        (dict(units=4, kernel_initializer="no_such_initializer"), "kernel_initializer"),
        (dict(units=4, seed=1.5), "seed"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        DNCCell(**kwargs)
    assert "Received" in str(info.value)


def test_docstring_example_runs():
    import doctest

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(DNCCell, "DNCCell", globs={"keras": keras, "np": np,
                                                       "DNCCell": DNCCell}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted == 4 and result.failed == 0


def test_docs_page_example_builds_and_compiles():
    import os
    import re

    path = os.path.join(os.path.dirname(__file__), "..", "docs", "cells", "dnc.md")
    with open(path) as f:
        code = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    scope = {}
    exec(code, scope)
    model = scope["model"]
    assert model.output_shape == (None, None, 8)
    x = np.random.default_rng(0).uniform(size=(2, 5, 9)).astype("float32")
    assert np.isfinite(model.predict(x, verbose=0)).all()
