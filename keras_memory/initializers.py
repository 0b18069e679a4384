"""Initialisation helpers: seeds per weight, copies of seeded initializers, Torch's defaults.

The cells draw every weight from one `seed` with these, and the examples use
them to reproduce the authors' initialisations (e.g. Yang & Rush's Torch
LSTM baseline in `examples/lantm_table1b.py`, and their uniform
re-initialisation of a whole model, `torch_uniform_init`).
"""

import keras
import numpy as np


def offset_seed(seed, offset):
    """`seed + offset`, or `None` for an unseeded draw: one seed per weight from one seed."""
    return None if seed is None else seed + offset


def clone_initializer(initializer, offset=0):
    """A fresh copy of a Keras initializer (so two weights never share one).

    A seeded Keras initializer draws the same numbers at every call, so a copy
    of one with an integer seed gets `seed + offset`: give every weight its
    own `offset`, or two weights of the same shape start out equal.
    """
    config = keras.initializers.serialize(initializer)
    inner = config.get("config") if isinstance(config, dict) else None
    if offset and isinstance(inner, dict) and isinstance(inner.get("seed"), int):
        inner["seed"] += offset
    return keras.initializers.deserialize(config)


def set_forget_bias(lstm_cell, value, bias=None):
    """Assigns a built Keras `LSTMCell`'s bias with its forget gates' slice set to `value`.

    Keras orders the gates (input, forget, cell, output). `bias` (default: the
    cell's current bias) gives the other gates' values, so that a bias drawn
    elsewhere and a forget bias land in one assignment; `value=None` keeps
    the forget gates of `bias`.
    """
    values = np.array(lstm_cell.bias.numpy() if bias is None else bias,
                      dtype=lstm_cell.bias.dtype)
    if value is not None:
        values[lstm_cell.units: 2 * lstm_cell.units] = value
    lstm_cell.bias.assign(values)


def torch_default_initializer(seed=None):
    """Uniform in `+-1/sqrt(fan_in)`: Torch's default for `nn.Linear`.

    Yang & Rush's code (Torch) leaves its linear maps at this default; the
    LANTM and RAM cells and the LSTM baseline of `examples/lantm_table1b.py`
    use it to start where the authors' models start.

    Args:
        seed: Seed of the draw (`None`: a fresh one).

    Returns:
        A `keras.initializers.VarianceScaling` (scale 1/3, fan in, uniform).

    Example:

    >>> init = torch_default_initializer(seed=1)
    >>> float(keras.ops.max(keras.ops.abs(init((4, 3))))) <= 0.5
    True
    """
    return keras.initializers.VarianceScaling(
        scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed
    )


def torch_uniform_init(model, magnitude=1.0, forget_bias=1.0, seed=None):
    """Re-initialises a built model as the Lie-access code's `init_magnitude` does.

    The authors' `train.reinit_params` (`train.lua`) draws **every** parameter
    uniformly in `(-magnitude, magnitude)`: kernels, biases, the embedding,
    the readout and the learned initial states. It then resets each LSTM gate
    block (`layers/lstm.lua`, `LSTMGatesX:reset`): its input-to-gates and
    hidden-to-gates maps each get a fresh uniform weight and bias, with the
    forget-gate part of the bias filled with `forget_bias` (`options.lua`:
    1). Keras' `LSTMCell` has one bias for the two maps, so it gets their sum:
    `2 * forget_bias` on the forget gate and the sum of two uniforms on the
    other gates.

    The paper's grid (Table A.1) uses this with `magnitude=1` on some
    configurations (`keras_memory.papers.TABLE_1B_CONFIGS`, `init_magnitude`).
    Such weights give very large first gradients; the authors trained in
    double precision, so build the model with `dtype="float64"`.

    Args:
        model: A built Keras model (or layer).
        magnitude: Half-width of the uniform. Defaults to `1.0`.
        forget_bias: Forget-gate bias of each of the two LSTM maps.
            Defaults to `1.0` (an effective bias of 2).
        seed: Seed of the draws (NumPy). `None` draws fresh values.

    Returns:
        The model, re-initialised in place.
    """
    magnitude = float(magnitude)
    if not (magnitude > 0 and np.isfinite(magnitude)):
        raise ValueError(
            f"`magnitude` must be a positive finite number. Received: magnitude={magnitude!r}"
        )
    if not model.built:
        raise ValueError("torch_uniform_init: build the model first (call it on an input).")
    rng = np.random.default_rng(seed)

    def uniform(shape):
        return rng.uniform(-magnitude, magnitude, size=shape)

    for weight in model.trainable_weights:
        weight.assign(uniform(tuple(weight.shape)).astype(weight.dtype))
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.LSTMCell) and layer.use_bias:
            units = layer.units
            bias = uniform((4 * units,)) + uniform((4 * units,))
            bias[units : 2 * units] = 2.0 * forget_bias  # Keras' gate order: i, f, c, o.
            layer.bias.assign(bias.astype(layer.bias.dtype))
    return model


__all__ = ["clone_initializer", "offset_seed", "set_forget_bias", "torch_default_initializer",
           "torch_uniform_init"]
