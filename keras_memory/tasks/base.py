"""Base class and dataset wrapper shared by every algorithmic task family."""

import numbers

import keras
import numpy as np

SPLITS = ("train", "validation", "generalization")
_SPLIT_INDEX = {split: index for index, split in enumerate(SPLITS)}
OUTPUT_TYPES = ("bits", "categorical")


def check_split(split):
    """Returns the index of `split`, raising `ValueError` if it is unknown."""
    if not isinstance(split, str) or split not in _SPLIT_INDEX:
        raise ValueError(
            f"`split` must be one of {SPLITS}, received split={split!r}"
        )
    return _SPLIT_INDEX[split]


def check_int(name, value, min_value=None):
    """Validates an integer argument and returns it as a Python `int`.

    Args:
        name: Argument name, used in the error message.
        value: The value received.
        min_value: Optional inclusive lower bound.

    Raises:
        ValueError: If `value` is not an integer or is below `min_value`.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"`{name}` must be an integer, received {name}={value!r}"
        )
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(
            f"`{name}` must be >= {min_value}, received {name}={value}"
        )
    return value


def check_range(min_name, min_value, max_name, max_value):
    """Raises `ValueError` unless `min_value <= max_value`."""
    if max_value < min_value:
        raise ValueError(
            f"`{max_name}` must be >= `{min_name}`, received "
            f"{min_name}={min_value}, {max_name}={max_value}"
        )


def check_size_ranges(quantity, min_value, max_value, generalization_min,
                      generalization_max, lowest=1):
    """Validates a training size range and the generalization range after it.

    The arguments are named `min_<quantity>`, `max_<quantity>`,
    `generalization_min_<quantity>` and `generalization_max_<quantity>` in
    error messages. A generalization bound of `None` defaults to
    `max_value + 1` (minimum) or `2 * max_value` (maximum): the usual
    "longer than anything seen in training, up to twice as long" split.

    Returns:
        The four values as Python ints: `(min, max, generalization_min,
        generalization_max)`.

    Raises:
        ValueError: If a value is not an integer, is below `lowest`, or a
            range has its maximum below its minimum.
    """
    names = [f"min_{quantity}", f"max_{quantity}"]
    low = check_int(names[0], min_value, lowest)
    high = check_int(names[1], max_value, lowest)
    check_range(names[0], low, names[1], high)
    if generalization_min is None:
        generalization_min = high + 1
    if generalization_max is None:
        generalization_max = 2 * high
    gen_names = [f"generalization_{name}" for name in names]
    gen_low = check_int(gen_names[0], generalization_min, lowest)
    gen_high = check_int(gen_names[1], generalization_max, lowest)
    check_range(gen_names[0], gen_low, gen_names[1], gen_high)
    return low, high, gen_low, gen_high


class AlgorithmicTask:
    """Abstract base class of the synthetic algorithmic tasks.

    A task generates batches of `(inputs, targets, sample_weight)` numpy
    arrays for supervised training of a sequence model that emits one output
    vector per input step (a `keras.layers.RNN(cell, return_sequences=True)`
    followed by a per-step `Dense` layer producing logits).

    * `inputs` has shape `(batch_size, T, input_size)`, dtype `float32`.
    * `targets` has shape `(batch_size, T, output_size)`, dtype `float32`
      when `output_type == "bits"`, or shape `(batch_size, T)`, dtype
      `int32` (class labels) when `output_type == "categorical"`.
    * `sample_weight` has shape `(batch_size, T)`, dtype `float32`; it is
      exactly `1.0` on the steps where the loss is taken (the answer steps)
      and `0.0` everywhere else, including the right padding.

    Each sequence of a batch has its own random size; every batch of a split
    is right-padded with zeros to the static length `max_steps(split)` so that
    an XLA-compiled model compiles once per split.

    There are three splits: `"train"` and `"validation"` draw from the
    training distribution (from independent random streams, see `dataset()`),
    `"generalization"` draws from the longer/larger test distribution used to
    measure extrapolation.

    Subclasses set the class attribute `name` and the instance attributes
    `input_size`, `output_size` and `output_type`, and implement
    `max_steps()`, `generate()` and `get_config()`.
    """

    name = None
    splits = SPLITS
    output_type = "bits"

    def max_steps(self, split="train"):
        """Static number of steps every batch of `split` is padded to."""
        raise NotImplementedError

    def generate(self, rng, batch_size, split="train"):
        """Generates one batch.

        Args:
            rng: A `numpy.random.Generator`.
            batch_size: Number of sequences.
            split: One of `"train"`, `"validation"`, `"generalization"`.

        Returns:
            A tuple `(inputs, targets, sample_weight)` of numpy arrays, see
            the class docstring.
        """
        raise NotImplementedError

    def dataset(
        self,
        batch_size=32,
        num_batches=1000,
        split="train",
        seed=0,
        generate_kwargs=None,
        **kwargs,
    ):
        """Returns a deterministic `TaskDataset` of `num_batches` batches.

        Args:
            batch_size: Sequences per batch.
            num_batches: Number of batches (the length of an epoch).
            split: One of `"train"`, `"validation"`, `"generalization"`.
            seed: Integer seed. Batch `i` of a split depends only on
                `(seed, split, i)`.
            generate_kwargs: Optional dict of extra keyword arguments for
                `generate()`, e.g. `{"length": 40}` for `CopyTask`.
            **kwargs: Passed to `keras.utils.PyDataset` (`workers`,
                `use_multiprocessing`, `max_queue_size`).

        Returns:
            A `TaskDataset`.
        """
        return TaskDataset(
            self,
            batch_size=batch_size,
            num_batches=num_batches,
            split=split,
            seed=seed,
            generate_kwargs=generate_kwargs,
            **kwargs,
        )

    def loss(self, reduction="mean_with_sample_weight"):
        """Returns a fresh Keras loss for this task.

        Binary cross-entropy on logits for `"bits"` tasks, sparse categorical
        cross-entropy on logits for `"categorical"` tasks. With the default
        reduction, the loss is the mean over answer steps (and over bits),
        independent of the padding. If the installed Keras does not know
        `"mean_with_sample_weight"`, `"sum_over_batch_size"` is used instead.

        Args:
            reduction: Keras loss reduction.
        """
        if self.output_type == "bits":
            loss_class = keras.losses.BinaryCrossentropy
        else:
            loss_class = keras.losses.SparseCategoricalCrossentropy
        try:
            return loss_class(from_logits=True, reduction=reduction)
        except ValueError:
            if reduction != "mean_with_sample_weight":
                raise
            return loss_class(from_logits=True)

    def metrics(self):
        """Returns a list of fresh `keras_memory.metrics` instances.

        For `"bits"` tasks: `BitErrorsPerSequence`, `BitAccuracy`,
        `SymbolAccuracy` and `SequenceAccuracy`, all on logits. For
        `"categorical"` tasks: `SymbolAccuracy`, `SequenceAccuracy` and
        `BitErrorsPerSequence` (named `symbol_errors_per_sequence`).

        Pass them to `model.compile` as `weighted_metrics=` (not `metrics=`):
        Keras gives the per-step `sample_weight` mask only to weighted
        metrics. `compile_kwargs()` does this for you.
        """
        from keras_memory import metrics as km

        if self.output_type == "bits":
            return [
                km.BitErrorsPerSequence(from_logits=True),
                km.BitAccuracy(from_logits=True),
                km.SymbolAccuracy(from_logits=True),
                km.SequenceAccuracy(from_logits=True),
            ]
        return [
            km.SymbolAccuracy(from_logits=True, output_type="categorical"),
            km.SequenceAccuracy(from_logits=True, output_type="categorical"),
            km.BitErrorsPerSequence(
                from_logits=True,
                output_type="categorical",
                name="symbol_errors_per_sequence",
            ),
        ]

    def compile_kwargs(self):
        """Returns `{"loss": self.loss(), "weighted_metrics": self.metrics()}`.

        Example:

        ```python
        model.compile(optimizer="rmsprop", **task.compile_kwargs())
        model.fit(task.dataset(batch_size=32, num_batches=1000), epochs=10)
        ```
        """
        return {"loss": self.loss(), "weighted_metrics": self.metrics()}

    def get_config(self):
        """Returns the constructor arguments as a dict."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        """Creates a task from the output of `get_config()`."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and (
            self.get_config() == other.get_config()
        )

    def __hash__(self):
        return hash((type(self), tuple(sorted(self.get_config().items()))))

    # Helpers for subclasses.

    def _empty_batch(self, batch_size, num_steps):
        batch_size = check_int("batch_size", batch_size, 1)
        inputs = np.zeros((batch_size, num_steps, self.input_size), np.float32)
        if self.output_type == "bits":
            targets = np.zeros(
                (batch_size, num_steps, self.output_size), np.float32
            )
        else:
            targets = np.zeros((batch_size, num_steps), np.int32)
        sample_weight = np.zeros((batch_size, num_steps), np.float32)
        return inputs, targets, sample_weight


