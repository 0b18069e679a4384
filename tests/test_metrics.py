import keras
import numpy as np
import pytest

from keras_memory import metrics as km

METRIC_CLASSES = [
    km.BitErrorsPerSequence,
    km.BitAccuracy,
    km.SymbolAccuracy,
    km.SequenceAccuracy,
]
KEYS = {
    km.BitErrorsPerSequence: "bit_errors_per_sequence",
    km.BitAccuracy: "bit_accuracy",
    km.SymbolAccuracy: "symbol_accuracy",
    km.SequenceAccuracy: "sequence_accuracy",
}

# Three sequences, three steps, two bits.
Y_BITS = np.array(
    [
        [[1, 0], [0, 1], [1, 1]],
        [[0, 0], [1, 0], [0, 1]],
        [[1, 1], [1, 1], [1, 1]],
    ],
    np.float32,
)
LOGITS = np.array(
    [
        # seq 0: right, bit 0 wrong, both wrong (masked out)
        [[2.0, -1.0], [1.0, 1.0], [-3.0, -3.0]],
        # seq 1: all right
        [[-1.0, -2.0], [0.5, -0.5], [-1.0, 1.0]],
        # seq 2: all wrong, but entirely masked out
        [[-1.0, -1.0], [-1.0, -1.0], [-1.0, -1.0]],
    ],
    np.float32,
)
MASK = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 0]], np.float32)

# Hand-computed values on the example above.
EXPECTED_MASKED = {
    # errors: seq0 = 1, seq1 = 0, seq2 excluded (no scored step)
    km.BitErrorsPerSequence: 0.5,
    # 4 scored steps * 2 bits = 8 bits, 1 wrong
    km.BitAccuracy: 7 / 8,
    # scored steps right: seq0 step0, seq1 steps 1 and 2 -> 3 of 4
    km.SymbolAccuracy: 3 / 4,
    # seq1 right, seq0 wrong, seq2 excluded
    km.SequenceAccuracy: 1 / 2,
}
EXPECTED_UNMASKED = {
    km.BitErrorsPerSequence: (3 + 0 + 6) / 3,
    km.BitAccuracy: (18 - 9) / 18,
    km.SymbolAccuracy: 4 / 9,
    km.SequenceAccuracy: 1 / 3,
}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize("cls", METRIC_CLASSES)
def test_bits_masked_hand_computed(cls):
    metric = cls()
    metric.update_state(Y_BITS, LOGITS, sample_weight=MASK)
    assert float(metric.result()) == pytest.approx(EXPECTED_MASKED[cls])


@pytest.mark.parametrize("cls", METRIC_CLASSES)
def test_bits_mask_values_are_not_weights(cls):
    # A weight of 5 scores the step exactly like a weight of 1.
    metric = cls()
    metric.update_state(Y_BITS, LOGITS, sample_weight=MASK * 5.0)
    assert float(metric.result()) == pytest.approx(EXPECTED_MASKED[cls])


@pytest.mark.parametrize("cls", METRIC_CLASSES)
def test_bits_unmasked_hand_computed(cls):
    metric = cls()
    metric.update_state(Y_BITS, LOGITS)
    assert float(metric.result()) == pytest.approx(EXPECTED_UNMASKED[cls])


@pytest.mark.parametrize("cls", METRIC_CLASSES)
def test_bits_probabilities(cls):
    metric = cls(from_logits=False)
    metric.update_state(Y_BITS, _sigmoid(LOGITS), sample_weight=MASK)
    assert float(metric.result()) == pytest.approx(EXPECTED_MASKED[cls])


def test_from_logits_changes_threshold():
    y_true = np.ones((1, 2, 3), np.float32)
    y_pred = np.full((1, 2, 3), 0.3, np.float32)
    as_logits = km.BitAccuracy(from_logits=True)
    as_logits.update_state(y_true, y_pred)
    as_probs = km.BitAccuracy(from_logits=False)
    as_probs.update_state(y_true, y_pred)
    assert float(as_logits.result()) == pytest.approx(1.0)
    assert float(as_probs.result()) == pytest.approx(0.0)


