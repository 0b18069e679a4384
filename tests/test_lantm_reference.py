"""LANTMCell and RAMCell step by step against the float64 NumPy reference.

`numpy_lantm` is written from the paper and the dossier on the authors' code,
with the paper's growing list as memory, so these tests check the cells'
equations, their head-parameter wiring, the learned initial state and that
the preallocated, masked memory holds exactly the paper's list after `T`
steps.
"""

import keras
import numpy as np
import pytest

import numpy_lantm as ref
from keras_memory import LANTMCell, RAMCell

STEPS = 7
BATCH = 2
FEATURES = 3
RTOL, ATOL = 1e-4, 1e-5
FLAGS = [1, 1, 1, 0, 0, 0, 0]

BASE = dict(units=6, memory_width=4, memory_capacity=STEPS + 4)

CASES = {
    "plane-inverse_square": ("lantm", {}),
    "plane-softmax-action_interpolation": (
        "lantm", dict(weighting="softmax", action_interpolation=True)),
    "plane-unbounded-action_interpolation": (
        "lantm", dict(bound_action=False, action_interpolation=True)),
    "sphere-inverse_square": ("lantm", dict(key_space="sphere", bound_action=False)),
    "sphere-softmax-bounded-action_interpolation": (
        "lantm", dict(key_space="sphere", weighting="softmax", bound_action=True,
                      action_interpolation=True)),
    "plane-embedding": ("lantm", dict(embedding_size=5)),
    "sphere-embedding-default_bound": ("lantm", dict(key_space="sphere", embedding_size=5)),
    "plane-write_flag": ("lantm", dict(write_flag_input=True)),
    "sphere-write_flag": ("lantm", dict(key_space="sphere", bound_action=True,
                                        write_flag_input=True)),
    "ram": ("ram", dict(key_size=3)),
    "ram-sharpen": ("ram", dict(key_size=3, sharpen=True)),
    "ram-tape": ("ram", dict(key_size=3, tape=True)),
    "ram-tape-sharpen-embedding-write_flag": (
        "ram", dict(key_size=2, tape=True, sharpen=True, embedding_size=4,
                    write_flag_input=True)),
}

WEIGHT_NAMES = (
    "initial_controller", "initial_read", "initial_memory_keys", "initial_memory_values",
    "initial_memory_strengths", "initial_heads", "initial_actions", "initial_axes",
    "initial_angles", "angle_bound_logits", "initial_tape_keys",
)


def _make_cell(model, overrides, **extra):
    factory = LANTMCell if model == "lantm" else RAMCell
    return factory(**{**BASE, **overrides, **extra}, seed=0)


def _inputs(cell, rng):
    if cell.embedding_size is not None:
        # One-hot symbols, as the embedding expects.
        x = np.eye(FEATURES)[rng.integers(0, FEATURES, size=(BATCH, STEPS))]
    else:
        x = rng.normal(size=(BATCH, STEPS, FEATURES))
    if cell.write_flag_input:
        flags = np.broadcast_to(np.array(FLAGS, float)[None, :, None], (BATCH, STEPS, 1))
        x = np.concatenate([x, flags], axis=-1)
    return x.astype("float32")


def _reference_weights(cell):
    def f64(w):
        return np.asarray(w.numpy(), dtype="float64")

    controller = cell.controller
    weights = {
        "kernel": f64(controller.kernel),
        "recurrent_kernel": f64(controller.recurrent_kernel),
        "bias": f64(controller.bias),
        "head_kernel": f64(cell.head_parameters.kernel),
        "head_bias": f64(cell.head_parameters.bias),
    }
    if cell.embedding is not None:
        weights["embedding"] = f64(cell.embedding.kernel)
    for name in WEIGHT_NAMES:
        if hasattr(cell, name):
            weights[name] = f64(getattr(cell, name))
    return weights


