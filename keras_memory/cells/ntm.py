"""The Neural Turing Machine cell (Graves et al., 2014)."""

import functools
import math

import keras
from keras import ops

from keras_memory.addressing import ntm as addressing
from keras_memory.cells.common import (
    batch_tile,
    check_build_input_shape,
    check_step_input,
    keep_memory_in_float32,
    requested_dtype_config,
)
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

MEMORY_INITS = ("random", "constant", "learned")


@keras.saving.register_keras_serializable(package="keras_memory")
class NTMCell(keras.layers.Layer):
    """Cell class for the Neural Turing Machine.

    An LSTM controller coupled to an `N x W` memory through read and write heads
    that address the memory by content (cosine similarity) and by location
    (interpolation with the previous weighting, circular shift, sharpening),
    as in Graves et al. (2014). Use it inside `keras.layers.RNN` to process a
    whole sequence; the cell itself handles one timestep.

    Each step:

    1. The controller (`keras.layers.LSTMCell(units)`) reads
       `[x_t, r^1_{t-1}, ..., r^R_{t-1}]`.
    2. A dense layer maps the controller output to every head's parameters,
       clipped to `[-clip_value, clip_value]` (Collier & Beel, 2018): per head a
       key `k = tanh(.)`, a strength `beta = softplus(.)`, a gate
       `g = sigmoid(.)`, a shift distribution `s = softmax(.)` over the
       `2 * shift_range + 1` offsets `-shift_range..+shift_range`, and a
       sharpening exponent `gamma = 1 + softplus(.)`; per write head also an
       erase vector `e = sigmoid(.)` and an add vector `a = tanh(.)`
       (section 3.3, activations as in Collier & Beel).
    3. Every head computes its new weighting from the memory of the previous
       step (section 3.3, `keras_memory.addressing.ntm.address`).
    4. The read heads read the memory of the previous step (eq. 2); then the
       write heads erase and add (eq. 3-4). The paper leaves this order open;
       reading before writing is what Collier & Beel and pytorch-ntm do.
    5. The output is `[controller output, r^1_t, ..., r^R_t]`; put a
       `keras.layers.Dense` after the RNN to map it to your targets.

    The initial state holds a zero controller state, learned read vectors
    (`tanh` of a trainable vector) and learned weightings (`softmax` of a
    trainable vector), as in Collier & Beel, and the initial memory chosen by
    `memory_init`. The paper resets these "to learned bias values" and leaves
    their form open.

    Initialisation matters for how soon an NTM discovers its memory. With a
    memory whose rows are all equal (Collier & Beel's small constant), every
    content lookup is uniform, so every write goes to every row alike and the
    rows stay equal: the model has to break that symmetry first. Measured on
    the copy task (lengths 1-20, batch 32), both pytorch-ntm with a constant
    memory and this cell with a constant memory were still above 18 bits per
    sequence after 50,000 sequences, while with pytorch-ntm's fixed random
    memory, uniform in `+-1/sqrt(N + W)`, and its larger initial weights
    (every LSTM weight uniform in `+-5/sqrt(inputs + units)`, head layer
    Xavier-uniform with gain 1.4) both fell below 1 bit per sequence after
    about 50,000. Those are the defaults here; `memory_init="constant"` and
    the Keras initializers remain available. The controller's biases are not
    pytorch-ntm's (all 0): they are Keras' `LSTMCell` defaults, 0 with the
    forget gates at 1 (`unit_forget_bias`); the head layer's biases are 0.

    Under a mixed-precision policy (`"mixed_float16"`, `"mixed_bfloat16"`), the
    controller computes in half precision while the memory, the addressing and
    every state stay in float32: the softmax-of-cosine addressing and a memory
    written over hundreds of steps lose too much in 16 bits.

    The state is a list of 2-D tensors (so that functional models with
    `return_state=True` work): `[h, c, reads, weightings, memory]` with sizes
    `units, units, R * W, (R + W) * N, N * W`. `reads` holds the `R` read
    vectors, `weightings` the read heads' then the write heads' weightings,
    `memory` the memory flattened row by row.

    Args:
        units: Positive integer, size of the LSTM controller.
        memory_size: Positive integer, number of memory slots `N`.
            Defaults to `128`.
        word_size: Positive integer, width `W` of a memory slot.
            Defaults to `20`.
        num_read_heads: Positive integer, number of read heads `R`.
            Defaults to `1`.
        num_write_heads: Positive integer, number of write heads.
            Defaults to `1`.
        shift_range: Non-negative integer `S`; the heads can shift by
            `-S..+S` slots per step. `2 * S + 1` must not exceed
            `memory_size`. Defaults to `1`.
        memory_init: How the memory starts each sequence: `"random"` (a fixed
            draw, uniform in `+-1/sqrt(N + W)`, made when the layer is built
            and not trained, as in pytorch-ntm), `"constant"` (every entry
            `memory_init_value`, not trained, as in Collier & Beel) or
            `"learned"` (`tanh` of a trainable `N x W` matrix). Defaults to
            `"random"`.
        memory_init_value: Float, the value of every memory entry when
            `memory_init="constant"`. Defaults to `1e-6` (Collier & Beel).
        clip_value: Positive float; the head parameters are clipped to
            `[-clip_value, clip_value]` before their activations.
            Defaults to `20.0`.
        return_weightings: Boolean. If `True`, the read heads' and then the
            write heads' weightings are appended to the output (see
            `output_size` and `split_output`), for plotting where the heads
            read and wrote. Defaults to `False`.
        kernel_initializer: Initializer for the kernel of the dense layer that
            emits the head parameters. Defaults to Xavier-uniform with gain
            1.4 (`VarianceScaling(1.96, "fan_avg", "uniform")`).
        controller_initializer: Initializer for the LSTM controller's kernel
            and recurrent kernel. Defaults to uniform in
            `+-5/sqrt(inputs + units)`, where `inputs` counts the input
            features and the read vectors (pytorch-ntm). The controller's
            biases are 0, the forget gates' 1 (Keras' `unit_forget_bias`).
        seed: Optional integer, seed for the default initializers and the
            `"random"` memory.
        **kwargs: Other keyword arguments passed to `keras.layers.Layer`,
            such as `name` or `dtype`.

    Attributes:
        output_size: `units + R * W`, plus `(R + W) * N` when
            `return_weightings=True`.
        state_size: `[units, units, R * W, (R + W) * N, N * W]`.

    Call arguments:
        inputs: A 2-D tensor of shape `(batch, features)`.
        states: The list of 5 state tensors of the previous step.
        training: Python boolean, passed to the controller.

    Example:

    >>> inputs = np.random.random((32, 10, 9)).astype("float32")
    >>> rnn = keras.layers.RNN(
    ...     NTMCell(units=100, memory_size=128, word_size=20),
    ...     return_sequences=True,
    ... )
    >>> outputs = rnn(inputs)
    >>> outputs.shape
    (32, 10, 120)

    Reference:
        - [Graves, Wayne & Danihelka, 2014. Neural Turing Machines](
          https://arxiv.org/abs/1410.5401)
        - [Collier & Beel, 2018. Implementing Neural Turing Machines](
          https://arxiv.org/abs/1807.08518)
    """

    def __init__(
        self,
        units,
        memory_size=128,
        word_size=20,
        num_read_heads=1,
        num_write_heads=1,
        shift_range=1,
        memory_init="random",
        memory_init_value=1e-6,
        clip_value=20.0,
        return_weightings=False,
        kernel_initializer=None,
        controller_initializer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = "NTMCell"
        self.units = check_positive_int("units", units, name)
        self.memory_size = check_positive_int("memory_size", memory_size, name)
        self.word_size = check_positive_int("word_size", word_size, name)
        self.num_read_heads = check_positive_int("num_read_heads", num_read_heads, name)
        self.num_write_heads = check_positive_int(
            "num_write_heads", num_write_heads, name
        )
        if (
            isinstance(shift_range, bool)
            or not isinstance(shift_range, int)
            or shift_range < 0
            or 2 * shift_range + 1 > self.memory_size
        ):
            raise ValueError(
                f"{name}: `shift_range` must be an integer with "
                f"0 <= shift_range <= (memory_size - 1) // 2 = "
                f"{(self.memory_size - 1) // 2} (the 2 * shift_range + 1 offsets "
                f"must fit in the memory). Received: shift_range={shift_range!r}, "
                f"memory_size={self.memory_size}"
            )
        self.shift_range = shift_range
        self.memory_init = check_option("memory_init", memory_init, MEMORY_INITS, name)
        self.memory_init_value = float(memory_init_value)
        if not math.isfinite(self.memory_init_value):
            raise ValueError(
                f"{name}: `memory_init_value` must be a finite float. "
                f"Received: memory_init_value={memory_init_value!r}"
            )
        self.clip_value = check_positive_float("clip_value", clip_value, name)
        self.return_weightings = check_bool("return_weightings", return_weightings, name)
        self.seed = seed = check_seed("seed", seed, name)
        # Xavier-uniform with gain 1.4 (pytorch-ntm's head layers): see the
        # class docstring for why the NTM wants larger initial weights.
        self.kernel_initializer = get_initializer(
            "kernel_initializer",
            kernel_initializer
            or keras.initializers.VarianceScaling(
                scale=1.96, mode="fan_avg", distribution="uniform", seed=seed
            ),
            name,
        )
        self.controller_initializer = (
            None
            if controller_initializer is None
            else get_initializer("controller_initializer", controller_initializer, name)
        )

        # Half-precision policies: the controller follows the policy, the memory
        # and the addressing stay in float32 (see the class docstring).
        self._requested_dtype_policy = keep_memory_in_float32(self)

        self.num_heads = self.num_read_heads + self.num_write_heads
        # Per head: key (W), strength, gate, shift (2S+1), gamma.
        self.head_parameter_size = self.word_size + 3 + (2 * self.shift_range + 1)
        # Per write head, in addition: erase (W) and add (W).
        self.num_head_parameters = (
            self.num_heads * self.head_parameter_size
            + self.num_write_heads * 2 * self.word_size
        )
        n, w, units = self.memory_size, self.word_size, self.units
        heads = {"num_read_heads": self.num_read_heads,
                 "num_write_heads": self.num_write_heads}
        for what, shape, arguments in (
            ("the memory (memory_size x word_size)", (n, w),
             {"memory_size": n, "word_size": w}),
            ("the weightings (heads x memory_size)", (self.num_heads, n),
             {"memory_size": n, **heads}),
            ("the controller's recurrent kernel (units x 4 units)", (units, 4 * units),
             {"units": units}),
            ("the head layer's kernel (units x head parameters)",
             (units, self.num_head_parameters), {"units": units, "word_size": w, **heads}),
        ):
            check_tensor_size(what, shape, arguments, name)
        self.controller = keras.layers.LSTMCell(
            self.units,
            seed=seed,
            dtype=self._requested_dtype_policy,
            name="controller",
        )
        self.head_parameters = keras.layers.Dense(
            self.num_head_parameters,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="head_parameters",
        )

        read_size = self.num_read_heads * self.word_size
        self.state_size = [
            self.units,
            self.units,
            read_size,
            self.num_heads * self.memory_size,
            self.memory_size * self.word_size,
        ]
        self.output_size = self.units + read_size
        if self.return_weightings:
            self.output_size += self.num_heads * self.memory_size

    def build(self, input_shape):
        check_build_input_shape(self, input_shape)
        batch = input_shape[0]
        read_size = self.num_read_heads * self.word_size
        controller_inputs = input_shape[-1] + read_size
        if self.controller_initializer is None:
            # pytorch-ntm: every LSTM weight ~ U(+-5 / sqrt(inputs + units)).
            limit = 5.0 / math.sqrt(controller_inputs + self.units)
            seed = self.seed
            kernel, recurrent = (
                keras.initializers.RandomUniform(
                    -limit, limit, seed=offset_seed(seed, offset)
                )
                for offset in (3, 4)
            )
        else:
            kernel, recurrent = (
                clone_initializer(self.controller_initializer, offset) for offset in (1, 2)
            )
        self.controller.kernel_initializer = kernel
        self.controller.recurrent_initializer = recurrent
        self.controller.build((batch, controller_inputs))
        self.head_parameters.build((batch, self.units))

        seed = self.seed
        self.initial_read_logits = self.add_weight(
            shape=(self.num_read_heads, self.word_size),
            initializer=keras.initializers.GlorotUniform(seed=seed),
            name="initial_read_logits",
        )
        self.initial_weighting_logits = self.add_weight(
            shape=(self.num_heads, self.memory_size),
            initializer=keras.initializers.GlorotUniform(
                seed=offset_seed(seed, 1)
            ),
            name="initial_weighting_logits",
        )
        if self.memory_init == "learned":
            self.initial_memory_logits = self.add_weight(
                shape=(self.memory_size, self.word_size),
                initializer=keras.initializers.GlorotUniform(
                    seed=offset_seed(seed, 2)
                ),
                name="initial_memory_logits",
            )
        elif self.memory_init == "random":
            limit = 1.0 / math.sqrt(self.memory_size + self.word_size)
            self.initial_memory = self.add_weight(
                shape=(self.memory_size, self.word_size),
                initializer=keras.initializers.RandomUniform(
                    -limit, limit, seed=offset_seed(seed, 2)
                ),
                trainable=False,
                name="initial_memory",
            )

    def get_initial_state(self, batch_size=None):
        dtype = self.compute_dtype

        tile = functools.partial(batch_tile, batch_size=batch_size, dtype=dtype)

        reads = tile(ops.tanh(self.initial_read_logits))
        weightings = tile(ops.softmax(self.initial_weighting_logits, axis=-1))
        if self.memory_init == "constant":
            memory = ops.full(
                (batch_size, self.memory_size * self.word_size),
                self.memory_init_value,
                dtype=dtype,
            )
        elif self.memory_init == "random":
            memory = tile(self.initial_memory)
        else:
            memory = tile(ops.tanh(self.initial_memory_logits))
        # Two tensors, not one twice: PyTorch's stateful state variables would
        # share its storage, and writing `c` would overwrite `h`.
        h, c = (ops.zeros((batch_size, self.units), dtype=dtype) for _ in range(2))
        return [h, c, reads, weightings, memory]

    def call(self, inputs, states, training=False):
        check_step_input(self, inputs)
        h, c, reads, weightings, memory = states
        dtype = self.compute_dtype
        num_heads, read_heads = self.num_heads, self.num_read_heads
        memory = ops.reshape(memory, (-1, self.memory_size, self.word_size))
        previous_weightings = ops.reshape(weightings, (-1, num_heads, self.memory_size))

        # 1. Controller on [x_t, previous reads].
        controller_output, (h, c) = self.controller(
            ops.concatenate([ops.cast(inputs, dtype), reads], axis=-1),
            [h, c],
            training=training,
        )
        controller_output = ops.cast(controller_output, dtype)

        # 2. Head parameters, clipped (Collier & Beel, 2018), then activations.
        parameters = ops.clip(
            self.head_parameters(controller_output), -self.clip_value, self.clip_value
        )
        split = num_heads * self.head_parameter_size
        heads = ops.reshape(parameters[:, :split], (-1, num_heads, self.head_parameter_size))
        width = self.word_size
        keys = ops.tanh(heads[..., :width])
        strengths = ops.softplus(heads[..., width])
        gates = ops.sigmoid(heads[..., width + 1])
        if self.shift_range:
            shift_weights = ops.softmax(heads[..., width + 2 : -1], axis=-1)
        else:  # A single offset (0): its weight is 1.
            shift_weights = ops.ones_like(heads[..., width + 2 : -1])
        gammas = 1.0 + ops.softplus(heads[..., -1])
        erase_add = ops.reshape(
            parameters[:, split:], (-1, self.num_write_heads, 2, width)
        )
        erase = ops.sigmoid(erase_add[:, :, 0])
        add = ops.tanh(erase_add[:, :, 1])

        # 3. Addressing (section 3.3) on the previous memory.
        new_weightings = addressing.address(
            memory, previous_weightings, keys, strengths, gates, shift_weights, gammas
        )
        # 4. Read (eq. 2) the previous memory, then write (eq. 3-4).
        new_reads = addressing.read_memory(new_weightings[:, :read_heads], memory)
        new_memory = addressing.write_memory(
            memory, new_weightings[:, read_heads:], erase, add
        )

        new_reads = ops.reshape(new_reads, (-1, read_heads * width))
        new_weightings = ops.reshape(new_weightings, (-1, num_heads * self.memory_size))
        outputs = [controller_output, new_reads]
        if self.return_weightings:
            outputs.append(new_weightings)
        output = ops.concatenate(outputs, axis=-1)
        new_states = [
            ops.cast(h, dtype),
            ops.cast(c, dtype),
            new_reads,
            new_weightings,
            ops.reshape(new_memory, (-1, self.memory_size * width)),
        ]
        return output, new_states

    def split_output(self, outputs):
        """Split the cell's output (or an RNN's output sequence) into its parts.

        Args:
            outputs: tensor or NumPy array whose last axis has size
                `output_size`, e.g. the `(batch, time, output_size)` output of
                `keras.layers.RNN(cell, return_sequences=True)`.

        Returns:
            A dict with `"controller"` (`..., units`), `"reads"`
            (`..., R, W`) and, when `return_weightings=True`,
            `"read_weightings"` (`..., R, N`) and `"write_weightings"`
            (`..., num_write_heads, N`).
        """
        lead = tuple(outputs.shape[:-1])
        units, width, n = self.units, self.word_size, self.memory_size
        read_end = units + self.num_read_heads * width
        parts = {
            "controller": outputs[..., :units],
            "reads": ops.reshape(
                outputs[..., units:read_end], lead + (self.num_read_heads, width)
            ),
        }
        if self.return_weightings:
            weightings = ops.reshape(outputs[..., read_end:], lead + (self.num_heads, n))
            parts["read_weightings"] = weightings[..., : self.num_read_heads, :]
            parts["write_weightings"] = weightings[..., self.num_read_heads :, :]
        return parts

    def get_config(self):
        config = requested_dtype_config(super().get_config(), self._requested_dtype_policy)
        config.update(
            {
                "units": self.units,
                "memory_size": self.memory_size,
                "word_size": self.word_size,
                "num_read_heads": self.num_read_heads,
                "num_write_heads": self.num_write_heads,
                "shift_range": self.shift_range,
                "memory_init": self.memory_init,
                "memory_init_value": self.memory_init_value,
                "clip_value": self.clip_value,
                "return_weightings": self.return_weightings,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "controller_initializer": (
                    None
                    if self.controller_initializer is None
                    else keras.initializers.serialize(self.controller_initializer)
                ),
                "seed": self.seed,
            }
        )
        return config
