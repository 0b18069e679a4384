"""SAMCell: the Keras contract, the paper's step, sparse addressing, masking,
what the loop stores for backprop, and bad input."""

import keras
import numpy as np
import pytest
from keras import ops

import numpy_sam as ref
from backend_utils import (
    BACKEND,
    gradients,
    jax_equations,
    jax_loop_selects,
    jax_model_programs,
    jax_stored_per_step,
    needs_float64,
    numpy,
    only_tensorflow,
    tensor,
    xla,
)
import keras_memory.layers
from contract import CellContract
from keras_memory import MemoryRNN, NTMCell, SAMCell
from keras_memory.addressing import sam as addressing

EXACT = dict(units=8, memory_size=8, word_size=4, num_heads=2, k=2)
LSH = dict(units=8, memory_size=8, word_size=4, num_heads=1, k=2, search="lsh",
           lsh_tables=2, lsh_bits=1, lsh_bucket_size=4, lsh_recent=2)


class TestSAMCellContract(CellContract):
    input_dim = 3
    # Controller kernel, recurrent kernel, bias; head layer kernel, bias.
    expected_num_trainable_weights = 5

    def make_cell(self, **overrides):
        return SAMCell(**{**EXACT, **overrides})


class TestSAMCellLSHContract(CellContract):
    input_dim = 3
    # The LSH hyperplanes are not trained.
    expected_num_trainable_weights = 5

    def make_cell(self, **overrides):
        return SAMCell(**{**LSH, **overrides})

    # The dtype handling does not depend on the search: the exact cell runs
    # float16 by default (and bfloat16 with `-m slow`); here only `-m slow`.
    @pytest.mark.slow
    @pytest.mark.parametrize("policy", ["mixed_bfloat16"])
    def test_mixed_precision(self, policy):
        super().test_mixed_precision(policy)
        assert keras.config.dtype_policy().name == "float32"  # restored afterwards

    # The Keras plumbing of these does not depend on the search either (the
    # exact cell runs it by default); the LSH step, masking, shapes and the
    # `.keras` round trip of its table and hyperplanes run by default here.
    slow_contract_tests = (
        "test_sequential_model_fits",
        "test_fit_reduces_the_loss",
        "test_stacked_rnn_cells",
        "test_stateful_halves_equal_the_whole_sequence",
    )


# ------------------------------------------------------------------ helpers
def _reference_weights(cell):
    weights = {
        "kernel": numpy(cell.controller.kernel).astype("float64"),
        "recurrent_kernel": numpy(cell.controller.recurrent_kernel).astype("float64"),
        "bias": numpy(cell.controller.bias).astype("float64"),
        "head_kernel": numpy(cell.head_parameters.kernel).astype("float64"),
        "head_bias": numpy(cell.head_parameters.bias).astype("float64"),
    }
    if cell.search == "lsh":
        weights["hyperplanes"] = numpy(cell.lsh_hyperplanes).astype("float64")
    return weights


def _reference_config(cell):
    cfg = dict(units=cell.units, memory_size=cell.memory_size, word_size=cell.word_size,
               num_heads=cell.num_heads, k=cell.k, usage_threshold=cell.usage_threshold,
               clip_value=cell.clip_value, search=cell.search)
    if cell.search == "lsh":
        cfg.update(lsh_tables=cell.lsh_tables, num_buckets=cell.num_buckets,
                   lsh_bucket_size=cell.lsh_bucket_size, lsh_recent=cell.lsh_recent,
                   lsh_probes=cell.lsh_probes)
    return cfg


def _ring_order(nxt, head):
    """The rows of the least accessed ring, from its head, as a list."""
    order, row = [], int(head)
    while row != -1 and len(order) <= len(nxt):
        order.append(row)
        row = int(nxt[row])
    return order


def _randomise(cell, rng, scale=1.5):
    # Larger weights than the initialisers give, so that the gates saturate
    # differently per head, the clip acts and the reads are not uniform.
    for w in cell.controller.weights + cell.head_parameters.weights:
        w.assign(rng.normal(size=w.shape).astype(w.dtype) * scale)


# -------------------------------------------------- the step vs. NumPy
@pytest.mark.parametrize(
    "config",
    [
        EXACT,
        dict(units=5, memory_size=7, word_size=3, num_heads=1, k=3, memory_init="random",
             usage_threshold=0.05, clip_value=2.0, seed=3),
        # Small buckets and a short recent ring, so that buckets fill up,
        # rows move between buckets and old rows are found only by the tables.
        dict(units=4, memory_size=10, word_size=4, num_heads=2, k=2, search="lsh",
             lsh_tables=2, lsh_bits=2, lsh_bucket_size=2, lsh_recent=2, seed=3),
        dict(units=4, memory_size=12, word_size=4, num_heads=1, k=3, search="lsh",
             memory_init="random", lsh_tables=3, lsh_bits=3, lsh_bucket_size=2,
             lsh_recent=1, seed=4),
        # Multi-probe: each query also reads 2 of its table's 3 neighbouring buckets.
        dict(units=4, memory_size=12, word_size=4, num_heads=2, k=2, search="lsh",
             lsh_tables=2, lsh_bits=3, lsh_bucket_size=2, lsh_recent=2, lsh_probes=2, seed=5),
    ],
    ids=["exact", "exact-random-memory", "lsh", "lsh-random-memory", "lsh-probes"],
)
def test_cell_steps_equal_the_numpy_reference(config):
    keras.utils.set_random_seed(0)
    cell = SAMCell(**config)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    rng = np.random.default_rng(0)
    batch, steps = 2, 12
    x = rng.normal(size=(batch, steps, 3)).astype("float32")
    rnn(x)
    _randomise(cell, rng)
    outputs, *states = rnn(x)
    outputs = numpy(outputs)
    states = [numpy(s) for s in states]

    weights, cfg = _reference_weights(cell), _reference_config(cell)
    n, w = cell.memory_size, cell.word_size
    init_memory = numpy(cell.get_initial_state(batch)[3])
    for b in range(batch):
        state = ref.initial_state(cfg, memory=init_memory[b].reshape(n, w),
                                  hyperplanes=weights.get("hyperplanes"))
        for t in range(steps):
            expected, state, _ = ref.sam_step(x[b, t].astype("float64"), state, weights, cfg)
            np.testing.assert_allclose(outputs[b, t], expected, atol=1e-5,
                                       err_msg=f"example {b}, step {t}")
        np.testing.assert_allclose(states[3][b], state["memory"].reshape(-1), atol=1e-5)
        np.testing.assert_array_equal(states[4][b], state["last_access"])
        np.testing.assert_array_equal(states[5][b], state["read_rows"].reshape(-1))
        np.testing.assert_allclose(states[6][b], state["read_weights"].reshape(-1), atol=1e-5)
        assert states[7][b, 0] == steps
        if cell.search == "lsh":
            np.testing.assert_array_equal(states[8][b], state["table"].reshape(-1))
            np.testing.assert_array_equal(states[9][b], state["codes"].reshape(-1))
            np.testing.assert_array_equal(states[10][b], state["recent"])
            assert states[11][b, 0] == state["count"]
            head, tail = states[14][b]
            assert _ring_order(states[12][b], head) == state["ring"]
            assert tail == state["ring"][-1]


