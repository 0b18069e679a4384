"""The baselines of the HAM paper's Table 1: encoder-decoder LSTM, with and without attention.

Andrychowicz & Kurach (2016), section 4.2, compare LSTM+HAM with an
encoder-decoder LSTM (Sutskever et al., 2014) and an encoder-decoder LSTM
with soft attention over the input (LSTM+A, Bahdanau et al., 2015), trained
with the same curriculum and protocol. Both read the inputs of a
`keras_memory.tasks.TreeTask` (`{"sequence", "decoder"}`) and output bit
logits, so `examples/ham_tables.py --model lstm` and `--model lstm_attention`
train and score them exactly as LSTM+HAM.

- `"lstm"`: an LSTM reads the items (padding and masked items skipped), and
  a second LSTM starts from its final state and runs over the decoder
  steps; the logits are a linear map of its output. `O(1)` per step.
- `"lstm_attention"`: a bidirectional LSTM encodes the items (Bahdanau et
  al., section 3.2); at every decoder step `AttentionDecoderCell` scores each
  encoded item against the previous decoder state,
  `e_j = v^T tanh(W s_{t-1} + U h_j)`, takes the softmax over the real items,
  reads `c_t = sum_j a_j h_j`, and updates `s_t = LSTM([x_t; c_t], s_{t-1})`;
  the logits are a linear map of `[s_t; c_t]`. `O(n)` per step.

The weights do not depend on the number of items, so a model built for 32
leaves takes the weights of one built for another size
(`build_baseline_model(..., num_leaves=128)` then `set_weights`).
"""

import keras
from keras import ops

from keras_memory.validation import check_option, check_positive_int

KINDS = ("lstm", "lstm_attention")


@keras.saving.register_keras_serializable(package="keras_memory")
class AttentionDecoderCell(keras.layers.Layer):
    """Decoder cell with additive (Bahdanau) attention over a fixed encoded input.

    The encoded input rides in the state, unchanged from step to step, so
    the cell runs in a plain `keras.layers.RNN`: build the initial state with
    `initial_state(encoded, mask)`.

    Args:
        units: Positive integer, size of the decoder LSTM.
        num_items: Positive integer, the number of encoded items `n` (static).
        encoded_size: Positive integer, the width `e` of each encoded item.
        attention_size: Positive integer, width of the scoring layer.
            Defaults to `units`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: `(batch, features)`, the decoder step input `x_t`.
        states: `[s, c, encoded (batch, n e), mask (batch, n)]`.
        training: Python boolean.

    Reference:
        - [Bahdanau, Cho & Bengio, 2015. Neural Machine Translation by
          Jointly Learning to Align and Translate](https://arxiv.org/abs/1409.0473),
          section 3.1 and Appendix A.1.2.
    """

    def __init__(self, units, num_items, encoded_size, attention_size=None, **kwargs):
        super().__init__(**kwargs)
        name = "AttentionDecoderCell"
        self.units = check_positive_int("units", units, name)
        self.num_items = check_positive_int("num_items", num_items, name)
        self.encoded_size = check_positive_int("encoded_size", encoded_size, name)
        self.attention_size = check_positive_int(
            "attention_size", units if attention_size is None else attention_size, name
        )
        self.lstm = keras.layers.LSTMCell(self.units, name="lstm")
        self.query = keras.layers.Dense(self.attention_size, use_bias=False, name="query")
        self.key = keras.layers.Dense(self.attention_size, name="key")
        self.score = keras.layers.Dense(1, use_bias=False, name="score")
        self.state_size = [self.units, self.units, self.num_items * self.encoded_size,
                           self.num_items]
        self.output_size = self.units + self.encoded_size

    def build(self, input_shape):
        features = input_shape[-1]
        self.lstm.build((None, features + self.encoded_size))
        self.query.build((None, self.units))
        self.key.build((None, self.encoded_size))
        self.score.build((None, self.attention_size))

    def initial_state(self, encoded, mask):
        """`[s_0, c_0, encoded, mask]` with a zero decoder state."""
        batch = ops.shape(encoded)[0]
        zeros = ops.zeros((batch, self.units), encoded.dtype)
        flat = ops.reshape(encoded, (batch, self.num_items * self.encoded_size))
        return [zeros, zeros, flat, ops.cast(mask, encoded.dtype)]

    def attend(self, s, encoded, mask):
        """Attention weights `(batch, n)` over the real items and the read `(batch, e)`."""
        # Every Dense sees a 2-D input: on a 3-D one TensorFlow's Dense is a
        # Tensordot whose gradient XLA cannot compile inside the decoder's loop.
        keys = self.key(ops.reshape(encoded, (-1, self.encoded_size)))
        keys = ops.reshape(keys, (-1, self.num_items, self.attention_size))
        hidden = ops.tanh(keys + self.query(s)[:, None, :])
        scores = self.score(ops.reshape(hidden, (-1, self.attention_size)))
        scores = ops.reshape(scores, (-1, self.num_items))
        scores = ops.where(mask > 0, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1) * ops.cast(mask > 0, scores.dtype)
        return weights, ops.einsum("bn,bne->be", weights, encoded)

    def call(self, inputs, states, training=False):
        s, c, flat, mask = states
        encoded = ops.reshape(flat, (-1, self.num_items, self.encoded_size))
        _, context = self.attend(s, encoded, mask)
        output, (s, c) = self.lstm(ops.concatenate([inputs, context], axis=-1), [s, c],
                                   training=training)
        return ops.concatenate([output, context], axis=-1), [s, c, flat, mask]

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "num_items": self.num_items,
                       "encoded_size": self.encoded_size,
                       "attention_size": self.attention_size})
        return config


