"""Error and accuracy metrics for the algorithmic tasks.

All metrics take per-step outputs `y_pred` of shape `(B, T, C)` and a per-step
mask `sample_weight` of shape `(B, T)`: only steps with `sample_weight > 0`
are scored (the value of a positive weight is ignored), so padding and the
presentation phase of a task do not count. `sample_weight=None` scores every
step.

* `output_type="bits"`: `y_true` has shape `(B, T, C)` with values in
  `{0, 1}`; an output bit is 1 when `sigmoid(logit) > 0.5`, i.e. `logit > 0`
  (`from_logits=True`), or when `prob > 0.5` (`from_logits=False`).
* `output_type="categorical"`: `y_true` holds integer labels of shape
  `(B, T)`; the prediction is `argmax(y_pred, axis=-1)` (the same for logits
  and probabilities).

The Keras metrics accumulate a numerator and a denominator over all
`update_state()` calls, so the result over an epoch is the exact ratio of
the totals, not a mean of batch means. A sequence without any scored step is
excluded from the per-sequence metrics (`BitErrorsPerSequence`,
`SequenceAccuracy`): it counts neither as right nor as wrong. A metric with
an empty denominator reports 0.

In `model.compile`, pass these metrics as `weighted_metrics=[...]`: Keras
only gives `sample_weight` to weighted metrics, so under `metrics=[...]` they
would score every step, padding included.

`evaluate_predictions()` computes the same four numbers with numpy, as ratios
of `score_counts()`, which the other numpy scores of the package share.

Example:

```python
model.compile(
    optimizer="adam",
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    weighted_metrics=[BitErrorsPerSequence(), SequenceAccuracy()],
)
model.fit(inputs, targets, sample_weight=sample_weight)
```
"""

import keras
import numpy as np
from keras import ops

OUTPUT_TYPES = ("bits", "categorical")


def _check_output_type(output_type):
    if output_type not in OUTPUT_TYPES:
        raise ValueError(
            f"`output_type` must be one of {OUTPUT_TYPES}, received "
            f"output_type={output_type!r}"
        )


