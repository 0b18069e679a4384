"""Reproducible training data of a task for `fit`: fresh batches or a cycled fixed set.

`TrainingStream` draws every batch from its own seed (the NTM and SAM
protocol, a fresh batch per step); `CurriculumStream` does the same with
episodes that grow as the model learns (the SAM paper's curriculum);
`CyclingBatches` cycles a fixed set (the Lie-access paper's "small" regime).
All resume mid-run at the same batches.
"""

import keras
import numpy as np

from keras_memory.tasks import get as get_task
from keras_memory.tasks.base import shape_partner, swap_index


class TrainingStream(keras.utils.PyDataset):
    """Fresh training batches of a task, epoch after epoch, reproducibly.

    Batch `i` of epoch `e` is generated from
    `np.random.default_rng([seed, e, i])`, so a run resumed at epoch `e`
    (e.g. by `keras.callbacks.BackupAndRestore`) sees exactly the batches the
    uninterrupted run would have seen. Pass `stream.epoch_callback()` to
    `fit` so the stream knows the epoch. In epoch 0, when batches 0 and 1
    have the same shape, batch 1 trades places with the first batch of
    another shape: Keras infers the shapes of every batch from those two
    (`keras_memory.tasks.base.shape_partner`).

    Args:
        task: An `AlgorithmicTask` or its name.
        batch_size: Sequences per batch.
        steps_per_epoch: Batches per epoch.
        seed: Integer seed.
        split: Split to draw from. Defaults to `"train"`.
    """

    def __init__(self, task, batch_size, steps_per_epoch, seed=0, split="train", **kwargs):
        super().__init__(**kwargs)
        self.task = get_task(task)
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.seed = seed
        self.split = split
        self.epoch = 0
        self._partner = False  # Found on first use.

    def __len__(self):
        return self.steps_per_epoch

    def __getitem__(self, index):
        if self.epoch == 0:
            if self._partner is False:
                self._partner = shape_partner(lambda i: self._generate(0, i),
                                              self.steps_per_epoch)
            index = swap_index(index, self._partner)
        return self._generate(self.epoch, index)

    def _generate(self, epoch, index):
        rng = np.random.default_rng([self.seed, epoch, index])
        return self.task.generate(rng, self.batch_size, split=self.split)

    def epoch_callback(self):
        """A callback that tells this stream which epoch `fit` is in."""
        return _EpochSync(self)


#: The tasks `CurriculumStream` can grow: name -> (the `generate` argument that
#: sets the size of every episode of a batch, the attributes of the smallest
#: and largest training size).
CURRICULUM_LEVELS = {
    "copy": ("length", "min_length", "max_length"),
    "associative_recall": ("num_items", "min_items", "max_items"),
}


