"""The Sparse Differentiable Neural Computer cell (Rae et al., 2016, Suppl. D)."""

import functools

import keras
from keras import ops

from keras_memory.addressing import sam
from keras_memory.addressing import sdnc as links
from keras_memory.cells.common import (
    add_random_initial_memory,
    batch_tile,
    check_build_input_shape,
    check_step_input,
    requested_dtype_config,
)
from keras_memory.cells.sam import (
    configure_sparse_access,
    sparse_access_config,
    split_sparse_output,
)
from keras_memory.initializers import offset_seed
from keras_memory.validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_memory")
class SDNCCell(keras.layers.Layer):
    """Cell class for the Sparse Differentiable Neural Computer (SDNC).

    The Sparse DNC of Rae et al. (2016, Supplementary D): Sparse Access
    Memory's reads, writes and usage (`SAMCell`) with the temporal links of
    the DNC (`DNCCell`) kept sparse, so that each read head can also follow
    the order in which rows were written. Each head reads `k` rows by
    content plus at most `num_links` rows forward and `num_links` rows
    backward along the links, and writes to the rows it read and to one least
    recently accessed row. The memory kept for backpropagation per step does
    not grow with `N`; neither does a step's time with `search="lsh"`
    (`SAMCell`'s index of every written row and its least accessed ring),
    while the default exact search (the paper's SDNC benchmarks use one,
    Suppl. E) costs `O(N W)` per step and keeps nothing for
    backpropagation. Run it inside `keras_memory.MemoryRNN` (as `SAMCell`):
    it hands masks to the cell and reads the weights once per sequence.

    Each step `t`:

    1. The controller (`keras.layers.LSTMCell(units)`) reads
       `[x_t, r^1_{t-1}, ..., r^R_{t-1}]` (SAM section 3.3).
    2. A dense layer maps the controller output to each head's parameters,
       clipped to `[-clip_value, clip_value]`: SAM's query `q = tanh(.)`,
       write word `a = tanh(.)`, write gate `alpha = sigmoid(.)`,
       interpolation gate `gamma = sigmoid(.)` and key strength
       `beta = softplus(.)` (as in `SAMCell`), and the DNC's three read modes
       `pi = softmax(.)` in the order (backward, content, forward) (DNC
       Methods, "Interface parameters"; the SDNC keeps the "3-way softmax",
       Suppl. D.1). The DNC's free gates, allocation gate, erase vector and
       separate write key are not part of the SDNC.
    3. Write exactly as SAM (eq. 5, Suppl. eq. 8): `w^W = alpha (gamma
       w^R_{t-1} + (1 - gamma) I^U)`; each head zeroes its least recently
       accessed row (eq. 6) and adds `w^W(i) a` to it and to every row it
       read at `t - 1` (up to `k + 2 num_links` rows).
    4. Temporal links (Suppl. D.1, eqs 11, 19, 20; no gradient), from the
       write weighting `w_t` averaged over the heads (so that it stays a
       weighting, summing to at most 1, as eqs 11 and 19-20 assume; with one
       head it is the head's): the rows of `N_t ~ L_t` written this step,
       the rows of `P_t ~ L_t^T` in the support of `p_{t-1}`, then the
       precedence `p_t`; every row and `p_t` keep their `num_links` largest
       entries, self-links are dropped (see `keras_memory.addressing.sdnc`).
    5. Read (DNC "Read weighting" on sparse weightings): the `k` rows most
       similar to `q` on the new memory with `c = softmax(beta * cos(q,
       M(s_i)))` over them (SAM eq. 4); the forward weighting
       `f = N_t w^r_{t-1}` and backward weighting `b = P_t w^r_{t-1}`
       (eqs 21, 22), each kept to its `num_links` largest entries; then
       `w^r_t = pi[1] b + pi[2] c + pi[3] f` on those `k + 2 num_links`
       rows and `r_t = sum_i w^r_t(i) M_t(i)`.
    6. Usage (SAM section 3.2): every row read or written with a weight above
       `usage_threshold` gets the current step as its last access time.
    7. The output is `[controller output, r^1_t, ..., r^R_t]`; the paper's
       `y_t = Linear([h_t, r_t])` is the `keras.layers.Dense` you put after
       the RNN.

    The paper's SDNC section does not say how several heads share the links;
    here they share one `N`, `P` and `p`, fed by the mean of the heads'
    write weightings. With `search="exact"` the top `k` and the least
    recently accessed rows (the `R` oldest, ties to the lowest index) are
    found by scans of `N`; with `search="lsh"` through `SAMCell`'s index and
    ring (see `SAMCell`), where the rows a step accesses move to the ring's
    tail in row order.

    Masking. As for `SAMCell`: `keras_memory.layers.MemoryRNN` hands the mask
    to the cell, which turns a padded step into a no-op on the memory, the
    usage and the links at a cost that does not grow with `N`;
    `keras.layers.RNN` selects between every old and new state instead
    (`O(N (W + 5 num_links))` per step). Both give the same results.

    The paper's usage and patent note: the sparse read/write scheme it shares
    with SAM is the subject of DeepMind's US patent 11,151,443; check whether
    it applies to your use.

    The state is a list of 2-D float tensors: `[h, c, reads, memory,
    last_access, read_rows, read_weights, step, n_indices, n_values,
    p_indices, p_values, p_logs, retention_logs, precedence_indices,
    precedence_values]` with sizes `units, units, R * W, N * W, N, R * S,
    R * S, 1, N * K_L, N * K_L, N * K_L, N * K_L, N * K_L, N, K_L, K_L`,
    plus the 7 states of `SAMCell`'s index and ring with `search="lsh"`,
    where `S = k + 2 num_links` and `K_L = num_links`. Row indices are kept
    as float32, exact up to `2**24` slots.

    Args:
        units: Positive integer, size of the LSTM controller.
        memory_size: Positive integer, number of memory slots `N`, at most
            `2**24`. Defaults to `1024`.
        word_size: Positive integer, width `W` of a slot. Defaults to `32`.
        num_heads: Positive integer, number of access heads `R` (each reads
            and writes), at most `memory_size`. Defaults to `4`.
        k: Positive integer, rows read by content per head; at most
            `memory_size`. Defaults to `4`.
        num_links: Positive integer `K_L`, entries kept per row of the link
            matrices, in the precedence and in each forward and backward
            weighting; at most `memory_size`. Defaults to `8` (the paper's
            choice, Suppl. D.1).
        usage_threshold: Non-negative float `delta` below 1; an access with
            a weight above it refreshes the row's usage. Defaults to `0.005`.
        search: `"exact"` or `"lsh"`, as for `SAMCell`. Defaults to
            `"exact"`.
        lsh_tables: With `search="lsh"`, the index's hash tables, as for
            `SAMCell`. Defaults to `4`.
        lsh_bits: Hash bits per table, as for `SAMCell`. Defaults to `None`.
        lsh_bucket_size: Slots per bucket, as for `SAMCell`. Defaults to `32`.
        lsh_recent: Rows allocated last that every query also searches, as
            for `SAMCell`. Defaults to `256`.
        lsh_probes: Neighbouring buckets a query also reads per table, as
            for `SAMCell`. Defaults to `0`.
        memory_init: `"zeros"` (the memory starts empty) or `"random"` (a
            fixed draw uniform in `+-1/sqrt(N + W)`, made when the layer is
            built and not trained). Defaults to `"zeros"`.
        clip_value: Positive float; the head parameters are clipped to
            `[-clip_value, clip_value]`. Defaults to `20.0`.
        return_weightings: Boolean. If `True`, the output also carries the
            rows read and their weights and the rows written and their
            weights (see `split_output`). Defaults to `False`.
        kernel_initializer: Initializer for the head-parameter layer's kernel.
            Defaults to `"glorot_uniform"`.
        seed: Optional integer, seed for the initializers, the `"random"`
            memory and the LSH hyperplanes.
        **kwargs: Other keyword arguments passed to `keras.layers.Layer`,
            such as `name` or `dtype`.

    Attributes:
        output_size: `units + R * W`, plus `R * (4 S + 2)` when
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
    >>> rnn = keras.layers.RNN(
    ...     SDNCCell(units=64, memory_size=4096, word_size=16),
    ...     return_sequences=True,
    ... )
    >>> tuple(rnn(inputs).shape)
    (8, 10, 128)

    Reference:
        - [Rae, Hunt, Harley, Danihelka, Senior, Wayne, Graves & Lillicrap,
          2016. Scaling Memory-Augmented Neural Networks with Sparse Reads and
          Writes](https://arxiv.org/abs/1610.09027), Supplementary D.
        - [Graves et al., 2016. Hybrid computing using a neural network with
          dynamic external memory. Nature 538, 471-476](
          https://doi.org/10.1038/nature20101)
    """

    def __init__(
        self,
        units,
        memory_size=1024,
        word_size=32,
        num_heads=4,
        k=4,
        num_links=8,
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
        name = "SDNCCell"
        self.num_links = check_positive_int("num_links", num_links, name)
        configure_sparse_access(
            self, name, units=units, memory_size=memory_size, word_size=word_size,
            num_heads=num_heads, k=k, usage_threshold=usage_threshold, search=search,
            lsh=(lsh_tables, lsh_bits, lsh_bucket_size, lsh_recent, lsh_probes),
            memory_init=memory_init, clip_value=clip_value, return_weightings=return_weightings,
            kernel_initializer=kernel_initializer, seed=seed,
            head_scalars=("alpha", "gamma", "beta", "backward", "content", "forward"),
            at_most_memory_size=[
                ("num_links", self.num_links, "entries kept per row of the link matrices")])

        r, n, kl, s = self.num_heads, self.memory_size, self.num_links, self.read_support
        self.state_size = [self.units, self.units, r * self.word_size, n * self.word_size,
                           n, r * s, r * s, 1] + [n * kl] * 5 + [n, kl, kl]
        if self.search == "lsh":
            self.state_size += self.index.state_size
        self.output_size = self.units + r * self.word_size
        if self.return_weightings:
            self.output_size += r * (4 * s + 2)

    # The index's settings, as constructor arguments.
    lsh_tables = property(lambda self: self.index.tables)
    lsh_bits = property(lambda self: self.index.bits_argument)
    lsh_bucket_size = property(lambda self: self.index.bucket_size)
    lsh_recent = property(lambda self: self.index.recent)
    lsh_probes = property(lambda self: self.index.probes)

    @property
    def read_support(self):
        """Rows each head reads: `k + 2 num_links` (content, forward, backward)."""
        return self.k + 2 * self.num_links

    def build(self, input_shape):
        check_build_input_shape(self, input_shape)
        batch = input_shape[0]
        self.controller.build((batch, input_shape[-1] + self.num_heads * self.word_size))
        self.head_parameters.build((batch, self.units))
        if self.memory_init == "random":
            add_random_initial_memory(self, offset_seed(self.seed, 2))
        if self.search == "lsh":
            self.index.build(self, offset_seed(self.seed, 5))

    def get_initial_state(self, batch_size=None):
        dtype = self.compute_dtype
        r, n, w, s = self.num_heads, self.memory_size, self.word_size, self.read_support

        tile = functools.partial(batch_tile, batch_size=batch_size, dtype=dtype)

        states = [ops.zeros((batch_size, size), dtype=dtype) for size in self.state_size]
        if self.memory_init == "random":
            states[3] = tile(self.initial_memory)
        # Before the first step every head "read" rows 0..S-1 (mod N) with
        # weight 0, so the first write goes to the least recently accessed rows.
        states[5] = tile(ops.tile(ops.arange(s) % n, (r,)))
        if self.search == "lsh":
            states[16:] = self.index.initial_states(
                tile, self.initial_memory if self.memory_init == "random" else None
            )
        return states

    def call(self, inputs, states, training=False, step_mask=None):
        check_step_input(self, inputs)
        (h, c, reads, memory, last_access, read_rows, read_weights, step, n_idx, n_val,
         p_idx, p_val, p_log, rho, prec_idx, prec_val) = states[:16]
        dtype = self.compute_dtype
        r, n, w, k = self.num_heads, self.memory_size, self.word_size, self.k
        kl, s = self.num_links, self.read_support
        memory = ops.reshape(memory, (-1, n, w))
        # Row indices are float32 states; they and the links pass no gradient.
        previous_rows = ops.stop_gradient(ops.reshape(read_rows, (-1, r, s)))
        previous_weights = ops.reshape(read_weights, (-1, r, s))
        n_idx, n_val, p_idx, p_val, p_log = (
            ops.stop_gradient(ops.reshape(t, (-1, n, kl)))
            for t in (n_idx, n_val, p_idx, p_val, p_log))
        rho, prec_idx, prec_val = (ops.stop_gradient(t) for t in (rho, prec_idx, prec_val))
        mask = None if step_mask is None else ops.cast(ops.reshape(step_mask, (-1,)), dtype)
        now = step[:, 0] + 1.0  # this step's time; SAM: T in U_T
        step_on = ops.ones_like(now, "bool") if mask is None else mask > 0

        # 1. Controller on [x_t, r_{t-1}] (SAM section 3.3).
        controller_output, (new_h, new_c) = self.controller(
            ops.concatenate([ops.cast(inputs, dtype), reads], axis=-1),
            [h, c],
            training=training,
        )
        controller_output = ops.cast(controller_output, dtype)

        # 2. Head parameters, clipped, then the activations.
        parameters = sam.clip(self.head_parameters(controller_output), self.clip_value)
        heads = ops.reshape(parameters, (-1, r, self.head_parameter_size))
        queries = ops.tanh(heads[..., :w])
        words = ops.tanh(heads[..., w : 2 * w])
        alpha = ops.sigmoid(heads[..., 2 * w])
        gamma = ops.sigmoid(heads[..., 2 * w + 1])
        beta = ops.softplus(heads[..., 2 * w + 2])
        modes = ops.softmax(heads[..., 2 * w + 3 :], axis=-1)  # (backward, content, forward)

        # 3. Write as SAM (eq. 5, Suppl. eq. 8): previous read rows and LRA rows.
        if self.search == "lsh":
            # SAM's least accessed ring (Suppl. A.3): O(1) instead of a scan of N.
            index = self.index.unpack(states[16:])
            lra_rows = ops.cast(self.index.oldest(index), dtype)
        else:
            lra_rows = ops.cast(sam.least_recently_accessed(last_access, r), dtype)  # (B, R)
        on_previous, on_lra = sam.write_weights(previous_weights, alpha, gamma)
        new_memory = sam.sparse_write(
            memory, previous_rows, on_previous, lra_rows, on_lra, words, mask
        )
        written_rows = ops.concatenate([ops.reshape(previous_rows, (-1, r * s)), lra_rows], 1)
        written_weights = ops.concatenate(
            [ops.reshape(on_previous, (-1, r * s)), on_lra], axis=1
        )
        new_last_access = sam.mark_accessed(
            last_access, written_rows, written_weights, now, self.usage_threshold, mask
        )

        # 4. Sparse temporal links (Suppl. D.1, eqs 19, 20, 11), no gradient,
        #    from the heads' mean write weighting.
        link_write = ops.stop_gradient(written_weights) / r
        n_idx, n_val = links.update_predecessor_links(
            n_idx, n_val, written_rows, link_write, prec_idx, prec_val, mask
        )
        rho = links.decay_columns(rho, written_rows, link_write, mask)
        p_idx, p_val, p_log = links.update_successor_links(
            p_idx, p_val, p_log, rho, written_rows, link_write, prec_idx, prec_val, mask
        )
        new_prec_idx, new_prec_val = links.sparse_precedence(
            prec_idx, prec_val, written_rows, link_write
        )

        # 5. Read: content (SAM eq. 4) on the new memory, forward and backward
        #    along the links (eqs 21, 22), mixed by the read modes.
        if self.search == "lsh":
            # SAM's index follows every write (section 3.5); search it.
            self.index.file(index, new_memory, written_rows, lra_rows, step_on)
            content_rows, valid = self.index.search(index, new_memory, queries, k)
        else:
            content_rows, valid = sam.exact_top_k(new_memory, queries, k), None
        content_weights, content_reads = sam.sparse_read(
            new_memory, queries, beta, content_rows, valid
        )
        f_idx, f_val = links.follow_links(
            p_idx, p_val, previous_rows, previous_weights, kl, rho, p_log
        )
        b_idx, b_val = links.follow_links(n_idx, n_val, previous_rows, previous_weights, kl)
        link_rows = ops.concatenate([f_idx, b_idx], axis=-1)  # (B, R, 2 K_L)
        link_weights = ops.concatenate(
            [modes[..., 2:3] * f_val, modes[..., 0:1] * b_val], axis=-1
        )
        link_reads = ops.einsum(
            "brs,brsw->brw", link_weights, sam.gather_rows(new_memory, link_rows)
        )
        new_reads = modes[..., 1:2] * content_reads + link_reads
        rows = ops.stop_gradient(
            ops.concatenate([ops.cast(content_rows, dtype), link_rows], axis=-1))
        new_read_weights = ops.concatenate(
            [modes[..., 1:2] * content_weights, link_weights], axis=-1
        )

        # 6. Usage (SAM section 3.2) of the rows read.
        new_last_access = sam.mark_accessed(
            new_last_access, rows, new_read_weights, now, self.usage_threshold, mask
        )

        extra_states = []
        if self.search == "lsh":
            # Every row accessed above delta moves to the ring's tail, in row
            # order (the read support's layout has no order of its own).
            touched = ops.concatenate([written_rows, ops.reshape(rows, (-1, r * s))], axis=1)
            weights = ops.concatenate(
                [written_weights, ops.reshape(new_read_weights, (-1, r * s))], axis=1)
            order = ops.argsort(touched, axis=-1)
            self.index.touch(
                index, ops.take_along_axis(touched, order, axis=-1),
                ops.take_along_axis(weights, order, axis=-1), self.usage_threshold, step_on,
            )
            extra_states = self.index.pack(index)

        new_reads = ops.reshape(new_reads, (-1, r * w))
        new_read_rows = ops.reshape(rows, (-1, r * s))
        new_read_weights = ops.reshape(new_read_weights, (-1, r * s))
        small = [ops.cast(new_h, dtype), ops.cast(new_c, dtype), new_reads, new_read_rows,
                 new_read_weights, step + 1.0, new_prec_idx, new_prec_val]
        if mask is not None:
            # Padded steps keep the previous small states; the memory, usage
            # and links were left unchanged above at a cost independent of N.
            old = [h, c, reads, read_rows, read_weights, step, prec_idx, prec_val]
            small = [ops.where(mask[:, None] > 0, a, b) for a, b in zip(small, old)]
        (new_h, new_c, new_reads, new_read_rows, new_read_weights, new_step,
         new_prec_idx, new_prec_val) = small

        outputs = [controller_output, new_reads]
        if self.return_weightings:
            outputs += [new_read_rows, new_read_weights, written_rows, written_weights]
        new_states = [
            new_h, new_c, new_reads, ops.reshape(new_memory, (-1, n * w)), new_last_access,
            new_read_rows, new_read_weights, new_step,
        ] + [ops.reshape(t, (-1, n * kl)) for t in (n_idx, n_val, p_idx, p_val, p_log)] + [
            rho, new_prec_idx, new_prec_val,
        ] + extra_states
        return ops.concatenate(outputs, axis=-1), new_states

    def split_output(self, outputs):
        """Split the cell's output (or an RNN's output sequence) into its parts.

        Args:
            outputs: tensor or NumPy array whose last axis has size
                `output_size`.

        Returns:
            A dict with `"controller"` (`..., units`) and `"reads"`
            (`..., R, W`); with `return_weightings=True` also `"read_rows"`
            and `"read_weights"` (`..., R, S`: per head its `k` content rows,
            then `num_links` forward and `num_links` backward rows; a row may
            appear more than once, its weights add up), `"write_rows"` and
            `"write_weights"` (`..., R * (S + 1)`: every head's `S` previous
            read rows, then the `R` least recently accessed rows).
        """
        return split_sparse_output(self, outputs, self.read_support)

    def get_config(self):
        config = requested_dtype_config(super().get_config(), self._requested_dtype_policy)
        config.update(sparse_access_config(self, num_links=self.num_links))
        return config
