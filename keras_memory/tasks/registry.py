"""The task registry: `register` a task class under a name, `get` one by name."""

from keras_memory.tasks.base import AlgorithmicTask

_REGISTRY = {}


def register(name):
    """Class decorator registering an `AlgorithmicTask` subclass under `name`.

    Args:
        name: The name for `get()`. Must not be registered already (to a
            different class).

    Example:

    >>> @register("my_task")
    ... class MyTask(AlgorithmicTask):
    ...     ...
    """
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"`name` must be a non-empty string, received name={name!r}"
        )

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, AlgorithmicTask)):
            raise ValueError(
                "`register` decorates `AlgorithmicTask` subclasses, received "
                f"{cls!r}"
            )
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(
                f"A task named {name!r} is already registered "
                f"({existing.__name__})"
            )
        _REGISTRY[name] = cls
        return cls

    return decorator


def available():
    """Returns the sorted list of registered task names."""
    return sorted(_REGISTRY)


def get(name, **kwargs):
    """Returns a new task instance by registered name.

    Args:
        name: A name from `available()`, e.g. `"copy"`. An `AlgorithmicTask`
            instance is returned unchanged (then no kwargs are allowed).
        **kwargs: Constructor arguments of the task.

    Raises:
        ValueError: If `name` is not registered.
    """
    if isinstance(name, AlgorithmicTask):
        if kwargs:
            raise ValueError(
                "Constructor arguments cannot be applied to a task instance, "
                f"received {sorted(kwargs)}"
            )
        return name
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown task name, received name={name!r}; available tasks: "
            f"{available()}"
        )
    return _REGISTRY[name](**kwargs)
