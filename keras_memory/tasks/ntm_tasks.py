"""The algorithmic tasks of the Neural Turing Machine paper.

Reference:
    - [Graves et al., 2014. Neural Turing Machines](
      https://arxiv.org/abs/1410.5401), section 4.
    - [Collier & Beel, 2018. Implementing Neural Turing Machines](
      https://arxiv.org/abs/1807.08518).
"""

import math

import numpy as np

from keras_memory.tasks.base import AlgorithmicTask
from keras_memory.tasks.base import check_int
from keras_memory.tasks.base import check_range
from keras_memory.tasks.base import check_size_ranges
from keras_memory.tasks.base import check_split


def _sizes(rng, batch_size, low, high, fixed, name):
    """Per-sequence sizes: `fixed` for all, or uniform in `[low, high]`."""
    if fixed is not None:
        fixed = check_int(name, fixed, 1)
        return np.full((batch_size,), fixed, dtype=np.int64)
    return rng.integers(low, high + 1, size=(batch_size,))


def _gather_steps(data, index, mask):
    """Returns `data[b, index[b, t]]` where `mask[b, t]`, zero elsewhere.

    Args:
        data: `(B, L, C)` array.
        index: `(B, T)` integer array (clipped to `[0, L - 1]`).
        mask: `(B, T)` boolean array.

    Returns:
        A `(B, T, C)` float32 array.
    """
    index = np.clip(index, 0, data.shape[1] - 1)
    out = np.take_along_axis(data, index[..., None], axis=1)
    return (out * mask[..., None]).astype(np.float32)


def _random_bits(rng, shape):
    return rng.integers(0, 2, size=shape).astype(np.float32)


class CopyTask(AlgorithmicTask):
    """The copy task (Graves et al., 2014, section 4.1).

    The network sees a sequence of random binary vectors followed by a
    delimiter flag, then must reproduce the whole sequence from memory while
    it receives no input.

    Encoding, for a sequence of length `L` (steps `t = 0 .. 2L`):

    * input width `num_bits + 1`: channels `0 .. num_bits - 1` carry the
      data bits, channel `num_bits` is the delimiter flag;
    * steps `0 .. L-1`: the data vectors (delimiter channel 0);
    * step `L`: the delimiter, `inputs[L, num_bits] = 1`, data channels 0;
    * steps `L+1 .. 2L`: zero input; target `targets[L+1+i] = inputs[i, :num_bits]`
      and `sample_weight = 1` (the only steps with weight 1);
    * steps after `2L`: zero padding, weight 0.

    `output_size = num_bits`, `output_type = "bits"`. Lengths are uniform in
    `[min_length, max_length]` for `"train"` and `"validation"` and in
    `[generalization_min_length, generalization_max_length]` for
    `"generalization"`; batches are padded to `2 * max + 1` steps.

    Args:
        num_bits: Bits per vector. Defaults to 8.
        min_length: Minimum training sequence length. Defaults to 1.
        max_length: Maximum training sequence length. Defaults to 20.
        generalization_min_length: Minimum generalization length; `None`
            means `max_length + 1`.
        generalization_max_length: Maximum generalization length; `None`
            means `2 * max_length`.

    Example:

    >>> task = CopyTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), batch_size=4)
    >>> x.shape, y.shape, w.shape
    ((4, 41, 9), (4, 41, 8), (4, 41))
    >>> x40, y40, w40 = task.generate(
    ...     np.random.default_rng(0), 4, split="generalization", length=40)
    >>> w40.sum(axis=1)
    array([40., 40., 40., 40.], dtype=float32)

    Reference:
        - [Graves et al., 2014](https://arxiv.org/abs/1410.5401), section 4.1.
    """

    name = "copy"

    def __init__(
        self,
        num_bits=8,
        min_length=1,
        max_length=20,
        generalization_min_length=None,
        generalization_max_length=None,
    ):
        self.num_bits = check_int("num_bits", num_bits, 1)
        (
            self.min_length,
            self.max_length,
            self.generalization_min_length,
            self.generalization_max_length,
        ) = check_size_ranges("length", min_length, max_length,
                              generalization_min_length, generalization_max_length)
        self.input_size = self.num_bits + 1
        self.output_size = self.num_bits
        self.output_type = "bits"

    def length_range(self, split="train"):
        """`(min_length, max_length)` of `split`."""
        if check_split(split) == 2:
            return self.generalization_min_length, self.generalization_max_length
        return self.min_length, self.max_length

    def max_steps(self, split="train"):
        return 2 * self.length_range(split)[1] + 1

    def generate(self, rng, batch_size, split="train", length=None):
        """Generates a batch; `length` fixes every sequence's length.

        Args:
            rng: A `numpy.random.Generator`.
            batch_size: Number of sequences.
            split: One of `"train"`, `"validation"`, `"generalization"`.
            length: Optional length of every sequence. The batch is padded
                to `max(max_steps(split), 2 * length + 1)` steps.

        Returns:
            `(inputs, targets, sample_weight)`, see the class docstring.
        """
        low, high = self.length_range(split)
        batch_size = check_int("batch_size", batch_size, 1)
        lengths = _sizes(rng, batch_size, low, high, length, "length")
        num_steps = max(self.max_steps(split), 2 * int(lengths.max()) + 1)
        inputs, targets, sample_weight = self._empty_batch(batch_size, num_steps)

        data = _random_bits(rng, (batch_size, int(lengths.max()), self.num_bits))
        t = np.arange(num_steps)[None, :]
        L = lengths[:, None]
        inputs[..., : self.num_bits] = _gather_steps(data, t, t < L)
        inputs[..., self.num_bits] = t == L
        answer = (t > L) & (t <= 2 * L)
        targets[...] = _gather_steps(data, t - L - 1, answer)
        sample_weight[...] = answer
        return inputs, targets, sample_weight

    def get_config(self):
        return {
            "num_bits": self.num_bits,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "generalization_min_length": self.generalization_min_length,
            "generalization_max_length": self.generalization_max_length,
        }


