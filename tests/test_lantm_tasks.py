"""Tests of the Yang & Rush (2017) symbolic tasks (`keras_memory.tasks.lantm_tasks`).

Every batch is decoded here independently of the task code, and the answer
of each example is recomputed from its decoded input with plain Python
(ints for the arithmetic).
"""

import keras
import numpy as np
import pytest

from keras_memory import metrics as km
from keras_memory import tasks
from keras_memory.tasks import LANTMBigramFlipTask
from keras_memory.tasks import LANTMCopyTask
from keras_memory.tasks import LANTMDoubleTask
from keras_memory.tasks import LANTMInterleavedAddTask
from keras_memory.tasks import LANTMOddFirstTask
from keras_memory.tasks import LANTMPrioritySortTask
from keras_memory.tasks import LANTMRepeatCopyTask
from keras_memory.tasks import LANTMReverseTask
from keras_memory.tasks import SymbolTask
from keras_memory.tasks import TaskDataset

CLASSES = {
    "lantm_copy": LANTMCopyTask,
    "lantm_reverse": LANTMReverseTask,
    "lantm_bigram_flip": LANTMBigramFlipTask,
    "lantm_double": LANTMDoubleTask,
    "lantm_interleaved_add": LANTMInterleavedAddTask,
    "lantm_odd_first": LANTMOddFirstTask,
    "lantm_repeat_copy": LANTMRepeatCopyTask,
    "lantm_priority_sort": LANTMPrioritySortTask,
}
NAMES = list(CLASSES)
SPLITS = ["train", "validation", "generalization"]

# Paper defaults: (alphabet, train size range, generalization size range,
# max_steps train, max_steps generalization, max_write_steps train,
# max_write_steps generalization), computed by hand from Table 1a:
# copy/reverse 2k+2 steps; bigram flip/odd first 2L+2 with L = k//2*2;
# double 2k+3; interleaved add 3k+3; repeat copy N+20+20N+2;
# priority sort n(n-1)/2+2n+2. Write steps: 1 + len(x).
DEFAULTS = {
    "lantm_copy": (128, (2, 64), (65, 128), 130, 258, 65, 129),
    "lantm_reverse": (128, (2, 64), (65, 128), 130, 258, 65, 129),
    "lantm_bigram_flip": (128, (2, 32), (33, 64), 66, 130, 33, 65),
    "lantm_double": (10, (2, 40), (41, 80), 83, 163, 41, 81),
    "lantm_interleaved_add": (10, (2, 16), (17, 32), 51, 99, 33, 65),
    "lantm_odd_first": (128, (2, 32), (33, 64), 66, 130, 33, 65),
    "lantm_repeat_copy": (128, (1, 5), (6, 10), 127, 232, 26, 31),
    "lantm_priority_sort": (128, (2, 10), (11, 20), 67, 232, 56, 211),
}


def rng(seed):
    return np.random.default_rng(seed)


def decode_batch(task, x, y, w):
    """Checks the encoding of every row and returns its `(x_tokens, y_tokens)`.

    Written against the documented format, not the task code: real steps
    carry exactly one one-hot symbol and form a prefix; the write flag is 1
    exactly on the steps before the first '#' input; answer-phase inputs are
    all '#'; targets are the next token; weights are 1 exactly on the answer
    phase; padding is all zero.
    """
    alphabet = task.alphabet_size
    start, sep, end = alphabet, alphabet + 1, alphabet + 2
    vocab = alphabet + 3
    assert x.shape[-1] == vocab + 1
    assert set(np.unique(x)) <= {0.0, 1.0}
    out = []
    for b in range(x.shape[0]):
        hot = x[b, :, :vocab]
        count = hot.sum(axis=-1)
        assert set(np.unique(count)) <= {0.0, 1.0}
        T = int(count.sum())
        np.testing.assert_array_equal(count[:T], 1)  # real steps: a prefix
        np.testing.assert_array_equal(x[b, T:], 0)  # padding: all zero
        np.testing.assert_array_equal(y[b, T:], 0)
        np.testing.assert_array_equal(w[b, T:], 0)
        ids = hot[:T].argmax(axis=-1)
        assert ids[0] == start
        p = int(np.nonzero(ids == sep)[0][0])  # first '#' input
        flags = x[b, :, vocab]
        np.testing.assert_array_equal(flags, np.arange(x.shape[1]) < p)
        np.testing.assert_array_equal(ids[p:], sep)  # blanks while answering
        np.testing.assert_array_equal(w[b], (np.arange(x.shape[1]) >= p)
                                      & (np.arange(x.shape[1]) < T))
        # Before the answer the target is the next input; then '#'.
        np.testing.assert_array_equal(y[b, : p - 1], ids[1:p])
        assert y[b, p - 1] == sep
        assert y[b, T - 1] == end
        answer = y[b, p : T - 1]
        assert np.all(answer < start)  # no special symbol inside y
        x_tokens = [int(i) for i in ids[1:p]]
        assert sep not in x_tokens and end not in x_tokens
        out.append((x_tokens, [int(i) for i in answer]))
    return out


