"""Layers that run the memory cells."""

import inspect

import keras
from keras import ops
from keras.src import backend  # `keras.layers.RNN` runs its loop with this
from keras.src.backend.common.stateless_scope import StatelessScope

from keras_memory.initializers import clone_initializer
from keras_memory.validation import check_positive_int


def _accepts_step_mask(cell):
    call = getattr(cell, "call", None)
    return call is not None and "step_mask" in inspect.signature(call).parameters


@keras.saving.register_keras_serializable(package="keras_memory")
class MemoryRNN(keras.layers.RNN):
    """`keras.layers.RNN` that lets a memory cell apply the mask itself.

    With a mask, `keras.layers.RNN` keeps every state of a padded step by
    selecting, at every step, between the new and the old value of every
    state: for a memory of `N x W` slots that select costs `O(N * W)` per
    step, which undoes the point of a sparse memory such as `SAMCell`.
    `MemoryRNN` takes the same arguments and gives the same results, but when
    its cell's `call` accepts a `step_mask` argument it passes the mask of
    each step to the cell instead, and the cell makes the padded step a no-op
    on its memory at sparse cost.

    It also reads the cell's weights once per sequence instead of once per
    step. Inside TensorFlow's `tf.while_loop` a variable read is a new tensor
    every step, and the loop keeps it for backpropagation: `keras.layers.RNN` stores a
    copy of the whole controller per step (about 475 KiB for `SAMCell(100)`
    with 4 heads of 32), which is most of what a sparse memory keeps. With
    the weights read before the loop nothing of them is stored per step.
    The outputs and gradients are the same.

    Masked timesteps output what Keras outputs: the output of the last
    unmasked step (zeros before the first one), or zeros when
    `zero_output_for_mask=True`. This holds for any cell on every backend:
    on JAX, `keras.layers.RNN` with a mask takes a cell's first state for its
    previous output and fails for the memory cells, whose output is wider;
    `MemoryRNN` keeps the states of a padded step itself.

    Example:

    >>> inputs = keras.Input((None, 9))
    >>> masked = keras.layers.Masking(0.0)(inputs)
    >>> outputs = MemoryRNN(SAMCell(64, memory_size=100_000),
    ...                     return_sequences=True)(masked)
    """

    def call(self, sequences, initial_state=None, mask=None, training=False):
        shape = tuple(sequences.shape)
        if len(shape) >= 2 and shape[1] == 0:
            # keras.layers.RNN reads the first step before the loop and fails
            # with a backend error on an empty time axis.
            raise ValueError(
                f"{type(self).__name__}: the time axis is empty; the input needs at "
                f"least one step. Received: input shape={shape}"
            )
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        # Read every weight of the cell once, before the loop: a variable read
        # inside the loop is a new tensor each step, which `tf.while_loop`
        # keeps for the backward pass (the whole controller, every step).
        # A value captured from outside the loop is a loop invariant and is
        # kept once.
        mapping = [
            (variable, ops.copy(variable.value))
            for variable in self.cell.weights
            if "seed_generator" not in variable.path
        ]
        with StatelessScope(state_mapping=mapping):
            return self._inner_loop(sequences, initial_state, mask, training)

    def _inner_loop(self, sequences, initial_state, mask, training):
        if mask is None:
            return super().inner_loop(sequences, initial_state, mask, training=training)

        cell_kwargs = {}
        if self.cell._call_has_training_arg:
            cell_kwargs["training"] = training
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        step_mask = ops.cast(ops.expand_dims(mask, -1), self.cell.compute_dtype)
        cell_applies_the_mask = _accepts_step_mask(self.cell)

        def step(inputs, states):
            x, m = inputs
            if cell_applies_the_mask:
                output, new_states = self.cell(x, states, step_mask=m[:, 0], **cell_kwargs)
            else:
                # What `keras.layers.RNN` does: a padded step keeps every state.
                # (Keras' JAX loop takes the first state for the previous
                # output, which fails for a cell whose output is not its
                # first state; this select does not.)
                output, new_states = self.cell(x, states, **cell_kwargs)
                keep = m > 0
                new_flat = keras.tree.flatten(new_states)
                old_flat = keras.tree.flatten(states)
                new_states = keras.tree.pack_sequence_as(
                    new_states,
                    [ops.where(keep, n, o) for n, o in zip(new_flat, old_flat)],
                )
            if not isinstance(new_states, (list, tuple)):
                new_states = [new_states]
            return output, new_states

        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        _, outputs, states = backend.rnn(
            step,
            (sequences, step_mask),
            initial_state,
            go_backwards=self.go_backwards,
            mask=None,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            return_all_outputs=True,
        )
        # Keras' outputs on masked steps: the output of the last unmasked step
        # (zeros before the first), or zeros with `zero_output_for_mask`.
        valid = ops.cast(mask, "bool")
        if self.go_backwards:
            valid = ops.flip(valid, axis=1)
        if self.zero_output_for_mask:
            outputs = ops.where(valid[..., None], outputs, ops.zeros_like(outputs))
        else:
            time = ops.arange(ops.shape(valid)[1], dtype="int32")
            latest = _running_max(ops.where(valid, time[None, :], -1))
            carried = ops.take_along_axis(outputs, ops.maximum(latest, 0)[..., None], axis=1)
            outputs = ops.where((latest >= 0)[..., None], carried, ops.zeros_like(outputs))
        return outputs[:, -1], outputs, states