class RepeatCopyTask(AlgorithmicTask):
    """The repeat copy task (Graves et al., 2014, section 4.2).

    The network sees a sequence of random binary vectors followed by a scalar
    repeat count `R`, then must output the sequence `R` times and then an end
    marker, while it receives no input.

    Encoding, for a sequence of length `L` repeated `R` times (steps
    `t = 0 .. L + L*R + 1`):

    * input width `num_bits + 1`: channels `0 .. num_bits - 1` carry the
      data bits, channel `num_bits` carries the normalised repeat count;
    * steps `0 .. L-1`: the data vectors (repeat channel 0);
    * step `L`: `inputs[L, num_bits] = (R - mean) / std`, data channels 0,
      where `mean` and `std` are those of the *training* distribution
      `U{min_repeats .. max_repeats}`:
      `mean = (min_repeats + max_repeats) / 2` and
      `std = sqrt(((max_repeats - min_repeats + 1)**2 - 1) / 12)`
      (`std = 1` if `min_repeats == max_repeats`), so that generalization
      repeat counts extrapolate beyond the training values;
    * steps `L+1 .. L+L*R`: zero input; target
      `targets[L+1+j, :num_bits] = inputs[j % L, :num_bits]`, end channel 0;
    * step `L+L*R+1`: zero input; target end marker
      `targets[., num_bits] = 1`, data channels 0;
    * `sample_weight = 1` exactly on steps `L+1 .. L+L*R+1` (the answer and
      the end marker), 0 elsewhere including padding.

    `output_size = num_bits + 1`, `output_type = "bits"`. Batches of a split
    are padded to `max_L * max_R + max_L + 2` steps (112 for the training
    defaults, 422 for the generalization defaults).

    Args:
        num_bits: Bits per vector. Defaults to 8.
        min_length: Minimum training sequence length. Defaults to 1.
        max_length: Maximum training sequence length. Defaults to 10.
        min_repeats: Minimum training repeat count. Defaults to 1.
        max_repeats: Maximum training repeat count. Defaults to 10.
        generalization_min_length: `None` means `max_length + 1`.
        generalization_max_length: `None` means `2 * max_length`.
        generalization_min_repeats: `None` means `max_repeats + 1`.
        generalization_max_repeats: `None` means `2 * max_repeats`.

    Example:

    >>> task = RepeatCopyTask()
    >>> x, y, w = task.generate(
    ...     np.random.default_rng(0), 2, length=3, repeats=4)
    >>> x.shape, y.shape, w.sum(axis=1)
    ((2, 112, 9), (2, 112, 9), array([13., 13.], dtype=float32))

    Reference:
        - [Graves et al., 2014](https://arxiv.org/abs/1410.5401), section 4.2.
    """

    name = "repeat_copy"

    def __init__(
        self,
        num_bits=8,
        min_length=1,
        max_length=10,
        min_repeats=1,
        max_repeats=10,
        generalization_min_length=None,
        generalization_max_length=None,
        generalization_min_repeats=None,
        generalization_max_repeats=None,
    ):
        self.num_bits = check_int("num_bits", num_bits, 1)
        (
            self.min_length,
            self.max_length,
            self.generalization_min_length,
            self.generalization_max_length,
        ) = check_size_ranges("length", min_length, max_length,
                              generalization_min_length, generalization_max_length)
        (
            self.min_repeats,
            self.max_repeats,
            self.generalization_min_repeats,
            self.generalization_max_repeats,
        ) = check_size_ranges("repeats", min_repeats, max_repeats,
                              generalization_min_repeats, generalization_max_repeats)
        self.repeat_mean = 0.5 * (self.min_repeats + self.max_repeats)
        span = self.max_repeats - self.min_repeats + 1
        self.repeat_std = math.sqrt((span**2 - 1) / 12.0) if span > 1 else 1.0
        self.input_size = self.num_bits + 1
        self.output_size = self.num_bits + 1
        self.output_type = "bits"

    def normalize_repeats(self, repeats):
        """Maps a repeat count to the value on the repeat input channel."""
        return (np.asarray(repeats, np.float64) - self.repeat_mean) / (
            self.repeat_std
        )

    def length_range(self, split="train"):
        """`(min_length, max_length)` of `split`."""
        if check_split(split) == 2:
            return self.generalization_min_length, self.generalization_max_length
        return self.min_length, self.max_length

    def repeats_range(self, split="train"):
        """`(min_repeats, max_repeats)` of `split`."""
        if check_split(split) == 2:
            return (
                self.generalization_min_repeats,
                self.generalization_max_repeats,
            )
        return self.min_repeats, self.max_repeats

    @staticmethod
    def num_steps_for(length, repeats):
        """Unpadded steps of one sequence: `L + 1 + L * R + 1`."""
        return length + length * repeats + 2

    def max_steps(self, split="train"):
        return self.num_steps_for(
            self.length_range(split)[1], self.repeats_range(split)[1]
        )

    def generate(self, rng, batch_size, split="train", length=None, repeats=None):
        """Generates a batch; `length` / `repeats` fix them for every sequence.

        Args:
            rng: A `numpy.random.Generator`.
            batch_size: Number of sequences.
            split: One of `"train"`, `"validation"`, `"generalization"`.
            length: Optional sequence length for every sequence.
            repeats: Optional repeat count for every sequence.

        Returns:
            `(inputs, targets, sample_weight)`, padded to
            `max(max_steps(split), L * R + L + 2)` steps.
        """
        batch_size = check_int("batch_size", batch_size, 1)
        lengths = _sizes(rng, batch_size, *self.length_range(split), length, "length")
        reps = _sizes(rng, batch_size, *self.repeats_range(split), repeats, "repeats")
        num_steps = max(
            self.max_steps(split), int(self.num_steps_for(lengths, reps).max())
        )
        inputs, targets, sample_weight = self._empty_batch(batch_size, num_steps)

        data = _random_bits(rng, (batch_size, int(lengths.max()), self.num_bits))
        t = np.arange(num_steps)[None, :]
        L = lengths[:, None]
        end = L + L * reps[:, None] + 1  # step of the end marker
        inputs[..., : self.num_bits] = _gather_steps(data, t, t < L)
        inputs[..., self.num_bits] = (t == L) * self.normalize_repeats(reps)[:, None]
        copies = (t > L) & (t < end)
        targets[..., : self.num_bits] = _gather_steps(data, (t - L - 1) % L, copies)
        targets[..., self.num_bits] = t == end
        sample_weight[...] = (t > L) & (t <= end)
        return inputs, targets, sample_weight

    def get_config(self):
        return {
            "num_bits": self.num_bits,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "min_repeats": self.min_repeats,
            "max_repeats": self.max_repeats,
            "generalization_min_length": self.generalization_min_length,
            "generalization_max_length": self.generalization_max_length,
            "generalization_min_repeats": self.generalization_min_repeats,
            "generalization_max_repeats": self.generalization_max_repeats,
        }