# Categorical: labels (B, T), logits (B, T, 3).
LABELS = np.array([[0, 1, 2], [2, 2, 1]], np.int32)
PREDICTED = np.array([[0, 2, 2], [2, 2, 0]])
CAT_MASK = np.array([[1, 1, 1], [1, 1, 0]], np.float32)
EXPECTED_CATEGORICAL = {
    km.BitErrorsPerSequence: 0.5,  # seq0: 1 wrong, seq1: 0 wrong
    km.BitAccuracy: 4 / 5,
    km.SymbolAccuracy: 4 / 5,
    km.SequenceAccuracy: 1 / 2,
}


def _categorical_logits():
    logits = np.full((2, 3, 3), -1.0, np.float32)
    np.put_along_axis(logits, PREDICTED[..., None], 2.0, axis=-1)
    return logits


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("cls", METRIC_CLASSES)
def test_categorical_hand_computed(cls, from_logits):
    logits = _categorical_logits()
    y_pred = logits if from_logits else keras.ops.convert_to_numpy(
        keras.ops.softmax(logits)
    )
    metric = cls(from_logits=from_logits, output_type="categorical")
    metric.update_state(LABELS, y_pred, sample_weight=CAT_MASK)
    assert float(metric.result()) == pytest.approx(EXPECTED_CATEGORICAL[cls])
    numpy_values = km.evaluate_predictions(
        y_pred, LABELS, CAT_MASK, from_logits=from_logits,
        output_type="categorical",
    )
    assert numpy_values[KEYS[cls]] == pytest.approx(EXPECTED_CATEGORICAL[cls])


def test_accumulates_ratio_of_totals():
    # Batch A: sequences 0 and 1 of the example. Batch B: one sequence of one
    # step with both bits wrong.
    y_b = np.ones((1, 1, 2), np.float32)
    logits_b = -np.ones((1, 1, 2), np.float32)
    mask_b = np.ones((1, 1), np.float32)
    expected = {
        # A: 1 error over 2 sequences; B: 2 errors over 1 sequence.
        km.BitErrorsPerSequence: 3 / 3,
        km.BitAccuracy: 7 / 10,
        km.SymbolAccuracy: 3 / 5,
        km.SequenceAccuracy: 1 / 3,
    }
    mean_of_means = {
        km.BitErrorsPerSequence: (0.5 + 2) / 2,
        km.BitAccuracy: (7 / 8 + 0) / 2,
        km.SymbolAccuracy: (3 / 4 + 0) / 2,
        km.SequenceAccuracy: (1 / 2 + 0) / 2,
    }
    for cls in METRIC_CLASSES:
        metric = cls()
        metric.update_state(Y_BITS[:2], LOGITS[:2], sample_weight=MASK[:2])
        metric.update_state(y_b, logits_b, sample_weight=mask_b)
        value = float(metric.result())
        assert value == pytest.approx(expected[cls]), cls.__name__
        assert value != pytest.approx(mean_of_means[cls]), cls.__name__


@pytest.mark.parametrize("cls", METRIC_CLASSES)
def test_reset_state(cls):
    metric = cls()
    metric.update_state(Y_BITS, LOGITS)  # unmasked values
    assert float(metric.result()) == pytest.approx(EXPECTED_UNMASKED[cls])
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(Y_BITS, LOGITS, sample_weight=MASK)
    assert float(metric.result()) == pytest.approx(EXPECTED_MASKED[cls])


def test_all_masked_out_reports_zero():
    metric = km.SequenceAccuracy()
    metric.update_state(Y_BITS, LOGITS, sample_weight=np.zeros((3, 3)))
    assert float(metric.result()) == 0.0
    assert float(metric.count) == 0.0


