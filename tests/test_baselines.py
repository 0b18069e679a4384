"""The Table 1 baselines of the HAM paper: encoder-decoder LSTM with and without attention."""

import keras
import numpy as np
import pytest

from keras_memory import tasks
from keras_memory.baselines import AttentionDecoderCell, build_baseline_model


def _numpy_attention(cell, s, encoded, mask):
    """Bahdanau et al. (2015), Appendix A.1.2: e_j = v^T tanh(W s + U h_j), softmax."""
    w = cell.query.kernel.numpy()
    u, u_bias = cell.key.kernel.numpy(), cell.key.bias.numpy()
    v = cell.score.kernel.numpy()[:, 0]
    scores = np.tanh((s @ w)[:, None, :] + encoded @ u + u_bias) @ v
    scores = np.where(mask > 0, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights, np.einsum("bn,bne->be", weights, encoded)


def test_attention_matches_bahdanau_and_ignores_padding():
    rng = np.random.default_rng(0)
    cell = AttentionDecoderCell(6, num_items=5, encoded_size=4)
    cell.build((None, 1))
    for weight in cell.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    s = rng.normal(size=(3, 6)).astype("float32")
    encoded = rng.normal(size=(3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], "float32")
    weights, read = map(keras.ops.convert_to_numpy, cell.attend(s, encoded, mask))
    expected_weights, expected_read = _numpy_attention(cell, s, encoded, mask)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(read, expected_read, atol=1e-5)
    # Padding gets no weight whatever it holds.
    changed = encoded.copy()
    changed[mask == 0] = 100.0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(cell.attend(s, changed, mask)[1]),
                               read, atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "lstm_attention"])
def test_baselines_fit_save_and_take_their_weights_to_a_bigger_input(kind, tmp_path):
    keras.utils.set_random_seed(0)
    task = tasks.get("ham_reverse", num_leaves=4)
    model = build_baseline_model(kind, task, units=8)
    model.compile(keras.optimizers.Adam(1e-2), weighted_metrics=task.metrics(),
                  **{k: v for k, v in task.compile_kwargs().items() if k == "loss"})
    x, y, w = task.generate(np.random.default_rng(0), 16)
    first = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)["loss"]
    model.fit(x, y, sample_weight=w, epochs=40, batch_size=16, verbose=0)
    assert model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)["loss"] < 0.8 * first
    path = str(tmp_path / "baseline.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    leaves = task.leaves("generalization")
    bigger = build_baseline_model(kind, task, units=8, num_leaves=leaves)
    bigger.set_weights(model.get_weights())
    xb, _, _ = task.generate(np.random.default_rng(1), 2, split="generalization")
    assert xb["sequence"].shape[1] == leaves
    assert bigger.predict(xb, verbose=0).shape[-1] == task.output_size


def test_bad_arguments_name_themselves():
    task = tasks.get("ham_reverse", num_leaves=4)
    with pytest.raises(ValueError, match="kind"):
        build_baseline_model("gru", task)
    with pytest.raises(ValueError, match="TreeTask"):
        build_baseline_model("lstm", tasks.get("ham_stack", num_operations=4))
    with pytest.raises(ValueError, match="units"):
        build_baseline_model("lstm", task, units=0)
    with pytest.raises(ValueError, match="num_items"):
        AttentionDecoderCell(4, num_items=0, encoded_size=3)