def _build_and_run(model, overrides, **extra):
    keras.utils.set_random_seed(0)
    cell = _make_cell(model, overrides, **extra)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    rng = np.random.default_rng(0)
    x = _inputs(cell, rng)
    rnn(x)
    # Larger weights than the initialisers give, so that the gates, the
    # interpolations and the weightings are away from their trivial regimes.
    layers = [cell.controller, cell.head_parameters]
    for w in [w for layer in layers for w in layer.weights]:
        w.assign(rng.normal(size=w.shape).astype("float32"))
    outputs, *states = rnn(x)
    config = {**cell.get_config(), "model": model}
    weights = _reference_weights(cell)
    return cell, x, keras.ops.convert_to_numpy(outputs), states, config, weights


@pytest.mark.parametrize("case", list(CASES))
def test_cell_steps_and_memory_equal_the_reference(case):
    model, overrides = CASES[case]
    cell, x, outputs, states, config, weights = _build_and_run(model, overrides)
    keys, values, strengths, last_used = (keras.ops.convert_to_numpy(t)
                                          for t in cell.split_memory(states))
    assert outputs.shape == (BATCH, STEPS, cell.output_size)
    for b in range(BATCH):
        expected, memory, _ = ref.run(config, weights, x[b])
        for t in range(STEPS):
            np.testing.assert_allclose(
                outputs[b, t], expected[t], rtol=RTOL, atol=ATOL,
                err_msg=f"{case}: output of example {b} at step {t}")
        # The appended memory matches the reference list after T steps: the
        # written slots, in slot order, are the list's entries in write order.
        valid = last_used[b] >= 0
        writes = sum(FLAGS) if cell.write_flag_input else STEPS
        assert len(memory) == cell._initial_slots + writes
        assert valid.sum() == len(memory), case
        assert valid[:len(memory)].all(), case  # filled in index order, nothing evicted
        np.testing.assert_allclose(
            keys[b][valid], np.stack([k for k, _, _ in memory]), rtol=RTOL, atol=ATOL,
            err_msg=f"{case}: memory keys of example {b}")
        np.testing.assert_allclose(
            values[b][valid], np.stack([v for _, v, _ in memory]), rtol=RTOL, atol=ATOL,
            err_msg=f"{case}: memory values of example {b}")
        np.testing.assert_allclose(
            strengths[b][valid], np.array([s for _, _, s in memory]), rtol=RTOL, atol=ATOL,
            err_msg=f"{case}: memory strengths of example {b}")


@pytest.mark.parametrize(
    "case", ["sphere-softmax-bounded-action_interpolation", "plane-write_flag",
             "ram-tape-sharpen-embedding-write_flag"])
def test_read_weights_sum_to_one_and_skip_slots_never_written(case):
    model, overrides = CASES[case]
    cell, x, outputs, _, config, weights = _build_and_run(
        model, overrides, return_weightings=True)
    read_weights = keras.ops.convert_to_numpy(cell.split_output(outputs)["read_weightings"])
    assert read_weights.shape == (BATCH, STEPS, cell.memory_capacity)
    np.testing.assert_allclose(read_weights.sum(-1), 1.0, atol=1e-5)
    assert (read_weights >= 0).all()
    flags = FLAGS if cell.write_flag_input else [1] * STEPS
    for t in range(STEPS):
        # Read before this step's append: the initial slots plus earlier writes.
        present = cell._initial_slots + sum(flags[:t])
        np.testing.assert_array_equal(read_weights[:, t, present:], 0.0)
    for b in range(BATCH):
        expected, _, infos = ref.run(
            {**config, "return_weightings": True}, weights, x[b])
        np.testing.assert_allclose(outputs[b], expected, rtol=RTOL, atol=ATOL)
        for t, info in enumerate(infos):
            present = len(info["read_weights"])
            np.testing.assert_allclose(
                read_weights[b, t, :present], info["read_weights"], rtol=RTOL, atol=ATOL)