# ----------------------------------------------------------- sparse read
@needs_float64
def test_sparse_read_with_k_equal_to_memory_size_is_the_dense_read():
    rng = np.random.default_rng(0)
    batch, heads, n, w = 2, 2, 5, 3
    memory = rng.normal(size=(batch, n, w))
    memory[0, 2] = 0.0  # a zero row: the epsilon keeps it finite
    keys = np.tanh(rng.normal(size=(batch, heads, w)))
    strengths = np.array([[0.5, 3.0], [7.0, 1.5]])
    rows = addressing.exact_top_k(tensor(memory), tensor(keys), n)
    weights, reads = addressing.sparse_read(
        tensor(memory), tensor(keys), tensor(strengths), rows
    )
    rows, weights, reads = numpy(rows), numpy(weights), numpy(reads)
    for b in range(batch):
        for h in range(heads):
            assert sorted(rows[b, h]) == list(range(n))
            dense = ref.softmax([strengths[b, h] * ref.cosine(keys[b, h], memory[b, i])
                                 for i in range(n)])
            np.testing.assert_allclose(weights[b, h], dense[rows[b, h]], rtol=1e-10)
            np.testing.assert_allclose(reads[b, h], dense @ memory[b], rtol=1e-10, atol=1e-12)
            # Sorted by similarity, most similar first.
            cosines = [ref.cosine(keys[b, h], memory[b, i]) for i in rows[b, h]]
            assert cosines == sorted(cosines, reverse=True)


def test_exact_top_k_returns_the_most_similar_rows_with_ties_to_the_lowest_index():
    memory = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 0.1], [0.0, 0.0], [-1.0, 0.0]]])
    keys = np.array([[[1.0, 0.0], [0.0, -1.0]]])
    rows = numpy(addressing.exact_top_k(tensor(memory), tensor(keys), 3))
    # Key 0: row 1 (cos 1), row 3 (cos ~0.9988), then the zero rows 0 and 4
    # and row 2 all at 0: the lowest index wins.
    np.testing.assert_array_equal(rows[0, 0], [1, 3, 0])
    # Key 1: every row has cosine <= 0; rows 0, 1, 4, 5 at 0, row 2 at -1.
    np.testing.assert_array_equal(rows[0, 1], [0, 1, 4])


# --------------------------------------------------------------------- LRA
@pytest.mark.parametrize("jit_compile", [False, True])
def test_least_recently_accessed_returns_the_oldest_rows_ties_to_the_lowest_index(jit_compile):
    last_access = tensor([[3.0, 1, 1, 0, 2, 0, 1, 0],
                          [0.0] * 8,
                          [5.0, 5, 5, 5, 5, 5, 5, 4],
                          [9.0, 8, 7, 6, 5, 4, 3, 2]])
    find = lambda la: addressing.least_recently_accessed(la, 3)  # noqa: E731
    if jit_compile:
        find = xla(find)
    np.testing.assert_array_equal(
        numpy(find(last_access)),
        [[3, 5, 7], [0, 1, 2], [7, 0, 1], [7, 6, 5]],
    )
    large = np.full((2, 300), 4.0, np.float32)
    large[1, [250, 17]] = 1.0
    np.testing.assert_array_equal(numpy(find(tensor(large))), [[0, 1, 2], [17, 250, 0]])


# ------------------------------------------------------------------- write
def _known_state_cell():
    """A cell whose head parameters are exactly its head bias (kernel zero)."""
    cell = SAMCell(units=3, memory_size=9, word_size=2, num_heads=2, k=2, usage_threshold=0.05)
    x = np.zeros((1, 4), "float32")
    cell(x, cell.get_initial_state(1))  # builds
    cell.head_parameters.kernel.assign(np.zeros(cell.head_parameters.kernel.shape))
    # Per head: query (2), word logits (2), alpha, gamma, beta.
    bias = np.array([0.2, -0.9, 0.8, -0.4, 3.0, 0.5, 1.0,
                     -0.7, 0.3, -0.6, 1.1, 2.0, -1.0, 2.0], "float32")
    cell.head_parameters.bias.assign(bias)
    heads = bias.reshape(2, 7)
    words = np.tanh(heads[:, 2:4].astype("float64"))
    alpha = ref.sigmoid(heads[:, 4].astype("float64"))
    gamma = ref.sigmoid(heads[:, 5].astype("float64"))
    return cell, x, words, alpha, gamma


def test_a_step_writes_exactly_the_previous_read_rows_and_one_lra_row_per_head():
    cell, x, words, alpha, gamma = _known_state_cell()
    rng = np.random.default_rng(0)
    memory = rng.normal(size=(9, 2)).astype("float32")
    last_access = np.array([5, 4, 6, 1, 7, 3, 8, 2, 9], "float32")  # oldest: rows 3, 7
    read_rows = np.array([[0, 5], [5, 8]], "float32")  # row 5 read by both heads
    read_weights = np.array([[0.7, 0.3], [0.6, 0.4]], "float32")
    states = [np.zeros((1, 3), "float32"), np.zeros((1, 3), "float32"),
              np.zeros((1, 4), "float32"), memory.reshape(1, -1), last_access[None],
              read_rows.reshape(1, -1), read_weights.reshape(1, -1),
              np.full((1, 1), 9.0, "float32")]
    _, new_states = cell(x, [tensor(s) for s in states])
    new_memory = numpy(new_states[3]).reshape(9, 2)

    expected = memory.astype("float64")
    for row in (3, 7):  # zeroed, then written
        expected[row] = 0.0
    expected[3] += alpha[0] * (1 - gamma[0]) * words[0]
    expected[7] += alpha[1] * (1 - gamma[1]) * words[1]
    for head in range(2):
        for j in range(2):
            expected[int(read_rows[head, j])] += (
                alpha[head] * gamma[head] * read_weights[head, j] * words[head]
            )
    changed = np.flatnonzero(np.any(new_memory != memory, axis=1))
    assert changed.tolist() == [0, 3, 5, 7, 8]
    np.testing.assert_allclose(new_memory, expected, atol=1e-6)

    # Usage: every row written above the threshold gets step 10; rows neither
    # written nor read keep their time.
    new_last_access = numpy(new_states[4])[0]
    read_now = set(numpy(new_states[5])[0].astype(int)[numpy(new_states[6])[0] > 0.05])
    for row in range(9):
        if row in (0, 3, 5, 7, 8) or row in read_now:
            assert new_last_access[row] == 10, row
        else:
            assert new_last_access[row] == last_access[row], row
    assert numpy(new_states[7])[0, 0] == 10


