"""Keras callbacks of the training scripts: task evaluation, early stopping, checkpoints.

`TaskEvaluation` scores the model on task splits during `fit` (and
`learning_summary` reads when its curve crossed thresholds),
`DoublingCurriculum` grows a `CurriculumStream`'s episodes, `StopAtThreshold`
and `TimeLimit` stop a run, `RunCheckpoint` and `RestoreRandomState` make it
resumable, and `BestOfValidation` is the Lie-access paper's best-of-checks
test score.
"""

import collections
import time

import keras
import numpy as np

from keras_memory.metrics import score_counts
from keras_memory.tasks import get as get_task
from keras_memory.training.models import evaluate_task
from keras_memory.training.runs import _python_random_state, restore_random_state


class TaskEvaluation(keras.callbacks.Callback):
    """Evaluates the model on task splits every `every` training batches.

    The results go into the training logs (so `keras.callbacks.TensorBoard`,
    `CSVLogger` and `History` see them) under `"<split>_<metric>"` and are kept
    in `self.history`, a list of dicts with the number of training sequences
    seen so far, the wall time and the metrics.

    Args:
        task: The `AlgorithmicTask`.
        batch_size: Training batch size, to count sequences seen.
        every: Evaluate every this many training batches. Defaults to `200`.
        splits: Splits to evaluate. Defaults to `("validation",)`.
        num_batches: Batches per evaluation. Defaults to `4`.
        initial_sequences: Sequences already seen (when resuming).
        initial_evaluations: Evaluations already made (when resuming).
            Evaluation `i` of a run draws its batches with seed
            `10_000 + i`, so a resumed run must know `i` to evaluate on the
            batches the uninterrupted run would have used. Defaults to
            `initial_sequences // (batch_size * every)`, the count of
            evaluations made every `every` batches.
        verbose: If truthy, print one line per evaluation.
    """

    def __init__(self, task, batch_size, every=200, splits=("validation",), num_batches=4,
                 initial_sequences=0, verbose=0, initial_evaluations=None):
        super().__init__()
        self.task = get_task(task)
        self.batch_size = batch_size
        self.every = every
        self.splits = tuple(splits)
        self.num_batches = num_batches
        self.sequences = initial_sequences
        if initial_evaluations is None:
            initial_evaluations = initial_sequences // (batch_size * every)
        self.initial_evaluations = int(initial_evaluations)
        self.verbose = verbose
        self.history = []
        self._start = None
        self._latest = {}

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.sequences += self.batch_size
        if (self.sequences // self.batch_size) % self.every == 0:
            self.evaluate_now()

    def evaluate_now(self):
        record = {"sequences": self.sequences,
                  "seconds": time.perf_counter() - (self._start or time.perf_counter())}
        for split in self.splits:
            results = evaluate_task(self.model, self.task, split=split,
                                    num_batches=self.num_batches,
                                    seed=10_000 + self.initial_evaluations + len(self.history))
            for key, value in results.items():
                if key != "num_sequences":
                    record[f"{split}_{key}"] = value
        self.history.append(record)
        self._latest = {k: v for k, v in record.items() if k not in ("sequences", "seconds")}
        if self.verbose:
            shown = ", ".join(
                f"{k} {v:.4g}" for k, v in record.items() if k.endswith(("per_sequence", "bit_accuracy"))
            )
            print(f"\n[{record['sequences']} sequences, {record['seconds']:.0f}s] {shown}")
        return record

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self._latest)


