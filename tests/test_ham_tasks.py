"""The HAM paper's tasks: formats, answers recomputed from the inputs, sizes, bad input."""

import numpy as np
import pytest

from keras_memory import tasks
from keras_memory.tasks import (
    HAMAddTask,
    HAMMergeTask,
    HAMReverseTask,
    HAMSearchTask,
    HAMSortTask,
    PriorityQueueTask,
    QueueTask,
    StackTask,
)

TREE = ["ham_reverse", "ham_search", "ham_merge", "ham_sort", "ham_add"]
RAW = ["ham_stack", "ham_queue", "ham_priority_queue"]


def bits_to_int(rows):
    rows = np.asarray(rows).astype(int)
    return (rows * (1 << np.arange(rows.shape[-1] - 1, -1, -1))).sum(-1)


def items_and_answers(task, split="train", seed=0, batch=16, **kwargs):
    x, y, w = task.generate(np.random.default_rng(seed), batch, split=split, **kwargs)
    out = []
    for b in range(batch):
        present = x["sequence"][b, :, -1] > 0
        assert present[: present.sum()].all(), "items must fill the first leaves"
        items = x["sequence"][b, present, :-1]
        steps = np.nonzero(w[b])[0]
        np.testing.assert_array_equal(x["decoder"][b, :, 0], w[b])
        answer = y[b, steps]
        # The last scored step is EOO: zero payload, EOO bit set; no other step has it.
        assert answer[-1, -1] == 1 and not answer[-1, :-1].any()
        assert not answer[:-1, -1].any()
        # Every eta-th step, starting at step eta - 1.
        np.testing.assert_array_equal(steps, task.eta * np.arange(1, len(steps) + 1) - 1)
        out.append((items, answer[:-1, :-1]))
    return out


@pytest.mark.parametrize("name", TREE + RAW)
def test_registered_with_paper_defaults(name):
    task = tasks.get(name)
    assert task.name == name
    assert type(task).from_config(task.get_config()) == task


def test_reverse_answers_the_items_last_to_first():
    for items, answer in items_and_answers(HAMReverseTask(num_leaves=16)):
        np.testing.assert_array_equal(answer, items[::-1])
        assert items.shape[1] == 10


def test_sort_is_stable_by_key():
    for items, answer in items_and_answers(HAMSortTask(num_leaves=32), batch=32):
        keys = bits_to_int(items[:, :5])
        expected = items[np.argsort(keys, kind="stable")]
        np.testing.assert_array_equal(answer, expected)
        assert (np.diff(bits_to_int(answer[:, :5])) >= 0).all()


def test_search_answers_the_first_value_with_the_query_key_in_two_steps_per_output():
    task = HAMSearchTask(num_leaves=16)
    assert task.eta == 2
    for items, answer in items_and_answers(task, batch=32):
        keys = bits_to_int(items[:-1, :5])
        assert (np.diff(keys) >= 0).all(), "items sorted by key"
        assert items[-1, 10] == 1 and not items[:-1, 10].any(), "only the query is flagged"
        query = bits_to_int(items[-1, :5])
        first = int(np.nonzero(keys == query)[0][0])
        np.testing.assert_array_equal(answer, items[first : first + 1, 5:10])


def test_merge_answers_values_by_priority_from_two_sorted_runs():
    for items, answer in items_and_answers(HAMMergeTask(num_leaves=32), batch=32):
        p = items[:, 0]
        assert len(np.unique(p)) == len(p)
        assert np.allclose(p * 300, np.round(p * 300)) and p.min() >= 1 / 300 and p.max() <= 1
        # Two ascending runs: at most one descent.
        assert (np.diff(p) < 0).sum() <= 1
        np.testing.assert_array_equal(answer, items[np.argsort(p), 1:])


def test_add_answers_the_binary_sum_least_significant_bit_first():
    task = HAMAddTask(num_leaves=32)
    for items, answer in items_and_answers(task, batch=32):
        plus = int(np.nonzero(items[:, 1])[0][0])
        equals = int(np.nonzero(items[:, 2])[0][0])
        assert equals == len(items) - 1 and equals == 2 * plus + 1
        a = sum(int(v) << i for i, v in enumerate(items[:plus, 0]))
        b = sum(int(v) << i for i, v in enumerate(items[plus + 1 : equals, 0]))
        got = sum(int(v) << i for i, v in enumerate(answer[:, 0]))
        assert got == a + b and len(answer) == plus + 1