def test_sparse_write_erases_the_lra_row_then_adds_every_write():
    memory = tensor(np.arange(1.0, 13.0).reshape(1, 6, 2))
    words = tensor([[[1.0, -1.0], [10.0, 20.0]]], "float64")
    previous_rows = tensor([[[1, 2], [2, 4]]])
    on_previous = tensor([[[0.5, 0.25], [0.1, 0.0]]], "float64")
    lra_rows = tensor([[4, 0]])
    on_lra = tensor([[0.0, 0.3]], "float64")
    new = numpy(addressing.sparse_write(memory, previous_rows, on_previous, lra_rows, on_lra,
                                        words))[0]
    old = numpy(memory)[0]
    np.testing.assert_allclose(new[0], [3.0, 6.0])  # zeroed, + 0.3 * word 1
    np.testing.assert_allclose(new[1], old[1] + [0.5, -0.5])
    np.testing.assert_allclose(new[2], old[2] + [0.25, -0.25] + [1.0, 2.0])  # both heads add
    np.testing.assert_array_equal(new[3], old[3])
    np.testing.assert_allclose(new[4], [0.0, 0.0])  # an LRA row with weight 0 is just erased
    np.testing.assert_array_equal(new[5], old[5])
    # A masked example keeps its memory.
    masked = addressing.sparse_write(memory, previous_rows, on_previous, lra_rows, on_lra,
                                     words, mask=tensor([0.0], "float64"))
    np.testing.assert_array_equal(numpy(masked), numpy(memory))


def test_mark_accessed_refreshes_only_rows_above_the_threshold():
    last_access = tensor([[0.0, 2, 0, 3, 1, 0], [0.0, 2, 0, 3, 1, 0]])
    rows = tensor([[1, 4, 2, 4, 5, 5], [0, 0, 0, 0, 0, 0]])
    weights = tensor([[0.5, 0.001, 0.006, 0.005, 0.9, 0.0], [0.0] * 6])
    new = addressing.mark_accessed(last_access, rows, weights, tensor([7.0, 7.0]), 0.005)
    np.testing.assert_array_equal(
        numpy(new),
        # Row 4's two accesses are both <= 0.005; row 5 is accessed by one of
        # its two entries; row 3 is not touched.
        [[0.0, 7, 7, 3, 1, 7], [0.0, 2, 0, 3, 1, 0]],
    )
    masked = addressing.mark_accessed(last_access, rows, weights, 7.0, 0.005,
                                      mask=tensor([0.0, 1.0]))
    np.testing.assert_array_equal(numpy(masked), numpy(last_access))


# --------------------------------------------------------------------- LSH
def _update(table, codes, rows, words, planes, active):
    table, codes = addressing.lsh_update(
        tensor(table, "float32"), tensor(codes, "float32"), tensor(rows, "int32"),
        tensor(words, "float32"), tensor(planes, "float32"), tensor(active))
    return numpy(table).astype(int), numpy(codes).astype(int)


def _filed(table, codes):
    """Check the index's two views agree; return {(table, row): bucket}."""
    filed = {}
    for t in range(table.shape[0]):
        members = table[t][table[t] >= 0].tolist()
        assert len(members) == len(set(members)), "a row filed twice in one table"
        for bucket in range(table.shape[1]):
            for row in table[t, bucket]:
                if row >= 0:
                    assert codes[t, row] == bucket
                    filed[(t, int(row))] = bucket
        assert (codes[t] >= 0).sum() == len(members)
    return filed


def test_lsh_update_files_removes_and_moves_rows_like_the_reference():
    # Words along +-e0 / +-e1 with hyperplanes e0, e1 give known codes:
    # bit 0 is e0 > 0, bit 1 is e1 > 0.
    planes = np.array([[[1.0, 0.0], [0.0, 1.0]]])  # one table, 2 bits, 4 buckets
    words = {0: [-1.0, -1.0], 1: [1.0, -1.0], 2: [-1.0, 1.0], 3: [1.0, 1.0]}
    table = np.full((1, 1, 4, 2), -1)
    codes = np.full((1, 1, 6), -1)
    # Rows 0, 1, 2 into bucket 3 (two slots): row 2 does not fit; row 5 is zero.
    table, codes = _update(table, codes, [[0, 1, 2, 5]],
                           [[words[3], words[3], words[3], [0.0, 0.0]]], planes,
                           [[True, True, True, True]])
    assert table[0, 0, 3].tolist() == [0, 1]
    assert codes[0, 0].tolist() == [3, 3, -1, -1, -1, -1]
    # Row 0 moves to bucket 1, which frees its slot for row 2 in the same call
    # (removals come before inserts); inactive entries change nothing.
    table, codes = _update(table, codes, [[2, 0, 4]], [[words[3], words[1], words[0]]],
                           planes, [[True, True, False]])
    assert table[0, 0, 3].tolist() == [2, 1] and table[0, 0, 1].tolist() == [0, -1]
    assert codes[0, 0].tolist() == [1, 3, 3, -1, -1, -1]
    # A row whose content becomes zero is removed; an unchanged row stays.
    table, codes = _update(table, codes, [[1, 2]], [[[0.0, 0.0], words[3]]], planes,
                           [[True, True]])
    assert table[0, 0, 3].tolist() == [2, -1]
    assert codes[0, 0].tolist() == [1, -1, 3, -1, -1, -1]
    _filed(table[0], codes[0])