def learning_summary(evaluations, thresholds=(1.0, 0.1), window=4,
                     monitor="validation_bit_errors_per_sequence"):
    """When a learning curve first fell below each error threshold.

    The error of check `i` is the mean of `monitor` over checks
    `i - window + 1 .. i` (fewer at the start), so that one lucky validation
    batch does not count as learning; with `TaskEvaluation`'s 4 batches of
    32 sequences a check and `window=4`, each point averages 512 sequences.
    `examples/train.py` writes this summary into its results and
    `examples/learning_curves.py` tabulates it.

    Args:
        evaluations: The records of `TaskEvaluation.history` (each with
            `sequences` and `monitor`), in training order.
        thresholds: Error thresholds. Defaults to `(1.0, 0.1)` bit errors per
            sequence.
        window: Checks averaged. Defaults to `4`.
        monitor: The record key of the error. Defaults to
            `"validation_bit_errors_per_sequence"`.

    Returns:
        A dict with `window`, `monitor`, `checks` (the number of records),
        `sequences` (training sequences at the last check), `smoothed` (the
        averaged error of every check), `final_error` (the averaged error at
        the last check) and `below`: for each threshold, keyed by
        `f"{threshold:g}"`, the training sequences at the first check whose
        averaged error is below it, or `None` if none is.

    Raises:
        ValueError: If `evaluations` is empty or `window` is below 1.

    Example:

    >>> curve = [{"sequences": 100 * (i + 1), "validation_bit_errors_per_sequence": e}
    ...          for i, e in enumerate([30.0, 1.0, 0.0, 0.0])]
    >>> summary = learning_summary(curve, window=2)
    >>> summary["below"], summary["final_error"]
    ({'1': 300, '0.1': 400}, 0.0)
    """
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise ValueError(f"`window` must be an integer >= 1, received window={window!r}")
    if len(evaluations) == 0:
        raise ValueError("`evaluations` must hold at least one check, received none")
    sequences = [int(e["sequences"]) for e in evaluations]
    errors = np.array([float(e[monitor]) for e in evaluations])
    smoothed = [float(errors[max(0, i - window + 1): i + 1].mean()) for i in range(len(errors))]
    below = {}
    for threshold in thresholds:
        first = next((n for n, e in zip(sequences, smoothed) if e < threshold), None)
        below[f"{threshold:g}"] = first
    return {"window": window, "monitor": monitor, "checks": len(evaluations),
            "sequences": sequences[-1], "smoothed": smoothed, "final_error": smoothed[-1],
            "below": below}


class DoublingCurriculum(keras.callbacks.Callback):
    """Doubles a `CurriculumStream`'s level when an epoch's training error is low.

    Rae et al. (2016), section 4.3: the largest level "is doubled whenever
    the average training loss stays below a threshold for a number of
    episodes" (the paper gives neither number). Here the average is that of
    `monitor` over the epoch that just ended (Keras resets the training
    metrics every epoch), so the window is the epoch: `steps_per_epoch`
    batches of levels drawn up to the current one.

    At the end of each epoch it adds to the logs (so `CSVLogger`,
    `ModelCheckpoint` and `TensorBoard` see them, when it comes before them
    in `callbacks`) `curriculum_level`, the largest level of the epoch's
    batches, and `curriculum_mastered`, the largest level whose epoch ended
    below `threshold` (0 before any). `history` holds one record per epoch.

    Args:
        stream: The `CurriculumStream` `fit` draws from.
        threshold: Double when the epoch's mean `monitor` is below this.
            Defaults to `1.0` (bit errors per sequence).
        monitor: A training metric of the logs. Defaults to
            `"bit_errors_per_sequence"`.
        mastered: The `curriculum_mastered` of an earlier run when resuming.
            Defaults to `0`.

    Example:

    ```python
    stream = CurriculumStream("associative_recall", batch_size=8, steps_per_epoch=50)
    model.fit(stream, epochs=100, callbacks=[stream.epoch_callback(),
                                             DoublingCurriculum(stream, threshold=1.0)])
    ```
    """

    def __init__(self, stream, threshold=1.0, monitor="bit_errors_per_sequence", mastered=0):
        super().__init__()
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not (
                threshold > 0):
            raise ValueError(f"`threshold` must be a number > 0, received threshold={threshold!r}")
        self.stream, self.threshold, self.monitor = stream, float(threshold), monitor
        self.mastered = int(mastered)
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        if self.monitor not in logs:
            raise ValueError(
                f"DoublingCurriculum monitors {self.monitor!r}, which the training logs do not "
                f"have; they have {sorted(logs)}. Compile the model with that metric or pass "
                "another `monitor`.")
        error, level = float(logs[self.monitor]), self.stream.level
        if error < self.threshold:
            self.mastered = max(self.mastered, level)
            self.stream.double()
        self.history.append({"epoch": epoch + 1, "level": level, self.monitor: error,
                             "next_level": self.stream.level})
        logs["curriculum_level"] = level
        logs["curriculum_mastered"] = self.mastered


