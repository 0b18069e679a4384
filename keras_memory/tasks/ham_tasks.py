"""The tasks of the Hierarchical Attentive Memory paper (Andrychowicz & Kurach, 2016).

Two families:

* `TreeTask` (Reverse, Search, Merge, Sort, Add; section 4.2): the whole
  input sequence goes into the leaves of the memory tree at the start, then
  the model answers, one output vector every `eta` steps. Batches are dicts
  of two inputs, `{"sequence": (B, n, input_size), "decoder": (B, T, 1)}`:
  the sequence padded to the `n` leaves of the split's tree, its last
  channel 1 on the real items (the tree initialisation leaves the other
  leaves at zero), and a decoder channel that is 1 on the steps that emit an
  output. Targets are `(B, T, output_size)` bits whose last bit is the "end
  of output" (EOO) flag: every answer ends with an all-zero vector with the
  EOO bit set, which the model must predict (section 3).
* `DataStructureTask` (Stack, Queue, PriorityQueue; section 4.3, "raw HAM"):
  operations arrive online, one per step, `inputs (B, T, 2 + bits [+ bits])`
  = `[is_push, is_pop, value, (priority)]`; targets are the popped values,
  scored only on POP steps.

The paper's metric is the share of output sequences with any wrong bit
(`1 - SequenceAccuracy`). Encodings the paper leaves open are stated in
each task's docstring.

Reference:
    - [Andrychowicz & Kurach, 2016. Learning Efficient Algorithms with
      Hierarchical Attentive Memory](https://arxiv.org/abs/1602.03218),
      sections 4.1-4.3.
"""

import numpy as np

from keras_memory.tasks.base import AlgorithmicTask
from keras_memory.tasks.base import check_int
from keras_memory.tasks.base import check_range
from keras_memory.tasks.base import check_split


def _power_of_two(name, value):
    value = check_int(name, value, 2)
    if value & (value - 1):
        raise ValueError(
            f"`{name}` must be a power of two (the leaves of a full binary tree), "
            f"received {name}={value}"
        )
    return value


def _bits(rng, shape):
    return rng.integers(0, 2, size=shape).astype(np.float32)


def bits_to_int(bits):
    """Most-significant-first bit rows `(..., k)` to integers.

    The sort task's keys and the priority queue's priorities are written
    this way (Andrychowicz & Kurach, 2016, section 4.1).

    Args:
        bits: An array `(..., k)` of 0/1 (or booleans).

    Returns:
        An int64 array `(...)`.

    Example:

    >>> bits_to_int(np.array([[1, 0, 1], [0, 1, 1]]))
    array([5, 3])
    """
    k = bits.shape[-1]
    return (bits.astype(np.int64) * (1 << np.arange(k - 1, -1, -1))).sum(-1)