@pytest.mark.parametrize("name", TREE)
def test_splits_use_the_papers_tree_sizes_and_lengths(name):
    task = tasks.get(name)
    assert task.leaves("train") == 32 and task.leaves("generalization") == 128
    for split, (low, high) in (("train", task.length_range("train")),
                               ("generalization", task.length_range("generalization"))):
        x, y, w = task.generate(np.random.default_rng(1), 64, split=split)
        assert x["sequence"].shape[1] == task.leaves(split)
        assert y.shape[1] == task.max_steps(split) == x["decoder"].shape[1]
        used = (x["sequence"][..., -1] > 0).sum(1)
        lengths = used if name != "ham_add" else (used - 2) // 2
        assert lengths.min() >= low and lengths.max() <= high
    if name == "ham_reverse":
        # The paper's generalization: n = 128, lengths U[65, 128].
        assert task.length_range("generalization") == (65, 128)
        assert task.length_range("train") == (1, 32)


def test_a_fixed_length_reaches_max_steps_exactly():
    task = HAMReverseTask(num_leaves=8)
    x, y, w = task.generate(np.random.default_rng(0), 2, length=8)
    assert w.sum(1).tolist() == [9.0, 9.0] and y.shape[1] == task.max_steps()


@pytest.mark.parametrize("cls, pop", [(StackTask, lambda s: s.pop()),
                                      (QueueTask, lambda s: s.pop(0))])
def test_stack_and_queue_pops_return_the_right_values(cls, pop):
    task = cls(num_operations=32)
    x, y, w = task.generate(np.random.default_rng(2), 16)
    for b in range(16):
        store = []
        for t in range(32):
            if x[b, t, 0]:
                assert not w[b, t]
                store.append(x[b, t, 2:7])
            else:
                assert x[b, t, 1] and w[b, t] and store, "POP only on a non-empty structure"
                np.testing.assert_array_equal(y[b, t], pop(store))


def test_pops_grow_more_likely_along_the_sequence():
    x, _, w = StackTask(num_operations=64).generate(np.random.default_rng(3), 200)
    first, last = w[:, :16].mean(), w[:, -16:].mean()
    # t / n averages 0.13 over the first 16 of 64 operations and 0.88 over the
    # last 16 (less where the stack is empty and a PUSH is forced).
    assert 0.08 < first < 0.2 and 0.7 < last < 0.9


def test_priority_queue_pops_the_highest_priority_among_distinct_live_ones():
    task = PriorityQueueTask(num_operations=32, generalization_num_operations=128)
    for split in ("train", "generalization"):
        x, y, w = task.generate(np.random.default_rng(4), 8, split=split)
        for b in range(8):
            store = {}
            for t in range(x.shape[1]):
                if x[b, t, 0]:
                    priority = int(bits_to_int(x[b, t, 7:12]))
                    assert priority not in store
                    store[priority] = x[b, t, 2:7]
                else:
                    np.testing.assert_array_equal(y[b, t], store.pop(max(store)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_leaves=12), "power of two"),
    (dict(num_leaves=8, max_length=9), "max_length"),
    (dict(num_leaves=8, min_length=5, max_length=3), "max_length"),
    (dict(num_leaves=8, eta=0), "eta"),
])
def test_bad_tree_task_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HAMReverseTask(**kwargs)


def test_add_checks_that_the_input_fits_the_tree():
    with pytest.raises(ValueError, match="leaves"):
        HAMAddTask(num_leaves=8, max_length=4)  # 2 * 4 + 2 = 10 leaves > 8


@pytest.mark.parametrize("name", TREE + RAW)
def test_every_sequence_has_a_scored_step(name):
    """So the HAM error counts every sequence whichever way sequences without
    a scored step are counted (`keras_memory.metrics.score_counts`)."""
    size = {"num_operations": 2} if name in RAW else {"num_leaves": 4}
    task = tasks.get(name, **size)
    rng = np.random.default_rng(0)
    for split in ("train", "validation", "generalization"):
        for _ in range(5):
            _, _, w = task.generate(rng, 64, split=split)
            assert (np.asarray(w) > 0).any(axis=1).all(), (name, split)