def test_lsh_update_keeps_every_row_filed_while_buckets_have_room():
    # 300 calls of 6 random writes over 40 rows: the table and the codes stay
    # consistent, and every non-zero row is filed under the code of its
    # current content in every table (buckets have room for all 40 rows).
    rng = np.random.default_rng(0)
    n, w, tables, bits, size = 40, 5, 3, 2, 40
    planes = rng.normal(size=(tables, bits, w))
    table = np.full((1, tables, 2**bits, size), -1)
    codes = np.full((1, tables, n), -1)
    memory = np.zeros((n, w))
    for _ in range(300):
        rows = rng.choice(n, size=6, replace=False)
        for row in rows:
            memory[row] = 0.0 if rng.random() < 0.1 else rng.normal(size=w)
        table, codes = _update(table, codes, [rows], [memory[rows]], planes, [[True] * 6])
        filed = _filed(table[0], codes[0])
    for row in range(n):
        for t in range(tables):
            if np.any(memory[row] != 0):
                assert filed[(t, row)] == ref.lsh_code(memory[row], planes[t])
            else:
                assert (t, row) not in filed


def test_lsh_build_equals_filing_the_rows_one_by_one():
    rng = np.random.default_rng(1)
    n, w = 50, 6
    memory = rng.normal(size=(n, w))
    memory[[3, 17]] = 0.0
    memory[20:30] = memory[20]  # ten equal rows: one bucket overflows
    planes = rng.normal(size=(2, 3, w))
    table, codes = addressing.lsh_build(tensor(memory, "float32"), tensor(planes, "float32"), 4)
    expected = ref.lsh_apply(np.full((2, 8, 4), -1), np.full((2, n), -1),
                             ref.lsh_moves(np.full((2, n), -1), memory, list(range(n)), planes))
    np.testing.assert_array_equal(numpy(table), expected[0])
    np.testing.assert_array_equal(numpy(codes), expected[1])


def test_recent_append_is_a_ring_of_the_rows_allocated_last():
    recent, count = tensor([[-1.0, -1, -1], [-1, -1, -1]]), tensor([0.0, 0.0])
    for rows in ([1, 2], [3, 4], [5, 6]):
        recent, count = addressing.recent_append(
            recent, count, tensor([rows, [9, 9]], "int32"), tensor([True, False]))
    assert numpy(recent).tolist() == [[4.0, 5, 6], [-1, -1, -1]]
    assert numpy(count).tolist() == [6.0, 0.0]


def test_lsh_candidates_with_one_bucket_holding_every_row_equal_exact_top_k():
    rng = np.random.default_rng(0)
    batch, heads, n, w, k = 2, 3, 7, 4, 3
    memory = tensor(rng.normal(size=(batch, n, w)), "float32")
    keys = tensor(np.tanh(rng.normal(size=(batch, heads, w))), "float32")
    # Zero hyperplanes: every code is 0; bucket 0 of each table holds every row.
    hyperplanes = ops.zeros((2, 1, w))
    table = np.full((batch, 2, 2, n), -1)
    table[:, :, 0] = np.arange(n)
    recent = np.full((batch, 2), -1)
    rows, valid = addressing.lsh_candidates(tensor(table, "float32"), tensor(recent, "float32"),
                                            memory, keys, hyperplanes, k)
    np.testing.assert_array_equal(numpy(rows), numpy(addressing.exact_top_k(memory, keys, k)))
    assert numpy(valid).all()

    # With real hyperplanes, the candidates are the rows of the key's bucket
    # in some table and the recent rows, and the picks are their best k.
    planes = tensor(rng.normal(size=(2, 1, w)), "float32")
    codes = numpy(addressing.lsh_codes(memory, planes))  # (B, N, L)
    table = np.full((batch, 2, 2, n), -1)
    for b in range(batch):
        for t in range(2):
            for bucket in range(2):
                members = [i for i in range(1, n) if codes[b, i, t] == bucket]
                table[b, t, bucket, : len(members)] = members
    recent = np.array([[0, -1], [0, 6]])
    rows, valid = addressing.lsh_candidates(tensor(table, "float32"), tensor(recent, "float32"),
                                            memory, keys, planes, k)
    key_codes = numpy(addressing.lsh_codes(keys, planes))
    for b in range(batch):
        for h in range(heads):
            allowed = {int(i) for t in range(2) for i in table[b, t, key_codes[b, h, t]] if i >= 0}
            allowed |= {int(i) for i in recent[b] if i >= 0}
            picked = [int(r) for r, ok in zip(numpy(rows)[b, h], numpy(valid)[b, h]) if ok]
            assert len(set(picked)) == len(picked) == min(k, len(allowed))
            best = sorted(allowed, key=lambda i: -ref.cosine(numpy(keys)[b, h].astype(float),
                                                             numpy(memory)[b, i].astype(float)))
            assert picked == best[:len(picked)]


def test_lsh_probe_codes_flip_the_bits_nearest_the_key_in_order():
    rng = np.random.default_rng(1)
    planes = rng.normal(size=(3, 5, 6))
    keys = rng.normal(size=(2, 4, 6))
    got = numpy(addressing.lsh_probe_codes(tensor(keys, "float32"), tensor(planes, "float32"), 3))
    assert got.shape == (2, 4, 3, 4)
    for b in range(2):
        for h in range(4):
            for t in range(3):
                assert got[b, h, t].tolist() == ref.probe_codes(keys[b, h], planes[t], 3)
    # probes=0 is the key's own bucket, lsh_codes; more probes than bits is refused.
    own = addressing.lsh_probe_codes(tensor(keys, "float32"), tensor(planes, "float32"))
    np.testing.assert_array_equal(numpy(own)[..., 0], got[..., 0])
    with pytest.raises(ValueError, match="probes"):
        addressing.lsh_probe_codes(tensor(keys, "float32"), tensor(planes, "float32"), 6)


def test_lsh_candidates_with_probes_are_the_best_of_the_probed_buckets():
    rng = np.random.default_rng(2)
    batch, heads, n, w, k, bits, tables = 2, 3, 40, 4, 3, 3, 2
    memory = rng.normal(size=(batch, n, w))
    keys = rng.normal(size=(batch, heads, w))
    planes = rng.normal(size=(tables, bits, w))
    table = np.full((batch, tables, 2**bits, n), -1)
    for b in range(batch):
        for t in range(tables):
            for i in range(n):
                code = ref.lsh_code(memory[b, i], planes[t])
                table[b, t, code, np.argmax(table[b, t, code] < 0)] = i
    recent = np.full((batch, 1), -1)
    for probes in (0, 1, 3):
        rows, valid = addressing.lsh_candidates(
            tensor(table, "float32"), tensor(recent, "float32"), tensor(memory, "float32"),
            tensor(keys, "float32"), tensor(planes, "float32"), k, probes)
        for b in range(batch):
            for h in range(heads):
                want, ok = ref.top_k_lsh(table[b], recent[b], memory[b], keys[b, h], planes, k,
                                         probes)
                assert numpy(rows)[b, h].tolist() == want
                assert numpy(valid)[b, h].tolist() == ok
    # With every bit probed, a table reads its bucket and all its neighbours.
    assert len(ref.probe_codes(keys[0, 0], planes[0], bits)) == bits + 1


