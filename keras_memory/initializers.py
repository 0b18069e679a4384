"""Initialisation helpers: seeds per weight, copies of seeded initializers, Torch's defaults.

The cells draw every weight from one `seed` with these, and the examples use
them to reproduce the authors' initialisations (e.g. Yang & Rush's Torch
LSTM baseline in `examples/lantm_table1b.py`).
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


__all__ = ["clone_initializer", "offset_seed", "set_forget_bias", "torch_default_initializer"]
