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
from keras_memory.tasks.ham_tasks import DataStructureTask
from keras_memory.tasks.ham_tasks import HAMAddTask
from keras_memory.tasks.ham_tasks import HAMMergeTask
from keras_memory.tasks.ham_tasks import HAMReverseTask
from keras_memory.tasks.ham_tasks import HAMSearchTask
from keras_memory.tasks.ham_tasks import HAMSortTask
from keras_memory.tasks.ham_tasks import PriorityQueueTask
from keras_memory.tasks.ham_tasks import QueueTask
from keras_memory.tasks.ham_tasks import StackTask
from keras_memory.tasks.ham_tasks import TreeTask
from keras_memory.tasks.lantm_tasks import LANTMBigramFlipTask
from keras_memory.tasks.lantm_tasks import LANTMCopyTask
from keras_memory.tasks.lantm_tasks import LANTMDoubleTask
from keras_memory.tasks.lantm_tasks import LANTMInterleavedAddTask
from keras_memory.tasks.lantm_tasks import LANTMOddFirstTask
from keras_memory.tasks.lantm_tasks import LANTMPrioritySortTask
from keras_memory.tasks.lantm_tasks import LANTMRepeatCopyTask
from keras_memory.tasks.lantm_tasks import LANTMReverseTask
from keras_memory.tasks.lantm_tasks import SymbolTask
from keras_memory.tasks.ntm_tasks import AssociativeRecallTask
from keras_memory.tasks.ntm_tasks import CopyTask
from keras_memory.tasks.ntm_tasks import DynamicNGramsTask
from keras_memory.tasks.ntm_tasks import PrioritySortTask
from keras_memory.tasks.ntm_tasks import RepeatCopyTask
from keras_memory.tasks.registry import available
from keras_memory.tasks.registry import get
from keras_memory.tasks.registry import register

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
