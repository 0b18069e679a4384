"""NTMCell: the Keras contract, the paper's step, gradients and bad input."""

import keras
import numpy as np
import pytest
from keras import ops

import numpy_ntm as ref
from backend_utils import gradients, needs_float64, numpy, tensor
from contract import CellContract
from keras_memory import NTMCell

SMALL = dict(units=8, memory_size=6, word_size=4, num_read_heads=2, num_write_heads=1)


class TestNTMCellContract(CellContract):
    input_dim = 3
    # LSTM kernel, recurrent kernel, bias; head dense kernel, bias; initial
    # read vectors; initial weightings.
    expected_num_trainable_weights = 7

    def make_cell(self, **overrides):
        return NTMCell(**{**SMALL, **overrides})


def _reference_weights(cell):
    controller = cell.controller
    return {
        "kernel": numpy(controller.kernel).astype("float64"),
        "recurrent_kernel": numpy(controller.recurrent_kernel).astype("float64"),
        "bias": numpy(controller.bias).astype("float64"),
        "head_kernel": numpy(cell.head_parameters.kernel).astype("float64"),
        "head_bias": numpy(cell.head_parameters.bias).astype("float64"),
    }


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        dict(units=5, memory_size=7, word_size=3, num_read_heads=1, num_write_heads=2,
             shift_range=2),
        dict(units=4, memory_size=5, word_size=2, shift_range=0, memory_init="random", seed=3),
    ],
)
def test_cell_steps_equal_the_reference_ntm(config):
    keras.utils.set_random_seed(0)
    cell = NTMCell(**config)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    rnn(x)
    # Larger weights than the initialisers give, so that every nonlinearity,
    # the clip and the sharpening are exercised.
    for w in cell.controller.weights + cell.head_parameters.weights:
        w.assign(rng.normal(size=w.shape).astype("float32") * 1.5)
    outputs, *states = rnn(x)

    weights = _reference_weights(cell)
    init = [numpy(s).astype("float64") for s in cell.get_initial_state(2)]
    num_heads = cell.num_read_heads + cell.num_write_heads
    cfg = dict(word_size=cell.word_size, num_read_heads=cell.num_read_heads,
               num_write_heads=cell.num_write_heads, shift_range=cell.shift_range,
               clip_value=cell.clip_value)
    for b in range(2):
        state = {
            "h": init[0][b], "c": init[1][b],
            "reads": init[2][b].reshape(cell.num_read_heads, cell.word_size),
            "weightings": init[3][b].reshape(num_heads, cell.memory_size),
            "memory": init[4][b].reshape(cell.memory_size, cell.word_size),
        }
        for t in range(x.shape[1]):
            expected, state = ref.ntm_step(x[b, t].astype("float64"), state, weights, cfg)
            np.testing.assert_allclose(numpy(outputs)[b, t], expected, atol=1e-5)
        np.testing.assert_allclose(numpy(states[4])[b], state["memory"].reshape(-1), atol=1e-5)
        np.testing.assert_allclose(
            numpy(states[3])[b], state["weightings"].reshape(-1), atol=1e-5
        )


def test_initial_state_follows_memory_init():
    for init, trainable in [("constant", 7), ("learned", 8), ("random", 7)]:
        cell = NTMCell(**SMALL, memory_init=init, memory_init_value=0.25, seed=1)
        keras.layers.RNN(cell)(np.zeros((1, 2, 3), "float32"))
        assert len(cell.trainable_weights) == trainable, init
        memory = numpy(cell.get_initial_state(3)[4])
        assert memory.shape == (3, 6 * 4)
        np.testing.assert_array_equal(memory[0], memory[2])  # same for every example
        if init == "constant":
            np.testing.assert_array_equal(memory, 0.25)
        else:
            assert np.abs(memory).max() < 1 and memory.std() > 0
    weightings = numpy(cell.get_initial_state(2)[3]).reshape(2, 3, 6)
    np.testing.assert_allclose(weightings.sum(-1), 1.0, atol=1e-6)