def _running_max(values):
    """Running maximum along axis 1 of an int tensor `(B, T)`."""
    transposed = ops.transpose(values)  # (T, B): `scan` runs over axis 0

    def step(carry, value):
        carry = ops.maximum(carry, value)
        return carry, carry

    return ops.transpose(ops.scan(step, transposed[0], transposed)[1])


@keras.saving.register_keras_serializable(package="keras_memory")
class LearnedInitialState(keras.layers.Layer):
    """Learned initial states for a `keras.layers.RNN`, the same for every sequence.

    Keras RNNs start from zeros. Torch recurrent code often learns the
    initial state instead: the Lie-access paper's LSTM baseline (the
    authors' `models/lstm.lua`, `learnable_init_states`) starts every
    layer's `h` and `c` from the bias of an `nn.Linear(1, n)` applied to a
    zero input, so from a learned vector drawn uniform in `(-1, 1)`. This
    layer holds one such vector per state and tiles it over the batch of its
    input; pass its output as the RNN's `initial_state`.

    Args:
        sizes: One positive int per state vector, in the order of the RNN's
            states (for an `LSTMCell`: `h`, then `c`).
        initializer: Initializer of the vectors. Defaults to uniform in
            `(-1, 1)`, Torch's `nn.Linear(1, n)` bias.
        seed: Seed of the default initializer (ignored with `initializer`).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A tensor whose first dimension is the batch, e.g. the RNN's
            input sequences `(batch, time, features)`; only its batch size
            is used.

    Returns:
        A list of `len(sizes)` tensors of shape `(batch, size)`, in the
        layer's compute dtype. A
        `keras.layers.StackedRNNCells` takes one list per cell: group them
        as in the example.

    Example:

    >>> inputs = keras.Input((None, 8))
    >>> cells = [keras.layers.LSTMCell(16), keras.layers.LSTMCell(16)]
    >>> states = LearnedInitialState([16, 16, 16, 16])(inputs)
    >>> outputs = keras.layers.RNN(keras.layers.StackedRNNCells(cells))(
    ...     inputs, initial_state=[states[:2], states[2:]])
    >>> outputs.shape
    (None, 16)
    """

    def __init__(self, sizes, initializer=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(sizes, (list, tuple)) or not sizes:
            raise ValueError(
                "LearnedInitialState: `sizes` must be a non-empty list of positive "
                f"ints. Received: sizes={sizes!r}"
            )
        self.sizes = [
            check_positive_int(f"sizes[{i}]", size, owner="LearnedInitialState")
            for i, size in enumerate(sizes)
        ]
        self.seed = seed
        self.initializer = (
            keras.initializers.get(initializer)
            if initializer is not None
            else keras.initializers.RandomUniform(-1.0, 1.0, seed=seed)
        )
        self.initial_states = []

    def build(self, input_shape):
        self.initial_states = [
            self.add_weight(
                shape=(size,),
                initializer=clone_initializer(self.initializer, i),
                name=f"initial_state_{i}",
            )
            for i, size in enumerate(self.sizes)
        ]

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        return [
            ops.broadcast_to(ops.expand_dims(ops.cast(state, self.compute_dtype), 0), (batch, size))
            for state, size in zip(self.initial_states, self.sizes)
        ]

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], size) for size in self.sizes]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sizes": list(self.sizes),
                "initializer": keras.initializers.serialize(self.initializer),
                "seed": self.seed,
            }
        )
        return config