@pytest.mark.parametrize("cls", METRIC_CLASSES)
def test_get_config_round_trip(cls):
    metric = cls(from_logits=False, output_type="categorical", name="custom")
    config = metric.get_config()
    assert config["from_logits"] is False
    assert config["output_type"] == "categorical"
    assert config["name"] == "custom"
    clone = cls.from_config(config)
    assert clone.get_config() == config
    # Registered serializable under the package name.
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(metric)
    )
    assert type(restored) is cls
    assert restored.get_config() == config
    assert keras.saving.get_registered_name(cls) == f"keras_memory>{cls.__name__}"


def test_invalid_output_type():
    with pytest.raises(ValueError, match="output_type.*'onehot'"):
        km.BitAccuracy(output_type="onehot")
    with pytest.raises(ValueError, match="output_type"):
        km.evaluate_predictions(LOGITS, Y_BITS, output_type="onehot")


def test_default_names():
    assert [cls().name for cls in METRIC_CLASSES] == [
        KEYS[cls] for cls in METRIC_CLASSES
    ]


@pytest.mark.parametrize("masked", [True, False])
def test_evaluate_predictions_hand_computed(masked):
    values = km.evaluate_predictions(
        LOGITS, Y_BITS, MASK if masked else None
    )
    expected = EXPECTED_MASKED if masked else EXPECTED_UNMASKED
    assert set(values) == set(KEYS.values())
    for cls, key in KEYS.items():
        assert values[key] == pytest.approx(expected[cls]), key
    probs = km.evaluate_predictions(
        _sigmoid(LOGITS), Y_BITS, MASK if masked else None, from_logits=False
    )
    assert probs == pytest.approx(values)


def test_numpy_and_keras_agree_on_random_data():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (16, 7, 3)).astype(np.float32)
    # Small noise around the target so some sequences are fully right.
    logits = (2 * y - 1) + rng.normal(0, 0.8, y.shape).astype(np.float32)
    mask = (rng.random((16, 7)) < 0.5).astype(np.float32)
    mask[0] = 0.0
    values = km.evaluate_predictions(logits, y, mask)
    assert 0.0 < values["sequence_accuracy"] < 1.0
    for cls, key in KEYS.items():
        metric = cls()
        metric.update_state(y, logits, sample_weight=mask)
        assert float(metric.result()) == pytest.approx(values[key], rel=1e-6)


def test_fit_and_evaluate_with_jit_compile():
    rng = np.random.default_rng(0)
    batch, steps, channels = 8, 5, 4
    x = rng.normal(size=(batch, steps, channels)).astype(np.float32)
    y = rng.integers(0, 2, (batch, steps, channels)).astype(np.float32)
    w = np.zeros((batch, steps), np.float32)
    w[:, 2:] = 1.0
    w[0] = 0.0
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((steps, channels)), keras.layers.Dense(channels)]
    )
    model.compile(
        # Learning rate 0: fit's metrics must equal those of the predictions.
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        # Keras only passes `sample_weight` to `weighted_metrics`.
        weighted_metrics=[cls() for cls in METRIC_CLASSES],
        jit_compile=True,
    )
    history = model.fit(
        x, y, sample_weight=w, batch_size=batch, epochs=1, verbose=0
    )
    logits = model.predict(x, verbose=0)
    expected = km.evaluate_predictions(logits, y, w)
    for key, value in expected.items():
        assert history.history[key][0] == pytest.approx(value, rel=1e-5), key
    results = model.evaluate(
        x, y, sample_weight=w, batch_size=batch, verbose=0, return_dict=True
    )
    for key, value in expected.items():
        assert results[key] == pytest.approx(value, rel=1e-5), key