def test_lsh_candidates_mark_padding_invalid_and_the_read_ignores_it():
    # Two distinct rows found (one in the bucket twice over two tables, one
    # recent), k = 3: the third pick is padding.
    memory = tensor([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]])
    keys = tensor([[[1.0, 0.2]]])
    table = tensor([[[[0.0, -1]], [[0.0, -1]]]])  # two tables, one bucket of two slots
    recent = tensor([[1.0, -1]])
    hyperplanes = ops.zeros((2, 0, 2))
    rows, valid = addressing.lsh_candidates(table, recent, memory, keys, hyperplanes, 3)
    assert numpy(rows)[0, 0].tolist() == [0, 1, 0]
    assert numpy(valid)[0, 0].tolist() == [True, True, False]
    weights, reads = addressing.sparse_read(memory, keys, tensor([[2.0]]), rows, valid)
    assert numpy(weights)[0, 0, 2] == 0.0
    np.testing.assert_allclose(numpy(weights)[0, 0].sum(), 1.0, atol=1e-6)
    dense = ref.softmax([2.0 * ref.cosine(np.array([1.0, 0.2]), np.array(m))
                         for m in ([1.0, 0.0], [0.0, 1.0])])
    np.testing.assert_allclose(numpy(reads)[0, 0], dense @ np.eye(2), atol=1e-6)


def test_distinct_top_k_is_the_best_distinct_rows_ties_to_the_lowest_row():
    # Against a NumPy reference: drop unusable candidates, keep one copy of
    # each row, order by score descending then row ascending, cut to k.
    rng = np.random.default_rng(3)
    candidates = rng.integers(-1, 12, size=(3, 2, 40))
    scores = np.round(rng.uniform(-1, 1, size=12), 1)  # coarse: many ties between rows
    row_scores = np.where(candidates < 0, -3.0, scores[np.maximum(candidates, 0)])
    for k in (1, 4, 13):
        rows, valid = addressing.distinct_top_k(
            tensor(candidates, "int32"), tensor(row_scores, "float32"), k)
        for b in range(3):
            for h in range(2):
                distinct = sorted({int(c) for c in candidates[b, h] if c >= 0},
                                  key=lambda r: (-scores[r], r))[:k]
                padding = k - len(distinct)
                assert numpy(rows)[b, h].tolist() == distinct + [0] * padding
                assert numpy(valid)[b, h].tolist() == [True] * len(distinct) + [False] * padding


def test_lsh_cell_finds_a_row_written_long_before_by_its_content():
    # Fill a memory far beyond what the recent ring holds, then query each
    # row with its own content: the index must find the row itself (the
    # tables hold every row, not the newest few). Buckets of 64 have room for
    # every row however alike the untrained cell's words are.
    keras.utils.set_random_seed(0)
    cell = SAMCell(units=16, memory_size=64, word_size=16, num_heads=2, k=1, search="lsh",
                   lsh_bucket_size=64, lsh_recent=2, seed=3)
    rnn = keras.layers.RNN(cell, return_state=True)
    rng = np.random.default_rng(0)
    rnn(np.zeros((1, 1, 3), "float32"))
    _randomise(cell, rng, scale=1.0)
    _, *states = rnn(3 * rng.normal(size=(1, 40, 3)).astype("float32"))
    n, w = cell.memory_size, cell.word_size
    memory = numpy(states[3]).reshape(1, n, w)
    written = np.flatnonzero(np.any(memory[0] != 0, -1))
    assert len(written) == 64  # 40 steps x 2 heads allocated every row
    shape = (1, cell.lsh_tables, cell.num_buckets, cell.lsh_bucket_size)
    table = tensor(numpy(states[8]).reshape(shape), "float32")
    keys = tensor(memory[:, written], "float32")
    rows, _ = addressing.lsh_candidates(table, tensor(numpy(states[10])), tensor(memory),
                                        keys, cell.lsh_hyperplanes, 1)
    np.testing.assert_array_equal(numpy(rows)[0, :, 0], written)
    # Without the tables (an empty index) only the two recent rows are found.
    empty = tensor(-np.ones(shape), "float32")
    rows, valid = addressing.lsh_candidates(empty, tensor(numpy(states[10])), tensor(memory),
                                            keys, cell.lsh_hyperplanes, 1)
    assert (numpy(rows)[0, :, 0] == written).sum() == 2


# --------------------------------------------------------------- gradients
@needs_float64
def test_gradients_match_finite_differences():
    keras.utils.set_random_seed(0)
    cell = SAMCell(units=3, memory_size=5, word_size=2, num_heads=1, k=2,
                   return_weightings=True, dtype="float64", seed=0)
    rnn = keras.layers.RNN(cell, return_sequences=True, dtype="float64")
    x = tensor(np.random.default_rng(0).normal(size=(2, 5, 2)))
    rnn(x)
    for w in cell.trainable_weights:
        w.assign(np.random.default_rng(1).normal(size=w.shape))

    def loss_of(parts):
        return ops.sum(ops.sin(parts["controller"])) + ops.sum(ops.sin(3.0 * parts["reads"]))

    def run():
        parts = cell.split_output(rnn(x))
        selections = np.concatenate([numpy(parts["read_rows"]).reshape(-1),
                                     numpy(parts["write_rows"]).reshape(-1)])
        return loss_of(parts), selections

    _, grads = gradients(lambda: loss_of(cell.split_output(rnn(x))), cell.trainable_weights)
    _, selections = run()
    # The memory is used: the reads are not all zero.
    assert np.abs(numpy(cell.split_output(rnn(x))["reads"])).max() > 1e-2
    rng = np.random.default_rng(2)
    for variable, grad in zip(cell.trainable_weights, grads):
        flat = numpy(variable).reshape(-1)
        analytic = grad.reshape(-1)
        for index in rng.choice(flat.size, size=min(3, flat.size), replace=False):
            eps = 1e-6
            values = []
            for sign in (1, -1):
                bumped = flat.copy()
                bumped[index] += sign * eps
                variable.assign(bumped.reshape(variable.shape))
                loss, bumped_selections = run()
                # The rows read and written must not flip under the bump.
                np.testing.assert_array_equal(bumped_selections, selections)
                values.append(numpy(loss))
            variable.assign(flat.reshape(variable.shape))
            numeric = (values[0] - values[1]) / (2 * eps)
            np.testing.assert_allclose(analytic[index], numeric, rtol=1e-4, atol=1e-7,
                                       err_msg=variable.path)


