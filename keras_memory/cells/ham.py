"""The Hierarchical Attentive Memory cell (Andrychowicz & Kurach, 2016)."""

import keras
import numpy as np
from keras import ops

from keras_memory import backend
from keras_memory.addressing import ham as addressing
from keras_memory.cells.common import (
    batch_tile,
    check_build_input_shape,
    check_step_input,
    keep_memory_in_float32,
    requested_dtype_config,
)
from keras_memory.initializers import clone_initializer, offset_seed
from keras_memory.layers import MemoryRNN
from keras_memory.validation import (
    check_bool,
    check_option,
    check_positive_int,
    check_seed,
    check_tensor_size,
    get_initializer,
)

ATTENTIONS = ("hard", "soft")
JOINS = ("mlp", "gated")
WRITE_QUERIES = ("controller", "root")
MLP_DEPTHS = (1, 2)
#: Base seeds are drawn below this bound, so that float32 states hold them exactly.
SEED_BOUND = 2**24


def _bernoulli_sample(logits, seed):
    """Stateless Bernoulli(sigmoid(logits)) samples as float32 0/1 (`keras_memory.backend`)."""
    return backend.bernoulli(logits, seed)


class _MLP(keras.layers.Layer):
    """`depth - 1` ReLU layers of width `hidden`, then `units` with `activation`."""

    def __init__(self, units, depth, hidden, activation, initializers, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        sizes = [hidden] * (depth - 1) + [units]
        activations = ["relu"] * (depth - 1) + [activation]
        self.dense_layers = [
            keras.layers.Dense(
                size,
                activation=act,
                use_bias=use_bias,
                kernel_initializer=initializers[i],
                dtype=self.dtype_policy,
                name=f"dense_{i}",
            )
            for i, (size, act) in enumerate(zip(sizes, activations))
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.dense_layers:
            layer.build(shape)
            shape = shape[:-1] + (layer.units,)

    def call(self, inputs):
        # Dense on a rank-3 input is a `tensordot` whose gradient inside
        # `tf.while_loop` XLA cannot compile: run the layers on a matrix.
        shape = tuple(inputs.shape)
        x = ops.reshape(inputs, (-1, shape[-1])) if len(shape) > 2 else inputs
        for layer in self.dense_layers:
            x = layer(x)
        if len(shape) > 2:
            if None in shape[1:-1]:  # e.g. a sequence of unknown length
                x = ops.reshape(x, tuple(ops.shape(inputs)[:-1]) + (x.shape[-1],))
            else:
                x = ops.reshape(x, (-1,) + shape[1:-1] + (x.shape[-1],))
        return x


@keras.saving.register_keras_serializable(package="keras_memory")
class HAMCell(keras.layers.Layer):
    """Cell class for the Hierarchical Attentive Memory (HAM).

    The memory is a full binary tree with `memory_size` (`n`) leaves whose
    every node holds a vector of `hidden_size` (`d`); the leaves hold the data
    and each inner node a summary of its subtree, `JOIN(left, right)`. Every
    step the cell walks from the root to one leaf, choosing left or right at
    each node with SEARCH, so a memory access costs `log n` module calls
    instead of `n` (Andrychowicz & Kurach, 2016, section 3).

    The modules are MLPs of `mlp_depth` layers (hidden width `d`) with ReLU
    everywhere except where stated (section 3.2):

    - EMBED `R^b -> R^d` puts an input item into a leaf;
    - JOIN `R^d x R^d -> R^d` on `[h_left; h_right]`;
    - SEARCH on `[h_c; query]`, sigmoid output: the probability of going right;
    - WRITE, a highway layer `T H + (1 - T) h_a` where `H` (`d` outputs) and
      `T` are MLPs on `[h_a; query]` with sigmoid outputs. The paper does not
      say whether the gate `T` is a vector; here it is a scalar, as in
      Smerity's `tf-ham`;
    - the controller, a `keras.layers.LSTMCell(units)` whose input is the
      attended leaf `h_a` only.

    One step (section 3.2, Figs. 3-5), with the controller state `h` of the
    previous step as the query:

    1. Attention: from the root, `p = SEARCH(h_c, h)`; go right with
       probability `p`. `attention="hard"` samples each decision from
       `Bernoulli(p)` when `training=True` (the model is then trained with
       REINFORCE, section 3.3) and goes right iff `p > 0.5` otherwise
       (section 4.1). The reached leaf is `h_a`.
    2. Output: `h, c = LSTM(h_a, (h, c))`.
    3. Update: `h_a <- WRITE(h_a, h)` with the new `h`, then the `log n`
       ancestors of the leaf are recomputed by JOIN, bottom-up. Only those
       nodes change (`keras_memory.addressing.ham.update_path`).

    `attention="soft"` is the fully differentiable DHAM (Appendix A): every
    leaf gets the probability that the descent would reach it (the product
    of its branch probabilities, SEARCH at all `n - 1` inner nodes), the
    controller reads the probability-weighted sum of the leaves, every leaf
    is written `h_e <- p(e) WRITE(h_e, h) + (1 - p(e)) h_e`, and all inner
    nodes are recomputed: `O(n)` per step, trained by plain backpropagation.

    `controller=False` is the "raw HAM" of section 4.3: no LSTM, the current
    input `x_t` replaces `h` as the query of SEARCH and WRITE, and the output
    is an MLP of the attended leaf, read before the write.

    The tree is filled from an input sequence before the first step
    (section 3.2, Fig. 2: `EMBED(x_i)` in leaf `i`, zero excess leaves, JOIN
    bottom-up, zero LSTM state): with `HAMRNN(cell)(inputs,
    tree_inputs=sequence)` in a model, or `cell.initial_state_from(sequence)`
    passed as `initial_state=` to `keras.layers.RNN` in eager code or a
    subclassed model (not in a functional model: the EMBED and JOIN layers
    would then be saved twice and not reload; use `HAMRNN`). Without it the
    cell starts from the empty tree of `get_initial_state` (zero leaves, as
    the raw HAM does), so it also works as a plain `keras.layers.RNN` cell.

    **Randomness.** Hard decisions in training are sampled statelessly: the
    state carries a base seed, drawn once per sequence outside the RNN loop
    (by `get_initial_state` or `initial_state_from`, from the cell's
    `keras.random.SeedGenerator`) and stored as a float32 below `2^24`, and a
    step counter. Level `k` of step `t` samples with the seed
    `[base, t * log2(n) + k]`, shared by the batch (each example gets its own
    draw from it). Nothing inside the loop touches a random state, so the
    cell runs in `tf.while_loop`, under XLA and in `MemoryRNN`'s stateless
    scope, and a run is reproducible from the seed state.

    **REINFORCE.** The cell samples and reports; it does not build the loss.
    Each step outputs the total log-probability `log pi_t` of its decisions
    (differentiable with respect to SEARCH and, through the visited nodes,
    EMBED, JOIN and WRITE), the sum of their entropies and `sum 1 / H(p)`,
    the paper's exploration term without its `alpha` (section 3.3; past
    `H = 1e-6` it grows linearly in `log H`, see
    `keras_memory.addressing.ham.inverse_entropies`). The output layer and the baseline are ordinary
    `keras.layers.Dense` layers outside the RNN, the output on `h_t`, the
    baseline on `h_{t-1}`, the state step `t`'s decisions were taken from (a
    baseline on `h_t`, which has read the chosen leaf, predicts the
    decision's reward and cancels its learning signal). A surrogate loss to
    minimise is `-sum_t log p(y_t) - sum_t stop_gradient(R_t - b_t) log pi_t
    + (b_t - stop_gradient(R_t))^2 + alpha sum_t inverse_entropy_t`. On steps
    masked by a Keras mask the RNN repeats the last output: multiply the
    per-step terms by the mask. In soft mode the three terms are 0.

    Under a mixed-precision policy the LSTM computes in half precision; the
    tree, the modules and every state stay in float32.

    **Cost.** A hard step does `O(d log n)` arithmetic. Compile with
    `jit_compile=True`: under XLA the path's write (a scatter-add on its
    `log n + 1` nodes) and its gradient run in place, so a training step,
    forward and backward, costs O(log n) (about 0.1-0.4 ms per step from 16
    to 262,144 leaves at batch 8 on one CPU core, where the soft DHAM and
    the NTM grow linearly; `benchmarks/scaling.py`). Without XLA,
    TensorFlow's graph mode copies the tree every step (O(n)). See
    `keras_memory.addressing.ham`.

    The state is a list of 2-D tensors: `[tree, h, c, seed, step]` with sizes
    `(2n - 1) d, units, units, 1, 1` (raw HAM: `[tree, seed, step]`). `tree`
    is the heap of `keras_memory.addressing.ham` (root 0, children `2i + 1`,
    `2i + 2`, leaf `j` at node `n - 1 + j`) flattened node by node;
    `split_state` unpacks it. The output is `y`, `units` wide: the
    controller state `h` (raw HAM: the read-out MLP, ReLU), what the next
    layer reads. With `return_decisions=True` it is `[y, log_prob, entropy,
    inverse_entropy, leaf]` of size `units + 4`, the quantities REINFORCE
    needs, where `leaf` is the attended leaf `0..n-1` (soft: the most
    probable one); `split_output` unpacks it. The leaf index grows with the
    tree, so it is not an input for the next layer;
    `keras_memory.reinforce.build_ham_model` turns the option on and feeds
    only `y` to its output layer.

    The number of weights does not depend on `memory_size`: a cell built
    with 32 leaves takes the weights of one built with 8 (section 3.2).

    **Curriculum.** `set_active_leaves(m)` makes the cell use only the
    leftmost subtree of `m` leaves (a power of two `<= memory_size`): the
    decisions above that subtree's root always go left and count in none of
    the REINFORCE terms (soft: their branch probabilities are 0), so the
    cell computes exactly what a cell of `m` leaves with the same weights
    computes, on items that fit in `m` leaves. This is the paper's
    curriculum (section 4.2: the tree doubles whenever the error falls below
    a threshold, up to 32 leaves) without rebuilding the model;
    `keras_memory.reinforce.TreeCurriculum` drives it from `model.fit`. The
    setting lives in a variable outside the weights, so it is not saved: a
    loaded or new cell uses all its leaves.

    Args:
        units: Positive integer, size `l` of the LSTM controller, and of the
            read-out MLP's output when `controller=False`. Defaults to `20`
            (the paper).
        memory_size: Number of leaves `n`, a power of two `>= 2`.
            Defaults to `32`.
        hidden_size: Positive integer, size `d` of the node values and
            width of the MLPs' hidden layers. Defaults to `20` (the paper).
        attention: `"hard"` (REINFORCE, section 3.3) or `"soft"` (DHAM,
            Appendix A). Defaults to `"hard"`.
        controller: Boolean. `True`: LSTM+HAM; `False`: raw HAM (section
            4.3). Defaults to `True`.
        mlp_depth: `1` or `2`, the number of layers of every MLP (the paper
            picks one of the two by random search). Defaults to `1`.
        join_bias: Boolean. If `False`, JOIN's layers have no bias, so
            `JOIN(0, 0) = 0`: an empty subtree (whose leaves are 0, section
            3.2, Fig. 2) is 0 at every height, and a tree bigger than the
            training one shows the same empty subtrees. With a bias, the
            summary of an empty subtree changes with its height. Not in the
            paper, which does not say whether its MLPs have biases.
            Defaults to `True`.
        join: `"mlp"` (the paper, section 3.2: a node is
            `JOIN(left, right)`, an MLP of the two children) or `"gated"`:
            a node is `z * left + (1 - z) * right`, with the gate
            `z = sigmoid(MLP(left, right))` per entry. A gated node is a
            blend of its children rather than a new vector, so it can pass
            one child's value up unchanged (the smallest unread key, say)
            at any height, while a ReLU MLP applied height after height
            turns every full subtree towards one direction, as repeated
            multiplication by one matrix does. Not in the paper. Defaults
            to `"mlp"`.
        input_size: Optional positive integer, the width `b` of the items
            EMBED reads. If `None`, EMBED is built by the first tree
            initialisation. Defaults to `None`.
        write_query: `"controller"` (WRITE reads `h`, or `x_t` in raw HAM)
            or `"root"` (the root's value, the literal text of Appendix A,
            most likely a typo). Defaults to `"controller"`.
        feed_inputs: Boolean. If `True` the LSTM reads `[h_a, x_t]` instead
            of `h_a` alone (not in the paper; lets the step input, e.g. an
            output-step flag, reach the controller). Ignored when
            `controller=False`. Defaults to `False`.
        return_decisions: Boolean. If `True` each step's output also holds
            the REINFORCE quantities of its decisions (see above). Defaults
            to `False`.
        kernel_initializer: Initializer of every kernel. Defaults to
            Glorot-uniform (seeded from `seed`).
        seed: Optional integer seed of the initializers and of the seed
            generator of the hard decisions.
        **kwargs: Other keyword arguments of `keras.layers.Layer`, such as
            `name` or `dtype`.

    Attributes:
        output_size: `units`, or `units + 4` with `return_decisions=True`.
        state_size: `[(2n - 1) d, units, units, 1, 1]`, or
            `[(2n - 1) d, 1, 1]` when `controller=False`.

    Call arguments:
        inputs: A 2-D tensor `(batch, features)`: ignored by LSTM+HAM (unless
            `feed_inputs=True`), the query `x_t` of raw HAM.
        states: The list of state tensors of the previous step.
        training: Python boolean; with `attention="hard"`, `True` samples the
            decisions and `False` takes the most probable ones.
        step_mask: Optional `(batch,)` tensor, 1 on real steps and 0 on
            padded ones (`keras_memory.layers.MemoryRNN` passes the mask of
            each step): a padded step changes no state, and a hard step
            still costs `O(log n)` (`keras.layers.RNN` would instead select
            between the old and the new tree, `O(n)` per step).

    Example:

    LSTM+HAM for Sort (section 4.2) with `keras_memory.tasks.HAMSortTask`,
    whose batches are `{"sequence": (B, n, 11), "decoder": (B, T, 1)}`:

    ```python
    task = keras_memory.tasks.HAMSortTask(num_leaves=8)
    sequence = keras.Input((8, task.input_size), name="sequence")
    decoder = keras.Input((None, 1), name="decoder")
    cell = HAMCell(units=20, memory_size=8, hidden_size=20, return_decisions=True)
    rnn = HAMRNN(cell, return_sequences=True)  # Fills the tree from `sequence`.
    parts = cell.split_output(rnn(decoder, tree_inputs=sequence, tree_mask=sequence[..., -1]))
    logits = keras.layers.Dense(task.output_size, name="logits")(parts["output"])
    h = keras.ops.stop_gradient(parts["output"])  # The baseline does not train h.
    h_before = keras.ops.pad(h, ((0, 0), (1, 0), (0, 0)))[:, :-1]  # h_{t-1}
    baseline = keras.layers.Dense(1, name="baseline")(h_before)
    model = keras.Model(
        {"sequence": sequence, "decoder": decoder},
        {"logits": logits, "baseline": baseline, "log_prob": parts["log_prob"],
         "inverse_entropy": parts["inverse_entropy"]},
    )
    ```

    Reference:
        - [Andrychowicz & Kurach, 2016. Learning Efficient Algorithms with
          Hierarchical Attentive Memory](https://arxiv.org/abs/1602.03218)
          (section and figure numbers of arXiv v2)
    """

    def __init__(
        self,
        units=20,
        memory_size=32,
        hidden_size=20,
        attention="hard",
        controller=True,
        mlp_depth=1,
        join_bias=True,
        join="mlp",
        input_size=None,
        write_query="controller",
        feed_inputs=False,
        return_decisions=False,
        kernel_initializer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = "HAMCell"
        self.units = check_positive_int("units", units, name)
        if (
            isinstance(memory_size, bool)
            or not isinstance(memory_size, int)
            or memory_size < 2
            or memory_size & (memory_size - 1)
        ):
            raise ValueError(
                f"{name}: `memory_size` is the number of leaves of a full binary "
                "tree and must be a power of two >= 2 (2, 4, 8, 16, ...). "
                f"Received: memory_size={memory_size!r}"
            )
        self.memory_size = memory_size
        self.hidden_size = check_positive_int("hidden_size", hidden_size, name)
        self.attention = check_option("attention", attention, ATTENTIONS, name)
        if not isinstance(controller, (bool, np.bool_)):
            raise ValueError(
                f"{name}: `controller` must be True (LSTM+HAM) or False (raw HAM). "
                f"Received: controller={controller!r}"
            )
        self.controller_enabled = bool(controller)
        if not isinstance(mlp_depth, int) or isinstance(mlp_depth, bool) or (
            mlp_depth not in MLP_DEPTHS
        ):
            raise ValueError(
                f"{name}: `mlp_depth` must be 1 or 2 (the depths the paper "
                f"searches). Received: mlp_depth={mlp_depth!r}"
            )
        self.mlp_depth = int(mlp_depth)
        self.join_bias = check_bool("join_bias", join_bias, name)
        self.join_kind = check_option("join", join, JOINS, name)
        self.input_size = (
            None if input_size is None else check_positive_int("input_size", input_size, name)
        )
        self.write_query = check_option("write_query", write_query, WRITE_QUERIES, name)
        self.feed_inputs = check_bool("feed_inputs", feed_inputs, name)
        self.return_decisions = check_bool("return_decisions", return_decisions, name)
        self.seed = seed = check_seed("seed", seed, name)
        self.kernel_initializer = (
            None
            if kernel_initializer is None
            else get_initializer("kernel_initializer", kernel_initializer, name)
        )
        for what, shape, arguments in (
            ("the tree ((2 memory_size - 1) x hidden_size)",
             (2 * self.memory_size - 1, self.hidden_size),
             {"memory_size": self.memory_size, "hidden_size": self.hidden_size}),
            ("JOIN's kernel (2 hidden_size x hidden_size)",
             (2 * self.hidden_size, self.hidden_size), {"hidden_size": self.hidden_size}),
            ("the controller's recurrent kernel (units x 4 units)",
             (self.units, 4 * self.units), {"units": self.units}),
        ):
            check_tensor_size(what, shape, arguments, name)
        self.depth = addressing.depth(self.memory_size)
        self.num_nodes = 2 * self.memory_size - 1
        # The curriculum's forced-left levels: read inside the compiled step,
        # set between steps, and kept out of the weights (object.__setattr__
        # bypasses Keras' tracking), so weights move between tree sizes.
        object.__setattr__(
            self,
            "_forced_levels",
            keras.Variable(0, dtype="int32", trainable=False, name="forced_levels"),
        )

        # Half-precision policies: the LSTM follows the policy, the tree and
        # the modules stay in float32.
        self._requested_dtype_policy = keep_memory_in_float32(self)

        d = self.hidden_size
        # Its own name: the controller's LSTMCell has a "seed_generator" too,
        # and PyTorch keeps a layer's variables in a dict keyed by their paths.
        self.seed_generator = keras.random.SeedGenerator(seed, name="decision_seed_generator")
        self.embed = self._mlp("embed", d, "relu", offset=0)
        self.join = self._mlp("join", d, "sigmoid" if self.join_kind == "gated" else "relu",
                              offset=10, use_bias=self.join_bias)
        self.search = self._mlp("search", 1, None, offset=20)
        self.write_candidate = self._mlp("write_candidate", d, "sigmoid", offset=30)
        self.write_gate = self._mlp("write_gate", 1, "sigmoid", offset=40)
        if self.controller_enabled:
            self.controller = keras.layers.LSTMCell(
                self.units,
                kernel_initializer=self._initializer(50),
                recurrent_initializer=(
                    keras.initializers.Orthogonal(seed=offset_seed(seed, 51))
                    if self.kernel_initializer is None
                    else clone_initializer(self.kernel_initializer, 51)
                ),
                seed=seed,
                dtype=self._requested_dtype_policy,
                name="controller",
            )
            self.read_out = None
            self.state_size = [self.num_nodes * d, self.units, self.units, 1, 1]
        else:
            self.controller = None
            self.read_out = self._mlp("read_out", self.units, "relu", offset=60)
            self.state_size = [self.num_nodes * d, 1, 1]
        self.output_size = self.units + (4 if self.return_decisions else 0)
        self._embed_input_size = None

    # -------------------------------------------------------------- curriculum
    @property
    def active_leaves(self):
        """The number of leaves in use (see `set_active_leaves`)."""
        return self.memory_size // 2 ** int(keras.ops.convert_to_numpy(self._forced_levels))

    def set_active_leaves(self, leaves):
        """Use only the leftmost `leaves` leaves (a power of two `<= memory_size`).

        Takes effect at the next step, also inside an already compiled
        training function. `set_active_leaves(cell.memory_size)` restores the
        whole tree.
        """
        if (
            isinstance(leaves, bool)
            or not isinstance(leaves, (int, np.integer))
            or leaves < 1
            or leaves > self.memory_size
            or leaves & (leaves - 1)
        ):
            raise ValueError(
                "HAMCell.set_active_leaves: `leaves` must be a power of two between 1 "
                f"and memory_size={self.memory_size}. Received: leaves={leaves!r}"
            )
        self._forced_levels.assign(self.depth - int(leaves).bit_length() + 1)

    # ----------------------------------------------------------------- helpers
    def _initializer(self, offset):
        if self.kernel_initializer is None:
            return keras.initializers.GlorotUniform(seed=offset_seed(self.seed, offset))
        return clone_initializer(self.kernel_initializer, offset)

    def _mlp(self, name, units, activation, offset, use_bias=True):
        initializers = [self._initializer(offset + i) for i in range(self.mlp_depth)]
        return _MLP(
            units,
            self.mlp_depth,
            self.hidden_size,
            activation,
            initializers,
            use_bias=use_bias,
            dtype=self.dtype_policy,
            name=name,
        )

    def _join(self, left, right):
        value = self.join(ops.concatenate([left, right], axis=-1))
        if self.join_kind == "gated":
            return value * left + (1.0 - value) * right
        return value

    def _search(self, nodes, queries):
        return self.search(ops.concatenate([nodes, queries], axis=-1))[..., 0]

    def _write(self, leaves, queries):
        """WRITE(h_a, q) = T H + (1 - T) h_a (section 3.2), T a scalar gate."""
        x = ops.concatenate([leaves, queries], axis=-1)
        gate = self.write_gate(x)
        return gate * self.write_candidate(x) + (1.0 - gate) * leaves

    def _build_embed(self, input_size):
        if self.embed.built:
            if input_size != self._embed_input_size:
                raise ValueError(
                    f"HAMCell: EMBED was built for items of width "
                    f"{self._embed_input_size}; the tree inputs have width "
                    f"{input_size}."
                )
            return
        self.embed.build((None, input_size))
        self._embed_input_size = input_size

    # ------------------------------------------------------------------ build
    def build(self, input_shape):
        features = check_build_input_shape(self, input_shape)
        d = self.hidden_size
        query = self.units if self.controller_enabled else features
        write_query = d if self.write_query == "root" else query
        for layer, width in (
            (self.join, 2 * d),
            (self.search, d + query),
            (self.write_candidate, d + write_query),
            (self.write_gate, d + write_query),
        ):
            if not layer.built:
                layer.build((None, width))
        if self.controller_enabled:
            extra = features if self.feed_inputs else 0
            self.controller.build((None, d + extra))
        else:
            self.read_out.build((None, d))
        if self.input_size is not None:
            self._build_embed(self.input_size)

    def get_build_config(self):
        config = super().get_build_config()
        if config is not None and self._embed_input_size is not None:
            config = dict(config, embed_input_size=self._embed_input_size)
        return config

    def build_from_config(self, config):
        config = dict(config or {})
        embed_input_size = config.pop("embed_input_size", None)
        super().build_from_config(config)
        if embed_input_size is not None:
            self._build_embed(embed_input_size)

    # ----------------------------------------------------------- initial state
    def _empty_tree(self, batch_size):
        """Zero leaves and every inner node JOINed from them: `(1, 2n - 1, d)`."""
        value = ops.zeros((1, self.hidden_size), "float32")
        levels = [value]
        for _ in range(self.depth):
            value = self._join(value, value)
            levels.append(value)
        rows = [ops.tile(value, [2**k, 1]) for k, value in enumerate(levels[::-1])]
        return ops.reshape(ops.concatenate(rows, axis=0), (1, -1))

    def _states_from_tree(self, tree, batch_size):
        tree = ops.reshape(tree, (-1, self.num_nodes * self.hidden_size))
        if tree.shape[0] == 1:  # The empty tree, the same for every sequence.
            tree = batch_tile(tree, batch_size, tree.dtype)
        if self.attention == "hard":
            base = keras.random.randint(
                (1, 1), 0, SEED_BOUND, seed=self.seed_generator, dtype="int32"
            )
            seed = batch_tile(base, batch_size, "float32")
        else:
            seed = ops.zeros((batch_size, 1), "float32")
        step = ops.zeros((batch_size, 1), "float32")
        if not self.controller_enabled:
            return [tree, seed, step]
        # Two tensors, not one twice: PyTorch's stateful state variables would
        # share its storage, and writing `c` would overwrite `h`.
        h, c = (ops.zeros((batch_size, self.units), "float32") for _ in range(2))
        return [tree, h, c, seed, step]

    def get_initial_state(self, batch_size=None):
        """The empty tree (zero leaves, inner nodes JOINed), zero LSTM state, a fresh seed."""
        return self._states_from_tree(self._empty_tree(batch_size), batch_size)

    def initial_state_from(self, sequence, mask=None):
        """The initial state with the tree filled from `sequence` (section 3.2, Fig. 2).

        Leaf `i` gets `EMBED(x_i)` for the `m` items of `sequence`; the
        leaves after them, and the items where `mask` is 0, get zeros; the
        inner nodes are JOINed bottom-up (`log n` levels); the LSTM state is
        zero; a fresh base seed is drawn. Pass the result as `initial_state=`
        to `keras.layers.RNN(cell)`. In a functional model use
        `HAMRNN(cell)(inputs, tree_inputs=sequence, tree_mask=mask)`, which
        calls this method.

        Args:
            sequence: `(batch, m, b)` with `m <= memory_size`.
            mask: Optional `(batch, m)`, nonzero (or True) on real items.

        Returns:
            The list of state tensors (see the class docstring).
        """
        sequence = ops.cast(ops.convert_to_tensor(sequence), "float32")
        if len(sequence.shape) != 3:
            raise ValueError(
                "HAMCell.initial_state_from: `sequence` must have rank 3, "
                f"(batch, items, features). Received: shape={tuple(sequence.shape)}"
            )
        if sequence.shape[0] == 0:
            raise ValueError(
                "HAMCell.initial_state_from: the batch is empty; `sequence` needs at "
                f"least one sequence. Received: shape={tuple(sequence.shape)}"
            )
        items = sequence.shape[1]
        if items is not None and items > self.memory_size:
            raise ValueError(
                f"HAMCell.initial_state_from: the sequence has {items} items, more "
                f"than the tree's memory_size={self.memory_size} leaves."
            )
        self._build_embed(sequence.shape[-1])
        if not self.join.built:
            self.join.build((None, 2 * self.hidden_size))
        leaves = self.embed(sequence)
        if mask is not None:
            keep = ops.cast(ops.convert_to_tensor(mask), "float32")[..., None] > 0
            leaves = ops.where(keep, leaves, ops.zeros_like(leaves))
        pad = self.memory_size - (items if items is not None else ops.shape(leaves)[1])
        leaves = ops.pad(leaves, [[0, 0], [0, pad], [0, 0]])
        leaves = ops.reshape(leaves, (-1, self.memory_size, self.hidden_size))
        tree = addressing.init_tree(leaves, self._join)
        return self._states_from_tree(tree, ops.shape(sequence)[0])

    # -------------------------------------------------------------------- call
    def _decide(self, training, seed, step, forced):
        if not training:
            decide = lambda logits, level: addressing.hard_decisions(logits)  # noqa: E731
        else:
            base = ops.cast(seed[0, 0], "int32")
            counter = ops.cast(step[0, 0], "int32") * self.depth

            def decide(logits, level):
                return _bernoulli_sample(logits, ops.stack([base, counter + level]))

        def decide_below_the_active_root(logits, level):
            # Above the active subtree (curriculum) every decision is "left".
            return ops.where(level < forced, ops.zeros_like(logits), decide(logits, level))

        return decide_below_the_active_root

    def call(self, inputs, states, training=False, step_mask=None):
        check_step_input(self, inputs)
        d, n = self.hidden_size, self.memory_size
        tree = ops.reshape(states[0], (-1, self.num_nodes, d))
        seed, step = states[-2], states[-1]
        inputs = ops.cast(inputs, "float32")
        if self.controller_enabled:
            h, c = states[1], states[2]
            query = h
        else:
            query = inputs
        zeros = ops.zeros_like(tree[:, 0, :1])
        forced = ops.convert_to_tensor(self._forced_levels)
        # `(B, 1)`: 1 on real steps, 0 on padded ones (`MemoryRNN` passes it):
        # a padded step leaves every state as it was, at the step's own cost.
        mask = None if step_mask is None else ops.reshape(ops.cast(step_mask, "float32"), (-1, 1))

        # 1. Attention phase (Fig. 3; Appendix A for the soft variant).
        if self.attention == "hard":
            descent = addressing.descend_hard(
                tree, self._search, query, self._decide(training, seed, step, forced)
            )
            attended = addressing.gather_nodes(tree, descent.leaf)
            # Forced decisions (curriculum) are no decisions: no REINFORCE terms.
            active = ops.cast(ops.arange(self.depth) >= forced, "float32")
            log_prob = ops.sum(
                active
                * addressing.decision_log_probabilities(descent.logits, descent.decisions),
                axis=-1,
                keepdims=True,
            )
            entropy = ops.sum(
                active * addressing.decision_entropies(descent.logits), axis=-1, keepdims=True
            )
            inverse_entropy = ops.sum(
                active * addressing.inverse_entropies(descent.logits), axis=-1, keepdims=True
            )
            leaf = ops.cast(descent.leaf - (n - 1), "float32")[:, None]
        else:
            probabilities = addressing.leaf_probabilities(
                tree, self._search, query, forced_levels=forced
            )
            attended = addressing.soft_read(tree, probabilities)
            log_prob = entropy = inverse_entropy = zeros
            leaf = ops.cast(ops.argmax(probabilities, axis=-1), "float32")[:, None]

        # 2. Output phase (Fig. 4): the controller reads the attended leaf.
        if self.controller_enabled:
            dtype = self.controller.compute_dtype
            controller_inputs = attended
            if self.feed_inputs:
                controller_inputs = ops.concatenate([attended, inputs], axis=-1)
            _, (h, c) = self.controller(
                ops.cast(controller_inputs, dtype),
                [ops.cast(h, dtype), ops.cast(c, dtype)],
                training=training,
            )
            h, c = ops.cast(h, "float32"), ops.cast(c, "float32")
            output, write_query = h, h
        else:
            # Raw HAM (section 4.3): the output reads the leaf before the write.
            output, write_query = self.read_out(attended), inputs
        if self.write_query == "root":  # The root of the active subtree.
            write_query = ops.take(tree, 2**forced - 1, axis=1)

        # 3. Update phase (Fig. 5; Appendix A for the soft variant).
        if self.attention == "hard":
            # Padded steps: the path's change is scaled by 0, still O(log n).
            tree = addressing.update_path(
                tree, descent.leaf, self._write(attended, write_query), self._join,
                mask=None if mask is None else mask[:, 0],
            )
        else:
            queries = ops.tile(write_query[:, None, :], [1, n, 1])
            new_tree = addressing.soft_write(
                tree, probabilities, lambda leaves: self._write(leaves, queries)
            )
            new_tree = addressing.rejoin_all(new_tree, self._join)
            # The soft step rewrites the whole tree anyway (O(n)).
            tree = new_tree if mask is None else ops.where(mask[:, :, None] > 0, new_tree, tree)

        if self.return_decisions:
            output = ops.concatenate([output, log_prob, entropy, inverse_entropy, leaf], axis=-1)
        new_states = [ops.reshape(tree, (-1, self.num_nodes * d))]
        if self.controller_enabled:
            if mask is not None:
                h = ops.where(mask > 0, h, states[1])
                c = ops.where(mask > 0, c, states[2])
            new_states += [h, c]
        new_states += [seed, step + (1.0 if mask is None else mask)]
        return output, new_states

    # ------------------------------------------------------------- unpacking
    def split_output(self, outputs):
        """Split the cell's output (or an RNN's output sequence) into its parts.

        Without `return_decisions` the output is `y` alone and the dict has
        only `"output"`.

        Args:
            outputs: Tensor, array or KerasTensor whose last axis has size
                `output_size`, e.g. the `(batch, time, output_size)` output of
                `keras.layers.RNN(cell, return_sequences=True)`.

        Returns:
            A dict with `"output"` (`..., units`: the controller state `h`,
            or the raw HAM's read-out), and `(...)`-shaped `"log_prob"` (the
            step's total decision log-probability), `"entropy"` (the sum of
            the decisions' entropies), `"inverse_entropy"` (the sum of
            `1 / H`, see `keras_memory.addressing.ham.inverse_entropies`)
            and `"leaf"` (the attended leaf `0..n-1` as a float).
        """
        units = self.units
        if not self.return_decisions:
            return {"output": outputs[..., :units]}
        return {
            "output": outputs[..., :units],
            "log_prob": outputs[..., units],
            "entropy": outputs[..., units + 1],
            "inverse_entropy": outputs[..., units + 2],
            "leaf": outputs[..., units + 3],
        }

    def split_state(self, states):
        """Unpack a state list into a dict.

        Args:
            states: The cell's state list (e.g. from `initial_state_from` or
                `keras.layers.RNN(cell, return_state=True)`).

        Returns:
            A dict with `"tree"` `(batch, 2n - 1, d)`, `"seed"` and `"step"`
            `(batch, 1)`, and with the controller `"h"` and `"c"`
            `(batch, units)`.
        """
        parts = {
            "tree": ops.reshape(states[0], (-1, self.num_nodes, self.hidden_size)),
            "seed": states[-2],
            "step": states[-1],
        }
        if self.controller_enabled:
            parts["h"], parts["c"] = states[1], states[2]
        return parts

    @classmethod
    def from_config(cls, config):
        # Configs saved before `return_decisions` existed always had the
        # decisions in their output.
        config = dict(config)
        config.setdefault("return_decisions", True)
        return super().from_config(config)

    def get_config(self):
        config = requested_dtype_config(super().get_config(), self._requested_dtype_policy)
        config.update(
            {
                "units": self.units,
                "memory_size": self.memory_size,
                "hidden_size": self.hidden_size,
                "attention": self.attention,
                "controller": self.controller_enabled,
                "mlp_depth": self.mlp_depth,
                "join_bias": self.join_bias,
                "join": self.join_kind,
                "input_size": self.input_size,
                "write_query": self.write_query,
                "feed_inputs": self.feed_inputs,
                "return_decisions": self.return_decisions,
                "kernel_initializer": (
                    None
                    if self.kernel_initializer is None
                    else keras.initializers.serialize(self.kernel_initializer)
                ),
                "seed": self.seed,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_memory")
class HAMRNN(MemoryRNN):
    """`MemoryRNN` for a `HAMCell` that can fill the tree from a sequence first.

    Takes every argument of `keras.layers.RNN`. Called with
    `tree_inputs=sequence` (`(batch, m, b)`, `m <= memory_size`) and
    optionally `tree_mask` (`(batch, m)`, nonzero on real items), it starts
    from `cell.initial_state_from(sequence, mask)`: the leaves hold
    `EMBED(x_i)`, the excess and masked leaves zeros, the inner nodes are
    JOINed bottom-up and the LSTM state is zero (section 3.2, Fig. 2). Without
    `tree_inputs` it is a `MemoryRNN` (empty tree, or `initial_state=`).

    Use it, rather than `initial_state=cell.initial_state_from(...)`, in
    functional models: the tree initialisation then lives inside one layer,
    so the model saves to and loads from `.keras` with the EMBED and JOIN
    weights shared between the initialisation and the steps.

    Call arguments:
        sequences: `(batch, time, features)`, the per-step inputs.
        initial_state: Optional state list; not together with `tree_inputs`.
        mask: Optional `(batch, time)` step mask.
        training: Python boolean (hard decisions are sampled when `True`).
        tree_inputs: Optional `(batch, m, b)` sequence that fills the tree.
        tree_mask: Optional `(batch, m)`, nonzero on the real items.

    Example:

    >>> cell = HAMCell(units=8, memory_size=8, hidden_size=6)
    >>> rnn = HAMRNN(cell, return_sequences=True)
    >>> items = np.random.random((2, 5, 3)).astype("float32")
    >>> steps = np.zeros((2, 4, 1), "float32")
    >>> tuple(rnn(steps, tree_inputs=items).shape)
    (2, 4, 8)
    """

    def __init__(self, cell, **kwargs):
        if not isinstance(cell, HAMCell):
            raise ValueError(
                f"HAMRNN: `cell` must be a HAMCell. Received: cell={cell!r}"
            )
        super().__init__(cell, **kwargs)

    def build(
        self, sequences_shape, initial_state_shape=None, tree_inputs_shape=None,
        tree_mask_shape=None,
    ):
        super().build(sequences_shape, initial_state_shape)
        if tree_inputs_shape is not None:
            self.cell._build_embed(tree_inputs_shape[-1])

    def compute_output_shape(
        self, sequences_shape, initial_state_shape=None, tree_inputs_shape=None,
        tree_mask_shape=None,
    ):
        return super().compute_output_shape(sequences_shape, initial_state_shape)

    def call(
        self, sequences, initial_state=None, mask=None, training=False, tree_inputs=None,
        tree_mask=None,
    ):
        if tree_inputs is not None:
            if initial_state is not None:
                raise ValueError(
                    "HAMRNN: pass either `tree_inputs` or `initial_state`, not both."
                )
            initial_state = self.cell.initial_state_from(tree_inputs, tree_mask)
        elif tree_mask is not None:
            raise ValueError("HAMRNN: `tree_mask` needs `tree_inputs`.")
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )
