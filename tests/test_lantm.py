"""LANTMCell and RAMCell: the Keras contract, the Lie-access equations, eviction, bad input."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from backend_utils import gradients, needs_float64, numpy, tensor
from contract import CellContract
from keras_memory import HAMCell, LANTMCell, NTMCell, RAMCell
from keras_memory.addressing import lantm as addressing
from keras_memory.initializers import set_forget_bias

SMALL = dict(units=6, memory_width=4, memory_capacity=8)


class TestLANTMCellContract(CellContract):
    input_dim = 3
    # LSTM kernel, recurrent kernel, bias; head dense kernel, bias; initial
    # controller, read, memory keys, values, strengths, heads, actions.
    expected_num_trainable_weights = 12

    def make_cell(self, **overrides):
        return LANTMCell(**{**SMALL, **overrides})


@pytest.mark.slow  # The Keras plumbing is LANTM's; the sphere's step is tested below.
class TestSLANTMCellContract(CellContract):
    input_dim = 3
    # As LANTM with an embedding; the sphere has axes, angles and angle bounds
    # in place of the translations.
    expected_num_trainable_weights = 15

    def make_cell(self, **overrides):
        config = dict(SMALL, key_space="sphere", weighting="softmax", bound_action=True,
                      action_interpolation=True, embedding_size=5)
        return LANTMCell(**{**config, **overrides})


@pytest.mark.slow  # Same base class as LANTM; RAM's step is in test_lantm_reference.py.
class TestRAMTapeCellContract(CellContract):
    input_dim = 3
    # LSTM (3), head dense (2), initial controller, read, memory (3), tape keys.
    expected_num_trainable_weights = 11

    def make_cell(self, **overrides):
        return RAMCell(**{**SMALL, "key_size": 3, "tape": True, "sharpen": True, **overrides})


# ------------------------------------------------------------- the equations
def test_bounded_translation_matches_the_formula_and_stays_inside_the_unit_disc():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 2)) * rng.choice([0.01, 1.0, 100.0], size=(50, 1))
    bounded = np.asarray(addressing.bound_translation(a.astype("float32")))
    expected = a / np.sqrt(1.0 + (a ** 2).sum(-1, keepdims=True))
    np.testing.assert_allclose(bounded, expected, rtol=1e-5, atol=1e-7)
    assert (np.linalg.norm(bounded, axis=-1) < 1.0).all()
    # The direction is kept.
    np.testing.assert_allclose(
        bounded / np.linalg.norm(bounded, axis=-1, keepdims=True),
        a / np.linalg.norm(a, axis=-1, keepdims=True), rtol=1e-5)


def _rotate(point, axis, angle):
    angle = np.asarray(angle, "float32").reshape(-1, 1)
    return np.asarray(addressing.rodrigues_rotate(
        point.astype("float32"), axis.astype("float32"), np.cos(angle), np.sin(angle)))


def _rotation_matrix(axis, angle):
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def test_rodrigues_rotation_is_a_group_action_of_so3():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(20, 3))
    points /= np.linalg.norm(points, axis=-1, keepdims=True)
    axes = rng.normal(size=(20, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    theta = rng.uniform(-3, 3, size=20)
    phi = rng.uniform(-3, 3, size=20)
    rotated = _rotate(points, axes, theta)
    # Norm preserved: the rotation keeps points on the sphere.
    np.testing.assert_allclose(np.linalg.norm(rotated, axis=-1), 1.0, atol=1e-5)
    # Equals the rotation matrix exp(theta [u]_x).
    expected = np.stack([_rotation_matrix(u, t) @ p for u, t, p in zip(axes, theta, points)])
    np.testing.assert_allclose(rotated, expected, atol=1e-5)
    # Identity, inverse, composition about one axis.
    np.testing.assert_allclose(_rotate(points, axes, np.zeros(20)), points, atol=1e-6)
    np.testing.assert_allclose(_rotate(rotated, axes, -theta), points, atol=1e-5)
    np.testing.assert_allclose(
        _rotate(_rotate(points, axes, theta), axes, phi), _rotate(points, axes, theta + phi),
        atol=1e-5)
    # A point on the axis does not move.
    np.testing.assert_allclose(_rotate(axes, axes, theta), axes, atol=1e-6)


def test_interpolation_onto_the_sphere_gives_unit_vectors_between_the_two():
    rng = np.random.default_rng(2)
    candidate = rng.normal(size=(10, 3)).astype("float32") * 5.0
    previous = rng.normal(size=(10, 3))
    previous = (previous / np.linalg.norm(previous, axis=-1, keepdims=True)).astype("float32")
    gate = rng.uniform(size=(10, 1)).astype("float32")
    mixed = np.asarray(addressing.interpolate_head(candidate, previous, gate, "sphere"))
    np.testing.assert_allclose(np.linalg.norm(mixed, axis=-1), 1.0, atol=1e-5)
    unit = candidate / np.linalg.norm(candidate, axis=-1, keepdims=True)
    expected = gate * unit + (1 - gate) * previous
    expected /= np.linalg.norm(expected, axis=-1, keepdims=True)
    np.testing.assert_allclose(mixed, expected, atol=1e-5)
    # Gate 1 jumps to the candidate, gate 0 stays.
    ones, zeros = np.ones_like(gate), np.zeros_like(gate)
    np.testing.assert_allclose(
        addressing.interpolate_head(candidate, previous, ones, "sphere"), unit, atol=1e-5)
    np.testing.assert_allclose(
        addressing.interpolate_head(candidate, previous, zeros, "sphere"), previous, atol=1e-5)
    # The plane interpolates linearly.
    np.testing.assert_allclose(
        addressing.interpolate_head(candidate[:, :2], previous[:, :2], gate, "plane"),
        gate * candidate[:, :2] + (1 - gate) * previous[:, :2], rtol=1e-6)


def _inverse_square_reference(query, keys):
    d = ((keys - query) ** 2).sum(-1)
    w = 1.0 / (d + 1e-10)
    return w / w.sum()


def test_inverse_square_weights_far_from_all_keys_match_the_formula():
    rng = np.random.default_rng(3)
    keys = rng.normal(size=(1, 6, 2))
    query = np.array([[400.0, -300.0]])
    valid = np.ones((1, 6), bool)
    d = addressing.squared_distances(query.astype("float32"), keys.astype("float32"))
    w = np.asarray(addressing.inverse_square_weights(d, valid))
    np.testing.assert_allclose(w[0], _inverse_square_reference(query[0], keys[0]), rtol=1e-5)
    # Far from all keys the weighting flattens towards uniform.
    assert w.max() / w.min() < 1.05


def test_inverse_square_weights_with_the_head_on_a_key_give_the_limit_and_finite_gradients():
    keys = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]], "float32")
    valid = np.ones((1, 4), bool)
    query = tensor(np.array([[1.0, 0.0]], "float32"))

    def weights(query):
        return addressing.inverse_square_weights(addressing.squared_distances(query, keys), valid)

    probe = np.array([[0.3, 1.0, -2.0, 0.5]], "float32")
    _, (grad,) = gradients(lambda q: ops.sum(ops.multiply(weights(q), probe)), [query])
    w = numpy(weights(query))[0]
    # The limit of the formula: the key under the head takes everything
    # (up to 1e-10 relative to the other inverse distances).
    assert np.isfinite(w).all() and np.isfinite(grad).all()
    assert w[1] >= 1.0 - 1e-6
    np.testing.assert_allclose(w[[0, 2, 3]], 1e-10 / np.array([1.0, 5.0, 13.0]), rtol=1e-3)


def test_invalid_slots_get_no_weight_and_do_not_change_the_others():
    rng = np.random.default_rng(4)
    keys = rng.normal(size=(1, 5, 2)).astype("float32")
    query = rng.normal(size=(1, 2)).astype("float32")
    strengths = rng.uniform(size=(1, 5)).astype("float32")
    valid = np.array([[True, True, False, True, False]])
    d = addressing.squared_distances(query, keys)
    for weights in (addressing.inverse_square_weights(d, valid),
                    addressing.softmax_distance_weights(d, np.ones((1, 1), "float32"), valid),
                    addressing.inner_product_weights(query, keys, valid)):
        final = np.asarray(addressing.apply_strengths(weights, strengths, valid))[0]
        assert final[~valid[0]].sum() == 0.0
        np.testing.assert_allclose(final.sum(), 1.0, rtol=1e-6)
    # Inverse square over the valid slots equals the formula on those slots alone.
    w = np.asarray(addressing.inverse_square_weights(d, valid))[0]
    np.testing.assert_allclose(
        w[valid[0]], _inverse_square_reference(query[0], keys[0][valid[0]]), rtol=1e-5)


def test_strengths_scale_the_weights_as_in_the_authors_code():
    w = np.array([[0.5, 0.3, 0.2]], "float32")
    s = np.array([[1.0, 0.5, 0.0]], "float32")
    valid = np.ones((1, 3), bool)
    final = np.asarray(addressing.apply_strengths(w, s, valid))
    raw = s * w + 1e-9
    np.testing.assert_allclose(final, raw / (raw.sum() + 1e-10), rtol=1e-6)


def test_tape_keys_point_to_the_next_and_previous_entries():
    keys = np.arange(10, dtype="float32").reshape(1, 5, 2)
    valid = np.array([[True, True, True, False, False]])
    w = np.array([[0.0, 1.0, 0.0, 0.0, 0.0]], "float32")
    forward, backward = addressing.tape_keys(w, keys, valid)
    np.testing.assert_array_equal(forward, keys[:, 2])
    np.testing.assert_array_equal(backward, keys[:, 0])
    # Reading the newest entry: there is no next one.
    w = np.array([[0.0, 0.0, 1.0, 0.0, 0.0]], "float32")
    forward, _ = addressing.tape_keys(w, keys, valid)
    np.testing.assert_array_equal(forward, np.zeros((1, 2)))


# -------------------------------------------------------------- the memory
def _run(cell, x):
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    outputs, *states = rnn(x)
    return rnn, outputs, states


def test_memory_fills_in_order_then_evicts_the_least_recently_used_slot():
    last_used = np.asarray(addressing.initial_last_used(5))[None]
    order = []
    keys = np.zeros((1, 5, 2), "float32")
    values = np.zeros((1, 5, 1), "float32")
    strengths = np.zeros((1, 5), "float32")
    memory = (keys, values, strengths, last_used.astype("float32"))
    one = np.ones((1, 1), "float32")
    for t in range(1, 8):
        slot = int(np.asarray(addressing.least_recently_used(memory[3]))[0])
        order.append(slot)
        if t == 5:
            # Slot 1 (written at t=1) is read at t=5: it becomes recent.
            read = np.zeros((1, 5), "float32")
            read[0, 1] = 0.5
            memory = memory[:3] + (addressing.mark_read(memory[3], read, 5.0 * one, 0.01),)
        memory = addressing.append(memory, one[:, :1].repeat(2, -1) * t, one, one, t * one, one)
    # Empty slots 1..4 in order, then the initial slot 0 (never used since
    # t=0), then slot 2 (written at t=2), skipping slot 1 (read at t=5).
    assert order == [1, 2, 3, 4, 0, 2, 3]
    np.testing.assert_array_equal(np.asarray(memory[3])[0], [5, 5, 6, 7, 4])


def test_a_zero_write_flag_appends_nothing():
    x = np.random.default_rng(0).normal(size=(2, 6, 4)).astype("float32")
    x[..., -1] = [1, 1, 0, 1, 0, 0]
    cell = LANTMCell(**SMALL, write_flag_input=True)
    _, _, states = _run(cell, x)
    keys, values, strengths, last_used = (np.asarray(a) for a in cell.split_memory(states))
    # The initial slot plus the three flagged steps, in slots 1, 2, 3.
    assert (last_used >= 0).sum(axis=1).tolist() == [4, 4]
    assert (last_used[:, 4:] < 0).all()
    np.testing.assert_array_equal(keys[:, 4:], 0.0)


def test_a_sequence_longer_than_the_capacity_evicts_instead_of_failing():
    cell = LANTMCell(units=6, memory_width=4, memory_capacity=4)
    x = np.random.default_rng(0).normal(size=(2, 12, 3)).astype("float32")
    _, outputs, states = _run(cell, x)
    assert np.isfinite(np.asarray(outputs)).all()
    last_used = np.asarray(cell.split_memory(states)[3])
    # Full, and the newest entry (step 12) is in memory.
    assert (last_used >= 0).all() and (last_used.max(axis=1) == 12).all()


def test_weights_do_not_depend_on_the_capacity():
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    small = LANTMCell(units=6, memory_width=4, memory_capacity=8, key_space="sphere")
    large = LANTMCell(units=6, memory_width=4, memory_capacity=40, key_space="sphere")
    rnn_small, out_small, _ = _run(small, x)
    rnn_large, _, _ = _run(large, x)
    rnn_large.set_weights(rnn_small.get_weights())
    out_large = rnn_large(x)[0]
    np.testing.assert_allclose(out_small, out_large, atol=1e-5)


def test_the_write_head_starts_purely_relative():
    cell = LANTMCell(**SMALL)
    rnn, _, _ = _run(cell, np.zeros((1, 1, 3), "float32"))
    bias = np.zeros(cell.num_head_parameters, "float32")
    cell.head_parameters.kernel.assign(np.zeros_like(cell.head_parameters.kernel))
    cell.head_parameters.bias.assign(bias)
    rec = LANTMCell(**SMALL, return_weightings=True)
    rnn_rec = keras.layers.RNN(rec, return_sequences=True)
    rnn_rec(np.zeros((1, 1, 3), "float32"))
    rnn_rec.set_weights(rnn.get_weights())
    parts = rec.split_output(rnn_rec(np.zeros((1, 1, 3), "float32")))
    initial = rec.get_initial_state(1)
    start = np.asarray(initial[3])[0, 2:]  # The initial write head.
    # Zero pre-activations: gate sigmoid(0 - 10) ~ 4.5e-5, action 0, so the
    # write head stays where it was; the read gate is 1/2.
    np.testing.assert_allclose(np.asarray(parts["write_head"])[0, 0], start, atol=1e-3)
    read_start = np.asarray(initial[3])[0, :2]
    np.testing.assert_allclose(np.asarray(parts["read_head"])[0, 0], read_start / 2, atol=1e-6)


@pytest.mark.parametrize("make", [LANTMCell, RAMCell])
def test_forget_bias_sets_only_the_controllers_forget_gates(make):
    x = np.zeros((1, 1, 3), "float32")
    default, with_bias = make(**SMALL, seed=3), make(**SMALL, seed=3, forget_bias=2.0)
    _run(default, x)
    _run(with_bias, x)
    units = SMALL["units"]
    drawn, set_ = default.controller.bias.numpy(), with_bias.controller.bias.numpy()
    np.testing.assert_array_equal(set_[units: 2 * units], 2.0)  # Gates (i, f, c, o).
    np.testing.assert_array_equal(np.delete(set_, np.s_[units: 2 * units]),
                                  np.delete(drawn, np.s_[units: 2 * units]))
    assert not np.any(drawn[units: 2 * units] == 2.0)


def test_set_forget_bias_assigns_a_given_bias_with_the_forget_slice_replaced():
    cell = keras.layers.LSTMCell(3)
    cell.build((1, 2))
    given = np.arange(12, dtype="float64")
    set_forget_bias(cell, -1.0, given)
    np.testing.assert_array_equal(cell.bias.numpy(), [0, 1, 2, -1, -1, -1, 6, 7, 8, 9, 10, 11])
    set_forget_bias(cell, None, given)  # None keeps the given forget gates.
    np.testing.assert_array_equal(cell.bias.numpy(), given)
    set_forget_bias(cell, 5.0)  # Default: the current bias.
    np.testing.assert_array_equal(cell.bias.numpy(), [0, 1, 2, 5, 5, 5, 6, 7, 8, 9, 10, 11])
    assert given[3] == 3  # The given array is not changed.


def test_project_initial_key_puts_the_initial_slots_key_on_the_sphere():
    sphere = dict(SMALL, key_space="sphere", seed=5)
    raw, projected = LANTMCell(**sphere), LANTMCell(**sphere, project_initial_key=True)
    x = np.zeros((1, 1, 3), "float32")
    _run(raw, x)
    _run(projected, x)
    learned = raw.initial_memory_keys.numpy()[0]
    np.testing.assert_array_equal(projected.initial_memory_keys.numpy()[0], learned)
    assert abs(np.linalg.norm(learned) - 1) > 0.05  # Drawn off the sphere.
    keys_raw = raw.split_memory(raw.get_initial_state(1))[0]
    keys_projected = projected.split_memory(projected.get_initial_state(1))[0]
    # The authors' code: the raw learned vector; projected: the unit vector.
    np.testing.assert_allclose(np.asarray(keys_raw)[0, 0], learned, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(keys_projected)[0, 0],
                               learned / np.linalg.norm(learned), rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(keys_projected)[0, 1:], 0)  # Empty slots.
    config = projected.get_config()
    assert config["project_initial_key"] is True
    assert LANTMCell.from_config(config).project_initial_key is True
    assert raw.get_config()["project_initial_key"] is False


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "factory, kwargs, match",
    [
        (LANTMCell, dict(units=0), "units"),
        (LANTMCell, dict(units=4, memory_width=-1), "memory_width"),
        (LANTMCell, dict(units=4, key_space="torus"), "key_space"),
        (LANTMCell, dict(units=4, weighting="cosine"), "weighting"),
        (LANTMCell, dict(units=4, memory_capacity=1), "memory_capacity"),
        (LANTMCell, dict(units=4, bound_action="yes"), "bound_action"),
        (LANTMCell, dict(units=4, usage_threshold=2.0), "usage_threshold"),
        (LANTMCell, dict(units=4, embedding_size=0), "embedding_size"),
        (LANTMCell, dict(units=4, forget_bias="1"), "forget_bias"),
        (LANTMCell, dict(units=4, project_initial_key=True), "project_initial_key"),
        (LANTMCell, dict(units=4, key_space="sphere", project_initial_key=1),
         "project_initial_key"),
        (RAMCell, dict(units=4, key_size=0), "key_size"),
        (RAMCell, dict(units=4, tape=True, memory_capacity=2), "memory_capacity"),
    ],
)
def test_bad_arguments_raise_a_clear_value_error(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)


def test_write_flag_input_needs_a_feature_besides_the_flag():
    with pytest.raises(ValueError, match="write flag"):
        keras.layers.RNN(LANTMCell(**SMALL, write_flag_input=True))(np.zeros((2, 3, 1), "float32"))


@pytest.mark.parametrize(
    "make",
    [
        lambda init: LANTMCell(units=6, memory_width=4, memory_capacity=5, kernel_initializer=init),
        lambda init: NTMCell(units=6, memory_size=5, word_size=4, controller_initializer=init,
                             kernel_initializer=init),
        lambda init: HAMCell(units=6, memory_size=4, hidden_size=4, kernel_initializer=init),
    ],
    ids=["lantm", "ntm", "ham"],
)
def test_a_seeded_kernel_initializer_gives_every_weight_its_own_numbers(make):
    import keras

    init = keras.initializers.RandomUniform(-1.0, 1.0, seed=3)
    layer = keras.layers.RNN(make(init))
    layer(np.zeros((2, 3, 6), "float32"))
    kernels = [w.numpy() for w in layer.weights if w.path.endswith("kernel")]
    assert len(kernels) >= 2
    flat = [k.ravel() for k in kernels]
    for i in range(len(flat)):
        for j in range(i + 1, len(flat)):
            n = min(flat[i].size, flat[j].size)
            assert not np.allclose(flat[i][:n], flat[j][:n]), (kernels[i].shape, kernels[j].shape)


@needs_float64
@pytest.mark.parametrize(
    "make",
    [
        lambda: LANTMCell(units=6, memory_width=4, memory_capacity=5, key_space="sphere",
                          bound_action=True, dtype="float64"),
        lambda: LANTMCell(units=6, memory_width=4, memory_capacity=5, dtype="float64"),
        lambda: RAMCell(units=6, memory_width=4, memory_capacity=5, tape=True, dtype="float64"),
    ],
    ids=["slantm", "lantm", "tape"],
)
def test_cells_compute_in_float64_when_asked(make):
    """The authors trained in double precision; the memory follows the cell's dtype."""
    layer = keras.layers.RNN(make(), return_sequences=True, return_state=True, dtype="float64")
    x = np.random.default_rng(0).random((2, 4, 6))
    outputs = layer(x)
    _, grads = gradients(lambda: ops.sum(layer(x)[0]), layer.trainable_weights,
                         allow_missing=True)
    assert all(keras.backend.standardize_dtype(o.dtype) == "float64" for o in outputs)
    grads = [g for g in grads if g is not None]  # (a weight may not reach this loss)
    assert grads and all(g.dtype == np.float64 for g in grads)
    assert all(np.isfinite(g).all() for g in grads)