class AssociativeRecallTask(AlgorithmicTask):
    """The associative recall task (Graves et al., 2014, section 4.3).

    An episode is a list of `n` items, each `item_length` consecutive random
    binary vectors. After the list, the network is shown one of the items
    (the query) and must output the item that followed it in the list.

    Encoding, for `n` items of `k = item_length` steps (steps
    `t = 0 .. n*(k+1) + 2k + 1`):

    * input width `num_bits + 2`: channels `0 .. num_bits - 1` carry data
      bits, channel `num_bits` is the item delimiter, channel `num_bits + 1`
      is the query delimiter;
    * for item `i = 0 .. n-1`: step `i*(k+1)` is an item delimiter
      (channel `num_bits` = 1, data 0), steps `i*(k+1)+1 .. i*(k+1)+k` carry
      the item's vectors;
    * step `q = n*(k+1)`: query delimiter (channel `num_bits + 1` = 1);
    * steps `q+1 .. q+k`: the query, a copy of item `j`, with `j` uniform
      in `0 .. n-2`;
    * step `q+k+1`: query delimiter again;
    * steps `q+k+2 .. q+2k+1`: zero input; target is item `j + 1`, and
      `sample_weight = 1` exactly on these `k` steps.

    The items of an episode are distinct (duplicates are re-drawn), so the
    answer is unambiguous; this requires `2 ** (num_bits * item_length)` to
    be at least the largest number of items.

    `output_size = num_bits`, `output_type = "bits"`. Batches are padded to
    `max_items * (k + 1) + 2k + 2` steps (32 for the training defaults, 56
    for the generalization defaults).

    Args:
        num_bits: Bits per vector. Defaults to 6.
        item_length: Vectors per item. Defaults to 3.
        min_items: Minimum training items per episode (>= 2). Defaults to 2.
        max_items: Maximum training items per episode. Defaults to 6.
        generalization_min_items: `None` means `max_items + 1`.
        generalization_max_items: `None` means `2 * max_items`.

    Example:

    >>> task = AssociativeRecallTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 2, num_items=4)
    >>> x.shape, y.shape, w.sum(axis=1)
    ((2, 32, 8), (2, 32, 6), array([3., 3.], dtype=float32))

    Reference:
        - [Graves et al., 2014](https://arxiv.org/abs/1410.5401), section 4.3.
    """

    name = "associative_recall"

    def __init__(
        self,
        num_bits=6,
        item_length=3,
        min_items=2,
        max_items=6,
        generalization_min_items=None,
        generalization_max_items=None,
    ):
        self.num_bits = check_int("num_bits", num_bits, 1)
        self.item_length = check_int("item_length", item_length, 1)
        (
            self.min_items,
            self.max_items,
            self.generalization_min_items,
            self.generalization_max_items,
        ) = check_size_ranges("items", min_items, max_items,
                              generalization_min_items, generalization_max_items,
                              lowest=2)
        self._check_distinct_possible(
            max(self.max_items, self.generalization_max_items),
            "max_items/generalization_max_items",
        )
        self.input_size = self.num_bits + 2
        self.output_size = self.num_bits
        self.output_type = "bits"

    def _check_distinct_possible(self, num_items, name):
        bits = self.num_bits * self.item_length
        if bits < 64 and 2**bits < num_items:
            raise ValueError(
                f"`{name}` must be <= 2 ** (num_bits * item_length) = "
                f"{2**bits} so that items can be distinct, received "
                f"{name}={num_items}, num_bits={self.num_bits}, "
                f"item_length={self.item_length}"
            )

    def items_range(self, split="train"):
        """`(min_items, max_items)` of `split`."""
        if check_split(split) == 2:
            return self.generalization_min_items, self.generalization_max_items
        return self.min_items, self.max_items

    def num_steps_for(self, num_items):
        """Unpadded steps of an episode with `num_items` items."""
        k = self.item_length
        return num_items * (k + 1) + 2 * k + 2

    def max_steps(self, split="train"):
        return self.num_steps_for(self.items_range(split)[1])

    def _distinct_items(self, rng, num_items):
        shape = (num_items, self.item_length * self.num_bits)
        items = rng.integers(0, 2, size=shape)
        while True:
            _, first = np.unique(items, axis=0, return_index=True)
            if len(first) == num_items:
                return items.reshape(num_items, self.item_length, self.num_bits)
            duplicate = np.ones(num_items, bool)
            duplicate[first] = False
            items[duplicate] = rng.integers(
                0, 2, size=(int(duplicate.sum()), shape[1])
            )

    def generate(self, rng, batch_size, split="train", num_items=None):
        """Generates a batch; `num_items` fixes the items per episode.

        Args:
            rng: A `numpy.random.Generator`.
            batch_size: Number of episodes.
            split: One of `"train"`, `"validation"`, `"generalization"`.
            num_items: Optional number of items of every episode (>= 2).

        Returns:
            `(inputs, targets, sample_weight)`, padded to
            `max(max_steps(split), num_steps_for(num_items))` steps.
        """
        batch_size = check_int("batch_size", batch_size, 1)
        if num_items is not None:
            num_items = check_int("num_items", num_items, 2)
            self._check_distinct_possible(num_items, "num_items")
        counts = _sizes(
            rng, batch_size, *self.items_range(split), num_items, "num_items"
        )
        num_steps = max(self.max_steps(split), self.num_steps_for(int(counts.max())))
        inputs, targets, sample_weight = self._empty_batch(batch_size, num_steps)
        k, bits = self.item_length, self.num_bits
        for b, n in enumerate(counts):
            n = int(n)
            items = self._distinct_items(rng, n)
            for i in range(n):
                start = i * (k + 1)
                inputs[b, start, bits] = 1.0
                inputs[b, start + 1 : start + 1 + k, :bits] = items[i]
            query = int(rng.integers(0, n - 1))
            q = n * (k + 1)
            inputs[b, q, bits + 1] = 1.0
            inputs[b, q + 1 : q + 1 + k, :bits] = items[query]
            inputs[b, q + k + 1, bits + 1] = 1.0
            targets[b, q + k + 2 : q + 2 * k + 2] = items[query + 1]
            sample_weight[b, q + k + 2 : q + 2 * k + 2] = 1.0
        return inputs, targets, sample_weight

    def get_config(self):
        return {
            "num_bits": self.num_bits,
            "item_length": self.item_length,
            "min_items": self.min_items,
            "max_items": self.max_items,
            "generalization_min_items": self.generalization_min_items,
            "generalization_max_items": self.generalization_max_items,
        }