def test_score_counts_skips_sequences_without_a_scored_step():
    y = np.array([[[1, 0], [1, 1]], [[0, 0], [1, 1]], [[1, 1], [0, 0]]], "float32")
    # Sequence 0: one wrong bit on a scored step; 1: no scored step (and wrong);
    # 2: right on its one scored step, wrong on its unscored one.
    logits = np.array([[[3.0, -2.0], [-1.0, 1.0]], [[1.0, 1.0], [-1.0, -1.0]],
                       [[1.0, 1.0], [1.0, 1.0]]])
    mask = np.array([[1, 1], [0, 0], [1, 0]])
    counts = km.score_counts(logits, y, mask)
    assert counts == {"sequences": 2, "right_sequences": 1, "steps": 3, "right_steps": 2,
                      "errors": 1, "channels": 2}
    values = km.evaluate_predictions(logits, y, mask)
    assert values["sequence_accuracy"] == 0.5
    assert values["bit_errors_per_sequence"] == 0.5
    metric = km.SequenceAccuracy()
    metric.update_state(y, logits, sample_weight=mask)
    assert float(metric.result()) == 0.5
    labels = np.array([[1, 1], [1, 1], [0, 0]])  # Sequence 0: its first step is wrong.
    counts = km.score_counts(logits, labels, mask, output_type="categorical")
    assert (counts["sequences"], counts["right_sequences"], counts["steps"],
            counts["right_steps"], counts["channels"]) == (2, 1, 3, 2, 1)


def test_score_counts_docstring_example_runs():
    import doctest

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(km.score_counts, "score_counts",
                            globs={"np": np, "score_counts": km.score_counts}):
        runner.run(test)
    assert runner.summarize(verbose=False).attempted >= 3
    assert runner.summarize(verbose=False).failed == 0


def test_every_numpy_score_is_a_ratio_of_score_counts():
    """BestOfValidation's fine/coarse and reinforce.sequence_error count as score_counts."""
    from keras_memory import tasks
    from keras_memory.reinforce import sequence_error
    from keras_memory.training import BestOfValidation

    class Replay:
        """Answers each batch its caller draws, right but for a few wrong steps."""

        def __init__(self, batches, categorical):
            self.batches, self.categorical = iter(batches), categorical
            self.rng = np.random.default_rng(0)

        def predict_on_batch(self, x):
            _, y, _ = next(self.batches)
            wrong = self.rng.random(np.shape(y)[:2]) < 0.05
            wrong[::2] = False  # Every other sequence is right.
            if self.categorical:
                onehot = np.eye(lantm.output_size)[np.asarray(y, int)]
                return np.where(wrong[..., None], np.roll(onehot, 1, -1), onehot)
            logits = np.where(np.asarray(y) > 0.5, 1.0, -1.0)
            return {"logits": np.where(wrong[..., None], -logits, logits)}

    lantm = tasks.get("lantm_copy", pad_multiple=None)
    validation = BestOfValidation(lantm, num_batches=4, batch_size=16, seed=5)
    batches = validation.test_set()
    fine, coarse = validation.score(Replay(batches, categorical=True))
    totals = {}
    replay = Replay(batches, categorical=True)
    for x, y, w in batches:
        for key, value in km.score_counts(replay.predict_on_batch(x), y, w,
                                          output_type="categorical").items():
            totals[key] = totals.get(key, 0) + value
    assert fine == totals["right_steps"] / totals["steps"]
    assert coarse == totals["right_sequences"] / totals["sequences"]
    assert 0.0 < coarse < 1.0

    ham = tasks.get("ham_reverse", num_leaves=4)
    rng = np.random.default_rng(7)
    batches = [ham.generate(rng, 16, split="validation") for _ in range(3)]
    error = sequence_error(Replay(batches, categorical=False), ham, "validation", 3, 16, seed=7)
    replay = Replay(batches, categorical=False)
    counts = [km.score_counts(replay.predict_on_batch(x)["logits"], y, w) for x, y, w in batches]
    wrong = sum(c["sequences"] - c["right_sequences"] for c in counts)
    assert error == 100.0 * wrong / sum(c["sequences"] for c in counts)
    assert 0.0 < error < 100.0
