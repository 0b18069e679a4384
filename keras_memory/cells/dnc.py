"""The Differentiable Neural Computer cell (Graves et al., 2016)."""

import keras
from keras import ops

from keras_memory.addressing import dnc as addressing
from keras_memory.cells.common import (
    check_build_input_shape,
    check_step_input,
    keep_memory_in_float32,
    requested_dtype_config,
)
from keras_memory.initializers import clone_initializer
from keras_memory.validation import (
    check_bool,
    check_option,
    check_positive_float,
    check_positive_int,
    check_seed,
    get_initializer,
)



@keras.saving.register_keras_serializable(package="keras_memory")
class DNCCell(keras.layers.Layer):
    """Cell class for the Differentiable Neural Computer (DNC).

    An LSTM controller coupled to an `N x W` memory through `R` read heads
    and one write head, as in Graves et al. (2016). The write head writes by
    content or to the least used slot (dynamic memory allocation, with usage
    freed by the read heads' free gates); each read head mixes a content
    lookup with the forward and backward weightings of a temporal link matrix
    that records the order of the writes. Use it inside `keras.layers.RNN`;
    the cell itself handles one timestep. The equations are the functions of
    `keras_memory.addressing.dnc`, one per equation of the paper's Methods.

    Each step (Methods, "Controller network" and "Memory addressing"):

    1. The controller (`keras.layers.LSTMCell(units)`) reads
       `chi_t = [x_t; r^1_{t-1}; ...; r^R_{t-1}]`. Its output and state are
       clipped to `[-clip_value, clip_value]` as in DeepMind's implementation
       (the paper clips the controller's gradients instead).
    2. A dense layer maps the controller output to the interface vector
       `xi_t` of size `R W + 3 W + 5 R + 3`, split with the paper's transfer
       functions ("Interface parameters"): read keys, read strengths
       (`oneplus`), write key, write strength (`oneplus`), erase vector
       (sigmoid), write vector, free gates (sigmoid), allocation gate
       (sigmoid), write gate (sigmoid) and per read head a softmax over the
       three read modes (backward, content, forward).
    3. Usage `u_t` from the previous usage, the previous write weighting
       and the retention vector `psi_t` of the free gates and the previous
       read weightings ("Dynamic memory allocation").
    4. Write weighting `w^w_t = g^w [g^a a_t + (1 - g^a) c^w_t]`, with the
       allocation weighting `a_t` of the usage sorted ascending and the
       content weighting `c^w_t` on the memory before the write ("Write
       weighting"); then erase and write ("Reading and writing to memory").
    5. Link matrix `L_t` from the previous precedence, then the precedence
       `p_t` ("Temporal memory linkage").
    6. Read weightings `w^{r,i}_t = pi[1] b^i_t + pi[2] c^{r,i}_t + pi[3] f^i_t`
       with the content weighting on the new memory and the forward and
       backward weightings `f = L_t w^r_{t-1}`, `b = L_t^T w^r_{t-1}`
       ("Read weighting"); the read vectors `r^i_t = M_t^T w^{r,i}_t`.
    7. The output is `[controller output, r^1_t, ..., r^R_t]`. The paper's
       output `y_t = W_y h_t + W_r [r^1_t; ...; r^R_t]` is the
       `keras.layers.Dense` you put after the RNN.

    Where the paper is silent, the cell follows DeepMind's implementation
    (`dnc/addressing.py`, `dnc/access.py`): the usage is not differentiated
    with respect to the previous write weighting (`stop_gradient`), the
    cosine similarity adds `1e-6` to the norms, and the usage is floored at
    `1e-6` before the allocation's cumulative product. Every state starts at
    zero, as in the paper (`u_0 = 0`, `p_0 = 0`, `L_0 = 0`) and in DeepMind's
    implementation (memory, weightings and read vectors).

    Cost: the link matrix is `N x N` per example, so a step costs `O(N^2)`
    time and the backward pass keeps a few `N x N` tensors per step.
    `link_gradient=False` stops the gradient through the link matrix (the
    forward and backward weightings then pass no gradient to earlier write
    weightings), which roughly halves both.

    Under a mixed-precision policy (`"mixed_float16"`, `"mixed_bfloat16"`),
    the controller computes in half precision while the memory, the
    addressing and every state stay in float32.

    The state is a list of 2-D tensors (so that functional models with
    `return_state=True` work): `[h, c, reads, memory, usage, link,
    precedence, read_weightings, write_weighting]` with sizes `units, units,
    R * W, N * W, N, N * N, N, R * N, N`; matrices are flattened row by row.

    Args:
        units: Positive integer, size of the LSTM controller.
        memory_size: Positive integer, number of memory slots `N`.
            Defaults to `128`.
        word_size: Positive integer, width `W` of a memory slot.
            Defaults to `20`.
        num_read_heads: Positive integer, number of read heads `R`.
            Defaults to `4`.
        strength_activation: Transfer function of the key strengths:
            `"oneplus"` (`1 + softplus`, the paper) or `"softplus"` (DeepMind's
            implementation). Defaults to `"oneplus"`.
        clip_value: Positive float or `None`; the controller's output and
            state are clipped to `[-clip_value, clip_value]` (DeepMind's
            `clip_value`; `None` turns the clip off). Defaults to `20.0`.
        link_gradient: Boolean. If `False`, no gradient flows through the
            link matrix. Defaults to `True` (the paper).
        return_weightings: Boolean. If `True`, the read heads' and then the
            write head's weightings, and the read modes of every read head,
            are appended to the output (see `output_size` and
            `split_output`). Defaults to `False`.
        kernel_initializer: Initializer for the kernel of the dense layer that
            emits the interface vector. Defaults to `"glorot_uniform"`.
        seed: Optional integer, seed for the controller's initializers.
        **kwargs: Other keyword arguments passed to `keras.layers.Layer`,
            such as `name` or `dtype`.

    Attributes:
        output_size: `units + R * W`, plus `(R + 1) * N + 3 R` when
            `return_weightings=True`.
        state_size: `[units, units, R * W, N * W, N, N * N, N, R * N, N]`.

    Call arguments:
        inputs: A 2-D tensor of shape `(batch, features)`.
        states: The list of 9 state tensors of the previous step.
        training: Python boolean, passed to the controller.

    Example:

    >>> inputs = np.random.random((8, 10, 9)).astype("float32")
    >>> rnn = keras.layers.RNN(
    ...     DNCCell(units=64, memory_size=32, word_size=16, num_read_heads=4),
    ...     return_sequences=True,
    ... )
    >>> outputs = rnn(inputs)
    >>> tuple(outputs.shape)
    (8, 10, 128)

    Reference:
        - [Graves, Wayne, Reynolds, Harley, Danihelka, Grabska-Barwińska,
          Gómez Colmenarejo, Grefenstette, Ramalho, Agapiou, Puigdomènech
          Badia, Hermann, Zwols, Ostrovski, Cain, King, Summerfield, Blunsom,
          Kavukcuoglu & Hassabis, 2016. Hybrid computing using a neural
          network with dynamic external memory. Nature 538, 471-476](
          https://doi.org/10.1038/nature20101)
    """

    def __init__(
        self,
        units,
        memory_size=128,
        word_size=20,
        num_read_heads=4,
        strength_activation="oneplus",
        clip_value=20.0,
        link_gradient=True,
        return_weightings=False,
        kernel_initializer="glorot_uniform",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = "DNCCell"
        self.units = check_positive_int("units", units, name)
        self.memory_size = check_positive_int("memory_size", memory_size, name)
        self.word_size = check_positive_int("word_size", word_size, name)
        self.num_read_heads = check_positive_int("num_read_heads", num_read_heads, name)
        self.strength_activation = check_option(
            "strength_activation", strength_activation, addressing.STRENGTH_ACTIVATIONS, name
        )
        self.clip_value = (
            None if clip_value is None
            else check_positive_float("clip_value", clip_value, name)
        )
        self.link_gradient = check_bool("link_gradient", link_gradient, name)
        self.return_weightings = check_bool("return_weightings", return_weightings, name)
        self.seed = check_seed("seed", seed, name)
        self.kernel_initializer = get_initializer("kernel_initializer", kernel_initializer, name)

        # Half-precision policies: the controller follows the policy, the memory
        # and the addressing stay in float32 (see the class docstring).
        self._requested_dtype_policy = keep_memory_in_float32(self)

        self.controller = keras.layers.LSTMCell(
            self.units, seed=seed, dtype=self._requested_dtype_policy, name="controller"
        )
        self.interface = keras.layers.Dense(
            addressing.interface_size(self.num_read_heads, self.word_size),
            kernel_initializer=clone_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="interface",
        )

        r, n, w = self.num_read_heads, self.memory_size, self.word_size
        self.state_size = [self.units, self.units, r * w, n * w, n, n * n, n, r * n, n]
        self.output_size = self.units + r * w
        if self.return_weightings:
            self.output_size += (r + 1) * n + 3 * r

    def build(self, input_shape):
        check_build_input_shape(self, input_shape)
        batch = input_shape[0]
        self.controller.build(
            (batch, input_shape[-1] + self.num_read_heads * self.word_size)
        )
        self.interface.build((batch, self.units))

    def get_initial_state(self, batch_size=None):
        dtype = self.compute_dtype
        return [ops.zeros((batch_size, size), dtype=dtype) for size in self.state_size]

    def _clip(self, x):
        if self.clip_value is None:
            return x
        return ops.clip(x, -self.clip_value, self.clip_value)

    def call(self, inputs, states, training=False):
        check_step_input(self, inputs)
        (h, c, reads, memory, usage, link, precedence,
         read_weights, write_weights) = states
        dtype = self.compute_dtype
        r, n, w = self.num_read_heads, self.memory_size, self.word_size
        memory = ops.reshape(memory, (-1, n, w))
        link = ops.reshape(link, (-1, n, n))
        previous_read_weights = ops.reshape(read_weights, (-1, r, n))

        # 1. Controller on chi_t = [x_t, r_{t-1}] ("Controller network"),
        #    output and state clipped (DeepMind's `DNC._clip_if_enabled`).
        controller_output, (h, c) = self.controller(
            ops.concatenate([ops.cast(inputs, dtype), reads], axis=-1),
            [h, c],
            training=training,
        )
        controller_output = self._clip(ops.cast(controller_output, dtype))
        h, c = self._clip(ops.cast(h, dtype)), self._clip(ops.cast(c, dtype))

        # 2. Interface vector ("Interface parameters").
        xi = addressing.parse_interface(
            self.interface(controller_output), r, w, self.strength_activation
        )

        # 3. Usage ("Dynamic memory allocation"); not differentiated with
        #    respect to the previous write weighting (DeepMind's `Freeness`).
        psi = addressing.retention(xi["free_gates"], previous_read_weights)
        usage = addressing.usage(usage, ops.stop_gradient(write_weights), psi)

        # 4. Write weighting ("Write weighting") on the previous memory, then
        #    erase and write ("Reading and writing to memory").
        write_content = addressing.content_weighting(
            xi["write_key"][:, None, :], xi["write_strength"][:, None], memory
        )[:, 0]
        allocation = addressing.allocation_weighting(usage)
        write_weights = addressing.write_weighting(
            allocation, write_content, xi["allocation_gate"], xi["write_gate"]
        )
        memory = addressing.write_memory(
            memory, write_weights, xi["erase"], xi["write_vector"]
        )

        # 5. Temporal links with p_{t-1}, then p_t ("Temporal memory linkage").
        link = addressing.link_matrix(link, precedence, write_weights)
        precedence = addressing.precedence(precedence, write_weights)
        followed = link if self.link_gradient else ops.stop_gradient(link)

        # 6. Read weightings ("Read weighting") and read vectors.
        forward, backward = addressing.directional_weightings(
            followed, previous_read_weights
        )
        read_content = addressing.content_weighting(
            xi["read_keys"], xi["read_strengths"], memory
        )
        new_read_weights = addressing.read_weighting(
            backward, read_content, forward, xi["read_modes"]
        )
        new_reads = ops.reshape(
            addressing.read_memory(new_read_weights, memory), (-1, r * w)
        )
        new_read_weights = ops.reshape(new_read_weights, (-1, r * n))

        # 7. Output [h_t, r_t]; y_t = W_y h_t + W_r r_t is the Dense after the RNN.
        outputs = [controller_output, new_reads]
        if self.return_weightings:
            outputs += [new_read_weights, write_weights,
                        ops.reshape(xi["read_modes"], (-1, 3 * r))]
        new_states = [
            h,
            c,
            new_reads,
            ops.reshape(memory, (-1, n * w)),
            usage,
            ops.reshape(link, (-1, n * n)),
            precedence,
            new_read_weights,
            write_weights,
        ]
        return ops.concatenate(outputs, axis=-1), new_states

    def split_output(self, outputs):
        """Split the cell's output (or an RNN's output sequence) into its parts.

        Args:
            outputs: tensor or NumPy array whose last axis has size
                `output_size`, e.g. the `(batch, time, output_size)` output of
                `keras.layers.RNN(cell, return_sequences=True)`.

        Returns:
            A dict with `"controller"` (`..., units`), `"reads"`
            (`..., R, W`) and, when `return_weightings=True`,
            `"read_weightings"` (`..., R, N`), `"write_weightings"`
            (`..., 1, N`) and `"read_modes"` (`..., R, 3`: the weights of
            the backward, content and forward weightings in each read head's
            weighting, the paper's `pi_t`).
        """
        lead = tuple(outputs.shape[:-1])
        units, width, n, r = self.units, self.word_size, self.memory_size, self.num_read_heads
        read_end = units + r * width
        parts = {
            "controller": outputs[..., :units],
            "reads": ops.reshape(outputs[..., units:read_end], lead + (r, width)),
        }
        if self.return_weightings:
            weightings_end = read_end + (r + 1) * n
            weightings = ops.reshape(outputs[..., read_end:weightings_end], lead + (r + 1, n))
            parts["read_weightings"] = weightings[..., :r, :]
            parts["write_weightings"] = weightings[..., r:, :]
            parts["read_modes"] = ops.reshape(outputs[..., weightings_end:], lead + (r, 3))
        return parts

    def get_config(self):
        config = requested_dtype_config(super().get_config(), self._requested_dtype_policy)
        config.update(
            {
                "units": self.units,
                "memory_size": self.memory_size,
                "word_size": self.word_size,
                "num_read_heads": self.num_read_heads,
                "strength_activation": self.strength_activation,
                "clip_value": self.clip_value,
                "link_gradient": self.link_gradient,
                "return_weightings": self.return_weightings,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "seed": self.seed,
            }
        )
        return config
