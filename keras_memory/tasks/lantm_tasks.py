"""The eight algorithmic tasks of the Lie-Access Neural Turing Machine paper.

All eight tasks share one symbolic format (`SymbolTask`): an example is the
token list `^ x_1 .. x_k # y_1 .. y_m $` over an alphabet of data symbols and
three special symbols, read by one recurrent network that answers while it
receives blanks, with a categorical output over the vocabulary.

Reference:
    - [Yang & Rush, 2017. Lie-Access Neural Turing Machines](
      https://arxiv.org/abs/1611.02854), ICLR 2017, Table 1a.
    - The authors' code, [harvardnlp/lie-access-memory](
      https://github.com/harvardnlp/lie-access-memory): `data/generate.py`
      (the data) and `fb.lua` (how a sequence is fed to the network).
"""

import numpy as np

from keras_memory.tasks.base import AlgorithmicTask
from keras_memory.tasks.base import check_int
from keras_memory.tasks.base import check_size_ranges
from keras_memory.tasks.base import check_split


def _add_digits(a, b, base):
    """Adds two `(B, k)` digit arrays, least significant digit first.

    Returns the `(B, k + 1)` digits of the sum, least significant first.
    Digit-wise with a carry, so any number of digits works (no int64
    overflow).
    """
    batch_size, num_digits = a.shape
    out = np.zeros((batch_size, num_digits + 1), np.int64)
    carry = np.zeros((batch_size,), np.int64)
    for i in range(num_digits):
        total = a[:, i] + b[:, i] + carry
        out[:, i] = total % base
        carry = total // base
    out[:, num_digits] = carry
    return out