class CurriculumStream(TrainingStream):
    """Fresh training batches whose episodes grow: the SAM paper's curriculum.

    Rae et al. (2016), section 4.3: the largest level `h` (items of
    associative recall, the length of copy) is doubled whenever the training
    error stays below a threshold, and "each minibatch's level is sampled
    from U(0, h)"; doubling rather than adding keeps the cost of the whole
    curriculum linear in the final length. Here batch `i` of epoch `e` draws
    its level `n` uniformly from `min_level .. level` with
    `np.random.default_rng([seed, e, i])` and every episode of the batch has
    `n`; `DoublingCurriculum` doubles `level`. The batch is padded with zero
    steps (inputs, targets and sample weights zero, so the loss and the
    metrics do not see them) to a power of two of steps, so that a compiled
    `fit` compiles a program per doubling instead of one per level. Keras
    infers the shapes of a `PyDataset` from its first two batches, so batch
    1 of epoch 0 is padded to twice the steps of batch 0 when the two would
    otherwise have the same length (which would fix the time axis).

    Args:
        task: An `AlgorithmicTask` named in `CURRICULUM_LEVELS`, or its name.
        batch_size: Sequences per batch.
        steps_per_epoch: Batches per epoch, at least 2 (Keras fixes the
            time axis from the first two batches of a one-batch epoch's
            one batch, and the longer batches after a doubling would not
            fit it).
        seed: Integer seed.
        level: The starting largest level. Defaults to the task's largest
            training size (`max_items`, `max_length`).
        min_level: The smallest level drawn. Defaults to the task's
            smallest training size.
        max_level: `level` is never doubled past it. Defaults to `None`
            (no bound).

    Example:

    >>> stream = CurriculumStream("associative_recall", batch_size=2, steps_per_epoch=10)
    >>> stream.level = 24
    >>> x, y, w = stream[3]
    >>> x.shape[1] in (32, 64, 128)
    True
    """

    def __init__(self, task, batch_size, steps_per_epoch, seed=0, level=None, min_level=None,
                 max_level=None, **kwargs):
        super().__init__(task, batch_size, steps_per_epoch, seed=seed, **kwargs)
        if self.task.name not in CURRICULUM_LEVELS:
            raise ValueError(
                f"CurriculumStream grows the tasks {sorted(CURRICULUM_LEVELS)}; received "
                f"task={self.task.name!r}")
        if self.steps_per_epoch < 2:
            raise ValueError(
                "CurriculumStream needs `steps_per_epoch` >= 2: Keras infers the batches' "
                "shapes from the first two, and with one batch an epoch the time axis "
                f"would stay that of the first level. Received: steps_per_epoch="
                f"{self.steps_per_epoch!r}")
        self.argument, low, high = CURRICULUM_LEVELS[self.task.name]
        self.min_level = getattr(self.task, low) if min_level is None else min_level
        level = getattr(self.task, high) if level is None else level
        for name, value in (("min_level", self.min_level), ("level", level)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1, received {name}={value!r}")
        if level < self.min_level:
            raise ValueError(f"`level` must be >= min_level={self.min_level}, received "
                             f"level={level!r}")
        if max_level is not None and (not isinstance(max_level, (int, np.integer))
                                      or isinstance(max_level, bool) or max_level < level):
            raise ValueError(f"`max_level` must be None or an integer >= level={level}, "
                             f"received max_level={max_level!r}")
        self.level = int(level)
        self.max_level = None if max_level is None else int(max_level)

    def __getitem__(self, index):
        batch = self._generate(self.epoch, index)
        if self.epoch == 0 and index == 1:
            first = self._generate(0, 0)[0].shape[1]
            if batch[0].shape[1] == first:
                batch = _pad_steps(batch, 2 * first)
        return batch

    def _generate(self, epoch, index):
        rng = np.random.default_rng([self.seed, epoch, index])
        level = int(rng.integers(self.min_level, self.level + 1))
        batch = self.task.generate(rng, self.batch_size, split=self.split,
                                   **{self.argument: level})
        steps = batch[0].shape[1]
        return _pad_steps(batch, 1 << (steps - 1).bit_length())

    def double(self):
        """Doubles `level` (up to `max_level`); returns whether it grew."""
        grown = 2 * self.level if self.max_level is None else min(2 * self.level, self.max_level)
        grew, self.level = grown > self.level, grown
        return grew


def _pad_steps(batch, steps):
    """`(inputs, targets, sample_weight)` padded with zeros to `steps` steps."""
    return tuple(np.pad(a, [(0, 0), (0, steps - a.shape[1])] + [(0, 0)] * (a.ndim - 2))
                 for a in batch)


class CyclingBatches(keras.utils.PyDataset):
    """Epochs of `steps_per_epoch` steps over a fixed set of batches, cycled.

    Epoch `e` holds batches `e * steps_per_epoch .. (e + 1) * steps_per_epoch - 1`
    of `data`, modulo `len(data)`: the Lie-access paper's small regime cycles
    through 500 fixed batches (16,000 examples), its large one walks once
    through `steps` batches. `fit` shuffles the order of the batches inside
    each epoch (its default `shuffle=True`); the authors' code takes them in
    file order, which `fit(..., shuffle=False)` gives. Pass
    `batches.epoch_callback()` to `fit` so the dataset knows the epoch (and a
    resumed run continues at the right batch).

    Args:
        data: A sequence of batches (e.g. a `TaskDataset`).
        steps_per_epoch: Batches per epoch.
    """

    def __init__(self, data, steps_per_epoch, **kwargs):
        super().__init__(**kwargs)
        self.data = data
        self.steps_per_epoch = steps_per_epoch
        self.epoch = 0

    def __len__(self):
        return self.steps_per_epoch

    def __getitem__(self, index):
        return self.data[(self.epoch * self.steps_per_epoch + index) % len(self.data)]

    def epoch_callback(self):
        """A callback that tells this dataset which epoch `fit` is in."""
        return _EpochSync(self)


class _EpochSync(keras.callbacks.Callback):
    """Sets `dataset.epoch` to the epoch `fit` begins."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def on_epoch_begin(self, epoch, logs=None):
        self.dataset.epoch = epoch
