"""Argument checks shared by every cell and task.

Each check raises a `ValueError` that names the argument, the value received
and what is allowed, as Keras' own layers do.
"""

import math
import numbers

import keras
import numpy as np


def check_positive_int(name, value, owner=None):
    """Raise `ValueError` unless `value` is an integer `>= 1`; return it as `int`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(
            f"{prefix}`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def check_non_negative_int(name, value, owner=None):
    """Raise `ValueError` unless `value` is an integer `>= 0`; return it as `int`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(
            f"{prefix}`{name}` must be a non-negative integer. Received: {name}={value!r}"
        )
    return int(value)


def check_positive_float(name, value, owner=None):
    """Raise `ValueError` unless `value` is a real number `> 0`; return it as `float`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(
            f"{prefix}`{name}` must be a positive number. Received: {name}={value!r}"
        )
    return float(value)


def check_option(name, value, allowed, owner=None):
    """Raise `ValueError` unless `value` is one of the strings in `allowed`."""
    if value not in allowed:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(
            f"{prefix}Unknown value for `{name}`. Received: {name}={value!r}. "
            f"Allowed values are: {', '.join(repr(a) for a in allowed)}"
        )
    return value


def check_bool(name, value, owner=None):
    """Raise `ValueError` unless `value` is a Python or NumPy boolean; return it as `bool`.

    A string such as `"no"` or `"False"` is truthy, and an integer hides a
    mistaken argument, so neither is read as a boolean.
    """
    if not isinstance(value, (bool, np.bool_)):
        prefix = f"{owner}: " if owner else ""
        raise ValueError(
            f"{prefix}`{name}` must be a boolean (True or False). "
            f"Received: {name}={value!r}"
        )
    return bool(value)


def check_seed(name, value, owner=None):
    """Raise `ValueError` unless `value` is `None` or a non-negative integer.

    Returns `None` or the seed as `int`. A cell derives one seed per weight
    from it (`seed + offset`), so it must be checked before any is derived.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or (
        value < 0
    ):
        prefix = f"{owner}: " if owner else ""
        raise ValueError(
            f"{prefix}`{name}` must be None or a non-negative integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def get_initializer(name, value, owner=None):
    """`keras.initializers.get(value)`, with a `ValueError` that names the argument."""
    try:
        return keras.initializers.get(value)
    except (ValueError, TypeError) as error:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(
            f"{prefix}`{name}` must be a Keras initializer, its name (such as "
            f"'glorot_uniform') or its config. Received: {name}={value!r} ({error})"
        ) from None


# The most elements one weight or one sequence's state tensor may hold: a
# float32 tensor of 2**31 elements takes 8 GiB, and 2**31 is where int32
# indexing, used by several backends' kernels, ends.
MAX_TENSOR_ELEMENTS = 2**31


def check_tensor_size(what, shape, arguments, owner=None):
    """Raise `ValueError` if a tensor of `shape` would hold more than `MAX_TENSOR_ELEMENTS`.

    Args:
        what: What the tensor is, e.g. `"the memory (memory_size x word_size)"`.
        shape: The tensor's shape (one sequence's, for a state).
        arguments: Dict of the constructor arguments that set the shape,
            named in the message.
        owner: The class name, for the message.
    """
    count = math.prod(int(size) for size in shape)
    if count > MAX_TENSOR_ELEMENTS:
        prefix = f"{owner}: " if owner else ""
        names = " or ".join(f"`{name}`" for name in arguments)
        received = ", ".join(f"{name}={value!r}" for name, value in arguments.items())
        raise ValueError(
            f"{prefix}{names} too large: {what} would hold {count} elements, more "
            f"than the {MAX_TENSOR_ELEMENTS} (2**31) allowed for one tensor. "
            f"Received: {received}"
        )
