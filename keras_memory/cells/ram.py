"""The RAM and RAM/Tape baselines of the Lie-access paper (Yang & Rush, 2017)."""

import keras
from keras import ops

from keras_memory.addressing import lantm as addressing
from keras_memory.cells.appended import AppendedMemoryCell
from keras_memory.validation import check_bool


@keras.saving.register_keras_serializable(package="keras_memory")
class RAMCell(AppendedMemoryCell):
    """Cell class for the RAM and RAM/Tape baselines of Yang & Rush (2017).

    The same controller and appended memory as `LANTMCell`, but with purely
    random access: every step the controller emits a read key and a write
    key in `R^key_size`, reading weighs the entries by a softmax of inner
    products, and writing appends `(write key, tanh value, sigmoid strength)`
    (section 5, "RAM"; the authors' `models/ram.lua`).

    With `tape=True` (RAM/Tape), each read also forms two tape keys from its
    weights: the forward key `f_t = sum_i w_i k_{i+1}` (the key of the entry
    written after each one read) and the backward key
    `b_t = sum_i w_i k_{i-1}`. The next read key is the mixture
    `pi_1 q_cand + pi_2 f_{t-1} + pi_3 b_{t-1}` with `pi = softmax(.)` of
    three controller logits, so the model can walk the memory in the order it
    was written. The tape follows the slots in index order, which is the
    order of writing until the memory is full and starts to evict.

    Each step:

    1. The controller reads `[embedding(x_t), r_{t-1}]`.
    2. Weights `w = softmax(<q, k_i>)`, or with `sharpen=True`
       `softmax((1 + softplus(beta)) <q, k_i>)`; then, as for LANTM,
       `w_i <- (s_i w_i + 1e-9) / sum_j (s_j w_j + 1e-9)` and
       `r_t = sum_i w_i v_i`, on the memory before this step's write.
    3. Append the new entry.
    4. The output is `[h_t, r_t]`; a `keras.layers.Dense` after the RNN
       computes the authors' prediction `W_p h + b + W_r r`.

    Memory, capacity, eviction, write flag and initialisation are as in
    `LANTMCell`. The memory starts with one learned, nearly empty entry (two
    for RAM/Tape, as the authors' code requires).

    The state is `[h, c, r, (tape keys,) keys, values, strengths, last_used,
    time]` with sizes `units, units, W, (2 key_size,) C key_size, C W, C, C,
    1`.

    Args:
        units: Positive integer, size of the LSTM controller (the paper: 50).
        memory_width: Positive integer, width `W` of the stored values.
            Defaults to `20`.
        key_size: Positive integer, dimension of the keys. The paper's
            configurations use 20, and 2 for some tasks. Defaults to `20`.
        tape: Boolean, RAM/Tape instead of RAM. Defaults to `False`.
        sharpen: Boolean, the learned weight sharpening. Defaults to `False`.
        memory_capacity: Positive integer, number of preallocated slots
            including the initial ones. Defaults to `128`.
        embedding_size: As in `LANTMCell`.
        write_flag_input: As in `LANTMCell`.
        usage_threshold: As in `LANTMCell`.
        return_weightings: As in `LANTMCell`.
        kernel_initializer: As in `LANTMCell`.
        forget_bias: As in `LANTMCell`.
        seed: As in `LANTMCell`.
        **kwargs: Other keyword arguments of `keras.layers.Layer`.

    Attributes:
        output_size: `units + W`, plus `C` with `return_weightings=True`.

    Call arguments:
        inputs: A 2-D tensor of shape `(batch, features)`.
        states: The list of state tensors of the previous step.
        training: Python boolean, passed to the controller.

    Example:

    >>> inputs = np.random.random((32, 10, 12)).astype("float32")
    >>> rnn = keras.layers.RNN(RAMCell(units=50, tape=True, memory_capacity=12))
    >>> rnn(inputs).shape
    (32, 70)

    Reference:
        - [Yang & Rush, 2017. Lie-Access Neural Turing Machines](
          https://arxiv.org/abs/1611.02854), section 5 and Table 1.
    """

    _name = "RAMCell"

    def __init__(
        self,
        units=50,
        memory_width=20,
        key_size=20,
        tape=False,
        sharpen=False,
        memory_capacity=128,
        embedding_size=None,
        write_flag_input=False,
        usage_threshold=0.01,
        return_weightings=False,
        kernel_initializer=None,
        forget_bias=None,
        seed=None,
        **kwargs,
    ):
        self.tape = check_bool("tape", tape, self._name)
        self.sharpen = check_bool("sharpen", sharpen, self._name)
        self._initial_slots = 2 if self.tape else 1
        super().__init__(
            units,
            memory_width=memory_width,
            key_size=key_size,
            memory_capacity=memory_capacity,
            embedding_size=embedding_size,
            write_flag_input=write_flag_input,
            usage_threshold=usage_threshold,
            return_weightings=return_weightings,
            kernel_initializer=kernel_initializer,
            forget_bias=forget_bias,
            seed=seed,
            **kwargs,
        )

    def _head_layout(self):
        layout = [("read_key", self.key_size), ("write_key", self.key_size)]
        if self.sharpen:
            layout.append(("sharpening", 1))
        if self.tape:
            layout.append(("link_gate", 3))
        layout += [("write_value", self.memory_width), ("write_strength", 1)]
        return layout

    def _extra_state_sizes(self):
        return [2 * self.key_size] if self.tape else []

    def _output_size(self):
        size = self.units + self.memory_width
        if self.return_weightings:
            size += self.memory_capacity
        return size

    def _build_heads(self):
        if self.tape:
            self.initial_tape_keys = self._uniform_weight(
                (2, self.key_size), "initial_tape_keys", 20
            )

    def _initial_extra_states(self, tile):
        return [tile(self.initial_tape_keys)] if self.tape else []

    def _move_heads(self, parts, extra):
        query = parts["read_key"]
        if self.tape:
            tape = ops.reshape(extra[0], (-1, 2, self.key_size))
            link = ops.softmax(parts["link_gate"], axis=-1)
            query = link[:, :1] * query + link[:, 1:2] * tape[:, 0] + link[:, 2:] * tape[:, 1]
        return query, extra, parts["write_key"]

    def _weigh(self, query, keys, valid, parts):
        return addressing.inner_product_weights(
            query, keys, valid, parts["sharpening"] if self.sharpen else None
        )

    def _after_read(self, weights, keys, valid, extra):
        if not self.tape:
            return extra
        forward, backward = addressing.tape_keys(weights, keys, valid)
        return [ops.concatenate([forward, backward], axis=-1)]

    def _output(self, h, read, parts, extra, weights):
        outputs = [h, read]
        if self.return_weightings:
            outputs.append(weights)
        return ops.concatenate(outputs, axis=-1)

    def split_output(self, outputs):
        """Split the output into `"controller"`, `"read"` and, with `return_weightings`, `"read_weightings"`."""
        units, width = self.units, self.memory_width
        parts = {"controller": outputs[..., :units], "read": outputs[..., units : units + width]}
        if self.return_weightings:
            parts["read_weightings"] = outputs[..., units + width :]
        return parts

    def get_config(self):
        config = super().get_config()
        config.update({"key_size": self.key_size, "tape": self.tape, "sharpen": self.sharpen})
        return config
