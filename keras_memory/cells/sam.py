"""The Sparse Access Memory cell (Rae et al., 2016)."""

import functools

import keras
from keras import ops

from keras_memory.addressing import sam as addressing
from keras_memory.cells.common import (
    add_random_initial_memory,
    batch_tile,
    check_build_input_shape,
    check_step_input,
    keep_memory_in_float32,
    requested_dtype_config,
)
from keras_memory.cells.sparse_index import SparseIndex
from keras_memory.initializers import clone_initializer, offset_seed
from keras_memory.validation import (
    check_bool,
    check_option,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_tensor_size,
    get_initializer,
)

SEARCHES = ("exact", "lsh")
MEMORY_INITS = ("zeros", "random")
#: Row indices travel in float32 states; they are exact below 2**24.
MAX_MEMORY_SIZE = 2**24


def configure_sparse_access(cell, name, *, units, memory_size, word_size, num_heads, k,
                            usage_threshold, search, lsh, memory_init, clip_value,
                            return_weightings, kernel_initializer, seed, head_scalars,
                            at_most_memory_size=()):
    """Checks and sets what `SAMCell` and `SDNCCell` share: the sizes, the usage
    threshold, the search and its index, the initial memory, the clip, the
    seed, and the LSTM controller with the head layer.

    Every argument is checked as its constructor argument (a `ValueError`
    naming it and what was received). `lsh` is `(lsh_tables, lsh_bits,
    lsh_bucket_size, lsh_recent, lsh_probes)`; each head emits a query and a
    write word (`word_size` each) and the scalars named in `head_scalars`
    per step; `at_most_memory_size` more
    `(argument, value, what it counts)` bounded by `memory_size`, like
    `num_heads` and `k`.
    """
    cell.units = check_positive_int("units", units, name)
    cell.memory_size = check_positive_int("memory_size", memory_size, name)
    if cell.memory_size > MAX_MEMORY_SIZE:
        raise ValueError(
            f"{name}: `memory_size` must be at most 2**24 = {MAX_MEMORY_SIZE} "
            "(row indices are kept in float32 states). "
            f"Received: memory_size={memory_size!r}"
        )
    cell.word_size = check_positive_int("word_size", word_size, name)
    cell.num_heads = check_positive_int("num_heads", num_heads, name)
    cell.k = check_positive_int("k", k, name)
    for arg, value, what in (
        ("num_heads", cell.num_heads, "each head writes its own least recently accessed row"),
        ("k", cell.k, "rows read by content per head"),
        *at_most_memory_size,
    ):
        if value > cell.memory_size:
            raise ValueError(
                f"{name}: `{arg}` ({what}) must be at most `memory_size`. "
                f"Received: {arg}={value!r}, memory_size={cell.memory_size}"
            )
    if (
        isinstance(usage_threshold, bool)
        or not isinstance(usage_threshold, (int, float))
        or not 0 <= usage_threshold < 1
    ):
        raise ValueError(
            f"{name}: `usage_threshold` must be a number in [0, 1). "
            f"Received: usage_threshold={usage_threshold!r}"
        )
    cell.usage_threshold = float(usage_threshold)
    cell.search = check_option("search", search, SEARCHES, name)
    cell.index = SparseIndex(name, cell.memory_size, cell.word_size, cell.num_heads, cell.k,
                             *lsh)
    if cell.search == "lsh":
        cell.index.validate(name, cell.k)
    cell.memory_init = check_option("memory_init", memory_init, MEMORY_INITS, name)
    cell.clip_value = check_positive_float("clip_value", clip_value, name)
    cell.return_weightings = check_bool("return_weightings", return_weightings, name)
    cell.kernel_initializer = get_initializer("kernel_initializer", kernel_initializer, name)
    cell.seed = check_seed("seed", seed, name)

    # Half-precision policies: the controller follows the policy, the memory
    # and the addressing stay in float32 (see `keep_memory_in_float32`).
    cell._requested_dtype_policy = keep_memory_in_float32(cell)
    # Per head: query (W), write word (W), then the scalars.
    cell.head_parameter_size = 2 * cell.word_size + len(head_scalars)
    cell.controller = keras.layers.LSTMCell(
        cell.units, seed=cell.seed, dtype=cell._requested_dtype_policy, name="controller"
    )
    cell.head_parameters = keras.layers.Dense(
        cell.num_heads * cell.head_parameter_size,
        kernel_initializer=clone_initializer(cell.kernel_initializer),
        dtype=cell.dtype_policy,
        name="head_parameters",
    )