class TreeTask(AlgorithmicTask):
    """Base class of the LSTM+HAM tasks: the input fills the tree, then the model answers.

    Sizes: training and validation use a tree of `num_leaves` leaves and
    input lengths uniform in `[min_length, max_length]` (by default
    `[1, num_leaves]`, the paper's test setting at 32 leaves); the
    generalization split uses `generalization_num_leaves` (default
    `4 * num_leaves`) and lengths in `[2 n + 1, 4 n]` (the paper: 128
    leaves, lengths 65-128). Lengths are drawn per sequence.

    `generate` returns `(inputs, targets, sample_weight)` with `inputs` a
    dict: `"sequence"` `(B, leaves, input_size)` and `"decoder"`
    `(B, T, 1)`. The answer of `k` vectors plus EOO is emitted at decoder
    steps `eta - 1, 2 eta - 1, ...` (every `eta`-th step, section 3);
    `sample_weight` is 1 there and 0 elsewhere; `T = eta * (longest answer
    + 1)` for the split.

    Args:
        num_leaves: Leaves `n` of the training tree, a power of two.
        min_length: Shortest training input (default `1`).
        max_length: Longest training input (default `n`).
        generalization_num_leaves: Default `4 * num_leaves`.
        eta: Steps per output (the paper: 1, and 2 for Search).
    """

    output_type = "bits"
    default_eta = 1

    def __init__(self, num_leaves=32, min_length=None, max_length=None,
                 generalization_num_leaves=None, eta=None):
        self.num_leaves = _power_of_two("num_leaves", num_leaves)
        self.generalization_num_leaves = _power_of_two(
            "generalization_num_leaves",
            4 * self.num_leaves if generalization_num_leaves is None else generalization_num_leaves,
        )
        low_default, high_default = self.default_length_range(self.num_leaves)
        self.min_length = check_int("min_length", low_default if min_length is None else min_length,
                                    self.shortest)
        self.max_length = check_int("max_length", high_default if max_length is None else max_length,
                                    self.shortest)
        check_range("min_length", self.min_length, "max_length", self.max_length)
        self._check_fits("max_length", self.max_length, self.num_leaves)
        self.eta = check_int("eta", self.default_eta if eta is None else eta, 1)

    shortest = 1

    @staticmethod
    def default_length_range(num_leaves):
        return 1, num_leaves

    def _check_fits(self, name, length, leaves):
        if self.leaves_needed(length) > leaves:
            raise ValueError(
                f"`{name}`={length} needs {self.leaves_needed(length)} leaves, more than the "
                f"tree's {leaves}"
            )

    def leaves_needed(self, length):
        """Leaves the input of size `length` occupies."""
        return length

    def length_range(self, split="train"):
        """Input lengths `(min, max)` of `split`."""
        if check_split(split) == 2:
            n = self.generalization_num_leaves
            return self.generalization_length_range(n)
        return self.min_length, self.max_length

    def generalization_length_range(self, n):
        # "2-4x longer": lengths U[2n'+1, 4n'] for the training n' = n / 4.
        return n // 2 + 1, n

    def leaves(self, split="train"):
        """Number of tree leaves of `split`."""
        return self.generalization_num_leaves if check_split(split) == 2 else self.num_leaves

    def answer_length(self, length):
        """Output vectors (without EOO) for an input of size `length`."""
        raise NotImplementedError

    def max_steps(self, split="train"):
        return self.eta * (self.answer_length(self.length_range(split)[1]) + 1)

    def sample(self, rng, length):
        """One example: `(input rows (L, input_size - 1), answer rows (k, output_size - 1))`."""
        raise NotImplementedError

    def generate(self, rng, batch_size, split="train", length=None):
        batch_size = check_int("batch_size", batch_size, 1)
        low, high = self.length_range(split)
        if length is not None:
            length = check_int("length", length, self.shortest)
            low = high = length
        leaves = max(self.leaves(split), self.leaves_needed(high))
        num_steps = max(self.max_steps(split), self.eta * (self.answer_length(high) + 1))
        sequence = np.zeros((batch_size, leaves, self.input_size), np.float32)
        decoder = np.zeros((batch_size, num_steps, 1), np.float32)
        targets = np.zeros((batch_size, num_steps, self.output_size), np.float32)
        weights = np.zeros((batch_size, num_steps), np.float32)
        for b in range(batch_size):
            x, y = self.sample(rng, int(rng.integers(low, high + 1)))
            sequence[b, : len(x), :-1] = x
            sequence[b, : len(x), -1] = 1.0
            steps = self.eta * np.arange(1, len(y) + 2) - 1
            targets[b, steps[:-1], :-1] = y
            targets[b, steps[-1], -1] = 1.0  # End of output.
            decoder[b, steps, 0] = 1.0
            weights[b, steps] = 1.0
        return {"sequence": sequence, "decoder": decoder}, targets, weights

    def get_config(self):
        return {
            "num_leaves": self.num_leaves,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "generalization_num_leaves": self.generalization_num_leaves,
            "eta": self.eta,
        }


class HAMReverseTask(TreeTask):
    """Reverse (section 4.2): `m` random 10-bit vectors, answered last to first.

    `input_size = 10 + 1` (the bits, then the item flag); `output_size =
    10 + 1` (the bits, then EOO).

    Example:

    >>> task = HAMReverseTask(num_leaves=8)
    >>> x, y, w = task.generate(np.random.default_rng(0), 4)
    >>> x["sequence"].shape, x["decoder"].shape, y.shape
    ((4, 8, 11), (4, 9, 11), (4, 9, 11))
    """

    name = "ham_reverse"
    num_bits = 10
    input_size = num_bits + 1
    output_size = num_bits + 1

    def answer_length(self, length):
        return length

    def sample(self, rng, length):
        x = _bits(rng, (length, self.num_bits))
        return x, x[::-1]