def _digits_to_int(digits, base):
    value = 0
    for d in digits:
        value = value * base + d
    return value


def _int_to_digits(value, num_digits, base):
    digits = []
    for _ in range(num_digits):
        digits.append(value % base)
        value //= base
    assert value == 0
    return digits[::-1]  # most significant first


def reference(name, task, x):
    """Returns `(size, answer)` recomputed from the decoded input `x`."""
    start = base = task.alphabet_size
    if name not in ("lantm_repeat_copy", "lantm_priority_sort"):
        assert start not in x  # only these two have '^' inside x
    if name == "lantm_copy":
        return len(x), list(x)
    if name == "lantm_reverse":
        return len(x), x[::-1]
    if name == "lantm_bigram_flip":
        assert len(x) % 2 == 0
        answer = []
        for i in range(0, len(x), 2):
            answer += [x[i + 1], x[i]]
        return len(x), answer
    if name == "lantm_odd_first":
        assert len(x) % 2 == 0
        return len(x), [x[i] for i in range(0, len(x), 2)] + [
            x[i] for i in range(1, len(x), 2)
        ]
    if name == "lantm_double":
        k = len(x)
        return k, _int_to_digits(2 * _digits_to_int(x, base), k + 1, base)
    if name == "lantm_interleaved_add":
        assert len(x) % 2 == 0
        k = len(x) // 2
        a = _digits_to_int(x[0::2][::-1], base)  # least significant first
        b = _digits_to_int(x[1::2][::-1], base)
        return k, _int_to_digits(a + b, k + 1, base)[::-1]
    if name == "lantm_repeat_copy":
        n = 0
        while x[n] == start:
            n += 1
        data = x[n:]
        assert start not in data and len(data) == task.length
        return n, data * n
    if name == "lantm_priority_sort":
        items, priority = [], 0
        for token in x:
            if token == start:
                priority += 1
            else:
                items.append((priority, token))
                priority = 0
        assert priority == 0  # ends with a value
        priorities = sorted(p for p, _ in items)
        assert priorities == list(range(len(items)))  # a permutation of 0..n-1
        return len(items), [v for _, v in sorted(items)]
    raise AssertionError(name)