class SymbolTask(AlgorithmicTask):
    """Base class of the symbolic sequence tasks of Yang & Rush (2017).

    Vocabulary: the data symbols `0 .. alphabet_size - 1`, then three special
    symbols, START `^` (id `alphabet_size`), SEP `#` (id `alphabet_size + 1`)
    and END `$` (id `alphabet_size + 2`); `vocab_size = alphabet_size + 3`.

    One example is the token list `s = [^] + x + [#] + y + [$]`, where `x` is
    the task's input and `y` its answer. It runs for `len(s) - 1` steps; with
    `p` the index of `#` (`p = 1 + len(x)`), at step `t`:

    * the input symbol is `s[t]` for `t < p` and the blank `#` for `t >= p`
      (no teacher forcing: the network never sees its own answer);
    * the target is `s[t + 1]`, a class label in `0 .. vocab_size - 1`;
    * `sample_weight` is 1 exactly for `t >= p`: the answer phase predicts
      `y` and the final `$`, `len(y) + 1` scored steps;
    * `inputs[t]` (width `input_size = vocab_size + 1`) is the one-hot of the
      input symbol followed by one write-flag channel, 1 for `t < p` and 0
      for `t >= p` (a memory model should not write while answering, as in
      the authors' `no_write_during_response`).

    Steps after the example are padding: all-zero input (no one-hot, flag
    0), target 0, weight 0. For the copy of `a b` (steps `t = 0 .. 5`): inputs
    `^ a b # # #`, targets `a b # a b $`, weights `0 0 0 1 1 1`, flags
    `1 1 1 0 0 0`.

    As in the authors' generator, one size (a length, a repeat number or an
    item count) is drawn per batch, uniform on the inclusive integer range of
    the split, and every sequence of the batch has that size; data symbols
    are i.i.d. uniform over the alphabet. `"train"` and `"validation"` use
    the training range, `"generalization"` the longer one (by default
    `[max + 1, 2 * max]`, the paper's 2x evaluation).

    `output_type = "categorical"`, `output_size = vocab_size`; the metrics
    `SymbolAccuracy` and `SequenceAccuracy` of `compile_kwargs()` are the
    paper's "fine" and "coarse" accuracies.

    Subclasses set `name`, `size_name` (the word in the range argument names,
    e.g. `"length"` for `min_length`), `size_lowest` (smallest valid size)
    and implement `lengths_for(size)` and `_sample_tokens(rng, batch_size,
    size)`.

    Args:
        alphabet_size: Number of data symbols (>= 2).
        min_size: Minimum training size.
        max_size: Maximum training size.
        generalization_min_size: Minimum generalization size; `None` means
            `max_size + 1`.
        generalization_max_size: Maximum generalization size; `None` means
            `2 * max_size`.
        pad_multiple: `None` pads every batch to `max_steps(split)` (one
            static shape per split). A positive integer pads a batch to the
            smallest multiple of `pad_multiple` that holds its steps, capped
            at `max_steps(split)`: fewer wasted steps, a few shapes.
    """

    name = None
    size_name = "size"
    size_lowest = 1
    output_type = "categorical"

    START = "^"
    SEP = "#"
    END = "$"

    def __init__(
        self,
        alphabet_size,
        min_size,
        max_size,
        generalization_min_size=None,
        generalization_max_size=None,
        pad_multiple=None,
    ):
        self.alphabet_size = check_int("alphabet_size", alphabet_size, 2)
        (
            low,
            high,
            gen_low,
            gen_high,
        ) = check_size_ranges(self.size_name, min_size, max_size,
                              generalization_min_size, generalization_max_size,
                              lowest=self.size_lowest)
        self._ranges = ((low, high), (gen_low, gen_high))
        q = self.size_name
        setattr(self, f"min_{q}", low)
        setattr(self, f"max_{q}", high)
        setattr(self, f"generalization_min_{q}", gen_low)
        setattr(self, f"generalization_max_{q}", gen_high)
        if pad_multiple is not None:
            pad_multiple = check_int("pad_multiple", pad_multiple, 1)
        self.pad_multiple = pad_multiple
        self.start_id = self.alphabet_size
        self.sep_id = self.alphabet_size + 1
        self.end_id = self.alphabet_size + 2
        self.vocab_size = self.alphabet_size + 3
        self.input_size = self.vocab_size + 1
        self.output_size = self.vocab_size
        self.output_type = "categorical"

    # Sizes and steps.

    def size_range(self, split="train"):
        """`(min, max)` size of `split`, both inclusive."""
        return self._ranges[1 if check_split(split) == 2 else 0]

    def lengths_for(self, size):
        """`(len(x), len(y))` of an example of the given size."""
        raise NotImplementedError

    def steps_for(self, size):
        """Unpadded steps of an example of the given size: `len(x) + len(y) + 2`."""
        len_x, len_y = self.lengths_for(size)
        return len_x + len_y + 2

    def write_steps_for(self, size):
        """Steps with write flag 1 of an example of the given size: `1 + len(x)`."""
        return 1 + self.lengths_for(size)[0]

    def max_steps(self, split="train"):
        low, high = self.size_range(split)
        return max(self.steps_for(size) for size in range(low, high + 1))

    def max_write_steps(self, split="train"):
        """Largest number of steps with write flag 1 in `split` (`1 + longest x`).

        A memory model that appends one slot per write step needs at most
        this many slots (plus its initial ones) on `split`.
        """
        low, high = self.size_range(split)
        return max(self.write_steps_for(size) for size in range(low, high + 1))

    def padded_steps(self, num_steps, split="train"):
        """Number of steps a batch whose examples run `num_steps` is padded to."""
        cap = max(self.max_steps(split), num_steps)
        if self.pad_multiple is None:
            return cap
        m = self.pad_multiple
        return min(-(-num_steps // m) * m, cap)

    # Generation.

    def _check_size(self, size):
        return check_int("size", size, self.size_lowest)

    def _sample_tokens(self, rng, batch_size, size):
        """Returns `(x, y)`: `(B, len(x))` and `(B, len(y))` int64 token ids."""
        raise NotImplementedError

    def sample(self, rng, batch_size, split="train", size=None):
        """Draws the token lists of one batch, without encoding them.

        Args:
            rng: A `numpy.random.Generator`.
            batch_size: Number of sequences.
            split: One of `"train"`, `"validation"`, `"generalization"`.
            size: Optional size of every sequence; by default one size is
                drawn uniformly from the split's range.

        Returns:
            `(x, y)`: int64 arrays of shapes `(batch_size, len(x))` and
            `(batch_size, len(y))` holding token ids (the input and the answer
            of each example, without `^`, `#`, `$` around them).
        """
        batch_size = check_int("batch_size", batch_size, 1)
        low, high = self.size_range(split)
        if size is None:
            size = int(rng.integers(low, high + 1))
        else:
            size = self._check_size(size)
        return self._sample_tokens(rng, batch_size, size)

    def encode(self, x, y, split="train"):
        """Encodes token lists into `(inputs, targets, sample_weight)`.

        Args:
            x: `(B, len(x))` integer token ids of the inputs.
            y: `(B, len(y))` integer token ids of the answers.
            split: The split whose `max_steps` the batch is padded to.

        Returns:
            `(inputs, targets, sample_weight)`, see the class docstring.
        """
        x = np.asarray(x, np.int64)
        y = np.asarray(y, np.int64)
        batch_size = x.shape[0]
        column = np.ones((batch_size, 1), np.int64)
        s = np.concatenate(
            [column * self.start_id, x, column * self.sep_id, y,
             column * self.end_id],
            axis=1,
        )
        steps = s.shape[1] - 1
        p = x.shape[1] + 1  # index of '#': the first answer step
        num_steps = self.padded_steps(steps, split)
        inputs, targets, sample_weight = self._empty_batch(batch_size, num_steps)
        ids = s[:, :steps].copy()
        ids[:, p:] = self.sep_id
        rows = np.arange(batch_size)[:, None]
        cols = np.arange(steps)[None, :]
        inputs[rows, cols, ids] = 1.0
        inputs[:, :p, self.vocab_size] = 1.0
        targets[:, :steps] = s[:, 1:]
        sample_weight[:, p:steps] = 1.0
        return inputs, targets, sample_weight

    def generate(self, rng, batch_size, split="train", size=None):
        """Generates a batch; `size` fixes the size of every sequence.

        Args:
            rng: A `numpy.random.Generator`.
            batch_size: Number of sequences.
            split: One of `"train"`, `"validation"`, `"generalization"`.
            size: Optional size of every sequence (a length, repeat number
                or item count, see the task). A size beyond the split's range
                pads the batch to exactly the steps it needs.

        Returns:
            `(inputs, targets, sample_weight)`: float32
            `(B, T, vocab_size + 1)`, int32 `(B, T)` and float32 `(B, T)`,
            with `T = max_steps(split)` (or less with `pad_multiple`).
        """
        check_split(split)
        x, y = self.sample(rng, batch_size, split=split, size=size)
        return self.encode(x, y, split=split)

    # Decoding.

    def decode(self, tokens, sep=" "):
        """Returns the paper's text form of a sequence of token ids.

        Data symbols are written as their numbers, START, SEP and END as
        `^`, `#` and `$`.

        Args:
            tokens: A 1-D sequence of integer ids in `[0, vocab_size)`.
            sep: Separator between tokens. Defaults to `" "`.

        Example:

        >>> task = LANTMCopyTask()
        >>> task.decode([128, 5, 17, 129, 5, 17, 130])
        '^ 5 17 # 5 17 $'
        """
        ids = np.asarray(tokens)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise ValueError(
                "`tokens` must be a 1-D sequence of integer ids, received "
                f"tokens={tokens!r}"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(
                f"`tokens` must hold ids in [0, {self.vocab_size}), received "
                f"tokens={tokens!r}"
            )
        names = {self.start_id: self.START, self.sep_id: self.SEP,
                 self.end_id: self.END}
        return sep.join(names.get(int(i), str(int(i))) for i in ids)

    def batch_tokens(self, inputs, targets):
        """Recovers each example's token list `s` from an encoded batch.

        Args:
            inputs: `(B, T, input_size)` inputs from `generate()`.
            targets: `(B, T)` targets from `generate()`.

        Returns:
            A list of `B` int64 arrays, `s = [^] + x + [#] + y + [$]`.
        """
        inputs = np.asarray(inputs)
        targets = np.asarray(targets)
        out = []
        for b in range(inputs.shape[0]):
            steps = int(inputs[b, :, : self.vocab_size].sum(axis=-1).sum())
            p = int(inputs[b, :, self.vocab_size].sum())
            ids = inputs[b, :p, : self.vocab_size].argmax(axis=-1)
            out.append(np.concatenate([ids, targets[b, p - 1 : steps]]).astype(np.int64))
        return out

    def _extra_config(self):
        return {}

    def get_config(self):
        q = self.size_name
        config = {"alphabet_size": self.alphabet_size}
        config.update(self._extra_config())
        for key in (f"min_{q}", f"max_{q}", f"generalization_min_{q}",
                    f"generalization_max_{q}"):
            config[key] = getattr(self, key)
        config["pad_multiple"] = self.pad_multiple
        return config


class _LengthTask(SymbolTask):
    """Shared constructor of the tasks whose size is a sequence length."""

    size_name = "length"

    def __init__(
        self,
        alphabet_size=128,
        min_length=2,
        max_length=64,
        generalization_min_length=None,
        generalization_max_length=None,
        pad_multiple=None,
    ):
        super().__init__(alphabet_size, min_length, max_length,
                         generalization_min_length, generalization_max_length,
                         pad_multiple)

    def _symbols(self, rng, batch_size, length):
        return rng.integers(0, self.alphabet_size, size=(batch_size, length))


class LANTMCopyTask(_LengthTask):
    """COPY (Yang & Rush, 2017, Table 1a): `a_1 .. a_k -> a_1 .. a_k`.

    The input `x` is `k` symbols drawn i.i.d. uniformly from the alphabet;
    the answer `y = x`. One `k` per batch, uniform in `[min_length,
    max_length]` (`[2, 64]` in the paper) for training, in
    `[generalization_min_length, generalization_max_length]` (`[65, 128]`)
    for the `"generalization"` split. An example runs `2k + 2` steps, see
    `SymbolTask` for the encoding.

    Args:
        alphabet_size: Number of data symbols. Defaults to 128.
        min_length: Minimum training length. Defaults to 2.
        max_length: Maximum training length. Defaults to 64.
        generalization_min_length: `None` means `max_length + 1`.
        generalization_max_length: `None` means `2 * max_length`.
        pad_multiple: `None` (pad to `max_steps(split)`) or a positive
            integer, see `SymbolTask`.

    Example:

    >>> task = LANTMCopyTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 4)
    >>> x.shape, y.shape, w.shape, task.max_steps("generalization")
    ((4, 130, 132), (4, 130), (4, 130), 258)
    >>> x, y, w = task.generate(np.random.default_rng(0), 1, size=2)
    >>> task.decode(task.batch_tokens(x, y)[0])
    '^ 108 81 # 108 81 $'

    Reference:
        - [Yang & Rush, 2017](https://arxiv.org/abs/1611.02854), Table 1a;
          the authors' `data/generate.py` (`copy`).
    """

    name = "lantm_copy"

    def lengths_for(self, size):
        return size, size

    def _sample_tokens(self, rng, batch_size, size):
        x = self._symbols(rng, batch_size, size)
        return x, x.copy()


class LANTMReverseTask(_LengthTask):
    """REVERSE (Yang & Rush, 2017, Table 1a): `a_1 .. a_k -> a_k .. a_1`.

    Like `LANTMCopyTask` (same ranges, `[2, 64]` and `[65, 128]`, alphabet
    128), but the answer is the input reversed. An example runs `2k + 2`
    steps.

    Args:
        alphabet_size: Number of data symbols. Defaults to 128.
        min_length: Minimum training length. Defaults to 2.
        max_length: Maximum training length. Defaults to 64.
        generalization_min_length: `None` means `max_length + 1`.
        generalization_max_length: `None` means `2 * max_length`.
        pad_multiple: `None` or a positive integer, see `SymbolTask`.

    Example:

    >>> task = LANTMReverseTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 1, size=3)
    >>> task.decode(task.batch_tokens(x, y)[0])
    '^ 108 81 65 # 65 81 108 $'

    Reference:
        - [Yang & Rush, 2017](https://arxiv.org/abs/1611.02854), Table 1a;
          the authors' `data/generate.py` (`reverse`).
    """

    name = "lantm_reverse"

    def lengths_for(self, size):
        return size, size

    def _sample_tokens(self, rng, batch_size, size):
        x = self._symbols(rng, batch_size, size)
        return x, x[:, ::-1].copy()


class _EvenLengthTask(_LengthTask):
    """Length tasks on pairs: the drawn `k` is evened to `k // 2 * 2`."""

    size_lowest = 2

    def __init__(
        self,
        alphabet_size=128,
        min_length=2,
        max_length=32,
        generalization_min_length=None,
        generalization_max_length=None,
        pad_multiple=None,
    ):
        super().__init__(alphabet_size, min_length, max_length,
                         generalization_min_length, generalization_max_length,
                         pad_multiple)

    def lengths_for(self, size):
        length = size // 2 * 2
        return length, length


class LANTMBigramFlipTask(_EvenLengthTask):
    """BIGRAM FLIP (Yang & Rush, 2017, Table 1a): `a_1 a_2 a_3 a_4 .. -> a_2 a_1 a_4 a_3 ..`.

    The input is an even number of symbols; the answer swaps each pair. As
    in the authors' generator, the size `k` is drawn uniformly in
    `[min_length, max_length]` (`[2, 32]`; `[33, 64]` for the
    `"generalization"` split) and the sequence length is then evened to
    `k // 2 * 2` (so a generalization sequence may have length 32). The
    `size` argument of `generate()` is this `k` before evening. An example
    runs `2L + 2` steps for `L = k // 2 * 2`.

    Args:
        alphabet_size: Number of data symbols. Defaults to 128.
        min_length: Minimum training `k` (>= 2). Defaults to 2.
        max_length: Maximum training `k`. Defaults to 32.
        generalization_min_length: `None` means `max_length + 1`.
        generalization_max_length: `None` means `2 * max_length`.
        pad_multiple: `None` or a positive integer, see `SymbolTask`.

    Example:

    >>> task = LANTMBigramFlipTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 1, size=5)
    >>> task.decode(task.batch_tokens(x, y)[0])
    '^ 108 81 65 34 # 81 108 34 65 $'

    Reference:
        - [Yang & Rush, 2017](https://arxiv.org/abs/1611.02854), Table 1a;
          the authors' `data/generate.py` (`bigramFlip`).
    """

    name = "lantm_bigram_flip"

    def _sample_tokens(self, rng, batch_size, size):
        length = self.lengths_for(size)[0]
        x = self._symbols(rng, batch_size, length)
        y = x.reshape(batch_size, length // 2, 2)[:, :, ::-1]
        return x, y.reshape(batch_size, length)


class LANTMOddFirstTask(_EvenLengthTask):
    """ODD FIRST (Yang & Rush, 2017, Table 1a): `a_1 a_2 .. a_2n -> a_1 a_3 .. a_2 a_4 ..`.

    The input is drawn as for `LANTMBigramFlipTask` (length `k // 2 * 2`
    with `k` in `[2, 32]`, `[33, 64]` for generalization); the answer is the
    odd-position symbols followed by the even-position ones,
    `x[0::2] + x[1::2]`.

    Args:
        alphabet_size: Number of data symbols. Defaults to 128.
        min_length: Minimum training `k` (>= 2). Defaults to 2.
        max_length: Maximum training `k`. Defaults to 32.
        generalization_min_length: `None` means `max_length + 1`.
        generalization_max_length: `None` means `2 * max_length`.
        pad_multiple: `None` or a positive integer, see `SymbolTask`.

    Example:

    >>> task = LANTMOddFirstTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 1, size=4)
    >>> task.decode(task.batch_tokens(x, y)[0])
    '^ 108 81 65 34 # 108 65 81 34 $'

    Reference:
        - [Yang & Rush, 2017](https://arxiv.org/abs/1611.02854), Table 1a;
          the authors' `data/generate.py` (`oddFirst`).
    """

    name = "lantm_odd_first"

    def _sample_tokens(self, rng, batch_size, size):
        length = self.lengths_for(size)[0]
        x = self._symbols(rng, batch_size, length)
        return x, np.concatenate([x[:, 0::2], x[:, 1::2]], axis=1)


class _DigitTask(SymbolTask):
    """Shared constructor of the arithmetic tasks; the size is a digit count."""

    size_name = "digits"

    def __init__(
        self,
        alphabet_size=10,
        min_digits=2,
        max_digits=40,
        generalization_min_digits=None,
        generalization_max_digits=None,
        pad_multiple=None,
    ):
        super().__init__(alphabet_size, min_digits, max_digits,
                         generalization_min_digits, generalization_max_digits,
                         pad_multiple)


class LANTMDoubleTask(_DigitTask):
    """DOUBLE (Yang & Rush, 2017, Table 1a): `x -> 2x`.

    `x` is uniform in `[0, base^k)` (`base = alphabet_size`, 10 in the paper),
    written as `k` digits, zero-padded, most significant digit first; the
    answer is `2x` written as `k + 1` digits, zero-padded, most significant
    first. `k` in `[2, 40]` for training, `[41, 80]` for generalization. The
    arithmetic is digit-wise, so any `k` works. An example runs `2k + 3`
    steps.

    Args:
        alphabet_size: The base, i.e. the number of digit symbols. Defaults
            to 10.
        min_digits: Minimum training `k`. Defaults to 2.
        max_digits: Maximum training `k`. Defaults to 40.
        generalization_min_digits: `None` means `max_digits + 1`.
        generalization_max_digits: `None` means `2 * max_digits`.
        pad_multiple: `None` or a positive integer, see `SymbolTask`.

    Example:

    >>> task = LANTMDoubleTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 1, size=3)
    >>> task.decode(task.batch_tokens(x, y)[0])
    '^ 8 6 5 # 1 7 3 0 $'

    Reference:
        - [Yang & Rush, 2017](https://arxiv.org/abs/1611.02854), Table 1a;
          the authors' `data/generate.py` (`double`).
    """

    name = "lantm_double"

    def lengths_for(self, size):
        return size, size + 1

    def _sample_tokens(self, rng, batch_size, size):
        x = rng.integers(0, self.alphabet_size, size=(batch_size, size))
        lsb_first = x[:, ::-1]
        y = _add_digits(lsb_first, lsb_first, self.alphabet_size)[:, ::-1]
        return x, y.copy()


class LANTMInterleavedAddTask(_DigitTask):
    """INTERLEAVED ADD (Yang & Rush, 2017, Table 1a): `x_0 y_0 x_1 y_1 .. -> (x + y)`.

    Two numbers `x, y` uniform in `[0, base^k)` are written as `k` digits
    each, least significant digit first, and interleaved,
    `x_0 y_0 x_1 y_1 .. x_{k-1} y_{k-1}` (`2k` symbols); the answer is
    `x + y` as `k + 1` digits, least significant first. `k` in `[2, 16]`
    for training, `[17, 32]` for generalization. An example runs `3k + 3`
    steps.

    Args:
        alphabet_size: The base, i.e. the number of digit symbols. Defaults
            to 10.
        min_digits: Minimum training `k`. Defaults to 2.
        max_digits: Maximum training `k`. Defaults to 16.
        generalization_min_digits: `None` means `max_digits + 1`.
        generalization_max_digits: `None` means `2 * max_digits`.
        pad_multiple: `None` or a positive integer, see `SymbolTask`.

    Example:

    >>> task = LANTMInterleavedAddTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 1, size=2)
    >>> task.decode(task.batch_tokens(x, y)[0])  # 58 + 26 = 84
    '^ 8 6 5 2 # 4 8 0 $'

    Reference:
        - [Yang & Rush, 2017](https://arxiv.org/abs/1611.02854), Table 1a;
          the authors' `data/generate.py` (`addition`).
    """

    name = "lantm_interleaved_add"

    def __init__(
        self,
        alphabet_size=10,
        min_digits=2,
        max_digits=16,
        generalization_min_digits=None,
        generalization_max_digits=None,
        pad_multiple=None,
    ):
        super().__init__(alphabet_size, min_digits, max_digits,
                         generalization_min_digits, generalization_max_digits,
                         pad_multiple)

    def lengths_for(self, size):
        return 2 * size, size + 1

    def _sample_tokens(self, rng, batch_size, size):
        x = rng.integers(0, self.alphabet_size, size=(batch_size, 2 * size))
        y = _add_digits(x[:, 0::2], x[:, 1::2], self.alphabet_size)
        return x, y


class LANTMRepeatCopyTask(SymbolTask):
    """REPEAT COPY (Yang & Rush, 2017, Table 1a): `N a_1 .. a_20 -> (a_1 .. a_20) x N`.

    The repeat number `N` is written in unary as `N` START symbols `^`
    before the `length` data symbols (with the leading `^` of every example
    the input starts with `N + 1` of them, as in the authors' files); the
    answer is the data symbols repeated `N` times. The size is `N`: in
    `[1, 5]` for training, `[6, 10]` for generalization; the length is fixed
    (20). An example runs `N + length + N * length + 2` steps.

    Args:
        alphabet_size: Number of data symbols. Defaults to 128.
        length: Number of data symbols to repeat. Defaults to 20.
        min_repeats: Minimum training `N`. Defaults to 1.
        max_repeats: Maximum training `N`. Defaults to 5.
        generalization_min_repeats: `None` means `max_repeats + 1`.
        generalization_max_repeats: `None` means `2 * max_repeats`.
        pad_multiple: `None` or a positive integer, see `SymbolTask`.

    Example:

    >>> task = LANTMRepeatCopyTask(length=3)
    >>> x, y, w = task.generate(np.random.default_rng(0), 1, size=2)
    >>> task.decode(task.batch_tokens(x, y)[0])
    '^ ^ ^ 108 81 65 # 108 81 65 108 81 65 $'

    Reference:
        - [Yang & Rush, 2017](https://arxiv.org/abs/1611.02854), Table 1a;
          the authors' `data/generate.py` (`repeatCopy`).
    """

    name = "lantm_repeat_copy"
    size_name = "repeats"

    def __init__(
        self,
        alphabet_size=128,
        length=20,
        min_repeats=1,
        max_repeats=5,
        generalization_min_repeats=None,
        generalization_max_repeats=None,
        pad_multiple=None,
    ):
        self.length = check_int("length", length, 1)
        super().__init__(alphabet_size, min_repeats, max_repeats,
                         generalization_min_repeats, generalization_max_repeats,
                         pad_multiple)

    def lengths_for(self, size):
        return size + self.length, size * self.length

    def _sample_tokens(self, rng, batch_size, size):
        data = rng.integers(0, self.alphabet_size, size=(batch_size, self.length))
        marks = np.full((batch_size, size), self.start_id, np.int64)
        return np.concatenate([marks, data], axis=1), np.tile(data, (1, size))

    def _extra_config(self):
        return {"length": self.length}


class LANTMPrioritySortTask(SymbolTask):
    """PRIORITY SORT (Yang & Rush, 2017, Table 1a): values with unary priorities, sorted.

    `n` values `v_0 .. v_{n-1}` are drawn uniformly from the alphabet
    (repeats allowed); value `v_i` has priority `i`. The items are presented
    in a uniformly random order, each written as its priority in unary
    (`i` START symbols `^`, none for priority 0) followed by its value. The
    answer is `v_0 v_1 .. v_{n-1}`, the values by ascending priority. For
    example the authors' validation file has
    `^ ^^^ 16 ^^^^^^^ 19 .. # 20 120 73 16 ..` (16 has priority 3). The size
    is `n`: `[2, 10]` for training, `[11, 20]` for generalization. The input
    has `n + n(n-1)/2` symbols; an example runs `n(n-1)/2 + 2n + 2` steps.

    Args:
        alphabet_size: Number of data symbols (values). Defaults to 128.
        min_items: Minimum training `n`. Defaults to 2.
        max_items: Maximum training `n`. Defaults to 10.
        generalization_min_items: `None` means `max_items + 1`.
        generalization_max_items: `None` means `2 * max_items`.
        pad_multiple: `None` or a positive integer, see `SymbolTask`.

    Example:

    >>> task = LANTMPrioritySortTask()
    >>> x, y, w = task.generate(np.random.default_rng(0), 1, size=3)
    >>> task.decode(task.batch_tokens(x, y)[0])
    '^ ^ 81 ^ ^ 65 108 # 108 81 65 $'

    Reference:
        - [Yang & Rush, 2017](https://arxiv.org/abs/1611.02854), Table 1a;
          the authors' `data/generate.py` (`prioritySort`).
    """

    name = "lantm_priority_sort"
    size_name = "items"

    def __init__(
        self,
        alphabet_size=128,
        min_items=2,
        max_items=10,
        generalization_min_items=None,
        generalization_max_items=None,
        pad_multiple=None,
    ):
        super().__init__(alphabet_size, min_items, max_items,
                         generalization_min_items, generalization_max_items,
                         pad_multiple)

    def lengths_for(self, size):
        return size + size * (size - 1) // 2, size

    def _sample_tokens(self, rng, batch_size, size):
        values = rng.integers(0, self.alphabet_size, size=(batch_size, size))
        order = rng.permuted(
            np.tile(np.arange(size), (batch_size, 1)), axis=1
        )  # order[b, j]: priority of the j-th presented item
        x = np.empty((batch_size, self.lengths_for(size)[0]), np.int64)
        for b in range(batch_size):
            tokens = []
            for priority in order[b]:
                tokens.extend([self.start_id] * int(priority))
                tokens.append(int(values[b, priority]))
            x[b] = tokens
        return x, values