class HAMSearchTask(TreeTask):
    """Search (section 4.2): find a key's value in a sorted list, with `eta = 2`.

    Items `key || value` (5 + 5 bits) sorted by key (duplicates allowed),
    then the query `q || 00000` with the query flag set; the answer is the
    value of the first item whose key is `q` (the query always occurs), then
    EOO. `input_size = 10 + 1 (query flag) + 1 (item flag)`, `output_size =
    5 + 1`. The input length counts the query: `m - 1` items, so `m >= 2`.
    """

    name = "ham_search"
    default_eta = 2
    shortest = 2
    input_size = 12
    output_size = 6

    @staticmethod
    def default_length_range(num_leaves):
        return 2, num_leaves

    def answer_length(self, length):
        return 1

    def sample(self, rng, length):
        items = length - 1
        keys = rng.integers(0, 32, size=items)
        keys.sort(kind="stable")
        values = rng.integers(0, 32, size=items)
        query = keys[rng.integers(0, items)]
        first = int(np.argmax(keys == query))
        bits = lambda v: ((v[..., None] >> np.arange(4, -1, -1)) & 1).astype(np.float32)
        x = np.zeros((length, 11), np.float32)
        x[:items, :5] = bits(keys)
        x[:items, 5:10] = bits(values)
        x[items, :5] = bits(np.array(query))
        x[items, 10] = 1.0
        return x, bits(values[first : first + 1])


class HAMMergeTask(TreeTask):
    """Merge (section 4.2): two sorted runs of `(priority, value)` merged by priority.

    Each item is `[p, v1..v5]` with priorities unique, uniform from
    `{1/300, ..., 300/300}`; the input is the first run (ascending) followed
    by the second (ascending), split at a uniform point; the answer is every
    value in ascending priority order, then EOO. `input_size = 6 + 1`,
    `output_size = 5 + 1`.
    """

    name = "ham_merge"
    shortest = 2
    input_size = 7
    output_size = 6

    @staticmethod
    def default_length_range(num_leaves):
        return 2, num_leaves

    def answer_length(self, length):
        return length

    def sample(self, rng, length):
        priorities = (rng.choice(300, size=length, replace=False) + 1) / 300.0
        values = _bits(rng, (length, 5))
        cut = int(rng.integers(1, length))
        first = np.argsort(priorities[:cut], kind="stable")
        second = cut + np.argsort(priorities[cut:], kind="stable")
        order = np.concatenate([first, second])
        x = np.concatenate([priorities[order, None], values[order]], axis=1).astype(np.float32)
        return x, values[np.argsort(priorities, kind="stable")]


class HAMSortTask(TreeTask):
    """Sort (section 4.2): `key || value` pairs (5 + 5 bits) stably sorted by key.

    The answer is the whole 10-bit pairs in ascending key order, equal keys
    in input order, then EOO. `input_size = 10 + 1`, `output_size = 10 + 1`.
    """

    name = "ham_sort"
    input_size = 11
    output_size = 11

    def answer_length(self, length):
        return length

    def sample(self, rng, length):
        x = _bits(rng, (length, 10))
        order = np.argsort(bits_to_int(x[:, :5]), kind="stable")
        return x, x[order]


class HAMAddTask(TreeTask):
    """Add (section 4.2): `a + b` of two `k`-bit numbers, least significant bit first.

    The input is `a_1..a_k, +, b_1..b_k, =`, one symbol per leaf, each
    `[bit, is_plus, is_equals]`; the answer is the `k + 1` bits of the sum,
    least significant first, then EOO. The length is `k`, so the input takes
    `2 k + 2` leaves (default `k` in `[1, n / 2 - 1]`). `input_size = 3 + 1`,
    `output_size = 1 + 1`.
    """

    name = "ham_add"
    input_size = 4
    output_size = 2

    @staticmethod
    def default_length_range(num_leaves):
        return 1, num_leaves // 2 - 1

    def generalization_length_range(self, n):
        return n // 4, n // 2 - 1

    def leaves_needed(self, length):
        return 2 * length + 2

    def answer_length(self, length):
        return length + 1

    def sample(self, rng, length):
        a = rng.integers(0, 2, size=length)
        b = rng.integers(0, 2, size=length)
        x = np.zeros((2 * length + 2, 3), np.float32)
        x[:length, 0] = a
        x[length, 1] = 1.0
        x[length + 1 : 2 * length + 1, 0] = b
        x[2 * length + 1, 2] = 1.0
        total = sum(int(v) << i for i, v in enumerate(a)) + sum(int(v) << i for i, v in enumerate(b))
        y = np.array([(total >> i) & 1 for i in range(length + 1)], np.float32)[:, None]
        return x, y


