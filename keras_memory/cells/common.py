"""Pieces every memory cell shares."""

import math

import keras
from keras import ops

# Defined with the other initialisation helpers; imported here for the cells.


def keep_memory_in_float32(cell):
    """Under a half-precision policy, run `cell` in float32 and return the policy asked for.

    The memory, the addressing and every state of a memory cell lose too much
    in 16 bits; the controller, built with the returned policy, still computes
    in half precision. `get_config` must save the returned policy (see
    `requested_dtype_config`).
    """
    requested = cell.dtype_policy
    if requested.compute_dtype in ("float16", "bfloat16") and (
        requested.variable_dtype == "float32"
    ):
        cell.dtype_policy = "float32"
    return requested


def requested_dtype_config(config, requested_policy):
    """`config` with the dtype policy the user asked for, not the float32 one used."""
    config["dtype"] = keras.dtype_policies.serialize(requested_policy)
    return config


def batch_tile(value, batch_size, dtype):
    """`value` flattened to one row, cast to `dtype` and repeated for each of
    `batch_size` sequences: a learned or constant initial state, `(batch, size)`.

    `tile`, not `broadcast_to`: PyTorch's broadcast is a view whose rows share
    one row's storage, and a stateful RNN's state variables made from it
    cannot be assigned in place (`reset_state`)."""
    row = ops.cast(ops.reshape(value, (1, -1)), dtype)
    return ops.tile(row, (batch_size, 1))


def add_random_initial_memory(cell, seed):
    """Adds `cell.initial_memory`, SAM's and the SDNC's `memory_init="random"`.

    A fixed `(memory_size, word_size)` draw, uniform in `+-1/sqrt(N + W)`,
    not trained; every sequence starts from it.
    """
    limit = 1.0 / math.sqrt(cell.memory_size + cell.word_size)
    cell.initial_memory = cell.add_weight(
        shape=(cell.memory_size, cell.word_size),
        initializer=keras.initializers.RandomUniform(-limit, limit, seed=seed),
        trainable=False,
        name="initial_memory",
    )


def check_build_input_shape(cell, input_shape):
    """Check a cell's `build` input shape; record and return its feature size.

    The step input must be `(batch, features)` with `features` known. Sets
    `cell._step_features`, which `check_step_input` compares every later
    step input against.

    Raises:
        ValueError: the shape is not of rank 2 or its last axis is `None`.
    """
    owner = type(cell).__name__
    if len(input_shape) != 2:
        raise ValueError(
            f"{owner}: the step input must have rank 2, (batch, features), "
            "i.e. the RNN layer's input must have rank 3, "
            f"(batch, time, features). Received: step input_shape={input_shape}"
        )
    features = input_shape[-1]
    if features is None:
        raise ValueError(
            f"{owner}: the last dimension (features) of the input must be "
            f"defined. Received: input_shape={input_shape}"
        )
    cell._step_features = features
    return features


def check_step_input(cell, inputs):
    """Raise `ValueError` on a step input whose static shape the built `cell` cannot take.

    Checks what is known before running: an empty batch, and a feature size
    other than the one the cell was built for (`cell._step_features`, set in
    `build`). Dimensions unknown until run time (`None`) are not checked.
    """
    owner = type(cell).__name__
    shape = tuple(inputs.shape)
    if shape and shape[0] == 0:
        raise ValueError(
            f"{owner}: the batch is empty; the input needs at least one sequence. "
            f"Received: step input shape={shape}"
        )
    built = getattr(cell, "_step_features", None)
    if built is not None and shape and shape[-1] is not None and shape[-1] != built:
        raise ValueError(
            f"{owner}: the layer was built for inputs with {built} features (last "
            f"axis) and cannot take {shape[-1]}. Received: step input shape={shape}"
        )
