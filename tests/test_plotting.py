"""Plotting helpers: where NTM and SAM heads read and wrote, and the leaves HAM visits."""

import keras
import numpy as np
import pytest

from keras_memory import NTMCell, SAMCell, plotting, tasks
from keras_memory.training import build_model


@pytest.mark.parametrize("memory_size, max_dense_rows", [(12, 1024), (5000, 64)])
def test_record_access_densifies_sam_weightings(tmp_path, memory_size, max_dense_rows):
    keras.utils.set_random_seed(0)
    task = tasks.CopyTask(num_bits=4, max_length=4)
    cell = SAMCell(units=8, memory_size=memory_size, word_size=4, num_heads=2, k=3)
    model = build_model(cell, task)
    x, y, w = task.generate(np.random.default_rng(0), 2, length=4)
    access = plotting.record_access(model, x, max_dense_rows=max_dense_rows)
    steps = x.shape[1]
    rows = access["rows"]
    assert access["read_weightings"].shape == (2, steps, 2, len(rows))
    assert access["write_weightings"].shape == (2, steps, 2, len(rows))
    if memory_size <= max_dense_rows:
        np.testing.assert_array_equal(rows, np.arange(memory_size))
    else:  # only touched slots: at most every read and write of every step
        assert len(rows) <= 2 * steps * 2 * (3 + 3 + 1)
        assert len(rows) < memory_size
    # Each head's sparse read weights sum to 1 over the slots it read.
    np.testing.assert_allclose(access["read_weightings"].sum(-1), 1.0, atol=1e-5)
    # The first step writes only the least recently accessed rows 0 and 1
    # (the initial read weights are zero), one per head.
    first = access["write_weightings"][:, 0]
    touched = [set(rows[np.nonzero(first[b, h] > 0)[0]]) for b in range(2) for h in range(2)]
    assert touched == [{0}, {1}, {0}, {1}]
    path = tmp_path / "access.png"
    plotting.plot_memory_access(access, targets=y, sample_weight=w, path=str(path))
    assert path.stat().st_size > 1000


def test_record_access_ntm_returns_every_slot():
    task = tasks.CopyTask(num_bits=4, max_length=3)
    model = build_model(NTMCell(units=8, memory_size=10, word_size=4), task)
    x, _, _ = task.generate(np.random.default_rng(0), 2, length=3)
    access = plotting.record_access(model, x)
    assert access["read_weightings"].shape[-1] == 10
    np.testing.assert_array_equal(access["rows"], np.arange(10))


def test_ham_leaf_visits_are_recorded_and_drawn(tmp_path):
    from keras_memory import HAMCell, tasks
    from keras_memory.reinforce import build_ham_model

    task = tasks.get("ham_reverse", num_leaves=8)
    model = build_ham_model(HAMCell(units=6, memory_size=8, hidden_size=5, seed=0), task)
    x, _, w = task.generate(np.random.default_rng(0), 2)
    record = plotting.record_leaves(model, x)
    assert record["leaf"].shape == w.shape
    assert record["leaf"].min() >= 0 and record["leaf"].max() < 8
    path = tmp_path / "leaves.png"
    plotting.plot_leaf_visits(record, sample_weight=w, path=str(path))
    assert path.stat().st_size > 5_000


def test_leaf_visits_are_labelled_with_the_values_of_the_leaves(tmp_path):
    record = {"leaf": np.array([[2, 0, 3, 1]])}
    fig = plotting.plot_leaf_visits(record, leaf_values=[5, None, 7, 9])
    labels = [text.get_text() for text in fig.axes[0].texts]
    assert labels == ["7", "5", "9"]  # leaf 1 is empty: no label
    fig.clf()