# ----------------------------------------------------------------- masking
def _masked_inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 3)).astype("float32")
    x[0, 4:] = 0.0   # padded tail
    x[1, 0] = 0.0    # padded first step
    x[1, 3] = 0.0    # a hole
    return x


@pytest.mark.parametrize(
    "config, rnn_kwargs",
    [
        (EXACT, dict(return_sequences=True)),
        (EXACT, dict(return_sequences=False)),
        (EXACT, dict(return_sequences=True, zero_output_for_mask=True)),
        (LSH, dict(return_sequences=True)),
        (LSH, dict(return_sequences=False, zero_output_for_mask=True)),
    ],
)
def test_memory_rnn_with_a_mask_equals_keras_rnn(config, rnn_kwargs):
    if keras.backend.backend() == "jax" and not rnn_kwargs.get("zero_output_for_mask"):
        pytest.skip("Keras' JAX RNN takes the cell's first state for its previous output: "
                    "no reference for a cell whose output is wider")
    keras.utils.set_random_seed(0)
    cell = SAMCell(**config, seed=1)
    x = _masked_inputs()
    masking = keras.layers.Masking(0.0)
    masked = masking(x)
    mask = masking.compute_mask(x)
    assert not numpy(mask).all()
    ours = MemoryRNN(cell, return_state=True, **rnn_kwargs)
    keras_rnn = keras.layers.RNN(cell, return_state=True, **rnn_kwargs)
    ours(masked, mask=mask)
    _randomise(cell, np.random.default_rng(1))
    expected = keras_rnn(masked, mask=mask)
    got = ours(masked, mask=mask)
    assert len(got) == len(expected) == 1 + len(cell.state_size)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(numpy(a), numpy(b), atol=1e-5)
    if rnn_kwargs.get("return_sequences") and rnn_kwargs.get("zero_output_for_mask"):
        np.testing.assert_array_equal(numpy(got[0])[0, 4:], 0.0)
    elif rnn_kwargs.get("return_sequences"):
        np.testing.assert_array_equal(numpy(got[0])[1, 0], 0.0)  # before the first real step
        np.testing.assert_array_equal(numpy(got[0])[1, 3], numpy(got[0])[1, 2])


@pytest.mark.parametrize("config", [EXACT, LSH], ids=["exact", "lsh"])
def test_memory_rnn_padded_steps_change_nothing(config):
    keras.utils.set_random_seed(0)
    cell = SAMCell(**config, seed=1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    padded = x.copy()
    padded[:, 4:] = 0.0
    rnn = MemoryRNN(cell, return_state=True)
    rnn(x)
    _randomise(cell, np.random.default_rng(1))
    masking = keras.layers.Masking(0.0)
    full = rnn(masking(padded), mask=masking.compute_mask(padded))
    truncated = rnn(x[:, :4])
    unmasked = rnn(padded)  # without the mask the zero steps do write
    for a, b in zip(full, truncated):
        np.testing.assert_allclose(numpy(a), numpy(b), atol=1e-6)
    # [output, h, c, reads, memory, last_access, ...]
    assert not np.allclose(numpy(unmasked[4]), numpy(truncated[4]))
    assert not np.allclose(numpy(unmasked[5]), numpy(truncated[5]))


# ------------------------------------------------- what the loop stores
# TensorFlow: the tensors `while_v2` pushes to its per-iteration accumulators
# in the traced gradient. JAX: the per-step outputs of the `scan`s in the
# jaxpr of the gradient (the forward loop's residuals). PyTorch runs eagerly
# and has no program to read.
AUDIT_N = 4099  # a memory size no other dimension here has
AUDIT_W = 3

needs_a_traced_loop = pytest.mark.skipif(
    BACKEND not in ("tensorflow", "jax"),
    reason=f"reads the loop of a traced TensorFlow or JAX program; {BACKEND} runs eagerly",
)


def _audit_model(cell, rnn_class=MemoryRNN, mask=False):
    inputs = keras.Input((None, 3), batch_size=2)
    x = keras.layers.Masking(0.0)(inputs) if mask else inputs
    return keras.Model(inputs, keras.layers.Dense(1)(rnn_class(cell)(x)))


def _audit_inputs():
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    x[:, 3:] = 0.0  # padding, for the masked models
    return x


def _traced_gradient_functions(cell, rnn_class=MemoryRNN, mask=False):
    """The graphs of every function in the traced gradient of a small model (TensorFlow)."""
    import tensorflow as tf
    from tensorflow.python.framework import function_def_to_graph

    model = _audit_model(cell, rnn_class, mask)

    @tf.function  # no XLA
    def gradient(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x))
        return tape.gradient(loss, model.trainable_weights)

    concrete = gradient.get_concrete_function(tf.TensorSpec((2, 5, 3), "float32"))
    return [(f.signature.name, function_def_to_graph.function_def_to_graph(f))
            for f in concrete.graph.as_graph_def().library.function]


def _stored_per_step_tf(functions):
    """(shape, producer op type) of every tensor while_v2 stores per iteration."""
    stored = []
    for _, graph in functions:
        for op in graph.get_operations():
            if op.type == "TensorListPushBack":
                tensor = op.inputs[1]
                stored.append((tensor.shape, tensor.op.type))
    return stored


def _stored_per_step(cell, rnn_class=MemoryRNN, mask=False):
    """(shape or None where unknown, producer) of everything the loop of the
    gradient keeps per step, on TensorFlow or JAX."""
    if BACKEND == "tensorflow":
        return [(None if shape.rank is None else tuple(shape.as_list()), producer)
                for shape, producer in _stored_per_step_tf(
                    _traced_gradient_functions(cell, rnn_class, mask))]
    model = _audit_model(cell, rnn_class, mask)
    _, gradient = jax_model_programs(model, _audit_inputs())
    weights = {tuple(w.shape) for w in model.trainable_weights}
    # A stored value shaped like a weight is a weight read (no activation
    # here has a weight's shape: every one has the batch axis of 2 first).
    return [(shape, "weight" if shape in weights else "scan")
            for shape in jax_stored_per_step(gradient)]