class DataStructureTask(AlgorithmicTask):
    """Base class of the raw-HAM data-structure tasks (section 4.3).

    A sequence of `n` operations given online, one per step; the `t`-th
    operation (1-based) is POP with probability `t / n` and PUSH otherwise,
    never POP on an empty structure (then it is a PUSH). Inputs
    `[is_push, is_pop, value (5 bits), (priority (5 bits))]`; the target of a
    POP step is the value it returns; only POP steps are scored. Training
    uses `num_operations = 32` (the tree of 32 leaves), generalization
    `4 * num_operations`.

    Args:
        num_operations: Operations per training sequence.
        generalization_num_operations: Default `4 * num_operations`.
    """

    output_type = "bits"
    value_bits = 5
    has_priority = False

    def __init__(self, num_operations=32, generalization_num_operations=None):
        self.num_operations = check_int("num_operations", num_operations, 1)
        self.generalization_num_operations = check_int(
            "generalization_num_operations",
            4 * self.num_operations if generalization_num_operations is None
            else generalization_num_operations, 1)
        self.input_size = 2 + self.value_bits * (2 if self.has_priority else 1)
        self.output_size = self.value_bits

    def operations(self, split="train"):
        return self.generalization_num_operations if check_split(split) == 2 else self.num_operations

    def max_steps(self, split="train"):
        return self.operations(split)

    def pop(self, store):
        """Removes and returns the value a POP returns from `store`."""
        raise NotImplementedError

    def generate(self, rng, batch_size, split="train"):
        batch_size = check_int("batch_size", batch_size, 1)
        n = self.operations(split)
        inputs, targets, weights = self._empty_batch(batch_size, n)
        bits = self.value_bits
        for b in range(batch_size):
            store = []
            for t in range(n):
                full = self.has_priority and len(store) == 2 ** bits
                if store and (full or rng.uniform() < (t + 1) / n):
                    inputs[b, t, 1] = 1.0
                    targets[b, t] = self.pop(store)
                    weights[b, t] = 1.0
                    continue
                value = _bits(rng, (bits,))
                inputs[b, t, 0] = 1.0
                inputs[b, t, 2 : 2 + bits] = value
                if self.has_priority:
                    live = {p for p, _ in store}
                    priority = int(rng.choice([p for p in range(2 ** bits) if p not in live]))
                    inputs[b, t, 2 + bits :] = (priority >> np.arange(bits - 1, -1, -1)) & 1
                    store.append((priority, value))
                else:
                    store.append(value)
        return inputs, targets, weights

    def get_config(self):
        return {"num_operations": self.num_operations,
                "generalization_num_operations": self.generalization_num_operations}


class StackTask(DataStructureTask):
    """Stack (section 4.3): POP returns the value pushed last."""

    name = "ham_stack"

    def pop(self, store):
        return store.pop()


class QueueTask(DataStructureTask):
    """Queue (section 4.3): POP returns the oldest value."""

    name = "ham_queue"

    def pop(self, store):
        return store.pop(0)


class PriorityQueueTask(DataStructureTask):
    """Priority queue (section 4.3): POP returns the value of highest priority.

    PUSH carries a 5-bit priority (most significant bit first). The paper
    has all priorities distinct; here they are distinct among the values in
    the queue at the same time (so 128 operations fit with 32 priorities),
    and with all 32 in use the operation is a POP.
    """

    name = "ham_priority_queue"
    has_priority = True

    def pop(self, store):
        best = max(range(len(store)), key=lambda i: store[i][0])
        return store.pop(best)[1]
