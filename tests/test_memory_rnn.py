"""MemoryRNN: the same results as keras.layers.RNN, with weights read once per sequence."""

import keras
import numpy as np
import pytest
from keras import ops

from backend_utils import gradients, numpy
from keras_memory import MemoryRNN, NTMCell, SAMCell


def _sam():
    return SAMCell(8, memory_size=20, word_size=4, num_heads=2, k=2, seed=1)


def _ntm():
    return NTMCell(8, memory_size=10, word_size=4, seed=1)


def _masked_inputs():
    x = np.random.default_rng(0).normal(size=(4, 7, 3)).astype("float32")
    x[0, 4:] = 0.0
    x[1, 6:] = 0.0
    x[2, 1:] = 0.0
    return x


@pytest.mark.parametrize("make", [_sam, _ntm])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_outputs_and_gradients_equal_keras_rnn(make, jit_compile):
    x = _masked_inputs()
    results = []
    for cls in (keras.layers.RNN, MemoryRNN):
        keras.utils.set_random_seed(0)
        rnn = cls(make(), return_sequences=True)
        rnn(x)
        if results:
            rnn.set_weights(weights)
        else:
            weights = rnn.get_weights()

        out = rnn(x)
        _, grads = gradients(lambda: ops.sum(ops.sin(rnn(x))), rnn.trainable_weights,
                             jit_compile=jit_compile)
        results.append((numpy(out), grads))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_masked_go_backwards_equals_keras_rnn(return_sequences):
    if keras.backend.backend() == "jax":
        pytest.skip("Keras' JAX RNN takes the cell's first state for its previous output: "
                    "no reference for a cell whose output is wider")
    x = _masked_inputs()
    outputs = []
    for cls in (keras.layers.RNN, MemoryRNN):
        keras.utils.set_random_seed(0)
        inp = keras.Input((None, 3))
        layer = cls(_sam(), return_sequences=return_sequences, go_backwards=True)
        model = keras.Model(inp, layer(keras.layers.Masking(0.0)(inp)))
        if outputs:
            model.set_weights(weights)
        else:
            weights = model.get_weights()
        outputs.append(model.predict(x, verbose=0))
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)


@pytest.mark.parametrize(
    "rnn_kwargs",
    [dict(return_sequences=True), dict(return_sequences=False, return_state=True),
     dict(return_sequences=True, go_backwards=True), dict(return_sequences=True,
                                                         zero_output_for_mask=True)],
)
def test_a_cell_without_step_mask_is_masked_as_keras_rnn_masks_it(rnn_kwargs):
    """MemoryRNN keeps the states of padded steps itself for a cell that does not
    take `step_mask` (here NTMCell): the same outputs and states as Keras."""
    if keras.backend.backend() == "jax" and not rnn_kwargs.get("zero_output_for_mask"):
        pytest.skip("Keras' JAX RNN takes the cell's first state for its previous output: "
                    "no reference for a cell whose output is wider")
    x = _masked_inputs()
    outputs = []
    for cls in (keras.layers.RNN, MemoryRNN):
        keras.utils.set_random_seed(0)
        inp = keras.Input((None, 3))
        layer = cls(_ntm(), **rnn_kwargs)
        model = keras.Model(inp, layer(keras.layers.Masking(0.0)(inp)))
        if outputs:
            model.set_weights(weights)
        else:
            weights = model.get_weights()
        outputs.append(keras.tree.flatten(model.predict(x, verbose=0)))
    assert len(outputs[1]) == len(outputs[0])
    for a, b in zip(*outputs):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # The padded steps did matter: unmasked, the result differs.
    unmasked = keras.tree.flatten(model.predict(x * 1.0 + (x == 0) * 0.5, verbose=0))
    assert not np.allclose(unmasked[0], outputs[1][0])


def test_bidirectional_masked_model_round_trips(tmp_path):
    x = _masked_inputs()
    inp = keras.Input((None, 3))
    layer = keras.layers.Bidirectional(MemoryRNN(_sam(), return_sequences=True))
    model = keras.Model(inp, layer(keras.layers.Masking(0.0)(inp)))
    path = str(tmp_path / "bidirectional.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored.layers[-1].forward_layer) is MemoryRNN
    np.testing.assert_array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))


@pytest.mark.parametrize(
    "policy", ["mixed_float16", pytest.param("mixed_bfloat16", marks=pytest.mark.slow)]
)
def test_mixed_precision_fit(policy):
    keras.config.set_dtype_policy(policy)
    try:
        inp = keras.Input((6, 3))
        out = keras.layers.Dense(1, dtype="float32")(MemoryRNN(_sam(), return_sequences=True)(inp))
        model = keras.Model(inp, out)
        model.compile("adam", "mse", jit_compile=True)
        x = np.random.default_rng(0).normal(size=(4, 6, 3)).astype("float32")
        history = model.fit(x, np.ones((4, 6, 1)), epochs=2, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
    finally:
        keras.config.set_dtype_policy("float32")