def _memory_sized(shape):
    return shape is not None and any(d in (AUDIT_N, AUDIT_N * AUDIT_W) for d in shape)


def _audit_cell(search):
    return SAMCell(units=4, memory_size=AUDIT_N, word_size=AUDIT_W, num_heads=1, k=2,
                   search=search, lsh_tables=2, lsh_bits=2, lsh_bucket_size=4)


@needs_a_traced_loop
@pytest.mark.parametrize("search, mask", [("exact", False), ("lsh", False), ("exact", True),
                                          ("lsh", True)])
def test_the_loop_stores_nothing_of_memory_size_per_step(search, mask):
    stored = _stored_per_step(_audit_cell(search), mask=mask)
    assert len(stored) > 10  # the audit sees the loop's accumulators
    offenders = [(str(shape), producer) for shape, producer in stored if _memory_sized(shape)]
    assert offenders == [], f"tensors of memory size stored per step: {offenders}"
    # A shape the audit cannot read must be a weight read (the controller's
    # weights, research sam.md 9.2 E), not something that could hide N.
    unknown = {producer for shape, producer in stored if shape is None}
    assert unknown <= {"ReadVariableOp"}, unknown


def _weights_stored_per_step(search, rnn_class):
    stored = _stored_per_step(_audit_cell(search), rnn_class)
    return [str(shape) for shape, producer in stored if producer in ("ReadVariableOp", "weight")]


@only_tensorflow
@pytest.mark.parametrize("search", ["exact", "lsh"])
def test_memory_rnn_stores_no_weights_per_step_and_keras_rnn_does(search):
    """MemoryRNN reads the weights before the loop; keras.layers.RNN reads them
    inside it, so its loop keeps them for every step."""
    assert _weights_stored_per_step(search, MemoryRNN) == []
    # The LSTM kernel and recurrent kernel and the head kernel (a bias has no
    # use in a gradient).
    assert len(_weights_stored_per_step(search, keras.layers.RNN)) >= 3


@pytest.mark.skipif(BACKEND != "jax", reason="the JAX counterpart of the test above")
@pytest.mark.parametrize("rnn_class", [MemoryRNN, keras.layers.RNN])
def test_no_loop_stores_weights_per_step_on_jax(rnn_class):
    """On JAX a weight is a value closed over by the loop body, the same at
    every step, and the gradient of `scan` keeps such loop invariants once:
    neither layer stores a weight per step."""
    assert _weights_stored_per_step("exact", rnn_class) == []


@needs_a_traced_loop
def test_the_audit_finds_the_memory_stored_per_step_by_a_dense_cell():
    cell = NTMCell(units=4, memory_size=AUDIT_N, word_size=AUDIT_W, num_read_heads=1,
                   num_write_heads=1)
    stored = _stored_per_step(cell, keras.layers.RNN)
    assert any(_memory_sized(shape) for shape, _ in stored)


def _memory_sized_selects_in_the_forward_loop_tf(functions, memory_sized):
    found = []
    for name, graph in functions:
        if "while_body" not in name or "_grad" in name:
            continue
        for op in graph.get_operations():
            if op.type in ("Select", "SelectV2"):
                shape = op.outputs[0].shape
                assert shape.rank is not None, (name, op.name)
                if memory_sized(tuple(shape.as_list())):
                    found.append((name, op.name, str(shape)))
    return found


def _memory_sized_selects_in_the_forward_loop(cell, rnn_class=MemoryRNN, memory_sized=None):
    memory_sized = memory_sized or _memory_sized
    if BACKEND == "tensorflow":
        functions = _traced_gradient_functions(cell, rnn_class, mask=True)
        assert any("while_body" in name for name, _ in functions)
        return _memory_sized_selects_in_the_forward_loop_tf(functions, memory_sized)
    forward, _ = jax_model_programs(_audit_model(cell, rnn_class, mask=True), _audit_inputs())
    assert any(eqn.primitive.name == "scan" for eqn in jax_equations(forward))
    return [shape for shape in jax_loop_selects(forward) if memory_sized(shape)]


@needs_a_traced_loop
@pytest.mark.parametrize("search", ["exact", "lsh"])
def test_a_masked_memory_rnn_selects_nothing_of_memory_size_in_its_loop(search):
    assert _memory_sized_selects_in_the_forward_loop(_audit_cell(search)) == []


@needs_a_traced_loop
def test_a_masked_rnn_that_keeps_every_state_selects_over_the_whole_memory(monkeypatch):
    """What the audit above would find: `keras.layers.RNN` keeps every state
    of a padded step with a select per state. (On JAX, Keras' RNN cannot mask
    these cells; MemoryRNN does the same select for a cell without
    `step_mask`.)"""
    if BACKEND == "tensorflow":
        rnn_class = keras.layers.RNN
    else:
        monkeypatch.setattr(keras_memory.layers, "_accepts_step_mask", lambda cell: False)
        rnn_class = MemoryRNN
    assert _memory_sized_selects_in_the_forward_loop(_audit_cell("exact"), rnn_class)


# ---------------------------------------------------------- weightings
def test_head_activations_are_what_the_step_reads_with():
    """`head_activations` is steps 1-2 of `call`: its `h` and `c` are the step's new
    controller states, its queries pick the `k` rows the exact search reads, and the
    read weights are softmax(beta * cosine) of those queries with those rows."""
    cell = SAMCell(8, memory_size=16, word_size=4, num_heads=2, k=3, seed=3)
    cell.build((2, 5))
    rng = np.random.default_rng(0)
    states = cell.get_initial_state(batch_size=2)
    for t in range(6):
        step = tensor(rng.uniform(size=(2, 5)).astype("float32"))
        heads = cell.head_activations(step, states)
        _, states = cell(step, states)
        np.testing.assert_allclose(numpy(heads["h"]), numpy(states[0]), atol=1e-6)
        np.testing.assert_allclose(numpy(heads["c"]), numpy(states[1]), atol=1e-6)
        assert numpy(heads["queries"]).shape == (2, 2, 4)
        assert numpy(heads["beta"]).shape == (2, 2)
        memory = numpy(states[3]).reshape(2, 16, 4)
        queries = numpy(heads["queries"])
        rows = numpy(states[5]).reshape(2, 2, 3).astype(int)
        scores = np.einsum("bnw,brw->brn", memory, queries) / np.sqrt(
            np.sum(memory**2, -1) + 1e-6)[:, None, :]
        best = np.sort(np.argsort(-scores, axis=-1, kind="stable")[..., :3], -1)
        np.testing.assert_array_equal(np.sort(rows, -1), best)
        gathered = np.take_along_axis(memory[:, None], rows[..., None], 2)
        cosine = np.einsum("brw,brkw->brk", queries, gathered) / (
            np.sqrt(np.sum(queries**2, -1) + 1e-6)[..., None]
            * np.sqrt(np.sum(gathered**2, -1) + 1e-6) + 1e-6)
        logits = numpy(heads["beta"])[..., None] * cosine
        expected = np.exp(logits - logits.max(-1, keepdims=True))
        expected /= expected.sum(-1, keepdims=True)
        np.testing.assert_allclose(numpy(states[6]).reshape(2, 2, 3), expected, atol=1e-5)