class DynamicNGramsTask(AlgorithmicTask):
    """The dynamic N-grams task (Graves et al., 2014, section 4.4).

    Each sequence is drawn from its own random N-gram model (N =
    `context_length + 1`): a table of `2 ** context_length` probabilities
    `P(next bit = 1 | previous context_length bits)`, each drawn iid from
    `Beta(concentration, concentration)` (`Beta(1/2, 1/2)` in the paper).
    The first `context_length` bits are `Bernoulli(0.5)`, the rest are
    sampled from the table. The network must predict each next bit online,
    i.e. infer the table from what it has seen so far.

    Encoding, for a sequence of `N = sequence_length` bits `s_0 .. s_{N-1}`
    (steps `t = 0 .. N-2`):

    * input width 1: `inputs[t, 0] = s_t`;
    * output width 1: `targets[t, 0] = s_{t+1}`;
    * `sample_weight[t] = 1` for `t = context_length-1 .. N-2`, i.e. the
      loss is taken on the predictions of `s_context_length .. s_{N-1}`
      (195 bits for the defaults), the bits that follow a full context;
      0 on the first `context_length - 1` steps and on padding.

    `output_size = 1`, `output_type = "bits"`; batches are padded to
    `sequence_length - 1` steps (`generalization_sequence_length - 1` for the
    `"generalization"` split). Predicting 0.5 everywhere costs 195 bits per
    sequence; `optimal_cost()` gives the Bayes-optimal cost (about 131 bits
    for the defaults, as in the paper).

    Args:
        context_length: Bits of context of the N-gram model. Defaults to 5.
        sequence_length: Training sequence length in bits. Defaults to 200.
        generalization_sequence_length: Sequence length for the
            `"generalization"` split. Defaults to 400.
        concentration: Parameter `a` of the `Beta(a, a)` prior. Defaults to
            0.5.

    Example:

    >>> task = DynamicNGramsTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 8)
    >>> x.shape, y.shape, float(w.sum(axis=1)[0])
    ((8, 199, 1), (8, 199, 1), 195.0)
    >>> task.optimal_cost(x, y, w).shape
    (8,)

    Reference:
        - [Graves et al., 2014](https://arxiv.org/abs/1410.5401), section 4.4.
    """

    name = "dynamic_ngrams"

    def __init__(
        self,
        context_length=5,
        sequence_length=200,
        generalization_sequence_length=400,
        concentration=0.5,
    ):
        self.context_length = check_int("context_length", context_length, 1)
        self.sequence_length = check_int(
            "sequence_length", sequence_length, self.context_length + 1
        )
        self.generalization_sequence_length = check_int(
            "generalization_sequence_length",
            generalization_sequence_length,
            self.context_length + 1,
        )
        try:
            concentration = float(concentration)
        except (TypeError, ValueError):
            concentration = float("nan")
        if not concentration > 0 or not math.isfinite(concentration):
            raise ValueError(
                "`concentration` must be a finite number > 0, received "
                f"concentration={concentration!r}"
            )
        self.concentration = concentration
        self.input_size = 1
        self.output_size = 1
        self.output_type = "bits"

    def sequence_length_for(self, split="train"):
        """Sequence length in bits of `split`."""
        if check_split(split) == 2:
            return self.generalization_sequence_length
        return self.sequence_length

    def max_steps(self, split="train"):
        return self.sequence_length_for(split) - 1

    def generate(self, rng, batch_size, split="train", length=None):
        """Generates a batch; `length` overrides the sequence length in bits.

        Args:
            rng: A `numpy.random.Generator`.
            batch_size: Number of sequences.
            split: One of `"train"`, `"validation"`, `"generalization"`.
            length: Optional sequence length in bits (> context_length).

        Returns:
            `(inputs, targets, sample_weight)`, padded to
            `max(max_steps(split), length - 1)` steps.
        """
        batch_size = check_int("batch_size", batch_size, 1)
        n = self.sequence_length_for(split)
        if length is not None:
            n = check_int("length", length, self.context_length + 1)
        num_steps = max(self.max_steps(split), n - 1)
        inputs, targets, sample_weight = self._empty_batch(batch_size, num_steps)

        c = self.context_length
        a = self.concentration
        table = rng.beta(a, a, size=(batch_size, 2**c))
        bits = np.zeros((batch_size, n), np.int64)
        bits[:, :c] = rng.integers(0, 2, size=(batch_size, c))
        context = np.zeros((batch_size,), np.int64)
        for i in range(c):
            context = (context << 1) | bits[:, i]
        rows = np.arange(batch_size)
        mask = 2**c - 1
        uniforms = rng.random((batch_size, n))
        for i in range(c, n):
            bit = (uniforms[:, i] < table[rows, context]).astype(np.int64)
            bits[:, i] = bit
            context = ((context << 1) | bit) & mask
        inputs[:, : n - 1, 0] = bits[:, :-1]
        targets[:, : n - 1, 0] = bits[:, 1:]
        sample_weight[:, c - 1 : n - 1] = 1.0
        return inputs, targets, sample_weight

    def optimal_cost(self, inputs, targets, sample_weight):
        """Bayes-optimal prediction cost in bits per sequence.

        The optimal predictor of the next bit given the current context `c`
        (the last `context_length` bits) is
        `P(1 | N1, N0, c) = (N1 + a) / (N1 + N0 + 2a)` where `N1`, `N0` are
        the numbers of ones and zeros that followed `c` so far in this
        sequence and `a = concentration` (`(N1 + 1/2) / (N1 + N0 + 1)` in the
        paper). The cost is `sum(-log2 P(true bit))` over the steps with
        `sample_weight > 0`.

        Args:
            inputs: `(B, T, 1)` inputs of a batch from `generate()`.
            targets: `(B, T, 1)` targets of the same batch.
            sample_weight: `(B, T)` weights of the same batch.

        Returns:
            A `(B,)` float64 numpy array, bits per sequence.
        """
        x = np.asarray(inputs)[..., 0] > 0.5
        y = (np.asarray(targets)[..., 0] > 0.5).astype(np.int64)
        w = np.asarray(sample_weight) > 0
        batch_size, num_steps = x.shape
        c = self.context_length
        a = self.concentration
        counts = np.zeros((batch_size, 2**c, 2))
        rows = np.arange(batch_size)
        context = np.zeros((batch_size,), np.int64)
        mask = 2**c - 1
        cost = np.zeros((batch_size,))
        for t in range(num_steps):
            context = ((context << 1) | x[:, t]) & mask
            if t < c - 1:
                continue
            n0 = counts[rows, context, 0]
            n1 = counts[rows, context, 1]
            p1 = (n1 + a) / (n0 + n1 + 2 * a)
            p = np.where(y[:, t] == 1, p1, 1.0 - p1)
            cost += np.where(w[:, t], -np.log2(p), 0.0)
            counts[rows, context, y[:, t]] += 1.0
        return cost

    def get_config(self):
        return {
            "context_length": self.context_length,
            "sequence_length": self.sequence_length,
            "generalization_sequence_length": self.generalization_sequence_length,
            "concentration": self.concentration,
        }