class StopAtThreshold(keras.callbacks.Callback):
    """Stops training once a `TaskEvaluation` result falls to a threshold.

    Args:
        evaluation: The `TaskEvaluation` callback whose results to watch.
        monitor: Key of its records, e.g.
            `"validation_bit_errors_per_sequence"`.
        threshold: Training stops when the value is `<= threshold`.
        patience: Number of consecutive evaluations that must pass.
            Defaults to `1`.

    Attributes:
        stopped: Whether this callback stopped the training.
    """

    def __init__(self, evaluation, monitor, threshold, patience=1):
        super().__init__()
        self.evaluation = evaluation
        self.monitor = monitor
        self.threshold = threshold
        self.patience = patience
        self.stopped = False
        self._passed = 0
        self._seen = 0

    def on_train_batch_end(self, batch, logs=None):
        if len(self.evaluation.history) == self._seen:
            return
        self._seen = len(self.evaluation.history)
        value = self.evaluation.history[-1].get(self.monitor)
        passed = value is not None and value <= self.threshold
        self._passed = self._passed + 1 if passed else 0
        if self._passed >= self.patience:
            self.stopped = True
            self.model.stop_training = True


class TimeLimit(keras.callbacks.Callback):
    """Stops training after `seconds` of wall time (checked every batch).

    Args:
        seconds: The time budget of the `fit` call.

    Attributes:
        stopped: Whether the budget ran out and this callback stopped the
            training.
    """

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.stopped = False
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self._start >= self.seconds:
            self.stopped = True
            self.model.stop_training = True


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the whole model (weights and optimizer state) after every epoch.

    The model goes to `model_path` (a `.keras` file, written to a temporary
    file first and then moved into place, so an interruption never leaves a
    half-written checkpoint) and the number of finished epochs to
    `state_path` (JSON). `resume_state(state_path)` reads it back; pass its
    `"epoch"` as `initial_epoch` to `fit` after `keras.models.load_model`.
    An epoch whose weights are not finite (a NaN loss, after which
    `keras.callbacks.TerminateOnNaN` stops the run) is not saved, so the
    checkpoint stays the last finite model.

    The state also holds Python's `random` state at the end of the epoch
    (`"python_random_state"`): `fit(..., shuffle=True)` orders the batches
    of every epoch with `random.shuffle`, so a resumed run passes
    `RestoreRandomState(state)` to `fit` to take the next epochs' batches in
    the order the uninterrupted run would have.

    Args:
        model_path: Path of the `.keras` checkpoint.
        state_path: Path of the JSON state file.
        extra_state: Optional callable returning a JSON-serialisable dict
            stored with the epoch (e.g. evaluation history).
    """

    def __init__(self, model_path, state_path, extra_state=None):
        super().__init__()
        self.model_path = model_path
        self.state_path = state_path
        self.extra_state = extra_state

    def on_epoch_end(self, epoch, logs=None):
        import json
        import os
        import warnings

        if not all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in self.model.weights):
            # `TerminateOnNaN` stops training, but the epoch still ends: keep
            # the last finite checkpoint, which `--resume` can go on from.
            warnings.warn(f"RunCheckpoint: the model's weights are not finite after epoch "
                          f"{epoch + 1}; kept the checkpoint of an earlier epoch.")
            return
        # One temporary name per process: two writers never share a file.
        temporary = f"{self.model_path}.partial-{os.getpid()}.keras"
        self.model.save(temporary)
        os.replace(temporary, self.model_path)
        state = {"epoch": epoch + 1, "python_random_state": _python_random_state()}
        if self.extra_state is not None:
            state.update(self.extra_state())
        temporary = f"{self.state_path}.partial-{os.getpid()}"
        with open(temporary, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(temporary, self.state_path)


class RestoreRandomState(keras.callbacks.Callback):
    """Sets Python's `random` to a checkpointed state when training begins.

    `fit(..., shuffle=True)` orders each epoch's batches with
    `random.shuffle`. The state `RunCheckpoint` saved at the end of an epoch
    is restored in `on_train_begin`: after whatever `fit` draws before its
    first epoch and before that epoch's shuffle, on every backend. The
    resumed run then sees the batches in the uninterrupted run's order.

    Args:
        state: The dict `resume_state` returned, or `None` (a fresh run:
            nothing is restored).

    Example:

    ```python
    state = resume_state("run/state.json")
    model.fit(data, initial_epoch=state["epoch"], epochs=10,
              callbacks=[RestoreRandomState(state), RunCheckpoint(...)])
    ```
    """

    def __init__(self, state):
        super().__init__()
        self.state = state

    def on_train_begin(self, logs=None):
        restore_random_state(self.state)


class BestOfValidation(keras.callbacks.Callback):
    """Fine and coarse accuracy on a fixed test set, best of several checks.

    The Lie-access paper's protocol (`train.lua`): every `every` optimizer
    steps after `start`, the model is scored on the same 3,200 examples of
    twice the training length; fine accuracy is the share of answer symbols
    right (the final end symbol included), coarse accuracy the share of
    sequences entirely right. The run reports the best fine and the best
    coarse accuracy over the checks, each maximised on its own, as the
    authors' `captureresults` does.

    Args:
        task: The `AlgorithmicTask` (a `keras_memory.tasks` symbol task).
        every: Optimizer steps between checks. Defaults to `500`.
        start: Checks happen at steps `> start`. Defaults to `5000` (the
            paper's 10 checks at steps 5,500 to 10,000).
        num_batches: Batches of the test set. Defaults to `100`.
        batch_size: Defaults to `32` (100 x 32 = 3,200 examples).
        split: Defaults to `"generalization"`.
        seed: Seed of the fixed test set.
        verbose: Print one line per check.

    Attributes:
        history: One dict per check: `step`, `seconds`, `fine`, `coarse`.
        best_fine, best_coarse: The best values so far (`None` before any).
    """

    def __init__(self, task, every=500, start=5000, num_batches=100, batch_size=32,
                 split="generalization", seed=2017, verbose=0):
        super().__init__()
        self.task = get_task(task)
        self.every = int(every)
        self.start = int(start)
        self.num_batches = int(num_batches)
        self.batch_size = int(batch_size)
        self.split = split
        self.seed = seed
        self.verbose = verbose
        self.history = []
        self.best_fine = None
        self.best_coarse = None
        self.steps = 0
        self._start_time = None
        self._test_set = None

    def test_set(self):
        """The fixed test batches, generated once."""
        if self._test_set is None:
            rng = np.random.default_rng(self.seed)
            self._test_set = [
                self.task.generate(rng, self.batch_size, split=self.split)
                for _ in range(self.num_batches)
            ]
        return self._test_set

    def score(self, model=None):
        """`(fine, coarse)` accuracy of `model` (default: the trained one) on the test set.

        Fine: the share of scored steps whose symbol is right; coarse: the
        share of sequences whose every scored step is right, over the
        sequences with a scored step (`keras_memory.metrics.score_counts`).
        """
        model = model or self.model
        totals = collections.Counter()
        for x, y, w in self.test_set():
            totals.update(score_counts(model.predict_on_batch(x), y, w, output_type="categorical"))
        return (totals["right_steps"] / max(totals["steps"], 1),
                totals["right_sequences"] / max(totals["sequences"], 1))

    def on_train_begin(self, logs=None):
        self._start_time = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps > self.start and (self.steps - self.start) % self.every == 0:
            self.check()

    def check(self):
        fine, coarse = self.score()
        record = {"step": self.steps, "seconds": time.perf_counter() - self._start_time,
                  "fine": float(fine), "coarse": float(coarse)}
        self.history.append(record)
        self.best_fine = max(fine, self.best_fine or 0.0)
        self.best_coarse = max(coarse, self.best_coarse or 0.0)
        if self.verbose:
            print(f"\n[step {self.steps}, {record['seconds']:.0f}s] {self.split}: fine "
                  f"{100 * fine:.1f}% coarse {100 * coarse:.1f}% (best {100 * self.best_fine:.1f}"
                  f"/{100 * self.best_coarse:.1f})")
        return record
