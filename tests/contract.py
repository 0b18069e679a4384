"""The Keras contract every memory cell of the package must honour.

A test module subclasses `CellContract`, names the cell factory and sizes, and
pytest runs every check below on that cell: Keras' own layer test harness,
functional and Sequential models, `return_state`, `stateful=True`, masking,
`Bidirectional`, `StackedRNNCells`, `fit` with and without XLA, mixed precision
and `.keras` round trips.
"""

import os

import keras
import numpy as np
import pytest
from keras.src import testing as keras_testing

from keras_memory.layers import MemoryRNN


class CellContract:
    """Subclass with `make_cell(self, **overrides)`, `input_dim` and sizes."""

    input_dim = 3
    batch_size = 4
    timesteps = 6
    #: number of trainable weights of `RNN(make_cell())`, or None to skip.
    expected_num_trainable_weights = None
    #: names of the checks below that run only with `-m slow` for this cell
    #: (`conftest.py` marks them), for a variant whose plumbing another
    #: subclass already covers by default.
    slow_contract_tests = ()

    def make_cell(self, **overrides):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def inputs(self, seed=0, timesteps=None):
        rng = np.random.default_rng(seed)
        shape = (self.batch_size, timesteps or self.timesteps, self.input_dim)
        return rng.normal(size=shape).astype("float32")

    def functional_model(self, cell=None, **rnn_kwargs):
        inp = keras.Input((None, self.input_dim))
        out = keras.layers.RNN(cell or self.make_cell(), **rnn_kwargs)(inp)
        return keras.Model(inp, out)

    # ------------------------------------------------------------------- checks
    def test_keras_layer_harness(self):
        cell = self.make_cell()
        harness = keras_testing.TestCase()
        harness.run_layer_test(
            keras.layers.RNN,
            init_kwargs={"cell": cell, "return_sequences": True},
            input_shape=(self.batch_size, self.timesteps, self.input_dim),
            expected_output_shape=(self.batch_size, self.timesteps, cell.output_size),
            expected_num_trainable_weights=self.expected_num_trainable_weights,
            supports_masking=True,
        )

    def test_output_and_state_shapes_match_the_declared_sizes(self):
        cell = self.make_cell()
        outputs = keras.layers.RNN(cell, return_sequences=True, return_state=True)(
            self.inputs()
        )
        sequence, states = outputs[0], outputs[1:]
        assert tuple(sequence.shape) == (self.batch_size, self.timesteps, cell.output_size)
        assert all(isinstance(s, int) for s in cell.state_size)
        assert [tuple(s.shape) for s in states] == [
            (self.batch_size, size) for size in cell.state_size
        ]
        assert all(np.isfinite(keras.ops.convert_to_numpy(t)).all() for t in outputs)

    def test_functional_return_state_builds_and_runs(self):
        cell = self.make_cell()
        inp = keras.Input((None, self.input_dim))
        outputs = keras.layers.RNN(cell, return_state=True)(inp)
        model = keras.Model(inp, outputs)
        results = model.predict(self.inputs(), verbose=0)
        assert results[0].shape == (self.batch_size, cell.output_size)
        assert [r.shape[-1] for r in results[1:]] == list(cell.state_size)

    def test_sequential_model_fits(self):
        cell = self.make_cell()
        model = keras.Sequential(
            [
                keras.Input((self.timesteps, self.input_dim)),
                keras.layers.RNN(cell, return_sequences=True),
                keras.layers.Dense(2),
            ]
        )
        model.compile("adam", "mse")
        history = model.fit(
            self.inputs(), np.zeros((self.batch_size, self.timesteps, 2)), epochs=2, verbose=0
        )
        assert np.isfinite(history.history["loss"]).all()

    def fit_losses_and_weights(self, jit_compile, epochs):
        """Fits `epochs` epochs of one batch from seed 1; returns the losses and weights."""
        keras.utils.set_random_seed(1)
        inp = keras.Input((self.timesteps, self.input_dim))
        out = keras.layers.Dense(1)(
            keras.layers.RNN(self.make_cell(), return_sequences=True)(inp)
        )
        model = keras.Model(inp, out)
        model.compile(keras.optimizers.Adam(0.01), "mse", jit_compile=jit_compile)
        x = self.inputs()
        y = np.cumsum(x[..., :1], axis=1) * 0.1  # depends on the past: needs state
        # One batch per epoch: each epoch's loss is the loss before its update,
        # so the first is the untrained model's (no second compile to evaluate).
        losses = model.fit(x, y, epochs=epochs, verbose=0).history["loss"]
        return np.array(losses), [keras.ops.convert_to_numpy(w) for w in model.weights]

    @pytest.mark.parametrize("jit_compile", [False, True])
    def test_fit_reduces_the_loss(self, jit_compile):
        if not jit_compile and keras.backend.backend() == "jax":
            # JAX runs a fit without jit op by op: 31 epochs took 77-146 s per cell.
            # There the eager fit must take the compiled fit's steps, whose learning
            # the `jit_compile=True` case proves.
            eager_losses, eager_weights = self.fit_losses_and_weights(False, 3)
            jit_losses, jit_weights = self.fit_losses_and_weights(True, 3)
            assert eager_losses[-1] < eager_losses[0]
            np.testing.assert_allclose(eager_losses, jit_losses, rtol=1e-4)
            for eager, jit in zip(eager_weights, jit_weights):
                np.testing.assert_allclose(eager, jit, rtol=1e-3, atol=1e-5)
            return
        losses, _ = self.fit_losses_and_weights(jit_compile, 31)
        assert losses[-1] < 0.7 * losses[0]

    def test_masked_steps_change_nothing(self):
        cell = self.make_cell()
        x = self.inputs()
        valid = self.timesteps - 2
        padded = x.copy()
        padded[:, valid:] = 0.0
        inp = keras.Input((None, self.input_dim))
        masked = keras.layers.Masking(0.0)(inp)
        # Keras' JAX loop takes a cell's first state for its previous output,
        # which fails where the output is wider (every memory cell here):
        # MemoryRNN keeps the states of padded steps on every backend.
        rnn_class = MemoryRNN if keras.backend.backend() == "jax" else keras.layers.RNN
        rnn = rnn_class(cell, return_state=True)
        model = keras.Model(inp, rnn(masked))
        full = model.predict(padded, verbose=0)
        truncated = model.predict(x[:, :valid], verbose=0)
        for a, b in zip(full, truncated):
            np.testing.assert_allclose(a, b, atol=1e-6)

    def test_stateful_halves_equal_the_whole_sequence(self):
        x = self.inputs()
        half = self.timesteps // 2
        cell = self.make_cell()
        inp = keras.Input((None, self.input_dim), batch_size=self.batch_size)
        rnn = keras.layers.RNN(cell, return_sequences=True)
        whole = keras.Model(inp, rnn(inp)).predict(x, verbose=0)

        stateful_rnn = keras.layers.RNN(
            self.make_cell(), return_sequences=True, stateful=True
        )
        stateful = keras.Model(inp, stateful_rnn(inp))
        stateful.set_weights(keras.Model(inp, rnn(inp)).get_weights())
        # Start from the cell's own initial state, as the stateless layer does.
        stateful_rnn.reset_state()
        for variable, value in zip(
            stateful_rnn.states, stateful_rnn.cell.get_initial_state(self.batch_size)
        ):
            variable.assign(value)
        if keras.backend.backend() == "jax":
            # Keras 3.15 keeps a stateful RNN's states in variables outside the
            # layer's tracked weights; JAX's `predict` and `fit` run a pure
            # function of the tracked variables, so they neither read the
            # carried states nor write them back (`keras.layers.LSTM` alike).
            # Called directly, the layer runs eagerly and carries its states.
            first, second = (keras.ops.convert_to_numpy(stateful(part))
                             for part in (x[:, :half], x[:, half:]))
        else:
            first = stateful.predict(x[:, :half], verbose=0, batch_size=self.batch_size)
            second = stateful.predict(x[:, half:], verbose=0, batch_size=self.batch_size)
        np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)

    def test_bidirectional(self):
        cell = self.make_cell()
        layer = keras.layers.Bidirectional(keras.layers.RNN(cell, return_sequences=True))
        out = layer(self.inputs())
        assert tuple(out.shape) == (self.batch_size, self.timesteps, 2 * cell.output_size)
        # The two directions are different layers with their own weights.
        assert len(layer.forward_layer.weights) == len(layer.backward_layer.weights) > 0
        # Each half is the cell run over the sequence in its direction: the
        # forward half as a plain RNN, the backward half as a plain RNN over
        # the reversed sequence, reversed back to line up with the input.
        x = self.inputs()
        size = cell.output_size
        for half, weights, sequence in (
            (out[..., :size], layer.forward_layer.get_weights(), x),
            (out[..., size:], layer.backward_layer.get_weights(), x[:, ::-1]),
        ):
            plain = keras.layers.RNN(self.make_cell(), return_sequences=True)
            plain.build(x.shape)
            plain.set_weights(weights)
            expected = keras.ops.convert_to_numpy(plain(np.ascontiguousarray(sequence)))
            if sequence is not x:
                expected = expected[:, ::-1]
            np.testing.assert_allclose(keras.ops.convert_to_numpy(half), expected,
                                       rtol=1e-5, atol=1e-5)

    def test_stacked_rnn_cells(self):
        first = self.make_cell()
        second = keras.layers.LSTMCell(5)
        layer = keras.layers.RNN(keras.layers.StackedRNNCells([first, second]),
                                 return_sequences=True)
        out = layer(self.inputs())
        assert tuple(out.shape) == (self.batch_size, self.timesteps, 5)
        model = self.functional_model(
            keras.layers.StackedRNNCells([self.make_cell(), self.make_cell()])
        )
        assert np.isfinite(model.predict(self.inputs(), verbose=0)).all()

    #: Largest difference allowed between the outputs of a model under a
    #: half-precision policy and the same model (same weights) in float32.
    mixed_precision_atol = {"mixed_float16": 1e-2, "mixed_bfloat16": 5e-2}

    # bfloat16 goes through the same casts as float16 (which also scales the
    # loss); it runs with `-m slow`.
    @pytest.mark.parametrize(
        "policy", ["mixed_float16", pytest.param("mixed_bfloat16", marks=pytest.mark.slow)]
    )
    def test_mixed_precision(self, policy):
        previous = keras.config.dtype_policy()

        def model_under(dtype_policy):
            keras.config.set_dtype_policy(dtype_policy)
            inp = keras.Input((self.timesteps, self.input_dim))
            rnn = keras.layers.RNN(self.make_cell(), return_sequences=True)
            out = keras.layers.Dense(1, dtype="float32")(rnn(inp))
            return keras.Model(inp, out), rnn

        try:
            reference, _ = model_under("float32")
            model, rnn = model_under(policy)
            # The same weights give the float32 outputs up to half-precision rounding.
            model.set_weights(reference.get_weights())
            x = self.inputs()
            expected = reference.predict(x, verbose=0)
            got = model.predict(x, verbose=0)
            np.testing.assert_allclose(got, expected, rtol=0,
                                       atol=self.mixed_precision_atol[policy])
            model.compile("adam", "mse")
            history = model.fit(
                self.inputs(), np.ones((self.batch_size, self.timesteps, 1)), epochs=2, verbose=0
            )
            assert np.isfinite(history.history["loss"]).all()
            assert all(w.dtype == "float32" for w in model.weights)
            assert keras.backend.standardize_dtype(rnn.compute_dtype) != "float32"
        finally:
            keras.config.set_dtype_policy(previous)

    def test_keras_file_round_trip_reproduces_outputs_exactly(self, tmp_path):
        inp = keras.Input((None, self.input_dim))
        out = keras.layers.Dense(2)(
            keras.layers.RNN(self.make_cell(), return_sequences=True)(inp)
        )
        model = keras.Model(inp, out)
        model.compile("adam", "mse")
        x = self.inputs()
        model.fit(x, np.zeros((self.batch_size, self.timesteps, 2)), epochs=1, verbose=0)
        path = os.path.join(tmp_path, "model.keras")
        model.save(path)
        restored = keras.models.load_model(path)
        np.testing.assert_array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))
        restored_cell = restored.layers[1].cell
        assert type(restored_cell) is type(model.layers[1].cell)
        assert restored_cell.get_config() == model.layers[1].cell.get_config()

    def test_config_round_trip(self):
        cell = self.make_cell()
        clone = type(cell).from_config(cell.get_config())
        assert clone.get_config() == cell.get_config()
        serialized = keras.saving.serialize_keras_object(cell)
        assert serialized["module"] is not None or "keras_memory" in str(serialized)
        assert type(keras.saving.deserialize_keras_object(serialized)) is type(cell)

    def test_wrong_input_rank_raises_a_clear_error(self):
        with pytest.raises(ValueError, match="rank"):
            keras.layers.RNN(self.make_cell())(
                np.zeros((self.batch_size, self.timesteps, self.input_dim, 2), "float32")
            )