class PrioritySortTask(AlgorithmicTask):
    """The priority sort task (Graves et al., 2014, section 4.5).

    The network sees `num_inputs` random binary vectors, each with a scalar
    priority drawn uniformly from `[-1, 1]`, then a delimiter, and must
    output the `num_outputs` highest-priority vectors sorted by decreasing
    priority, while it receives no input.

    Encoding (steps `t = 0 .. num_inputs + num_outputs`):

    * input width `num_bits + 2`: channels `0 .. num_bits - 1` carry data
      bits, channel `num_bits` the priority, channel `num_bits + 1` the
      delimiter flag;
    * steps `0 .. num_inputs-1`: vector `i` and its priority;
    * step `num_inputs`: the delimiter (channel `num_bits + 1` = 1);
    * steps `num_inputs+1 .. num_inputs+num_outputs`: zero input; target
      step `num_inputs + 1 + r` is the vector of rank `r` (rank 0 = highest
      priority), and `sample_weight = 1` exactly on these steps.

    `output_size = num_bits`, `output_type = "bits"`. All sequences of a
    split have the same length, `num_inputs + 1 + num_outputs` (37 for the
    training defaults, 73 for the generalization defaults).

    Args:
        num_bits: Bits per vector. Defaults to 8.
        num_inputs: Input vectors during training. Defaults to 20.
        num_outputs: Output vectors during training. Defaults to 16.
        generalization_num_inputs: Defaults to 40.
        generalization_num_outputs: Defaults to 32.

    Example:

    >>> task = PrioritySortTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 2)
    >>> x.shape, y.shape, w.sum(axis=1)
    ((2, 37, 10), (2, 37, 8), array([16., 16.], dtype=float32))

    Reference:
        - [Graves et al., 2014](https://arxiv.org/abs/1410.5401), section 4.5.
    """

    name = "priority_sort"

    def __init__(
        self,
        num_bits=8,
        num_inputs=20,
        num_outputs=16,
        generalization_num_inputs=40,
        generalization_num_outputs=32,
    ):
        self.num_bits = check_int("num_bits", num_bits, 1)
        self.num_inputs = check_int("num_inputs", num_inputs, 1)
        self.num_outputs = check_int("num_outputs", num_outputs, 1)
        check_range("num_outputs", self.num_outputs, "num_inputs", self.num_inputs)
        self.generalization_num_inputs = check_int(
            "generalization_num_inputs", generalization_num_inputs, 1
        )
        self.generalization_num_outputs = check_int(
            "generalization_num_outputs", generalization_num_outputs, 1
        )
        check_range(
            "generalization_num_outputs",
            self.generalization_num_outputs,
            "generalization_num_inputs",
            self.generalization_num_inputs,
        )
        self.input_size = self.num_bits + 2
        self.output_size = self.num_bits
        self.output_type = "bits"

    def sizes(self, split="train"):
        """`(num_inputs, num_outputs)` of `split`."""
        if check_split(split) == 2:
            return self.generalization_num_inputs, self.generalization_num_outputs
        return self.num_inputs, self.num_outputs

    def max_steps(self, split="train"):
        num_inputs, num_outputs = self.sizes(split)
        return num_inputs + 1 + num_outputs

    def generate(
        self, rng, batch_size, split="train", num_inputs=None, num_outputs=None
    ):
        """Generates a batch; `num_inputs` / `num_outputs` override the sizes.

        Args:
            rng: A `numpy.random.Generator`.
            batch_size: Number of sequences.
            split: One of `"train"`, `"validation"`, `"generalization"`.
            num_inputs: Optional number of input vectors. If given without
                `num_outputs`, `num_outputs` keeps the split's ratio
                (`round(num_inputs * split_outputs / split_inputs)`, >= 1).
            num_outputs: Optional number of output vectors (<= num_inputs).

        Returns:
            `(inputs, targets, sample_weight)`, padded to
            `max(max_steps(split), num_inputs + 1 + num_outputs)` steps.
        """
        batch_size = check_int("batch_size", batch_size, 1)
        split_inputs, split_outputs = self.sizes(split)
        n = split_inputs
        if num_inputs is not None:
            n = check_int("num_inputs", num_inputs, 1)
        if num_outputs is not None:
            m = check_int("num_outputs", num_outputs, 1)
        elif num_inputs is not None:
            m = max(1, int(round(n * split_outputs / split_inputs)))
        else:
            m = split_outputs
        check_range("num_outputs", m, "num_inputs", n)
        num_steps = max(self.max_steps(split), n + 1 + m)
        inputs, targets, sample_weight = self._empty_batch(batch_size, num_steps)
        bits = self.num_bits
        data = _random_bits(rng, (batch_size, n, bits))
        # Sort the float32 values the network sees, so ties cannot differ.
        priority = rng.uniform(-1.0, 1.0, size=(batch_size, n)).astype(np.float32)
        inputs[:, :n, :bits] = data
        inputs[:, :n, bits] = priority
        inputs[:, n, bits + 1] = 1.0
        order = np.argsort(-priority, axis=1, kind="stable")[:, :m]
        targets[:, n + 1 : n + 1 + m] = np.take_along_axis(
            data, order[..., None], axis=1
        )
        sample_weight[:, n + 1 : n + 1 + m] = 1.0
        return inputs, targets, sample_weight

    def get_config(self):
        return {
            "num_bits": self.num_bits,
            "num_inputs": self.num_inputs,
            "num_outputs": self.num_outputs,
            "generalization_num_inputs": self.generalization_num_inputs,
            "generalization_num_outputs": self.generalization_num_outputs,
        }