def test_return_weightings_appends_distributions_and_split_output_finds_them():
    cell = NTMCell(**SMALL, return_weightings=True)
    assert cell.output_size == 8 + 2 * 4 + 3 * 6
    out = keras.layers.RNN(cell, return_sequences=True)(np.ones((2, 5, 3), "float32"))
    parts = cell.split_output(out)
    assert tuple(parts["reads"].shape) == (2, 5, 2, 4)
    assert tuple(parts["read_weightings"].shape) == (2, 5, 2, 6)
    assert tuple(parts["write_weightings"].shape) == (2, 5, 1, 6)
    np.testing.assert_allclose(np.sum(parts["read_weightings"], -1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.sum(parts["write_weightings"], -1), 1.0, atol=1e-5)
    plain = NTMCell(**SMALL)
    assert set(plain.split_output(np.zeros((3, plain.output_size)))) == {"controller", "reads"}


@needs_float64
def test_gradients_match_finite_differences():
    keras.utils.set_random_seed(0)
    cell = NTMCell(units=3, memory_size=4, word_size=2, dtype="float64", seed=0)
    rnn = keras.layers.RNN(cell, dtype="float64")
    x = tensor(np.random.default_rng(0).normal(size=(2, 4, 2)))
    rnn(x)
    for w in cell.trainable_weights:
        w.assign(np.random.default_rng(1).normal(size=w.shape))

    def loss():
        return ops.sum(ops.sin(rnn(x)))

    _, grads = gradients(loss, cell.trainable_weights)
    rng = np.random.default_rng(2)
    for variable, grad in zip(cell.trainable_weights, grads):
        flat = numpy(variable).reshape(-1)
        for index in rng.choice(flat.size, size=min(3, flat.size), replace=False):
            eps = 1e-6
            bumped = flat.copy()
            bumped[index] += eps
            variable.assign(bumped.reshape(variable.shape))
            up = numpy(loss())
            bumped[index] -= 2 * eps
            variable.assign(bumped.reshape(variable.shape))
            down = numpy(loss())
            variable.assign(flat.reshape(variable.shape))
            numeric = (up - down) / (2 * eps)
            analytic = grad.reshape(-1)[index]
            np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-7,
                                       err_msg=variable.path)


@pytest.mark.parametrize("scale", [0.0, 1e4, 1e8])
def test_zero_memory_and_extreme_inputs_stay_finite(scale):
    cell = NTMCell(**SMALL, memory_init_value=0.0)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    x = tensor(np.random.default_rng(0).normal(size=(2, 8, 3)) * scale, "float32")
    rnn(x)
    for w in cell.trainable_weights:
        w.assign(w * 50.0)
    out = rnn(x)
    _, grads = gradients(lambda: ops.sum(rnn(x)), cell.trainable_weights)
    assert np.isfinite(numpy(out)).all()
    for grad in grads:
        assert np.isfinite(grad).all()


def test_mixed_precision_keeps_memory_in_float32_and_controller_in_half():
    cell = NTMCell(**SMALL, dtype="mixed_bfloat16")
    assert cell.compute_dtype == "float32"
    assert cell.controller.compute_dtype == "bfloat16"
    assert cell.get_config()["dtype"]["config"]["name"] == "mixed_bfloat16"
    clone = NTMCell.from_config(cell.get_config())
    assert clone.controller.compute_dtype == "bfloat16"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(units=0), "units"),
        (dict(units=-3), "units"),
        (dict(units=2.5), "units"),
        (dict(units=4, memory_size=0), "memory_size"),
        (dict(units=4, word_size=-1), "word_size"),
        (dict(units=4, num_read_heads=0), "num_read_heads"),
        (dict(units=4, num_write_heads=0), "num_write_heads"),
        (dict(units=4, memory_size=4, shift_range=2), "shift_range"),
        (dict(units=4, shift_range=-1), "shift_range"),
        (dict(units=4, memory_init="zeros"), "memory_init"),
        (dict(units=4, clip_value=0), "clip_value"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        NTMCell(**kwargs)
    assert "Received" in str(info.value)