@keras.saving.register_keras_serializable(package="keras_memory")
class AttentionDecoderRNN(keras.layers.RNN):
    """`keras.layers.RNN` over an `AttentionDecoderCell` that starts from the encoded input.

    Call arguments:
        sequences: `(batch, time, features)` decoder inputs.
        encoded: `(batch, n, e)` encoded items.
        encoded_mask: `(batch, n)`, nonzero on the real items.
    """

    def call(self, sequences, encoded=None, encoded_mask=None, initial_state=None, mask=None,
             training=False):
        if encoded is not None:
            initial_state = self.cell.initial_state(encoded, encoded_mask)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def build(self, sequences_shape, encoded_shape=None, encoded_mask_shape=None,
              initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)

    def compute_output_shape(self, sequences_shape, encoded_shape=None, encoded_mask_shape=None,
                             initial_state_shape=None):
        return super().compute_output_shape(sequences_shape, initial_state_shape)


def build_baseline_model(kind, task, units=128, num_leaves=None):
    """An encoder-decoder baseline of Table 1 for a HAM `TreeTask`.

    Args:
        kind: `"lstm"` or `"lstm_attention"` (see the module docstring).
        task: A `keras_memory.tasks.TreeTask`.
        units: Size of every LSTM (each direction of the attention model's
            encoder). The paper's baselines have more parameters than its
            largest HAM model; the default 128 has about 10x as many.
        num_leaves: The number of input items the model takes (static, as
            the tree's). Defaults to `task.num_leaves`.

    Returns:
        A compiled-ready `keras.Model` from `{"sequence", "decoder"}` to bit
        logits `(batch, time, task.output_size)`.
    """
    from keras_memory.tasks.ham_tasks import TreeTask

    kind = check_option("kind", kind, KINDS, "build_baseline_model")
    if not isinstance(task, TreeTask):
        raise ValueError("build_baseline_model: `task` must be a HAM TreeTask (the baselines "
                         f"read an input sequence, then answer). Received: {task!r}")
    units = check_positive_int("units", units, "build_baseline_model")
    n = task.num_leaves if num_leaves is None else check_positive_int(
        "num_leaves", num_leaves, "build_baseline_model")
    sequence = keras.Input((n, task.input_size), name="sequence")
    decoder = keras.Input((None, 1), name="decoder")
    items, item_mask = sequence[..., :-1], sequence[..., -1]
    mask = ops.cast(item_mask, "bool")
    if kind == "lstm":
        _, h, c = keras.layers.LSTM(units, return_state=True, name="encoder")(items, mask=mask)
        states = keras.layers.LSTM(units, return_sequences=True, name="decoder_lstm")(
            decoder, initial_state=[h, c])
    else:
        encoded = keras.layers.Bidirectional(
            keras.layers.LSTM(units, return_sequences=True), name="encoder")(items, mask=mask)
        cell = AttentionDecoderCell(units, n, 2 * units)
        states = AttentionDecoderRNN(cell, return_sequences=True, name="decoder_rnn")(
            decoder, encoded=encoded, encoded_mask=item_mask)
    logits = keras.layers.Dense(task.output_size, name="logits")(states)
    return keras.Model({"sequence": sequence, "decoder": decoder}, logits,
                       name=f"{kind}_{task.name}")
