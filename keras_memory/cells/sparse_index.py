"""The approximate index behind `search="lsh"` of `SAMCell` and `SDNCCell`.

Rae et al. (2016) find a sparse memory's `k` nearest rows with an
approximate nearest-neighbour index "kept in sync on every write or erase"
(section 3.5), and its least recently accessed rows with a doubly linked
"least accessed ring" (Suppl. A.3). `SparseIndex` keeps both in a cell's
state and runs them with the pure functions of
`keras_memory.addressing.sam`: `lsh_update`, `recent_append` and
`lsh_candidates` for the index, `ring_oldest` and `ring_touch_all` for the
ring. A cell owns one and calls, each step: `oldest` (the rows to allocate),
`file` (after its write), `search` (before its read) and `touch` (after it).
"""

import types

import keras
from keras import ops

from keras_memory.addressing import sam as addressing
from keras_memory.validation import check_non_negative_int, check_positive_int, check_tensor_size

#: The constructor arguments, with their defaults, that a cell passes on.
DEFAULTS = {"lsh_tables": 4, "lsh_bits": None, "lsh_bucket_size": 32, "lsh_recent": 256,
            "lsh_probes": 0}


class SparseIndex:
    """The LSH index of every written row and the least accessed ring.

    The index: `lsh_tables` SimHash tables (orthonormal hyperplanes) of
    `2**lsh_bits` buckets of `lsh_bucket_size` slots, each row filed under
    the bucket of its current content, and a ring of the `lsh_recent` rows
    allocated last; a query also probes `lsh_probes` neighbouring buckets
    per table (multi-probe LSH, `addressing.sam.lsh_probe_codes`). Its states, in order: the tables `(L * 2**bits * C)`,
    each row's bucket per table `(L * N)`, the recent rows `(F)`, their count
    `(1)`, then the ring's next and previous rows `(N, N)` and its ends
    `(2)`. Row indices are float32 (exact below `2**24`).

    Args:
        owner: The class name, for error messages.
        memory_size: `N`.
        word_size: `W`.
        num_heads: `R`, the rows allocated per step.
        k: Rows a query returns; `L * C + F` must be at least `k`.
        lsh_tables, lsh_bits, lsh_bucket_size, lsh_recent, lsh_probes: See `SAMCell`.
    """

    def __init__(self, owner, memory_size, word_size, num_heads, k, lsh_tables, lsh_bits,
                 lsh_bucket_size, lsh_recent, lsh_probes=0):
        self.memory_size, self.word_size, self.num_heads = memory_size, word_size, num_heads
        self.tables = check_positive_int("lsh_tables", lsh_tables, owner)
        self.bucket_size = check_positive_int("lsh_bucket_size", lsh_bucket_size, owner)
        if lsh_bits is not None:
            lsh_bits = check_positive_int("lsh_bits", lsh_bits, owner)
            if lsh_bits > 24:
                raise ValueError(
                    f"{owner}: `lsh_bits` must be at most 24. Received: lsh_bits={lsh_bits!r}"
                )
        self.bits_argument = lsh_bits
        self.bits = lsh_bits or addressing.default_lsh_bits(memory_size, self.bucket_size)
        self.recent = check_positive_int("lsh_recent", lsh_recent, owner)
        self.probes = check_non_negative_int("lsh_probes", lsh_probes, owner)
        if self.probes > self.bits:
            raise ValueError(
                f"{owner}: `lsh_probes` (neighbouring buckets probed per table) must be at "
                f"most the bits per table, {self.bits}. Received: lsh_probes={lsh_probes!r}, "
                f"lsh_bits={lsh_bits!r}, memory_size={memory_size}"
            )
        self.hyperplanes = None

    def validate(self, owner, k):
        """The checks that apply only when the index is used (`search="lsh"`)."""
        if self.tables * self.bucket_size + self.recent < k:
            raise ValueError(
                f"{owner}: with search='lsh', `lsh_tables * lsh_bucket_size + lsh_recent` "
                f"(the candidates per query) must be at least `k`. Received: "
                f"lsh_tables={self.tables}, lsh_bucket_size={self.bucket_size}, "
                f"lsh_recent={self.recent}, k={k}"
            )
        if self.recent < self.num_heads:
            raise ValueError(
                f"{owner}: with search='lsh', `lsh_recent` must be at least `num_heads` "
                f"(each step allocates one row per head). Received: "
                f"lsh_recent={self.recent}, num_heads={self.num_heads}"
            )
        check_tensor_size(
            "the LSH tables (lsh_tables x 2**lsh_bits x lsh_bucket_size)",
            (self.tables, self.num_buckets, self.bucket_size),
            {"lsh_tables": self.tables, "lsh_bits": self.bits_argument,
             "lsh_bucket_size": self.bucket_size, "memory_size": self.memory_size},
            owner,
        )

    @property
    def num_buckets(self):
        return 2**self.bits

    def config(self):
        return {"lsh_tables": self.tables, "lsh_bits": self.bits_argument,
                "lsh_bucket_size": self.bucket_size, "lsh_recent": self.recent,
                "lsh_probes": self.probes}

    @property
    def state_size(self):
        n = self.memory_size
        return [self.tables * self.num_buckets * self.bucket_size, self.tables * n,
                self.recent, 1, n, n, 2]

    def build(self, layer, seed):
        """Add the fixed hyperplanes to `layer` as `layer.lsh_hyperplanes`."""
        normal = keras.initializers.RandomNormal(seed=seed)
        layer.lsh_hyperplanes = layer.add_weight(
            shape=(self.tables, self.bits, self.word_size),
            initializer=lambda shape, dtype=None: addressing.orthogonal_hyperplanes(
                normal(shape, dtype=dtype)
            ),
            trainable=False,
            name="lsh_hyperplanes",
        )
        self.hyperplanes = layer.lsh_hyperplanes

    def initial_states(self, tile, initial_memory=None):
        """The states of an empty index, or of one holding `initial_memory` (N, W)."""
        if initial_memory is None:
            table, codes = addressing.lsh_empty_index(
                self.tables, self.num_buckets, self.bucket_size, self.memory_size
            )
        else:
            table, codes = addressing.lsh_build(initial_memory, self.hyperplanes,
                                                self.bucket_size)
        nxt, prev, ends = addressing.ring_initial(self.memory_size)
        return [tile(table), tile(codes), tile(-ops.ones((self.recent,))),
                tile(ops.zeros((1,))), tile(nxt), tile(prev), tile(ends)]

    def unpack(self, states):
        """The step's working view of its 7 states (tables and ring stay float32:
        only the entries touched are cast, never the whole of them)."""
        table, codes, recent, count, nxt, prev, ends = states
        ends = ops.cast(ends, "int32")
        return types.SimpleNamespace(
            table=ops.reshape(table, (-1, self.tables, self.num_buckets, self.bucket_size)),
            codes=ops.reshape(codes, (-1, self.tables, self.memory_size)),
            recent=recent, count=count[:, 0], nxt=nxt, prev=prev,
            head=ends[:, 0], tail=ends[:, 1], dtype=table.dtype,
        )

    def pack(self, index):
        return [
            ops.reshape(index.table, (-1, self.state_size[0])),
            ops.reshape(index.codes, (-1, self.state_size[1])),
            index.recent,
            index.count[:, None],
            index.nxt,
            index.prev,
            ops.cast(ops.stack([index.head, index.tail], axis=1), index.dtype),
        ]

    def oldest(self, index):
        """The `R` least recently accessed rows, from the ring's head: O(R)."""
        return addressing.ring_oldest(index.nxt, index.head, self.num_heads)

    def file(self, index, memory, written_rows, lra_rows, step_on):
        """Re-file the rows written this step under their content in `memory`,
        and append the rows just allocated to the recent rows."""
        written_rows = ops.cast(written_rows, "int32")
        lra_rows = ops.cast(lra_rows, "int32")
        active = ops.logical_and(addressing.first_occurrences(written_rows), step_on[:, None])
        index.table, index.codes = addressing.lsh_update(
            index.table, index.codes, written_rows,
            addressing.gather_rows(memory, written_rows), self.hyperplanes, active,
        )
        index.recent, index.count = addressing.recent_append(
            index.recent, index.count, lra_rows, step_on
        )

    def search(self, index, memory, queries, k):
        """`(rows (B, R, k), valid (B, R, k))`: see `addressing.sam.lsh_candidates`."""
        return addressing.lsh_candidates(index.table, index.recent, memory, queries,
                                         self.hyperplanes, k, self.probes)

    def touch(self, index, rows, weights, threshold, step_on):
        """Move every row accessed above `threshold` to the ring's tail, in order."""
        accessed = ops.logical_and(ops.stop_gradient(weights) > threshold, step_on[:, None])
        index.nxt, index.prev, index.head, index.tail = addressing.ring_touch_all(
            index.nxt, index.prev, index.head, index.tail, ops.cast(rows, "int32"), accessed
        )

