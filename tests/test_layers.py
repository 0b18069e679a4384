"""`keras_memory.layers.LearnedInitialState`."""

import keras
import numpy as np
import pytest

from keras_memory.layers import LearnedInitialState


def _stacked_lstm(initial_state=True, seed=1):
    inputs = keras.Input((None, 3))
    cells = [keras.layers.LSTMCell(4, seed=seed), keras.layers.LSTMCell(5, seed=seed + 1)]
    kwargs = {}
    if initial_state:
        states = LearnedInitialState([4, 4, 5, 5], seed=seed, name="initial")(inputs)
        kwargs["initial_state"] = [states[:2], states[2:]]
    outputs = keras.layers.RNN(keras.layers.StackedRNNCells(cells), return_sequences=True)(
        inputs, **kwargs)
    return keras.Model(inputs, outputs)


def test_states_are_the_learned_vectors_tiled_over_the_batch():
    layer = LearnedInitialState([3, 2], seed=0)
    states = layer(np.zeros((4, 7, 5), "float32"))
    assert [tuple(s.shape) for s in states] == [(4, 3), (4, 2)]
    for state, weight in zip(states, layer.weights):
        values = weight.numpy()
        np.testing.assert_array_equal(np.asarray(state), np.tile(values, (4, 1)))
        assert np.abs(values).max() < 1.0  # Uniform in (-1, 1) by default.
    # Each vector is drawn on its own (seed offsets), not a copy of the first.
    assert not np.allclose(layer.weights[0].numpy()[:2], layer.weights[1].numpy())


def test_the_rnn_starts_from_the_learned_state_and_learns_it():
    model = _stacked_lstm()
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    layer = model.get_layer("initial")
    h0, c0 = (w.numpy() for w in layer.weights[:2])
    # The first step of the first LSTM, by hand, from (h0, c0).
    cell = model.layers[-1].cell.cells[0]
    kernel, recurrent, bias = (w.numpy() for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
    z = x[:, 0] @ kernel + h0 @ recurrent + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))
    c1 = sigmoid(f) * c0 + sigmoid(i) * np.tanh(g)
    h1 = sigmoid(o) * np.tanh(c1)
    first = keras.Model(model.input, model.layers[-1].cell.cells[0](
        model.input[:, 0], [s for s in layer.output[:2]])[0])
    np.testing.assert_allclose(np.asarray(first(x)), h1, rtol=1e-5, atol=1e-6)
    # It gets a gradient, so fit moves it.
    model.compile("sgd", "mse")
    model.fit(x, np.ones((2, 6, 5), "float32"), epochs=1, verbose=0)
    assert not np.allclose(layer.weights[0].numpy(), h0)


def test_save_and_load_round_trip(tmp_path):
    model = _stacked_lstm()
    layer = model.get_layer("initial")
    for weight in layer.weights:  # Not what a rebuilt, seeded layer would draw.
        weight.assign(weight.numpy() + 0.5)
    x = np.random.default_rng(1).normal(size=(2, 6, 3)).astype("float32")
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    for saved, restored in zip(layer.weights, loaded.get_layer("initial").weights):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))
    config = LearnedInitialState([2, 3], initializer=keras.initializers.Constant(0.25)).get_config()
    rebuilt = LearnedInitialState.from_config(config)
    assert rebuilt.sizes == [2, 3]
    states = rebuilt(np.zeros((1, 4), "float32"))
    np.testing.assert_array_equal(np.asarray(states[1]), np.full((1, 3), 0.25, "float32"))


@pytest.mark.parametrize("sizes", [4, [], [4, 0], [4, 2.5], [True], None])
def test_bad_sizes_are_refused(sizes):
    with pytest.raises(ValueError, match="sizes"):
        LearnedInitialState(sizes)


def test_docstring_example_runs():
    import doctest

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(LearnedInitialState, "LearnedInitialState",
                            globs={"keras": keras, "LearnedInitialState": LearnedInitialState}):
        runner.run(test)
    assert runner.summarize(verbose=False).attempted >= 4
    assert runner.summarize(verbose=False).failed == 0
