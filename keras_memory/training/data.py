"""Reproducible training data of a task for `fit`: fresh batches or a cycled fixed set.

`TrainingStream` draws every batch from its own seed (the NTM and SAM
protocol, a fresh batch per step); `CyclingBatches` cycles a fixed set (the
Lie-access paper's "small" regime). Both resume mid-run at the same batches.
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
