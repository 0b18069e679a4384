"""Synthetic algorithmic tasks for memory-augmented networks.

Every task is an `AlgorithmicTask` producing `(inputs, targets,
sample_weight)` batches; `get(name, **kwargs)` builds one by name and
`register(name)` lets other task families add themselves.

Task families:

- The Neural Turing Machine tasks (Graves et al., 2014), `ntm_tasks`:
  `"copy"`, `"repeat_copy"`, `"associative_recall"`, `"dynamic_ngrams"`,
  `"priority_sort"` (binary vectors, `output_type="bits"`).
- The Lie-Access Neural Turing Machine tasks (Yang & Rush, 2017, Table 1a),
  `lantm_tasks`: `"lantm_copy"`, `"lantm_reverse"`, `"lantm_bigram_flip"`,
  `"lantm_double"`, `"lantm_interleaved_add"`, `"lantm_odd_first"`,
  `"lantm_repeat_copy"`, `"lantm_priority_sort"` (symbol sequences,
  `output_type="categorical"`).
- The Hierarchical Attentive Memory tasks (Andrychowicz & Kurach, 2016),
  `ham_tasks`: `"ham_reverse"`, `"ham_search"`, `"ham_merge"`,
  `"ham_sort"`, `"ham_add"` (the input fills a memory tree, then the model
  answers) and the raw-HAM data structures `"ham_stack"`, `"ham_queue"`,
  `"ham_priority_queue"`.

Example:

>>> from keras_memory import tasks
>>> tasks.available()
['associative_recall', 'copy', 'dynamic_ngrams', 'ham_add', 'ham_merge', 'ham_priority_queue', 'ham_queue', 'ham_reverse', 'ham_search', 'ham_sort', 'ham_stack', 'lantm_bigram_flip', 'lantm_copy', 'lantm_double', 'lantm_interleaved_add', 'lantm_odd_first', 'lantm_priority_sort', 'lantm_repeat_copy', 'lantm_reverse', 'priority_sort', 'repeat_copy']
>>> task = tasks.get("copy", max_length=10)
>>> data = task.dataset(batch_size=32, num_batches=100)
"""

from keras_memory.tasks.base import SPLITS
from keras_memory.tasks.base import AlgorithmicTask
from keras_memory.tasks.base import TaskDataset

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


from keras_memory.tasks.ham_tasks import DataStructureTask  # noqa: E402
from keras_memory.tasks.ham_tasks import HAMAddTask  # noqa: E402
from keras_memory.tasks.ham_tasks import HAMMergeTask  # noqa: E402
from keras_memory.tasks.ham_tasks import HAMReverseTask  # noqa: E402
from keras_memory.tasks.ham_tasks import HAMSearchTask  # noqa: E402
from keras_memory.tasks.ham_tasks import HAMSortTask  # noqa: E402
from keras_memory.tasks.ham_tasks import PriorityQueueTask  # noqa: E402
from keras_memory.tasks.ham_tasks import QueueTask  # noqa: E402
from keras_memory.tasks.ham_tasks import StackTask  # noqa: E402
from keras_memory.tasks.ham_tasks import TreeTask  # noqa: E402
from keras_memory.tasks.lantm_tasks import LANTMBigramFlipTask  # noqa: E402
from keras_memory.tasks.lantm_tasks import LANTMCopyTask  # noqa: E402
from keras_memory.tasks.lantm_tasks import LANTMDoubleTask  # noqa: E402
from keras_memory.tasks.lantm_tasks import LANTMInterleavedAddTask  # noqa: E402
from keras_memory.tasks.lantm_tasks import LANTMOddFirstTask  # noqa: E402
from keras_memory.tasks.lantm_tasks import LANTMPrioritySortTask  # noqa: E402
from keras_memory.tasks.lantm_tasks import LANTMRepeatCopyTask  # noqa: E402
from keras_memory.tasks.lantm_tasks import LANTMReverseTask  # noqa: E402
from keras_memory.tasks.lantm_tasks import SymbolTask  # noqa: E402
from keras_memory.tasks.ntm_tasks import AssociativeRecallTask  # noqa: E402
from keras_memory.tasks.ntm_tasks import CopyTask  # noqa: E402
from keras_memory.tasks.ntm_tasks import DynamicNGramsTask  # noqa: E402
from keras_memory.tasks.ntm_tasks import PrioritySortTask  # noqa: E402
from keras_memory.tasks.ntm_tasks import RepeatCopyTask  # noqa: E402

for _cls in (
    CopyTask,
    RepeatCopyTask,
    AssociativeRecallTask,
    DynamicNGramsTask,
    PrioritySortTask,
    LANTMCopyTask,
    LANTMReverseTask,
    LANTMBigramFlipTask,
    LANTMDoubleTask,
    LANTMInterleavedAddTask,
    LANTMOddFirstTask,
    LANTMRepeatCopyTask,
    LANTMPrioritySortTask,
    HAMReverseTask,
    HAMSearchTask,
    HAMMergeTask,
    HAMSortTask,
    HAMAddTask,
    StackTask,
    QueueTask,
    PriorityQueueTask,
):
    register(_cls.name)(_cls)
del _cls

__all__ = [
    "SPLITS",
    "AlgorithmicTask",
    "TaskDataset",
    "CopyTask",
    "RepeatCopyTask",
    "AssociativeRecallTask",
    "DynamicNGramsTask",
    "PrioritySortTask",
    "SymbolTask",
    "LANTMCopyTask",
    "LANTMReverseTask",
    "LANTMBigramFlipTask",
    "LANTMDoubleTask",
    "LANTMInterleavedAddTask",
    "LANTMOddFirstTask",
    "LANTMRepeatCopyTask",
    "LANTMPrioritySortTask",
    "TreeTask",
    "DataStructureTask",
    "HAMReverseTask",
    "HAMSearchTask",
    "HAMMergeTask",
    "HAMSortTask",
    "HAMAddTask",
    "StackTask",
    "QueueTask",
    "PriorityQueueTask",
    "register",
    "available",
    "get",
]