def sparse_access_config(cell, **extra):
    """The constructor arguments `configure_sparse_access` set, plus `extra`, for `get_config`."""
    return {
        "units": cell.units,
        "memory_size": cell.memory_size,
        "word_size": cell.word_size,
        "num_heads": cell.num_heads,
        "k": cell.k,
        **extra,
        "usage_threshold": cell.usage_threshold,
        "search": cell.search,
        **cell.index.config(),
        "memory_init": cell.memory_init,
        "clip_value": cell.clip_value,
        "return_weightings": cell.return_weightings,
        "kernel_initializer": keras.initializers.serialize(cell.kernel_initializer),
        "seed": cell.seed,
    }


def split_sparse_output(cell, outputs, support):
    """`split_output` of `SAMCell` and `SDNCCell`, whose heads read `support` rows each."""
    lead = tuple(outputs.shape[:-1])
    units, w, r, s = cell.units, cell.word_size, cell.num_heads, support
    end = units + r * w
    parts = {
        "controller": outputs[..., :units],
        "reads": ops.reshape(outputs[..., units:end], lead + (r, w)),
    }
    if cell.return_weightings:
        sizes = [("read_rows", r * s, (r, s)), ("read_weights", r * s, (r, s)),
                 ("write_rows", r * (s + 1), (r * (s + 1),)),
                 ("write_weights", r * (s + 1), (r * (s + 1),))]
        for key, size, shape in sizes:
            parts[key] = ops.reshape(outputs[..., end : end + size], lead + shape)
            end += size
    return parts