def test_return_weightings_output_and_split_output():
    cell = SAMCell(**EXACT, return_weightings=True)
    units, r, w, k = 8, 2, 4, 2
    assert cell.output_size == units + r * w + r * (4 * k + 2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    rnn = keras.layers.RNN(cell, return_sequences=True)
    rnn(x)
    _randomise(cell, rng)
    out = rnn(x)
    assert tuple(out.shape) == (2, 5, cell.output_size)
    parts = {key: keras.ops.convert_to_numpy(v) for key, v in cell.split_output(out).items()}
    assert set(parts) == {"controller", "reads", "read_rows", "read_weights",
                          "write_rows", "write_weights"}
    assert parts["controller"].shape == (2, 5, units)
    assert parts["reads"].shape == (2, 5, r, w)
    assert parts["read_rows"].shape == parts["read_weights"].shape == (2, 5, r, k)
    assert parts["write_rows"].shape == parts["write_weights"].shape == (2, 5, r * (k + 1))
    np.testing.assert_allclose(parts["read_weights"].sum(-1), 1.0, atol=1e-5)
    assert (parts["read_weights"] >= 0).all()
    rows = parts["read_rows"]
    assert (rows == np.round(rows)).all() and rows.min() >= 0 and rows.max() < 8
    # Each step writes the rows read the step before, then the LRA rows.
    np.testing.assert_array_equal(parts["write_rows"][:, 1:, : r * k],
                                  rows[:, :-1].reshape(2, 4, r * k))
    np.testing.assert_array_equal(parts["write_rows"][:, 0, : r * k], [[0, 1, 0, 1]] * 2)
    np.testing.assert_array_equal(parts["write_rows"][:, 0, r * k:], [[0, 1]] * 2)
    # The reads are the weighted rows of the memory.
    assert np.abs(parts["reads"]).max() > 0
    plain = SAMCell(**EXACT)
    assert set(plain.split_output(np.zeros((3, plain.output_size)))) == {"controller", "reads"}


# ---------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(units=0), "units"),
        (dict(units=2.5), "units"),
        (dict(units=4, memory_size=0), "memory_size"),
        (dict(units=4, memory_size=-8), "memory_size"),
        (dict(units=4, memory_size=2**24 + 1), "memory_size"),
        (dict(units=4, word_size=0), "word_size"),
        (dict(units=4, num_heads=0), "num_heads"),
        (dict(units=4, memory_size=3, num_heads=4, k=1), "num_heads"),
        (dict(units=4, k=0), "`k`"),
        (dict(units=4, memory_size=4, k=5), "`k`"),
        (dict(units=4, search="kdtree"), "search"),
        (dict(units=4, search="lsh", k=8, lsh_tables=1, lsh_bucket_size=3, lsh_recent=4),
         "lsh_bucket_size"),
        (dict(units=4, search="lsh", num_heads=4, lsh_recent=3), "lsh_recent"),
        (dict(units=4, lsh_recent=0), "lsh_recent"),
        (dict(units=4, search="lsh", memory_size=2**24, lsh_tables=128), "lsh_tables"),
        (dict(units=4, lsh_bits=25), "lsh_bits"),
        (dict(units=4, lsh_bits=0), "lsh_bits"),
        (dict(units=4, lsh_tables=0), "lsh_tables"),
        (dict(units=4, lsh_bucket_size=0), "lsh_bucket_size"),
        (dict(units=4, lsh_probes=-1), "lsh_probes"),
        (dict(units=4, memory_size=64, lsh_bits=3, lsh_probes=4), "lsh_probes"),
        (dict(units=4, lsh_probes=1.5), "lsh_probes"),
        (dict(units=4, usage_threshold=1.0), "usage_threshold"),
        (dict(units=4, usage_threshold=-0.1), "usage_threshold"),
        (dict(units=4, usage_threshold="0.1"), "usage_threshold"),
        (dict(units=4, memory_init="ones"), "memory_init"),
        (dict(units=4, clip_value=0), "clip_value"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        SAMCell(**kwargs)
    assert "Received" in str(info.value)


def test_limits_are_inclusive():
    largest = SAMCell(units=2, memory_size=2**24, word_size=1, num_heads=1, k=1)  # not built
    assert largest.state_size[3] == 2**24
    full = SAMCell(units=2, memory_size=4, num_heads=4, k=4, usage_threshold=0.0, lsh_bits=24)
    assert (full.num_heads, full.k, full.usage_threshold, full.num_buckets) == (4, 4, 0.0, 2**24)
    lsh = SAMCell(units=2, memory_size=8, k=8, search="lsh", lsh_tables=1, lsh_bucket_size=4,
                  lsh_recent=4)
    assert lsh.lsh_tables * lsh.lsh_bucket_size + lsh.lsh_recent == lsh.k


def test_clip_has_the_values_and_gradient_of_clip_by_value():
    values = np.array([[-30.0, -20.0, -3.0, 0.0, 5.0, 20.0, 25.0]], "float32")
    weights = np.arange(7, dtype="float32") + 1.0
    ours = addressing.clip(tensor(values), 20.0)
    np.testing.assert_array_equal(numpy(ours), np.clip(values, -20.0, 20.0))
    _, (grad,) = gradients(lambda x: ops.sum(ops.multiply(addressing.clip(x, 20.0), weights)),
                           [tensor(values)])
    # `clip_by_value`'s gradient: the upstream gradient inside [-20, 20]
    # (limits included), zero where the value was clipped.
    np.testing.assert_array_equal(grad, [[0.0, 2, 3, 4, 5, 6, 0]])
