"""The controller and appended memory that `LANTMCell` and `RAMCell` share.

Yang & Rush (2017) build LANTM, SLANTM and their RAM baselines on one
skeleton (the authors' `models/lantm.lua`, `slantm.lua`, `ram.lua`): an LSTM
controller fed `[embedding(x_t), r_{t-1}]`, one linear map from its state to
every head parameter, and a memory of `(key, value, strength)` entries that
grows by one entry per step. `AppendedMemoryCell` is that skeleton; the
subclasses say how heads move and how reading weighs the entries.
"""

import functools
import math

import keras
from keras import ops

from keras_memory.addressing import lantm as addressing
from keras_memory.cells.common import (
    batch_tile,
    check_build_input_shape,
    check_step_input,
    keep_memory_in_float32,
    requested_dtype_config,
)
from keras_memory.initializers import clone_initializer, offset_seed, set_forget_bias
from keras_memory.initializers import torch_default_initializer
from keras_memory.validation import (
    check_bool,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_tensor_size,
    get_initializer,
)


class AppendedMemoryCell(keras.layers.Layer):
    """Base class: LSTM controller plus a preallocated appended memory.

    Subclasses define `_head_layout()` (an ordered list of `(name, size)`
    controller outputs), `_build_heads()` (their learned initial states),
    `_extra_state_sizes()` / `_initial_extra_states()`, `_output_size()`,
    and the hooks `call` runs in order: `_move_heads()` (the read query,
    the write key and the extra states), `_weigh()` (read weights over the
    stored keys), `_after_read()` and `_output()`.

    See `LANTMCell` for the meaning of the shared arguments.
    """

    _name = "AppendedMemoryCell"
    _initial_slots = 1

    def __init__(
        self,
        units,
        memory_width=20,
        key_size=2,
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
        super().__init__(**kwargs)
        name = self._name
        self.units = check_positive_int("units", units, name)
        self.memory_width = check_positive_int("memory_width", memory_width, name)
        self.key_size = check_positive_int("key_size", key_size, name)
        self.memory_capacity = check_positive_int("memory_capacity", memory_capacity, name)
        if self.memory_capacity < self._initial_slots + 1:
            raise ValueError(
                f"{name}: `memory_capacity` must be at least {self._initial_slots + 1} "
                f"({self._initial_slots} learned initial slot(s) and room for one "
                f"entry). Received: memory_capacity={memory_capacity!r}"
            )
        self.embedding_size = (
            None
            if embedding_size is None
            else check_positive_int("embedding_size", embedding_size, name)
        )
        self.write_flag_input = check_bool("write_flag_input", write_flag_input, name)
        self.usage_threshold = check_positive_float("usage_threshold", usage_threshold, name)
        if self.usage_threshold > 1.0:
            raise ValueError(
                f"{name}: `usage_threshold` must be in (0, 1] (a read weight). "
                f"Received: usage_threshold={usage_threshold!r}"
            )
        self.return_weightings = check_bool("return_weightings", return_weightings, name)
        self.seed = seed = check_seed("seed", seed, name)
        self.kernel_initializer = (
            None
            if kernel_initializer is None
            else get_initializer("kernel_initializer", kernel_initializer, name)
        )
        if forget_bias is not None:
            if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)) or (
                not math.isfinite(forget_bias)
            ):
                raise ValueError(
                    f"{name}: `forget_bias` must be None or a finite number. "
                    f"Received: forget_bias={forget_bias!r}"
                )
            forget_bias = float(forget_bias)
        self.forget_bias = forget_bias
        self._requested_dtype_policy = keep_memory_in_float32(self)

        self.head_layout = self._head_layout()
        self.num_head_parameters = sum(size for _, size in self.head_layout)
        units = self.units
        capacity, width, key = self.memory_capacity, self.memory_width, self.key_size
        for what, shape, arguments in (
            ("the memory (memory_capacity x memory_width)", (capacity, width),
             {"memory_capacity": capacity, "memory_width": width}),
            ("the keys (memory_capacity x key_size)", (capacity, key),
             {"memory_capacity": capacity, "key_size": key}),
            ("the controller's recurrent kernel (units x 4 units)", (units, 4 * units),
             {"units": units}),
            ("the head layer's kernel (units x head parameters)",
             (units, self.num_head_parameters),
             {"units": units, "key_size": key, "memory_width": width}),
        ):
            check_tensor_size(what, shape, arguments, name)
        self.controller = keras.layers.LSTMCell(
            units,
            kernel_initializer=self._initializer(1),
            recurrent_initializer=self._initializer(2),
            bias_initializer=keras.initializers.RandomUniform(
                -1.0 / math.sqrt(units), 1.0 / math.sqrt(units), seed=offset_seed(seed, 3)
            ),
            seed=seed,
            dtype=self._requested_dtype_policy,
            name="controller",
        )
        self.head_parameters = keras.layers.Dense(
            self.num_head_parameters,
            kernel_initializer=self._initializer(4),
            bias_initializer=keras.initializers.RandomUniform(
                -1.0 / math.sqrt(units), 1.0 / math.sqrt(units), seed=offset_seed(seed, 5)
            ),
            dtype=self.dtype_policy,
            name="head_parameters",
        )
        self.embedding = None
        if self.embedding_size is not None:
            # A lookup table on one-hot inputs: Torch's `nn.LookupTable`, N(0, 1).
            self.embedding = keras.layers.Dense(
                self.embedding_size,
                use_bias=False,
                kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=offset_seed(seed, 6)),
                dtype=self._requested_dtype_policy,
                name="embedding",
            )
        capacity, width, key = self.memory_capacity, self.memory_width, self.key_size
        self.state_size = (
            [units, units, width]
            + self._extra_state_sizes()
            + [capacity * key, capacity * width, capacity, capacity, 1]
        )
        self.output_size = self._output_size()

    # ----------------------------------------------------------------- helpers
    def _initializer(self, offset):
        if self.kernel_initializer is None:
            return torch_default_initializer(offset_seed(self.seed, offset))
        return clone_initializer(self.kernel_initializer, offset)

    def _uniform_weight(self, shape, name, offset):
        """A learned initial state: Torch's `Linear(1 -> n)` bias, uniform in (-1, 1)."""
        return self.add_weight(
            shape=shape,
            initializer=keras.initializers.RandomUniform(-1.0, 1.0, seed=offset_seed(self.seed, offset)),
            name=name,
        )

    def _split_heads(self, parameters):
        parts, start = {}, 0
        for name, size in self.head_layout:
            parts[name] = parameters[:, start : start + size]
            start += size
        return parts

    # ------------------------------------------------------------------ build
    def build(self, input_shape):
        name = self._name
        features = check_build_input_shape(self, input_shape)
        if self.write_flag_input:
            if features < 2:
                raise ValueError(
                    f"{name}: with write_flag_input=True the last input feature is "
                    "the write flag, so the input needs at least 2 features. "
                    f"Received: input_shape={input_shape}"
                )
            features -= 1
        batch = input_shape[0]
        if self.embedding is not None:
            self.embedding.build((batch, features))
            features = self.embedding_size
        self.controller.build((batch, features + self.memory_width))
        if self.forget_bias is not None:
            set_forget_bias(self.controller, self.forget_bias)
        self.head_parameters.build((batch, self.units))

        slots, key = self._initial_slots, self.key_size
        self.initial_controller = self._uniform_weight((2, self.units), "initial_controller", 10)
        self.initial_read = self._uniform_weight((self.memory_width,), "initial_read", 11)
        self.initial_memory_keys = self._uniform_weight((slots, key), "initial_memory_keys", 12)
        self.initial_memory_values = self._uniform_weight(
            (slots, self.memory_width), "initial_memory_values", 13
        )
        self.initial_memory_strengths = self._uniform_weight(
            (slots,), "initial_memory_strengths", 14
        )
        self._build_heads()

    # ----------------------------------------------------------- initial state
    def _initial_memory_key(self):
        """The initial slot's key: the raw learned vector, for SLANTM
        (`key_space="sphere"`) too, by default: the authors'
        `learnable_init_states` projects the heads (`Sproject`) but not
        `keys_` (models/slantm.lua)."""
        return self.initial_memory_keys

    def get_initial_state(self, batch_size=None):
        tile = functools.partial(batch_tile, batch_size=batch_size, dtype=self.compute_dtype)

        capacity, slots = self.memory_capacity, self._initial_slots
        h0 = tile(self.initial_controller[0])
        c0 = tile(self.initial_controller[1])
        r0 = tile(ops.tanh(self.initial_read))
        pad = capacity - slots
        keys = ops.pad(self._initial_memory_key(), [[0, pad], [0, 0]])
        values = ops.pad(ops.tanh(self.initial_memory_values), [[0, pad], [0, 0]])
        # `bias_init_mem_strength = -10`: the initial slot is nearly empty.
        strengths = ops.pad(ops.sigmoid(self.initial_memory_strengths - 10.0), [[0, pad]])
        last_used = addressing.initial_last_used(capacity, slots)
        memory = [tile(keys), tile(values), tile(strengths), tile(last_used)]
        time = ops.zeros((batch_size, 1), self.compute_dtype)
        return [h0, c0, r0] + self._initial_extra_states(tile) + memory + [time]

    # -------------------------------------------------------------------- call
    def call(self, inputs, states, training=False):
        check_step_input(self, inputs)
        num_extra = len(self._extra_state_sizes())
        h, c, r = states[:3]
        extra = list(states[3 : 3 + num_extra])
        keys, values, strengths, last_used, time = states[3 + num_extra :]
        capacity, width, key = self.memory_capacity, self.memory_width, self.key_size
        keys = ops.reshape(keys, (-1, capacity, key))
        values = ops.reshape(values, (-1, capacity, width))
        # The memory and heads compute in the cell's dtype: float32 under a
        # half-precision policy (`keep_memory_in_float32`), float64 under float64.
        inputs = ops.cast(inputs, self.compute_dtype)
        if self.write_flag_input:
            write = inputs[:, -1:]
            inputs = inputs[:, :-1]
        else:
            write = ops.ones_like(inputs[:, :1])

        # Controller on [embedding(x_t), r_{t-1}] (section 3; models/lantm.lua).
        controller_dtype = self.controller.compute_dtype
        x = ops.cast(inputs, controller_dtype)
        if self.embedding is not None:
            x = self.embedding(x)
        controller_output, (h, c) = self.controller(
            ops.concatenate([x, ops.cast(r, controller_dtype)], axis=-1),
            [ops.cast(h, controller_dtype), ops.cast(c, controller_dtype)],
            training=training,
        )
        h = ops.cast(h, self.compute_dtype)
        c = ops.cast(c, self.compute_dtype)
        parts = self._split_heads(self.head_parameters(h))

        time = time + 1.0
        valid = addressing.valid_slots(last_used)
        read_query, extra, write_key = self._move_heads(parts, extra)
        weights = addressing.apply_strengths(
            self._weigh(read_query, keys, valid, parts), strengths, valid
        )
        # Read the memory as it was before this step's write (section 3).
        new_read = addressing.read(weights, values)
        extra = self._after_read(weights, keys, valid, extra)
        last_used = addressing.mark_read(last_used, weights, time, self.usage_threshold)
        # Append (key, tanh value, sigmoid strength) to the memory (section 3).
        keys, values, strengths, last_used = addressing.append(
            (keys, values, strengths, last_used),
            write_key,
            ops.tanh(parts["write_value"]),
            ops.sigmoid(parts["write_strength"]),
            time,
            write,
        )
        output = self._output(h, new_read, parts, extra, weights)
        new_states = [h, c, new_read] + extra + [
            ops.reshape(keys, (-1, capacity * key)),
            ops.reshape(values, (-1, capacity * width)),
            strengths,
            last_used,
            time,
        ]
        return output, new_states

    # ------------------------------------------------------------------ config
    def split_memory(self, states):
        """The memory part of a state list as `(keys, values, strengths, last_used)`.

        Args:
            states: The cell's state list (e.g. from
                `keras.layers.RNN(cell, return_state=True)`), tensors or arrays.

        Returns:
            `keys (B, C, key_size)`, `values (B, C, W)`, `strengths (B, C)`,
            `last_used (B, C)` (negative for slots never written).
        """
        num_extra = len(self._extra_state_sizes())
        keys, values, strengths, last_used = states[3 + num_extra : 7 + num_extra]
        capacity = self.memory_capacity
        return (
            ops.reshape(keys, (-1, capacity, self.key_size)),
            ops.reshape(values, (-1, capacity, self.memory_width)),
            strengths,
            last_used,
        )

    def get_config(self):
        config = requested_dtype_config(super().get_config(), self._requested_dtype_policy)
        config.update(
            {
                "units": self.units,
                "memory_width": self.memory_width,
                "memory_capacity": self.memory_capacity,
                "embedding_size": self.embedding_size,
                "write_flag_input": self.write_flag_input,
                "usage_threshold": self.usage_threshold,
                "return_weightings": self.return_weightings,
                "kernel_initializer": (
                    None
                    if self.kernel_initializer is None
                    else keras.initializers.serialize(self.kernel_initializer)
                ),
                "forget_bias": self.forget_bias,
                "seed": self.seed,
            }
        )
        return config
