"""Argument checks shared by every cell and task.

Each check raises a `ValueError` that names the argument, the value received
and what is allowed, as Keras' own layers do.
"""

import numbers


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
