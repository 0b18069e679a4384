"""The cells start from the initialisation their docstrings describe."""

import math

import keras
import numpy as np
import pytest

from keras_memory import LANTMCell, NTMCell, RAMCell


def _built(cell, features=3):
    keras.layers.RNN(cell)(np.zeros((1, 2, features), "float32"))
    return cell


def _gate_biases(cell):
    """The controller's biases as (input, forget, cell, output), Keras' gate order."""
    bias = keras.ops.convert_to_numpy(cell.controller.bias)
    return np.split(bias, 4)


def test_ntm_controller_biases_are_keras_defaults_as_documented():
    cell = _built(NTMCell(4, memory_size=8, word_size=3, seed=1))
    input_gate, forget, candidate, output = _gate_biases(cell)
    np.testing.assert_array_equal(forget, 1.0)
    for gate in (input_gate, candidate, output):
        np.testing.assert_array_equal(gate, 0.0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(cell.head_parameters.bias), 0.0)
    # The kernels: uniform in +-5/sqrt(inputs + units) (pytorch-ntm).
    limit = 5.0 / math.sqrt(3 + 3 + 4)
    kernel = keras.ops.convert_to_numpy(cell.controller.kernel)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.8 * limit
    doc = " ".join(NTMCell.__doc__.split())
    assert "0 with the forget gates at 1 (`unit_forget_bias`)" in doc


@pytest.mark.parametrize("cls", [LANTMCell, RAMCell])
def test_lie_access_controller_biases_are_torch_uniform_but_the_forget_gates_1(cls):
    units = 16
    cell = _built(cls(units, seed=1))
    input_gate, forget, candidate, output = _gate_biases(cell)
    np.testing.assert_array_equal(forget, 1.0)
    limit = 1.0 / math.sqrt(units)
    for gate in (input_gate, candidate, output):
        assert np.abs(gate).max() <= limit and np.std(gate) > 0.1 * limit
    doc = " ".join(LANTMCell.__doc__.split())
    assert "the controller's forget gates start with bias 1" in doc
    # forget_bias sets them, and only them.
    other = _built(cls(units, seed=1, forget_bias=2.0))
    np.testing.assert_array_equal(_gate_biases(other)[1], 2.0)
    for a, b in zip(_gate_biases(other)[::2], (input_gate, candidate)):
        np.testing.assert_array_equal(a, b)