@needs_float64
@pytest.mark.parametrize(
    "make",
    [
        lambda: LANTMCell(units=5, memory_width=3, memory_capacity=9, key_space="sphere",
                          bound_action=True, embedding_size=4, seed=1, dtype="float64"),
        lambda: LANTMCell(units=5, memory_width=3, memory_capacity=9, key_space="sphere",
                          weighting="softmax", action_interpolation=True, seed=2,
                          dtype="float64"),
        lambda: LANTMCell(units=5, memory_width=3, memory_capacity=9, bound_action=True,
                          seed=3, dtype="float64"),
        lambda: RAMCell(units=5, memory_width=3, memory_capacity=9, key_size=3, tape=True,
                        sharpen=True, seed=4, dtype="float64"),
    ],
    ids=["slantm", "slantm-s-interp", "lantm", "tape"],
)
def test_gradients_match_finite_differences(make):
    """The backward pass of a whole sequence (every weight at once, in a random
    direction) equals the central difference of the forward pass, in float64."""
    layer = keras.layers.RNN(make(), return_sequences=True, dtype="float64")
    rng = np.random.default_rng(0)
    x = rng.random((2, 7, 4))
    layer(x)
    probe = rng.standard_normal(layer(x).shape)
    weights = layer.trainable_weights
    start = [numpy(w).copy() for w in weights]
    direction = [rng.standard_normal(w.shape) for w in weights]

    def loss():
        return ops.sum(ops.multiply(layer(x), probe))

    _, grads = gradients(loss, weights, allow_missing=True)
    analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, direction) if g is not None)
    eps = 1e-6
    values = []
    for sign in (1.0, -1.0):
        for w, w0, d in zip(weights, start, direction):
            w.assign(w0 + sign * eps * d)
        values.append(float(loss()))
    for w, w0 in zip(weights, start):
        w.assign(w0)
    numeric = (values[0] - values[1]) / (2 * eps)
    assert abs(analytic) > 1e-3  # The probe reaches the weights.
    assert analytic == pytest.approx(numeric, rel=1e-5)