@keras.saving.register_keras_serializable(package="keras_memory")
class SAMCell(keras.layers.Layer):
    """Cell class for Sparse Access Memory (SAM).

    An LSTM controller coupled to an `N x W` memory that each head reads at
    only `k` rows (the top `k` by similarity to its query) and writes at only
    `k + 1` rows (the rows it read last step and the least recently accessed
    row), as in Rae et al. (2016). The time and the memory kept for
    backpropagation per step do not grow with `N` (under `jit_compile=True`);
    only the search for the top `k` rows does, and `search="lsh"` makes that
    constant too. Run it inside `keras_memory.MemoryRNN`, a drop-in
    `keras.layers.RNN` that reads the controller's weights once per sequence
    (inside `keras.layers.RNN`'s TensorFlow loop every step's read of them is
    kept for backpropagation, a copy of the controller per step) and hands
    masks to the cell (see below). `keras.layers.RNN` gives the same results.

    Each step `t` (section 3 and Suppl. A of the paper):

    1. The controller (`keras.layers.LSTMCell(units)`) reads
       `[x_t, r^1_{t-1}, ..., r^R_{t-1}]` (section 3.3).
    2. A dense layer maps the controller output to each head's parameters,
       clipped to `[-clip_value, clip_value]`: a query `q = tanh(.)`, a write
       word `a = tanh(.)`, a write gate `alpha = sigmoid(.)`, an interpolation
       gate `gamma = sigmoid(.)` and a key strength `beta = softplus(.)`. The
       paper names `q, a, alpha, gamma` and leaves their activations open;
       `beta` is the NTM/DNC key strength (Graves et al. 2014, section
       3.3.1), which the paper leaves open.
    3. Write (eq. 5 and Suppl. eq. 8): `w^W = alpha (gamma w^R_{t-1} +
       (1 - gamma) I^U)`; each head zeroes its least recently accessed row
       (eq. 6; the `R` heads take the `R` oldest rows; ties go to the lowest
       index with `search="exact"`, and to the row touched first within a
       step with the ring of `search="lsh"`) and adds `w^W(i) a` to it and
       to the `k` rows it read at `t-1`.
    4. Read (eq. 4) the new memory: the `k` rows most similar to `q` (found
       without gradient), `w^R = softmax(beta * cos(q, M(s_i)))` over those
       `k` rows only, `r = sum_i w^R(s_i) M(s_i)`.
    5. Usage (section 3.2): every row read or written with a weight above
       `usage_threshold` gets the current step as its last access time.
    6. The output is `[controller output, r^1_t, ..., r^R_t]`; the paper's
       `y_t = Linear([h_t, r_t])` is the `keras.layers.Dense` you put after
       the RNN.

    The paper does not say how several heads share the write; here each head
    writes on its own, so a step changes at
    most `R * (k + 1)` rows.

    Search. `search="exact"` is the paper's "SAM linear": an exact top-`k` by
    cosine similarity over all `N` rows, O(N * W) per step but nothing of it
    kept for backpropagation. `search="lsh"` is an approximate index of
    every written row that XLA compiles: `lsh_tables` SimHash tables (each
    with orthonormal hyperplanes) of `2**lsh_bits` buckets of
    `lsh_bucket_size` slots, and a ring of the `lsh_recent` rows allocated
    last. Every row a step writes is re-filed under its new content, as the
    paper keeps its index "in sync on every write or erase" (section 3.5):
    removed from its old bucket, put in the lowest free slot of its new one
    (a row whose bucket is full stays out of that table until its next
    write). A query is hashed; the rows filed in its bucket of each table and
    the recent rows are re-scored exactly and the best `k` kept. Its cost per
    step does not depend on `N`. The paper used FLANN k-d trees and LSH
    (section 3.5); a hash table with static shapes is what runs inside an
    XLA-compiled loop.

    Masking. `keras.layers.RNN` applies a mask by selecting between the new
    and the old value of every state at every step, which for the memory is a
    dense `O(N * W)` operation. `keras_memory.layers.MemoryRNN` (a drop-in
    `keras.layers.RNN`) instead hands the mask to this cell, which turns a
    padded step into a no-op on the memory (no erase, no write, no usage
    update) at `O(k * W)` cost. Both give the same results.

    The paper's usage and patent note: SAM's read/write scheme (a sparse read,
    then a write to the previously read rows and the least recently accessed
    row) is the subject of DeepMind's US patent 11,151,443; check whether it
    applies to your use.

    The state is a list of 2-D float tensors: `[h, c, reads, memory,
    last_access, read_rows, read_weights, step]` with sizes `units, units,
    R * W, N * W, N, R * k, R * k, 1`, plus `[lsh_table, lsh_codes,
    lsh_recent, lsh_count, ring_next, ring_prev, ring_ends]` of sizes
    `L * 2**bits * C, L * N, F, 1, N, N, 2` when `search="lsh"`. Row indices and
    counts are stored as float32, exact up to `2**24` slots.

    Args:
        units: Positive integer, size of the LSTM controller.
        memory_size: Positive integer, number of memory slots `N`, at most
            `2**24`. Defaults to `1024`.
        word_size: Positive integer, width `W` of a slot. Defaults to `32`.
        num_heads: Positive integer, number of access heads `R` (each reads
            and writes). Defaults to `4`.
        k: Positive integer, rows read per head; at most `memory_size`.
            Defaults to `4`.
        usage_threshold: Non-negative float `delta`; an access with a weight
            above it refreshes the row's usage. Defaults to `0.005`.
        search: `"exact"` or `"lsh"` (see above). Defaults to `"exact"`.
        lsh_tables: Positive integer, number of hash tables `L`.
            Defaults to `4`.
        lsh_bits: Positive integer, hash bits per table (`2**bits`
            buckets), at most 24; `None` picks `ceil(log2(2 N / C))`, room
            for twice the memory. Defaults to `None`.
        lsh_bucket_size: Positive integer `C`, slots per bucket.
            Defaults to `32`.
        lsh_recent: Positive integer `F`, the rows allocated last, which
            every query also searches; at least `num_heads`, and
            `lsh_tables * lsh_bucket_size + lsh_recent` must be at least `k`.
            Defaults to `256`.
        lsh_probes: Non-negative integer, at most the bits per table: the
            neighbouring buckets a query also reads in each table, across
            the hyperplanes nearest to it (multi-probe LSH). Defaults to `0`.
        memory_init: `"zeros"` (the memory starts empty) or `"random"` (a
            fixed draw uniform in `+-1/sqrt(N + W)`, made when the layer is
            built and not trained). Defaults to `"zeros"`.
        clip_value: Positive float; the head parameters are clipped to
            `[-clip_value, clip_value]`. Defaults to `20.0`.
        return_weightings: Boolean. If `True`, the output also carries the
            rows read and their weights and the rows written and their
            weights (see `split_output`), for plotting. Defaults to `False`.
        kernel_initializer: Initializer for the head-parameter layer's kernel.
            Defaults to `"glorot_uniform"`.
        seed: Optional integer, seed for the initializers, the `"random"`
            memory and the LSH hyperplanes.
        **kwargs: Other keyword arguments passed to `keras.layers.Layer`,
            such as `name` or `dtype`.

    Attributes:
        output_size: `units + R * W`, plus `R * (4 k + 2)` when
            `return_weightings=True`.
        state_size: see above.

    Call arguments:
        inputs: A 2-D tensor of shape `(batch, features)`.
        states: The list of state tensors of the previous step.
        training: Python boolean, passed to the controller.
        step_mask: Optional `(batch,)` tensor, 1 for real steps and 0 for
            padded ones (given by `keras_memory.layers.MemoryRNN`).

    Example:

    >>> inputs = np.random.random((8, 10, 9)).astype("float32")
    >>> rnn = keras_memory.MemoryRNN(
    ...     SAMCell(units=100, memory_size=100_000, word_size=32),
    ...     return_sequences=True,
    ... )
    >>> rnn(inputs).shape
    (8, 10, 228)

    Reference:
        - [Rae, Hunt, Harley, Danihelka, Senior, Wayne, Graves & Lillicrap,
          2016. Scaling Memory-Augmented Neural Networks with Sparse Reads and
          Writes](https://arxiv.org/abs/1610.09027)
    """

    def __init__(
        self,
        units,
        memory_size=1024,
        word_size=32,
        num_heads=4,
        k=4,
        usage_threshold=0.005,
        search="exact",
        lsh_tables=4,
        lsh_bits=None,
        lsh_bucket_size=32,
        lsh_recent=256,
        lsh_probes=0,
        memory_init="zeros",
        clip_value=20.0,
        return_weightings=False,
        kernel_initializer="glorot_uniform",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = "SAMCell"
        configure_sparse_access(
            self, name, units=units, memory_size=memory_size, word_size=word_size,
            num_heads=num_heads, k=k, usage_threshold=usage_threshold, search=search,
            lsh=(lsh_tables, lsh_bits, lsh_bucket_size, lsh_recent, lsh_probes),
            memory_init=memory_init, clip_value=clip_value, return_weightings=return_weightings,
            kernel_initializer=kernel_initializer, seed=seed,
            head_scalars=("alpha", "gamma", "beta"))
        n, w, units = self.memory_size, self.word_size, self.units
        for what, shape, arguments in (
            ("the memory (memory_size x word_size)", (n, w),
             {"memory_size": n, "word_size": w}),
            ("the controller's recurrent kernel (units x 4 units)", (units, 4 * units),
             {"units": units}),
            ("the head layer's kernel (units x head parameters)",
             (units, self.num_heads * self.head_parameter_size),
             {"units": units, "word_size": w, "num_heads": self.num_heads}),
        ):
            check_tensor_size(what, shape, arguments, name)


        r, k_, n = self.num_heads, self.k, self.memory_size
        self.state_size = [
            self.units,
            self.units,
            r * self.word_size,
            n * self.word_size,
            n,
            r * k_,
            r * k_,
            1,
        ]
        if self.search == "lsh":
            self.state_size += self.index.state_size
        self.output_size = self.units + r * self.word_size
        if self.return_weightings:
            self.output_size += r * (4 * k_ + 2)

    # The index's settings, as constructor arguments.
    lsh_tables = property(lambda self: self.index.tables)
    lsh_bits = property(lambda self: self.index.bits_argument)
    lsh_bucket_size = property(lambda self: self.index.bucket_size)
    lsh_recent = property(lambda self: self.index.recent)
    lsh_probes = property(lambda self: self.index.probes)

    @property
    def num_buckets(self):
        """Buckets per LSH table, `2**lsh_bits` (with the default bits resolved)."""
        return self.index.num_buckets

    def build(self, input_shape):
        check_build_input_shape(self, input_shape)
        batch = input_shape[0]
        self.controller.build((batch, input_shape[-1] + self.num_heads * self.word_size))
        self.head_parameters.build((batch, self.units))
        seed = self.seed
        if self.memory_init == "random":
            add_random_initial_memory(self, offset_seed(seed, 2))
        if self.search == "lsh":
            self.index.build(self, offset_seed(seed, 5))

    def get_initial_state(self, batch_size=None):
        dtype = self.compute_dtype
        r, k, n, w = self.num_heads, self.k, self.memory_size, self.word_size

        tile = functools.partial(batch_tile, batch_size=batch_size, dtype=dtype)

        def zeros(size):
            return ops.zeros((batch_size, size), dtype=dtype)

        if self.memory_init == "random":
            memory = tile(self.initial_memory)
        else:
            memory = zeros(n * w)
        # Before the first step every head "read" rows 0..k-1 with weight 0,
        # so the first write goes to the least recently accessed rows only.
        read_rows = tile(ops.tile(ops.arange(k, dtype=dtype), (r,)))
        states = [zeros(self.units), zeros(self.units), zeros(r * w), memory,
                  zeros(n), read_rows, zeros(r * k), zeros(1)]
        if self.search == "lsh":
            states += self.index.initial_states(
                tile, self.initial_memory if self.memory_init == "random" else None
            )
        return states

    def head_activations(self, inputs, states, training=False):
        """Steps 1 and 2 of `call`: the controller and what it asks of the memory.

        The controller runs on `[x_t, r_{t-1}]` (section 3.3) and its output
        is mapped to each head's parameters, clipped to `clip_value`, then
        activated. `call` uses exactly these; this method gives them to an
        analysis without a second copy of the step (for instance the cosine
        similarity of a query with the row it reads,
        `examples/sam_long_recall.py --key-similarity`). It changes no state;
        the cell must be built (called once, or `cell.build(input_shape)`).

        Args:
            inputs: `(batch, features)`, the step's input.
            states: the states of the previous step (only the controller's
                `h`, `c` and the previous reads are used).
            training: Python boolean, passed to the controller.

        Returns:
            A dict: `"controller"` (`batch, units`), the controller's output;
            `"h"` and `"c"`, its new states; `"queries"` and `"words"`
            (`batch, R, W`, tanh), each head's read key and write word;
            `"alpha"`, `"gamma"` (`batch, R`, sigmoid: the write's
            interpolation gates, eq. 5) and `"beta"` (`batch, R`, softplus:
            the read's sharpness, eq. 4).
        """
        h, c, reads = states[:3]
        dtype = self.compute_dtype
        r, w = self.num_heads, self.word_size
        # 1. Controller on [x_t, r_{t-1}] (section 3.3).
        controller_output, (new_h, new_c) = self.controller(
            ops.concatenate([ops.cast(inputs, dtype), reads], axis=-1),
            [h, c],
            training=training,
        )
        controller_output = ops.cast(controller_output, dtype)

        # 2. Head parameters, clipped, then activations.
        parameters = addressing.clip(
            self.head_parameters(controller_output), self.clip_value
        )
        heads = ops.reshape(parameters, (-1, r, self.head_parameter_size))
        return {
            "controller": controller_output,
            "h": new_h,
            "c": new_c,
            "queries": ops.tanh(heads[..., :w]),
            "words": ops.tanh(heads[..., w : 2 * w]),
            "alpha": ops.sigmoid(heads[..., 2 * w]),
            "gamma": ops.sigmoid(heads[..., 2 * w + 1]),
            "beta": ops.softplus(heads[..., 2 * w + 2]),
        }

    def call(self, inputs, states, training=False, step_mask=None):
        check_step_input(self, inputs)
        h, c, reads, memory, last_access, read_rows, read_weights, step = states[:8]
        dtype = self.compute_dtype
        r, k, n, w = self.num_heads, self.k, self.memory_size, self.word_size
        memory = ops.reshape(memory, (-1, n, w))
        previous_rows = ops.cast(ops.reshape(read_rows, (-1, r, k)), "int32")
        previous_weights = ops.reshape(read_weights, (-1, r, k))
        mask = None if step_mask is None else ops.cast(ops.reshape(step_mask, (-1,)), dtype)
        now = step[:, 0] + 1.0  # this step's time; paper: T in U_T

        heads = self.head_activations(inputs, states, training=training)
        controller_output, new_h, new_c = heads["controller"], heads["h"], heads["c"]
        queries, words = heads["queries"], heads["words"]
        alpha, gamma, beta = heads["alpha"], heads["gamma"], heads["beta"]

        # 3. Write (eq. 5, Suppl. eq. 8) to the previous read rows and the LRA rows.
        step_on = ops.ones_like(now, "bool") if mask is None else mask > 0
        if self.search == "lsh":
            # The least accessed ring (Suppl. A.3): O(1) instead of a scan of N.
            index = self.index.unpack(states[8:15])
            lra_rows = self.index.oldest(index)
        else:
            lra_rows = addressing.least_recently_accessed(last_access, r)  # (B, R)
        on_previous, on_lra = addressing.write_weights(previous_weights, alpha, gamma)
        written_rows = ops.concatenate(
            [ops.reshape(previous_rows, (-1, r * k)), lra_rows], axis=1
        )
        # Every read of the old memory happens here, before the scatter and
        # feeding it, so that XLA updates the memory in place.
        old_written = addressing.gather_rows(memory, written_rows)
        new_memory = addressing.sparse_write(
            memory, previous_rows, on_previous, lra_rows, on_lra, words, mask,
            old_lra=old_written[:, r * k :],
        )
        written_weights = ops.concatenate(
            [ops.reshape(on_previous, (-1, r * k)), on_lra], axis=1
        )
        new_last_access = addressing.mark_accessed(
            last_access, written_rows, written_weights, now, self.usage_threshold, mask
        )

        if self.search == "lsh":
            # The index follows every write (section 3.5): each written row is
            # re-filed under its new content, and the rows just allocated go
            # to the ring of recent rows. 4a. Approximate top-k through it.
            self.index.file(index, new_memory, written_rows, lra_rows, step_on)
            rows, valid = self.index.search(index, new_memory, queries, k)
        else:
            # 4a. Exact top-k (the paper's "SAM linear").
            rows, valid = addressing.exact_top_k(new_memory, queries, k), None

        # 4b. Read (eq. 4): softmax over the k rows of each head only.
        new_read_weights, new_reads = addressing.sparse_read(
            new_memory, queries, beta, rows, valid
        )
        # 5. Usage (section 3.2) of the rows read.
        new_last_access = addressing.mark_accessed(
            new_last_access, rows, new_read_weights, now, self.usage_threshold, mask
        )
        extra_states = []
        if self.search == "lsh":
            touched = ops.concatenate([written_rows, ops.reshape(rows, (-1, r * k))], axis=1)
            weights = ops.concatenate(
                [written_weights, ops.reshape(new_read_weights, (-1, r * k))], axis=1)
            self.index.touch(index, touched, weights, self.usage_threshold, step_on)
            extra_states = self.index.pack(index)

        new_reads = ops.reshape(new_reads, (-1, r * w))
        new_read_rows = ops.reshape(ops.cast(rows, dtype), (-1, r * k))
        new_read_weights = ops.reshape(new_read_weights, (-1, r * k))
        new_step = step + 1.0
        small = [ops.cast(new_h, dtype), ops.cast(new_c, dtype), new_reads,
                 new_read_rows, new_read_weights, new_step]
        if mask is not None:
            # Padded steps keep the previous small states; the memory and the
            # usage were left unchanged above at O(k * W) cost.
            old = [h, c, reads, read_rows, read_weights, step]
            small = [ops.where(mask[:, None] > 0, a, b) for a, b in zip(small, old)]
        new_h, new_c, new_reads, new_read_rows, new_read_weights, new_step = small

        outputs = [controller_output, new_reads]
        if self.return_weightings:
            outputs += [
                new_read_rows,
                new_read_weights,
                ops.cast(written_rows, dtype),
                written_weights,
            ]
        output = ops.concatenate(outputs, axis=-1)
        new_states = [
            new_h,
            new_c,
            new_reads,
            ops.reshape(new_memory, (-1, n * w)),
            new_last_access,
            new_read_rows,
            new_read_weights,
            new_step,
        ] + extra_states
        return output, new_states

    def split_output(self, outputs):
        """Split the cell's output (or an RNN's output sequence) into its parts.

        Args:
            outputs: tensor or NumPy array whose last axis has size
                `output_size`.

        Returns:
            A dict with `"controller"` (`..., units`) and `"reads"`
            (`..., R, W`); with `return_weightings=True` also `"read_rows"`
            and `"read_weights"` (`..., R, k`), `"write_rows"` and
            `"write_weights"` (`..., R * (k + 1)`: every head's `k` previous
            read rows, then the `R` least recently accessed rows).
        """
        return split_sparse_output(self, outputs, self.k)

    def get_config(self):
        config = requested_dtype_config(super().get_config(), self._requested_dtype_policy)
        config.update(sparse_access_config(self))
        return config