def _scored_steps(y_true, y_pred, sample_weight, from_logits, output_type):
    """Returns `(errors, step_ok, mask, channels)` as float tensors.

    `errors` (B, T): wrong bits (or wrong symbol, 0/1) per step;
    `step_ok` (B, T): 1 where the whole step is right; `mask` (B, T): 1 on
    scored steps; `channels`: scored units per step (C for bits, 1 for
    categorical).
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if output_type == "bits":
        y_true = ops.convert_to_tensor(y_true)
        threshold = 0.0 if from_logits else 0.5
        pred_on = ops.greater(y_pred, ops.cast(threshold, y_pred.dtype))
        true_on = ops.greater(ops.cast(y_true, "float32"), 0.5)
        wrong = ops.cast(ops.not_equal(pred_on, true_on), "float32")
        errors = ops.sum(wrong, axis=-1)
        channels = ops.cast(ops.shape(y_pred)[-1], "float32")
    else:
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, axis=-1)
        labels = ops.cast(y_true, "int32")
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        errors = ops.cast(ops.not_equal(predicted, labels), "float32")
        channels = ops.cast(1.0, "float32")
    step_ok = ops.cast(ops.equal(errors, 0.0), "float32")
    if sample_weight is None:
        mask = ops.ones_like(errors)
    else:
        sample_weight = ops.convert_to_tensor(sample_weight)
        if len(sample_weight.shape) == len(errors.shape) + 1:
            sample_weight = ops.squeeze(sample_weight, axis=-1)
        mask = ops.cast(ops.greater(sample_weight, 0), "float32")
        mask = ops.broadcast_to(mask, ops.shape(errors))
    return errors, step_ok, mask, channels


class _MaskedRatioMetric(keras.metrics.Metric):
    """Base: accumulates `total / count` over batches."""

    def __init__(
        self, from_logits=True, output_type="bits", name=None, dtype=None
    ):
        super().__init__(name=name, dtype=dtype)
        _check_output_type(output_type)
        self.from_logits = bool(from_logits)
        self.output_type = output_type
        self.total = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="total"
        )
        self.count = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="count"
        )

    def _numerator_denominator(self, errors, step_ok, mask, channels):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        errors, step_ok, mask, channels = _scored_steps(
            y_true, y_pred, sample_weight, self.from_logits, self.output_type
        )
        numerator, denominator = self._numerator_denominator(
            errors, step_ok, mask, channels
        )
        self.total.assign_add(ops.cast(numerator, self.dtype))
        self.count.assign_add(ops.cast(denominator, self.dtype))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"from_logits": self.from_logits, "output_type": self.output_type}
        )
        return config


@keras.saving.register_keras_serializable(package="keras_memory")
class BitErrorsPerSequence(_MaskedRatioMetric):
    """Mean number of wrong output bits per sequence on the scored steps.

    The counterpart of the NTM paper's "cost per sequence" used by Collier &
    Beel (2018) to report learning curves: for each sequence, count the
    output bits on steps with `sample_weight > 0` whose thresholded
    prediction differs from the target, then average over the sequences that
    have at least one scored step. With `output_type="categorical"` it counts
    wrong symbols (steps) per sequence.

    Args:
        from_logits: Whether `y_pred` holds logits (thresholded at 0) or
            probabilities (thresholded at 0.5). Defaults to `True`.
        output_type: `"bits"` or `"categorical"`. Defaults to `"bits"`.
        name: Metric name. Defaults to `"bit_errors_per_sequence"`.
        dtype: Dtype of the accumulators.

    Example:

    >>> m = BitErrorsPerSequence()
    >>> y_true = np.array([[[1, 0], [1, 1]]], "float32")
    >>> logits = np.array([[[3.0, 2.0], [-1.0, 1.0]]], "float32")
    >>> m.update_state(y_true, logits, sample_weight=np.array([[1.0, 0.0]]))
    >>> float(m.result())
    1.0

    Reference:
        - [Collier & Beel, 2018](https://arxiv.org/abs/1807.08518).
    """

    def __init__(
        self, from_logits=True, output_type="bits", name="bit_errors_per_sequence",
        dtype=None,
    ):
        super().__init__(
            from_logits=from_logits, output_type=output_type, name=name,
            dtype=dtype,
        )

    def _numerator_denominator(self, errors, step_ok, mask, channels):
        steps = ops.sum(mask, axis=-1)
        has_steps = ops.cast(ops.greater(steps, 0), "float32")
        return ops.sum(errors * mask), ops.sum(has_steps)


@keras.saving.register_keras_serializable(package="keras_memory")
class BitAccuracy(_MaskedRatioMetric):
    """Fraction of correct output bits over the scored steps.

    Each scored step contributes its `C` output bits. With
    `output_type="categorical"` each scored step contributes one symbol
    (then it equals `SymbolAccuracy`).

    Args:
        from_logits: Whether `y_pred` holds logits or probabilities.
            Defaults to `True`.
        output_type: `"bits"` or `"categorical"`. Defaults to `"bits"`.
        name: Metric name. Defaults to `"bit_accuracy"`.
        dtype: Dtype of the accumulators.

    Example:

    >>> m = BitAccuracy()
    >>> y_true = np.array([[[1, 0], [1, 1]]], "float32")
    >>> logits = np.array([[[3.0, 2.0], [-1.0, 1.0]]], "float32")
    >>> m.update_state(y_true, logits)
    >>> float(m.result())
    0.5
    """

    def __init__(
        self, from_logits=True, output_type="bits", name="bit_accuracy",
        dtype=None,
    ):
        super().__init__(
            from_logits=from_logits, output_type=output_type, name=name,
            dtype=dtype,
        )

    def _numerator_denominator(self, errors, step_ok, mask, channels):
        scored = ops.sum(mask) * channels
        return scored - ops.sum(errors * mask), scored


@keras.saving.register_keras_serializable(package="keras_memory")
class SymbolAccuracy(_MaskedRatioMetric):
    """Fraction of scored steps whose whole output vector is right.

    A step counts as right only when all its output bits are right (for
    `output_type="categorical"`: when the argmax equals the label). This is
    the "fine" accuracy of Yang & Rush (2017, LANTM).

    Args:
        from_logits: Whether `y_pred` holds logits or probabilities.
            Defaults to `True`.
        output_type: `"bits"` or `"categorical"`. Defaults to `"bits"`.
        name: Metric name. Defaults to `"symbol_accuracy"`.
        dtype: Dtype of the accumulators.

    Example:

    >>> m = SymbolAccuracy()
    >>> y_true = np.array([[[1, 0], [1, 1]]], "float32")
    >>> logits = np.array([[[3.0, -2.0], [-1.0, 1.0]]], "float32")
    >>> m.update_state(y_true, logits)
    >>> float(m.result())
    0.5

    Reference:
        - [Yang & Rush, 2017. Lie-Access Neural Turing Machines](
          https://arxiv.org/abs/1611.02854).
    """

    def __init__(
        self, from_logits=True, output_type="bits", name="symbol_accuracy",
        dtype=None,
    ):
        super().__init__(
            from_logits=from_logits, output_type=output_type, name=name,
            dtype=dtype,
        )

    def _numerator_denominator(self, errors, step_ok, mask, channels):
        return ops.sum(step_ok * mask), ops.sum(mask)


@keras.saving.register_keras_serializable(package="keras_memory")
class SequenceAccuracy(_MaskedRatioMetric):
    """Fraction of sequences whose every scored step is right.

    The "coarse" accuracy of Yang & Rush (2017, LANTM). Sequences without
    any scored step (`sample_weight` all zero) are excluded: they count
    neither as right nor as wrong.

    Args:
        from_logits: Whether `y_pred` holds logits or probabilities.
            Defaults to `True`.
        output_type: `"bits"` or `"categorical"`. Defaults to `"bits"`.
        name: Metric name. Defaults to `"sequence_accuracy"`.
        dtype: Dtype of the accumulators.

    Example:

    >>> m = SequenceAccuracy()
    >>> y_true = np.array([[[1, 0]], [[1, 1]]], "float32")
    >>> logits = np.array([[[3.0, -2.0]], [[-1.0, 1.0]]], "float32")
    >>> m.update_state(y_true, logits)
    >>> float(m.result())
    0.5

    Reference:
        - [Yang & Rush, 2017. Lie-Access Neural Turing Machines](
          https://arxiv.org/abs/1611.02854).
    """

    def __init__(
        self, from_logits=True, output_type="bits", name="sequence_accuracy",
        dtype=None,
    ):
        super().__init__(
            from_logits=from_logits, output_type=output_type, name=name,
            dtype=dtype,
        )

    def _numerator_denominator(self, errors, step_ok, mask, channels):
        steps = ops.sum(mask, axis=-1)
        wrong_steps = ops.sum((1.0 - step_ok) * mask, axis=-1)
        has_steps = ops.cast(ops.greater(steps, 0), "float32")
        all_right = ops.cast(ops.equal(wrong_steps, 0.0), "float32")
        return ops.sum(all_right * has_steps), ops.sum(has_steps)


def score_counts(
    logits_or_probs,
    targets,
    sample_weight=None,
    from_logits=True,
    output_type="bits",
):
    """Counts right and wrong steps and sequences with numpy: the one home of the task metrics.

    Every numpy score of the package is a ratio of these counts:
    `evaluate_predictions` (bit errors per sequence, bit, symbol and
    sequence accuracy), the fine and coarse accuracy of Yang & Rush (2017)
    (`keras_memory.training.BestOfValidation`) and the sequence error of
    Andrychowicz & Kurach (2016), section 4.1
    (`keras_memory.reinforce.sequence_error`). The Keras metrics of this
    module compute the same ratios in the graph.

    Only steps with `sample_weight > 0` are scored. A sequence counts only
    if it has at least one scored step: a sequence without any (all its
    weights zero) is neither right nor wrong, and it is in no denominator
    (as in `SequenceAccuracy` and `BitErrorsPerSequence`). Counts add up
    over batches, so scores over many batches are ratios of the totals.

    Args:
        logits_or_probs: `(B, T, C)` predictions.
        targets: `(B, T, C)` bits, or `(B, T)` integer labels for
            `output_type="categorical"`.
        sample_weight: `(B, T)` mask; steps with weight `> 0` are scored.
            `None` scores every step.
        from_logits: Whether the predictions are logits (a bit is on above
            0) or probabilities (above 0.5). Unused for categorical outputs.
        output_type: `"bits"` or `"categorical"`.

    Returns:
        A dict of ints: `sequences` (sequences with a scored step),
        `right_sequences` (those whose every scored step is right),
        `steps` (scored steps), `right_steps` (scored steps whose whole
        output is right), `errors` (wrong bits, or wrong symbols, on scored
        steps) and `channels` (scored units per step: `C` for bits, 1 for
        categorical).

    Raises:
        ValueError: If `output_type` is not `"bits"` or `"categorical"`.

    Example:

    >>> y = np.array([[[1, 0], [1, 1]], [[0, 0], [1, 1]]], "float32")
    >>> logits = np.array([[[3.0, -2.0], [-1.0, 1.0]], [[-1.0, -1.0], [1.0, 1.0]]])
    >>> counts = score_counts(logits, y, np.array([[1, 1], [0, 0]]))
    >>> counts["sequences"], counts["right_sequences"], counts["errors"]
    (1, 0, 1)
    """
    _check_output_type(output_type)
    pred = np.asarray(logits_or_probs)
    if output_type == "bits":
        threshold = 0.0 if from_logits else 0.5
        wrong = (pred > threshold) != (np.asarray(targets) > 0.5)
        errors = wrong.sum(axis=-1)
        channels = pred.shape[-1]
    else:
        labels = np.asarray(targets)
        if labels.ndim == pred.ndim:
            labels = labels[..., 0]
        errors = (pred.argmax(axis=-1) != labels).astype(np.int64)
        channels = 1
    if sample_weight is None:
        mask = np.ones(errors.shape, bool)
    else:
        mask = np.broadcast_to(
            (np.asarray(sample_weight) > 0).reshape(errors.shape[:1] + (-1,)),
            errors.shape,
        )
    step_ok = errors == 0
    has_steps = mask.any(axis=-1)
    all_right = (~step_ok & mask).sum(axis=-1) == 0
    return {
        "sequences": int(has_steps.sum()),
        "right_sequences": int((all_right & has_steps).sum()),
        "steps": int(mask.sum()),
        "right_steps": int((step_ok & mask).sum()),
        "errors": int((errors * mask).sum()),
        "channels": int(channels),
    }


def evaluate_predictions(
    logits_or_probs,
    targets,
    sample_weight=None,
    from_logits=True,
    output_type="bits",
):
    """Computes the four task metrics with numpy.

    Same definitions as the Keras metrics of this module, for evaluation
    outside Keras (e.g. on the outputs of `model.predict`): ratios of
    `score_counts`, so a sequence without a scored step counts in none of
    them. A ratio with an empty denominator is 0.

    Args:
        logits_or_probs: `(B, T, C)` predictions.
        targets: `(B, T, C)` bits, or `(B, T)` integer labels for
            `output_type="categorical"`.
        sample_weight: `(B, T)` mask; steps with weight `> 0` are scored.
            `None` scores every step.
        from_logits: Whether the predictions are logits or probabilities.
        output_type: `"bits"` or `"categorical"`.

    Returns:
        A dict of floats with keys `bit_errors_per_sequence`,
        `bit_accuracy`, `symbol_accuracy`, `sequence_accuracy`.

    Example:

    >>> y = np.array([[[1, 0], [1, 1]]], "float32")
    >>> logits = np.array([[[3.0, -2.0], [-1.0, 1.0]]], "float32")
    >>> evaluate_predictions(logits, y, np.array([[1, 1]]))["bit_accuracy"]
    0.75
    """
    c = score_counts(logits_or_probs, targets, sample_weight, from_logits, output_type)

    def ratio(a, b):
        return float(a / b) if b > 0 else 0.0

    bits = c["steps"] * c["channels"]
    return {
        "bit_errors_per_sequence": ratio(c["errors"], c["sequences"]),
        "bit_accuracy": ratio(bits - c["errors"], bits),
        "symbol_accuracy": ratio(c["right_steps"], c["steps"]),
        "sequence_accuracy": ratio(c["right_sequences"], c["sequences"]),
    }


__all__ = [
    "BitErrorsPerSequence",
    "BitAccuracy",
    "SymbolAccuracy",
    "SequenceAccuracy",
    "evaluate_predictions",
    "score_counts",
]