#: How far `shape_partner` looks for a batch of another shape.
SHAPE_SEARCH_LIMIT = 64


def _shapes(batch):
    return tuple(np.shape(part) for part in keras.tree.flatten(batch))


def shape_partner(get_batch, num_batches, limit=SHAPE_SEARCH_LIMIT):
    """The batch to swap with batch 1 so that batches 0 and 1 differ in shape.

    Keras infers the tensor shapes of a `PyDataset` from its first two
    batches; an axis whose length is the same in both is fixed, and a later
    batch with another length stops `fit` with "`generator` yielded an
    element of shape ..." (keras-team/keras#19748). Variable-length tasks
    therefore swap batch 1 with the first later batch of another shape when
    batches 0 and 1 happen to have the same shape. Otherwise (or when every
    batch up to `limit` has the same shape) nothing is swapped.

    Args:
        get_batch: `get_batch(i)` returns batch `i` (before any swap).
        num_batches: Number of batches.
        limit: Batches searched after batch 1.

    Returns:
        The index to swap with 1, or `None`.
    """
    if num_batches < 3:
        return None
    first = _shapes(get_batch(0))
    if _shapes(get_batch(1)) != first:
        return None
    for index in range(2, min(num_batches, 2 + limit)):
        if _shapes(get_batch(index)) != first:
            return index
    return None


