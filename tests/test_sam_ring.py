"""The least accessed ring (Rae et al. 2016, Suppl. A.3) behind `search="lsh"`."""

import numpy as np
import pytest
from keras import ops

from backend_utils import numpy, only_tensorflow, tensor, xla
from keras_memory.addressing import sam as addressing


def _ring(batch, size, dtype):
    nxt, prev, _ = addressing.ring_initial(size)
    tile = lambda a: ops.cast(ops.tile(a[None], [batch, 1]), dtype)  # noqa: E731
    return tile(nxt), tile(prev), ops.zeros([batch], "int32"), ops.full([batch], size - 1, dtype="int32")


@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_ring_order_is_the_order_of_last_access(dtype):
    """After any sequence of accesses the ring lists the rows from the least to the most
    recently accessed: its first rows are the argsort of the last-access times."""
    rng = np.random.default_rng(0)
    batch, size = 3, 17
    nxt, prev, head, tail = _ring(batch, size, dtype)
    # Untouched rows count as accessed in index order, before any real access.
    last = np.tile(np.arange(size, dtype=float) - size, (batch, 1))
    for step in range(40):  # 140 touches of 17 rows on average.
        rows = rng.integers(0, size, size=(batch, 5))
        active = rng.random((batch, 5)) < 0.7
        nxt, prev, head, tail = addressing.ring_touch_all(
            nxt, prev, head, tail, tensor(rows, "int32"), tensor(active))
        for j in range(5):
            for b in range(batch):
                if active[b, j]:
                    last[b, rows[b, j]] = step * 10 + j
        oldest = numpy(addressing.ring_oldest(nxt, head, 6))
        np.testing.assert_array_equal(oldest, np.argsort(last, 1, kind="stable")[:, :6])
        np.testing.assert_array_equal(numpy(tail), np.argmax(last, 1))
    # Still one list through every row: walking from the head visits each row once.
    order = numpy(addressing.ring_oldest(nxt, head, size))
    assert all(sorted(o) == list(range(size)) for o in order)


def test_ring_starts_in_index_order_and_inactive_touches_change_nothing():
    nxt, prev, head, tail = _ring(2, 6, "float32")
    np.testing.assert_array_equal(numpy(addressing.ring_oldest(nxt, head, 6)),
                                  [list(range(6))] * 2)
    moved = addressing.ring_touch_all(nxt, prev, head, tail, tensor([[0, 3], [5, 1]]),
                                      tensor([[False, False], [False, True]]))
    np.testing.assert_array_equal(numpy(moved[0])[0], numpy(nxt)[0])
    np.testing.assert_array_equal(numpy(addressing.ring_oldest(moved[0], moved[2], 6))[1],
                                  [0, 2, 3, 4, 5, 1])


def test_ring_under_xla_matches_eager():
    nxt, prev, head, tail = _ring(2, 9, "float32")
    rows = tensor([[3, 0, 8, 3], [1, 1, 2, 8]])
    active = tensor([[True, True, True, True], [True, False, True, True]])
    eager = addressing.ring_touch_all(nxt, prev, head, tail, rows, active)
    compiled = xla(addressing.ring_touch_all)(
        nxt, prev, head, tail, rows, active)
    for a, b in zip(eager, compiled):
        np.testing.assert_array_equal(numpy(a), numpy(b))


@only_tensorflow
def test_touching_many_rows_compiles_to_one_loop_not_one_copy_per_row():
    """`ring_touch_all` loops over the rows: its graph, and XLA's compile time and
    memory with it, do not grow with the rows touched. Unrolled, an SDNC step
    (164 rows) took about 100 s and 5.6 GiB to compile at 4,096 slots."""
    import tensorflow as tf

    def graph_size(n):
        nxt, prev, head, tail = _ring(2, 64, "float32")
        rows = tf.TensorSpec((2, n), tf.int32)
        accessed = tf.TensorSpec((2, n), tf.bool)
        traced = tf.function(lambda r, a: addressing.ring_touch_all(nxt, prev, head, tail, r, a))
        graph = traced.get_concrete_function(rows, accessed).graph
        return len(graph.as_graph_def(add_shapes=False).node)

    assert graph_size(64) == graph_size(4)


def test_touching_under_xla_equals_touching_eagerly():
    rng = np.random.default_rng(1)
    ring = _ring(3, 11, "float32")
    rows = tensor(rng.integers(0, 11, size=(3, 9)), "int32")
    active = tensor(rng.random((3, 9)) < 0.8)
    eager = addressing.ring_touch_all(*ring, rows, active)
    compiled = xla(lambda r, a: addressing.ring_touch_all(*ring, r, a))(rows, active)
    for e, c in zip(eager, compiled):
        np.testing.assert_array_equal(numpy(e), numpy(c))