def allowed_sizes(name, low, high):
    """Decoded sizes a draw in `[low, high]` can give (bigram/odd: evened)."""
    if name in ("lantm_bigram_flip", "lantm_odd_first"):
        return {k // 2 * 2 for k in range(low, high + 1)}
    return set(range(low, high + 1))


def test_registry():
    for name in NAMES:
        assert name in tasks.available()
        task = tasks.get(name)
        assert type(task) is CLASSES[name] and task.name == name
        assert isinstance(task, SymbolTask)
    assert "copy" in tasks.available()  # the NTM tasks are still there
    assert tasks.get("lantm_copy", max_length=8).max_length == 8


def test_worked_copy_example():
    """Yang & Rush's copy of "a b": the table of the dossier, step by step."""
    task = LANTMCopyTask()
    a, b = 5, 17
    S, E, H = 128, 130, 129  # '^', '$', '#'
    x, y, w = task.encode([[a, b]], [[a, b]])
    assert x.shape == (1, 130, 132)
    np.testing.assert_array_equal(x[0, :6, :131].argmax(-1), [S, a, b, H, H, H])
    np.testing.assert_array_equal(x[0, :6, :131].sum(-1), 1)
    np.testing.assert_array_equal(y[0, :6], [a, b, H, a, b, E])
    np.testing.assert_array_equal(w[0, :6], [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(x[0, :6, 131], [1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(x[0, 6:], 0)
    np.testing.assert_array_equal(y[0, 6:], 0)
    np.testing.assert_array_equal(w[0, 6:], 0)
    assert task.decode(task.batch_tokens(x, y)[0]) == "^ 5 17 # 5 17 $"
    # The same through generate(): size 2 gives that layout.
    x, y, w = task.generate(rng(0), 3, size=2)
    for row in range(3):
        a, b = x[row, 1:3, :131].argmax(-1)
        np.testing.assert_array_equal(x[row, :6, :131].argmax(-1), [S, a, b, H, H, H])
        np.testing.assert_array_equal(y[row, :6], [a, b, H, a, b, E])
        np.testing.assert_array_equal(w[row], np.arange(130) // 3 == 1)
        np.testing.assert_array_equal(x[row, :, 131], np.arange(130) < 3)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", NAMES)
def test_semantics_every_task_and_split(name, split):
    task = tasks.get(name)
    alphabet, train_range, gen_range, train_steps, gen_steps, _, _ = DEFAULTS[name]
    assert task.alphabet_size == alphabet
    assert task.vocab_size == alphabet + 3
    assert (task.input_size, task.output_size) == (alphabet + 4, alphabet + 3)
    assert task.output_type == "categorical"
    low, high = gen_range if split == "generalization" else train_range
    assert task.size_range(split) == (low, high)
    steps = gen_steps if split == "generalization" else train_steps
    assert task.max_steps(split) == steps
    sizes = set()
    for seed in range(4):
        x, y, w = task.generate(rng(seed), 6, split=split)
        assert x.shape == (6, steps, alphabet + 4) and x.dtype == np.float32
        assert y.shape == (6, steps) and y.dtype == np.int32
        assert w.shape == (6, steps) and w.dtype == np.float32
        assert y.min() >= 0 and y.max() < task.vocab_size
        batch_sizes = set()
        for x_tokens, answer in decode_batch(task, x, y, w):
            assert all(0 <= t <= alphabet for t in x_tokens)
            size, expected = reference(name, task, x_tokens)
            assert answer == expected
            batch_sizes.add(size)
        np.testing.assert_array_equal(
            w.sum(axis=1), [len(a) + 1 for _, a in decode_batch(task, x, y, w)]
        )
        assert len(batch_sizes) == 1  # one size per batch
        rows = decode_batch(task, x, y, w)
        assert len({tuple(xt) for xt, _ in rows}) == 6  # independent rows
        sizes |= batch_sizes
    assert sizes <= allowed_sizes(name, low, high)


@pytest.mark.parametrize("name", NAMES)
def test_largest_size_hits_max_steps(name):
    _, train_range, gen_range, train_steps, gen_steps, train_w, gen_w = DEFAULTS[name]
    task = tasks.get(name)
    assert task.max_write_steps("train") == train_w
    assert task.max_write_steps("validation") == train_w
    assert task.max_write_steps("generalization") == gen_w
    for split, (low, high), steps, writes in [
        ("train", train_range, train_steps, train_w),
        ("generalization", gen_range, gen_steps, gen_w),
    ]:
        # The largest size fills the padded length exactly...
        x, y, w = task.generate(rng(1), 2, split=split, size=high)
        assert x.shape[1] == steps
        np.testing.assert_array_equal(w[:, -1], 1)
        np.testing.assert_array_equal(x[:, :, -1].sum(axis=1), writes)
        # ...and every smaller size of the split fits, with no more writes.
        for size in range(low, high):
            assert task.steps_for(size) <= steps
            assert task.write_steps_for(size) <= writes
        x, y, w = task.generate(rng(1), 2, split=split, size=low)
        assert x.shape[1] == steps
        assert x[:, :, -1].sum(axis=1).max() <= writes


@pytest.mark.parametrize(
    "cls, kwargs, train, gen",
    [
        (LANTMCopyTask, {"min_length": 3, "max_length": 5}, {3, 4, 5},
         set(range(6, 11))),
        (LANTMBigramFlipTask, {"min_length": 2, "max_length": 5}, {2, 4},
         {6, 8, 10}),
        (LANTMDoubleTask, {"min_digits": 1, "max_digits": 3}, {1, 2, 3},
         {4, 5, 6}),
        (LANTMRepeatCopyTask, {"length": 2}, {1, 2, 3, 4, 5},
         {6, 7, 8, 9, 10}),
        (LANTMPrioritySortTask, {"min_items": 2, "max_items": 4}, {2, 3, 4},
         {5, 6, 7, 8}),
    ],
)
def test_size_draws_cover_the_range(cls, kwargs, train, gen):
    """One uniform size per batch: over many batches every size shows up."""
    task = cls(**kwargs)
    name = task.name
    for split, expected in [("train", train), ("validation", train),
                            ("generalization", gen)]:
        seen = set()
        for seed in range(80):
            x, y, w = task.generate(rng(seed), 2, split=split)
            rows = decode_batch(task, x, y, w)
            sizes = {reference(name, task, xt)[0] for xt, _ in rows}
            assert len(sizes) == 1
            seen |= sizes
        assert seen == expected, split


@pytest.mark.parametrize("name", NAMES)
def test_symbols_iid_uniform(name):
    """Data symbols are uniform over a small alphabet (chi-square-like check)."""
    task = CLASSES[name](alphabet_size=4)
    counts = np.zeros(4)
    for seed in range(10):
        x, y, w = task.generate(rng(seed), 8, split="generalization")
        for xt, _ in decode_batch(task, x, y, w):
            values = [t for t in xt if t != task.start_id]
            counts += np.bincount(values, minlength=4)
    freq = counts / counts.sum()
    assert counts.sum() > 500
    np.testing.assert_allclose(freq, 0.25, atol=0.04)


def test_bigram_flip_evens_the_drawn_length():
    task = LANTMBigramFlipTask()
    for size, length in [(2, 2), (3, 2), (33, 32), (64, 64), (65, 64)]:
        x, y, w = task.generate(rng(0), 2, split="generalization", size=size)
        for xt, answer in decode_batch(task, x, y, w):
            assert len(xt) == length
    odd = LANTMOddFirstTask()
    x, y, w = odd.generate(rng(0), 2, size=7)
    assert [len(xt) for xt, _ in decode_batch(odd, x, y, w)] == [6, 6]


def _all_max_digits_rng():
    class MaxDigits:
        def integers(self, low, high, size=None):
            return np.full(size, high - 1, np.int64)

    return MaxDigits()


def test_arithmetic_carry_chains_and_long_numbers():
    # 80 nines: 2 * (10^80 - 1) = 1 99..9 8, far beyond int64.
    task = LANTMDoubleTask()
    x, y, w = task.generate(_all_max_digits_rng(), 1, split="generalization", size=80)
    [(xt, answer)] = decode_batch(task, x, y, w)
    assert xt == [9] * 80
    assert answer == [1] + [9] * 79 + [8]
    add = LANTMInterleavedAddTask()
    x, y, w = add.generate(_all_max_digits_rng(), 1, split="generalization", size=32)
    [(xt, answer)] = decode_batch(add, x, y, w)
    assert answer == [8] + [9] * 31 + [1]  # least significant first
    # Other bases: Python int arithmetic in base 7 agrees.
    for cls in (LANTMDoubleTask, LANTMInterleavedAddTask):
        task = cls(alphabet_size=7)
        for seed in range(3):
            x, y, w = task.generate(rng(seed), 4, split="generalization")
            for xt, answer in decode_batch(task, x, y, w):
                assert max(xt) < 7
                assert answer == reference(task.name, task, xt)[1]


def test_priority_sort_matches_authors_example_format():
    task = LANTMPrioritySortTask()
    S = task.start_id
    # Items (priority 0, 20), (3, 16), (1, 120), (2, 73), presented as
    # 16, 120, 20, 73: "^ ^^^ 16 ^ 120 20 ^^ 73 # 20 120 73 16 $".
    x = [[S, S, S, 16, S, 120, 20, S, S, 73]]
    inputs, targets, w = task.encode(x, [[20, 120, 73, 16]])
    [(xt, answer)] = decode_batch(task, inputs, targets, w)
    assert reference(task.name, task, xt) == (4, [20, 120, 73, 16])
    assert answer == [20, 120, 73, 16]
    assert task.decode(task.batch_tokens(inputs, targets)[0]) == (
        "^ ^ ^ ^ 16 ^ 120 20 ^ ^ 73 # 20 120 73 16 $"
    )
    # Generated inputs have n + n(n-1)/2 symbols and repeats are possible.
    small = LANTMPrioritySortTask(alphabet_size=2)
    x, y, w = small.generate(rng(0), 8, size=6)
    rows = decode_batch(small, x, y, w)
    assert all(len(xt) == 6 + 15 for xt, _ in rows)
    assert any(len(set(a)) < len(a) for _, a in rows)
    # Each row has its own random presentation order of the priorities.
    orders = set()
    for xt, _ in rows:
        order, priority = [], 0
        for token in xt:
            if token == small.start_id:
                priority += 1
            else:
                order.append(priority)
                priority = 0
        orders.add(tuple(order))
    assert len(orders) == 8


def test_repeat_copy_leading_starts():
    task = LANTMRepeatCopyTask(length=4)
    for n in (1, 3, 7):
        x, y, w = task.generate(rng(n), 2, size=n)
        s = task.batch_tokens(x, y)[0]
        assert list(s[: n + 1]) == [task.start_id] * (n + 1)  # N + 1 '^'
        assert s[n + 1] != task.start_id
        assert w.sum(axis=1).tolist() == [4 * n + 1] * 2
    assert task.max_steps() == 5 + 4 + 20 + 2
    assert task.max_write_steps("generalization") == 1 + 10 + 4


def test_decode_and_batch_tokens_round_trip():
    task = LANTMReverseTask(alphabet_size=20)
    assert task.decode([20, 3, 0, 19, 21, 19, 0, 3, 22]) == "^ 3 0 19 # 19 0 3 $"
    assert task.decode(np.array([21, 22]), sep=",") == "#,$"
    assert task.decode([]) == ""
    x_tok, y_tok = task.sample(rng(3), 4)
    inputs, targets, w = task.generate(rng(3), 4)
    for b, s in enumerate(task.batch_tokens(inputs, targets)):
        expected = [20] + list(x_tok[b]) + [21] + list(y_tok[b]) + [22]
        assert list(s) == expected
    for bad in ([23], [-1], [1.5], [[1, 2]]):
        with pytest.raises(ValueError, match="tokens"):
            task.decode(bad)


def test_pad_multiple():
    task = LANTMCopyTask(pad_multiple=16)
    cases = [  # (split, size, expected T): round up to 16, capped at max_steps
        ("train", 2, 16),  # 6 steps
        ("train", 7, 16),  # 16 steps
        ("train", 8, 32),  # 18 steps
        ("train", 63, 128),
        ("train", 64, 130),  # 130 rounds to 144, capped at 130
        ("generalization", 65, 144),
        ("generalization", 128, 258),  # 272 capped at 258
        ("generalization", 200, 402),  # beyond the range: exactly its steps
    ]
    for split, size, expected in cases:
        x, y, w = task.generate(rng(0), 3, split=split, size=size)
        assert x.shape == (3, expected, 132), (split, size)
        assert y.shape == w.shape == (3, expected)
        np.testing.assert_array_equal(w.sum(axis=1), size + 1)
    # Same data as without padding, only the tail differs.
    plain = LANTMCopyTask()
    a = plain.generate(rng(4), 3, size=10)
    b = task.generate(rng(4), 3, size=10)
    assert b[0].shape[1] == 32 and a[0].shape[1] == 130
    for full, short in zip(a, b):
        np.testing.assert_array_equal(full[:, :32], short)
        assert not full[:, 32:].any()
    # pad_multiple=None: every batch has the static max_steps.
    shapes = {plain.generate(rng(s), 2, split="generalization")[0].shape for s in range(5)}
    assert shapes == {(2, 258, 132)}
    # Random draws with pad_multiple: a few shapes, all multiples or the cap.
    shapes = {task.generate(rng(s), 2)[0].shape[1] for s in range(30)}
    assert len(shapes) > 1 and all(t % 16 == 0 or t == 130 for t in shapes)
    assert LANTMCopyTask(pad_multiple=1).generate(rng(0), 1, size=5)[0].shape[1] == 12


@pytest.mark.parametrize("name", NAMES)
def test_dataset_reproducible(name):
    task = tasks.get(name)
    data = task.dataset(batch_size=3, num_batches=4, seed=3)
    assert isinstance(data, TaskDataset) and len(data) == 4
    later = [data[i] for i in (3, 1)]
    again = task.dataset(batch_size=3, num_batches=4, seed=3)
    for got, i in zip(later, (3, 1)):
        for a, b in zip(got, again[i]):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(data[0][0], data[1][0])
    other = task.dataset(batch_size=3, num_batches=4, seed=4)
    assert not np.array_equal(data[0][0], other[0][0])
    validation = task.dataset(batch_size=3, num_batches=4, split="validation", seed=3)
    assert not np.array_equal(data[0][0], validation[0][0])
    fixed = task.dataset(batch_size=2, num_batches=2, split="generalization",
                         generate_kwargs={"size": DEFAULTS[name][2][1]})
    assert fixed[1][0].shape == (2, DEFAULTS[name][4], task.input_size)
    np.testing.assert_array_equal(fixed[1][2][:, -1], 1)


@pytest.mark.parametrize(
    "cls, kwargs, pattern",
    [
        (LANTMCopyTask, {"pad_multiple": 0}, r"`pad_multiple` must be >= 1, received pad_multiple=0"),
        (LANTMCopyTask, {"pad_multiple": -8}, r"pad_multiple=-8"),
        (LANTMCopyTask, {"pad_multiple": 2.5}, r"`pad_multiple` must be an integer"),
        (LANTMCopyTask, {"pad_multiple": True}, r"pad_multiple=True"),
        (LANTMCopyTask, {"pad_multiple": "8"}, r"pad_multiple='8'"),
        (LANTMCopyTask, {"alphabet_size": 1}, r"`alphabet_size` must be >= 2, received alphabet_size=1"),
        (LANTMDoubleTask, {"alphabet_size": 0}, r"alphabet_size=0"),
        (LANTMCopyTask, {"min_length": 5, "max_length": 3},
         r"`max_length` must be >= `min_length`, received min_length=5, max_length=3"),
        (LANTMReverseTask, {"min_length": 0}, r"`min_length` must be >= 1, received min_length=0"),
        (LANTMCopyTask, {"generalization_min_length": 30, "generalization_max_length": 20},
         r"generalization_min_length=30, generalization_max_length=20"),
        (LANTMBigramFlipTask, {"min_length": 1}, r"`min_length` must be >= 2, received min_length=1"),
        (LANTMOddFirstTask, {"max_length": 1.0}, r"`max_length` must be an integer"),
        (LANTMDoubleTask, {"min_digits": 0}, r"`min_digits` must be >= 1, received min_digits=0"),
        (LANTMInterleavedAddTask, {"max_digits": 1}, r"min_digits=2, max_digits=1"),
        (LANTMRepeatCopyTask, {"length": 0}, r"`length` must be >= 1, received length=0"),
        (LANTMRepeatCopyTask, {"min_repeats": 0}, r"`min_repeats` must be >= 1, received min_repeats=0"),
        (LANTMRepeatCopyTask, {"generalization_max_repeats": 5},
         r"generalization_min_repeats=6, generalization_max_repeats=5"),
        (LANTMPrioritySortTask, {"max_items": None}, r"`max_items` must be an integer"),
    ],
)
def test_invalid_arguments(cls, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        cls(**kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_invalid_generate_arguments(name):
    task = tasks.get(name)
    with pytest.raises(ValueError, match=r"`split` must be one of .*split='test'"):
        task.generate(rng(0), 2, split="test")
    with pytest.raises(ValueError, match="split='test'"):
        task.max_steps("test")
    with pytest.raises(ValueError, match="split='test'"):
        task.max_write_steps("test")
    with pytest.raises(ValueError, match="batch_size=0"):
        task.generate(rng(0), 0)
    with pytest.raises(ValueError, match="`size` must be >= .*size=0"):
        task.generate(rng(0), 2, size=0)
    with pytest.raises(ValueError, match="`size` must be an integer"):
        task.generate(rng(0), 2, size=3.0)


def test_bigram_flip_rejects_size_one():
    with pytest.raises(ValueError, match="`size` must be >= 2, received size=1"):
        LANTMBigramFlipTask().generate(rng(0), 2, size=1)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    default = tasks.get(name)
    config = default.get_config()
    assert config["alphabet_size"] == DEFAULTS[name][0]
    assert config["pad_multiple"] is None
    q = default.size_name
    assert (config[f"min_{q}"], config[f"max_{q}"]) == DEFAULTS[name][1]
    assert (config[f"generalization_min_{q}"],
            config[f"generalization_max_{q}"]) == DEFAULTS[name][2]
    task = type(default)(**{**config, "alphabet_size": 12, "pad_multiple": 8})
    clone = type(task).from_config(task.get_config())
    assert clone == task and clone != default
    assert clone.get_config() == task.get_config()
    a = task.generate(rng(5), 3, "generalization")
    b = clone.generate(rng(5), 3, "generalization")
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert a[0].shape[1] % 8 == 0 or a[0].shape[1] == task.max_steps("generalization")
    assert repr(task).startswith(type(task).__name__ + "(")
    assert "pad_multiple=8" in repr(task)
    if name == "lantm_repeat_copy":
        assert config["length"] == 20


def test_compile_kwargs_fine_and_coarse_accuracy():
    task = LANTMDoubleTask(max_digits=4)
    kwargs = task.compile_kwargs()
    assert isinstance(kwargs["loss"], keras.losses.SparseCategoricalCrossentropy)
    names = [m.name for m in kwargs["weighted_metrics"]]
    assert names == ["symbol_accuracy", "sequence_accuracy",
                     "symbol_errors_per_sequence"]
    x, y, w = task.generate(rng(0), 4, size=3)  # 9 real steps of 11, 5 scored
    # A perfect prediction, then one wrong answer step in row 0 and one wrong
    # unscored step in row 1 (which must not count).
    logits = 10.0 * np.eye(task.vocab_size, dtype=np.float32)[y]
    logits[0, 6] = np.roll(logits[0, 6], 1)
    logits[1, 0] = np.roll(logits[1, 0], 1)
    fine, coarse, errors = task.metrics()
    for metric in (fine, coarse, errors):
        metric.update_state(y, logits, sample_weight=w)
    assert float(fine.result()) == pytest.approx(1 - 1 / 20)  # the paper's fine
    assert float(coarse.result()) == pytest.approx(3 / 4)  # the paper's coarse
    assert float(errors.result()) == pytest.approx(1 / 4)
    # A tiny model: fit/evaluate through compile_kwargs match the numpy metrics.
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((None, task.input_size)), keras.layers.Dense(task.output_size)]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                  **task.compile_kwargs())
    data = task.dataset(batch_size=4, num_batches=1, seed=0)
    history = model.fit(data, epochs=1, verbose=0)
    xb, yb, wb = data[0]
    pred = model.predict(xb, verbose=0)
    expected = km.evaluate_predictions(pred, yb, wb, output_type="categorical")
    assert history.history["symbol_accuracy"][0] == pytest.approx(
        expected["symbol_accuracy"], rel=1e-5)
    assert history.history["sequence_accuracy"][0] == pytest.approx(
        expected["sequence_accuracy"], rel=1e-5)
    assert history.history["symbol_errors_per_sequence"][0] == pytest.approx(
        expected["bit_errors_per_sequence"], rel=1e-5)
    # The loss is the mean cross-entropy over the answer steps only.
    shifted = pred - pred.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    ce = -np.take_along_axis(log_probs, yb[..., None].astype(int), axis=-1)[..., 0]
    assert history.history["loss"][0] == pytest.approx(ce[wb > 0].mean(), rel=1e-4)