def swap_index(index, partner):
    """`index` with 1 and `partner` exchanged (see `shape_partner`)."""
    if partner is None:
        return index
    if index == 1:
        return partner
    if index == partner:
        return 1
    return index


class TaskDataset(keras.utils.PyDataset):
    """A deterministic `keras.utils.PyDataset` over an `AlgorithmicTask`.

    Batch `i` is generated with
    `np.random.default_rng([seed, split_index, i])`, where `split_index` is
    0, 1, 2 for `"train"`, `"validation"`, `"generalization"`. Hence batch `i`
    is the same whichever worker or epoch asks for it and in whatever order,
    and the splits use independent random streams for the same seed. One
    exception: when batches 0 and 1 have the same shape and a later batch
    has another, batch 1 and the first such batch trade places, because
    Keras fixes every axis that has one length in the first two batches
    (see `shape_partner`). Every
    epoch therefore sees the same `num_batches` batches; use a large
    `num_batches` (or a different seed per run) for training.

    Args:
        task: An `AlgorithmicTask`.
        batch_size: Sequences per batch.
        num_batches: Number of batches, returned by `len()`.
        split: One of `"train"`, `"validation"`, `"generalization"`.
        seed: Non-negative integer seed.
        generate_kwargs: Optional dict of extra arguments for
            `task.generate()`.
        **kwargs: Passed to `keras.utils.PyDataset` (`workers`,
            `use_multiprocessing`, `max_queue_size`).

    Example:

    >>> task = CopyTask()
    >>> data = task.dataset(batch_size=16, num_batches=100, seed=1)
    >>> x, y, w = data[0]
    >>> x.shape, y.shape, w.shape
    ((16, 41, 9), (16, 41, 8), (16, 41))
    """

    def __init__(
        self,
        task,
        batch_size=32,
        num_batches=1000,
        split="train",
        seed=0,
        generate_kwargs=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(task, AlgorithmicTask):
            raise ValueError(
                "`task` must be an `AlgorithmicTask`, received "
                f"task={task!r}"
            )
        self.task = task
        self.batch_size = check_int("batch_size", batch_size, 1)
        self._num_batches = check_int("num_batches", num_batches, 1)
        self.split = split
        self.split_index = check_split(split)
        self.seed = check_int("seed", seed, 0)
        self.generate_kwargs = dict(generate_kwargs or {})
        self._partner = False  # Found on first use (see `shape_partner`).

    def __len__(self):
        return self._num_batches

    @property
    def num_batches(self):
        return self._num_batches

    def __getitem__(self, index):
        index = int(index)
        if index < 0:
            index += self._num_batches
        if not 0 <= index < self._num_batches:
            raise IndexError(
                f"Batch index {index} out of range for a dataset of "
                f"{self._num_batches} batches"
            )
        if self._partner is False:
            self._partner = shape_partner(self._generate, self._num_batches)
        return self._generate(swap_index(index, self._partner))

    def _generate(self, index):
        rng = np.random.default_rng([self.seed, self.split_index, index])
        return self.task.generate(
            rng, self.batch_size, split=self.split, **self.generate_kwargs
        )

    @property
    def num_steps(self):
        """Padded number of steps of the batches (without overrides)."""
        return self.task.max_steps(self.split)
