"""Training utilities: a task model builder, evaluation and callbacks.

These are the pieces `examples/train.py` and the quickstart are made of, so
that a user's own script can train any cell on any task in a few lines:

```python
task = keras_memory.tasks.get("copy")
model = keras_memory.training.build_model(NTMCell(units=100), task)
model.compile(optimizer=keras_memory.training.default_optimizer(),
              jit_compile=True, **task.compile_kwargs())
model.fit(task.dataset(batch_size=32, num_batches=1000), epochs=5)
print(keras_memory.training.evaluate_task(model, task, split="generalization"))
```
"""

import collections
import contextlib
import time

import keras
import numpy as np

from keras_memory.layers import MemoryRNN
from keras_memory.metrics import evaluate_predictions, score_counts
from keras_memory.tasks import get as get_task
from keras_memory.tasks.base import shape_partner, swap_index

#: Names given to the layers of `build_model`, used to find them again.
MEMORY_LAYER_NAME = "memory_rnn"
READOUT_LAYER_NAME = "readout"


def default_optimizer(learning_rate=1e-3, global_clipnorm=1.0):
    """The optimizer the package's examples train memory cells with.

    Adam with learning rate `1e-3` (Collier & Beel, 2018) and the gradients
    clipped to a global norm of `1.0`. Collier & Beel clip at 50, but their
    loss is summed over time and bits, while `task.loss()` averages over the
    answer elements, which makes gradients about two orders of magnitude
    smaller: a clip at 50 never acts. Measured on the copy task (lengths 1-20,
    batch 32, seed 1), the NTM reached 0.125 bit per sequence after 25,600
    sequences with a clip at 1.0 and stayed below 1 bit up to 51,200, where
    the run ended; with a clip at 50 the same run collapsed from 1.7 to about
    39 bits at 28,800 sequences and took 70,000 more to recover.

    The clip is `clip_by_global_norm` (a `ClippedAdam`): Keras' own wherever
    the gradients' global norm is finite in float32, and finite where the sum
    of their squares overflows (where Keras' `Adam` would make every weight
    `NaN`).

    Args:
        learning_rate: Adam's learning rate. Defaults to `1e-3`.
        global_clipnorm: Gradients are rescaled so that their global norm is
            at most this. Defaults to `1.0`.

    Returns:
        A `ClippedAdam` (a `keras.optimizers.Adam`).
    """
    return ClippedAdam(learning_rate, global_clipnorm=global_clipnorm)


def build_model(cell, task, name=None):
    """A sequence model for an algorithmic task around one recurrent cell.

    `Input((None, task.input_size))` -> `keras_memory.layers.MemoryRNN(cell,
    return_sequences=True)` (a `keras.layers.RNN` that reads the cell's
    weights once per sequence and passes masks to sparse cells) ->
    `keras.layers.Dense(task.output_size)`. The
    model outputs logits, one vector per input step, to be used with
    `task.loss()` (which takes `from_logits=True`).

    Args:
        cell: A recurrent cell, e.g. `keras_memory.NTMCell(units=100)` or
            `keras.layers.LSTMCell(256)`.
        task: An `AlgorithmicTask` or the name of one.
        name: Optional model name.

    Returns:
        An unbuilt-optimizer `keras.Model`.
    """
    task = get_task(task)
    inputs = keras.Input((None, task.input_size), name="inputs")
    sequence = MemoryRNN(cell, return_sequences=True, name=MEMORY_LAYER_NAME)(inputs)
    logits = keras.layers.Dense(task.output_size, name=READOUT_LAYER_NAME, dtype="float32")(
        sequence
    )
    return keras.Model(inputs, logits, name=name or f"{type(cell).__name__}_{task.name}")


def evaluate_task(model, task, split="generalization", num_batches=10, batch_size=32, seed=1234,
                  **generate_kwargs):
    """Evaluate a trained model on fresh batches of a task split.

    Args:
        model: A model mapping task inputs to logits (e.g. from
            `build_model`).
        task: An `AlgorithmicTask` or its name.
        split: `"train"`, `"validation"` or `"generalization"`.
        num_batches: Number of batches to average over.
        batch_size: Batch size.
        seed: Seed of the evaluation batches.
        **generate_kwargs: Passed to `task.generate`, e.g. `length=40` for a
            copy task evaluated at one fixed length.

    Returns:
        A dict with `bit_errors_per_sequence`, `bit_accuracy`,
        `symbol_accuracy` and `sequence_accuracy` computed over all the
        batches (totals, not a mean of batch means), and `num_sequences`.
    """
    task = get_task(task)
    rng = np.random.default_rng(seed)
    predictions, targets, weights = [], [], []
    for _ in range(num_batches):
        # Same split and sizes every time, so every batch has the same length.
        x, y, w = task.generate(rng, batch_size, split=split, **generate_kwargs)
        predictions.append(np.asarray(model.predict_on_batch(x)))
        targets.append(y)
        weights.append(w)
    weights = np.concatenate(weights)
    results = evaluate_predictions(
        np.concatenate(predictions), np.concatenate(targets), weights,
        from_logits=True, output_type=task.output_type,
    )
    results["num_sequences"] = int((weights > 0).any(axis=1).sum())
    return results


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


class TrainingStream(keras.utils.PyDataset):
    """Fresh training batches of a task, epoch after epoch, reproducibly.

    Batch `i` of epoch `e` is generated from
    `np.random.default_rng([seed, e, i])`, so a run resumed at epoch `e`
    (e.g. by `keras.callbacks.BackupAndRestore`) sees exactly the batches the
    uninterrupted run would have seen. Pass `stream.epoch_callback()` to
    `fit` so the stream knows the epoch. In epoch 0, when batches 0 and 1
    have the same shape, batch 1 trades places with the first batch of
    another shape: Keras infers the shapes of every batch from those two
    (`keras_memory.tasks.base.shape_partner`).

    Args:
        task: An `AlgorithmicTask` or its name.
        batch_size: Sequences per batch.
        steps_per_epoch: Batches per epoch.
        seed: Integer seed.
        split: Split to draw from. Defaults to `"train"`.
    """

    def __init__(self, task, batch_size, steps_per_epoch, seed=0, split="train", **kwargs):
        super().__init__(**kwargs)
        self.task = get_task(task)
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.seed = seed
        self.split = split
        self.epoch = 0
        self._partner = False  # Found on first use.

    def __len__(self):
        return self.steps_per_epoch

    def __getitem__(self, index):
        if self.epoch == 0:
            if self._partner is False:
                self._partner = shape_partner(lambda i: self._generate(0, i),
                                              self.steps_per_epoch)
            index = swap_index(index, self._partner)
        return self._generate(self.epoch, index)

    def _generate(self, epoch, index):
        rng = np.random.default_rng([self.seed, epoch, index])
        return self.task.generate(rng, self.batch_size, split=self.split)

    def epoch_callback(self):
        """A callback that tells this stream which epoch `fit` is in."""
        stream = self

        class _EpochSync(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                stream.epoch = epoch

        return _EpochSync()


class CyclingBatches(keras.utils.PyDataset):
    """Epochs of `steps_per_epoch` steps over a fixed set of batches, cycled.

    Epoch `e` holds batches `e * steps_per_epoch .. (e + 1) * steps_per_epoch - 1`
    of `data`, modulo `len(data)`: the Lie-access paper's small regime cycles
    through 500 fixed batches (16,000 examples), its large one walks once
    through `steps` batches. `fit` shuffles the order of the batches inside
    each epoch (its default `shuffle=True`); the authors' code takes them in
    file order, which `fit(..., shuffle=False)` gives. Pass
    `batches.epoch_callback()` to `fit` so the dataset knows the epoch (and a
    resumed run continues at the right batch).

    Args:
        data: A sequence of batches (e.g. a `TaskDataset`).
        steps_per_epoch: Batches per epoch.
    """

    def __init__(self, data, steps_per_epoch, **kwargs):
        super().__init__(**kwargs)
        self.data = data
        self.steps_per_epoch = steps_per_epoch
        self.epoch = 0

    def __len__(self):
        return self.steps_per_epoch

    def __getitem__(self, index):
        return self.data[(self.epoch * self.steps_per_epoch + index) % len(self.data)]

    def epoch_callback(self):
        """A callback that tells this dataset which epoch `fit` is in."""
        batches = self

        class _EpochSync(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                batches.epoch = epoch

        return _EpochSync()


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


class DirectoryInUseError(RuntimeError):
    """Another live process holds the lock of a run or project directory."""


class DirectoryLock:
    """An exclusive lock on a run (or tuning project) directory, held by one process.

    The lock is the file `<directory>/.lock`, holding the owner's pid. On
    POSIX it is locked with `fcntl.flock`, which the system releases when
    the process dies, so a lock left by a killed run is taken over; without
    `fcntl` the file is created with `O_CREAT | O_EXCL`, and one whose pid
    no longer runs is taken over. A second process asking for a held lock
    gets a `DirectoryInUseError` naming the directory and the holder's pid.

    Use it as a context manager, or `acquire()` / `release()`:

    ```python
    with DirectoryLock("runs/ntm_copy"):
        ...  # train, write checkpoints
    ```

    Args:
        directory: The directory to lock (created if missing).
        lock_file: Optional path of the lock file, for a directory that
            something else may delete while it is locked (Keras Tuner's
            `overwrite=True` deletes the project directory). Defaults to
            `<directory>/.lock`.
    """

    NAME = ".lock"

    def __init__(self, directory, lock_file=None):
        import os

        self.directory = directory
        self.path = lock_file or os.path.join(directory, self.NAME)
        self._fd = None

    def _holder(self):
        try:
            with open(self.path) as f:
                return int(f.read().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def _refuse(self, pid):
        raise DirectoryInUseError(
            f"{self.directory} is in use by another process (pid {pid or 'unknown'}, "
            f"lock file {self.path}). Wait for it to finish or stop it; a lock left "
            f"by a process that no longer runs is taken over."
        )

    def acquire(self):
        """Take the lock, or raise `DirectoryInUseError`. Returns `self`."""
        import os

        os.makedirs(self.directory, exist_ok=True)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Not POSIX.
            fcntl = None
        for _ in range(100):
            if fcntl is None:
                try:
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
                except FileExistsError:
                    pid = self._holder()
                    if pid is not None and _process_alive(pid):
                        self._refuse(pid)
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(self.path)  # Stale: its process is gone.
                    continue
            else:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)
                    self._refuse(self._holder())
                # The file may have been removed by its previous holder's
                # release between our open and our lock: lock the file that
                # is at the path now.
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(self.path))
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            os.fsync(fd)
            self._fd = fd
            return self
        raise DirectoryInUseError(f"Could not lock {self.directory} ({self.path}).")

    def release(self):
        """Give the lock up (removing the lock file)."""
        import os

        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)
        os.close(self._fd)  # Closing releases the flock.
        self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def _process_alive(pid):
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # Alive, another user's.
        return True
    except OSError:
        return False
    return True


def _python_random_state():
    import random

    version, internal, gauss_next = random.getstate()
    return [version, list(internal), gauss_next]


def restore_random_state(state):
    """Set Python's `random` to the state `RunCheckpoint` saved in `state`, if any.

    Returns whether a state was restored. `fit` itself may draw from
    `random` before its first epoch (the JAX trainer shuffles a batch to
    build the model), so a resumed `fit` takes `RestoreRandomState(state)`
    as a callback rather than calling this before `fit`.
    """
    import random

    saved = (state or {}).get("python_random_state")
    if saved is None:
        return False
    version, internal, gauss_next = saved
    random.setstate((version, tuple(internal), gauss_next))
    return True


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


class CorruptFileError(ValueError):
    """A checkpoint or state file that exists but cannot be read back whole."""


def check_keras_file(path):
    """Raise `CorruptFileError` unless `path` is a complete `.keras` archive.

    A `.keras` file is a zip archive; one cut short (a full disk, a copy
    interrupted) fails the zip's checks. Keras itself reports such a file as
    "File not found". Does not load the model.
    """
    import os
    import zipfile

    size = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CorruptFileError(
            f"{path} is corrupt: not a complete .keras (zip) archive ({size} bytes; "
            f"{error})."
        ) from None
    if bad is not None:
        raise CorruptFileError(f"{path} is corrupt: its member {bad!r} fails its checksum.")


def load_checkpoint(path, **kwargs):
    """`keras.models.load_model(path)`, with a `CorruptFileError` naming a corrupt file."""
    check_keras_file(path)
    return keras.models.load_model(path, **kwargs)


def resume_state(state_path):
    """The state written by `RunCheckpoint`, or `None` if there is none.

    Raises `CorruptFileError`, naming the file, if it is not the complete
    JSON object `RunCheckpoint` writes.
    """
    import json
    import os

    if not os.path.exists(state_path):
        return None
    with open(state_path) as f:
        text = f.read()
    try:
        state = json.loads(text)
    except json.JSONDecodeError as error:
        state = error
    if not isinstance(state, dict) or not isinstance(state.get("epoch"), int):
        raise CorruptFileError(
            f"{state_path} is corrupt: not the JSON object with an integer \"epoch\" "
            f"that RunCheckpoint writes ({len(text)} characters"
            + (f"; {state}" if isinstance(state, Exception) else "") + ")."
        )
    return state


# ---------------------------------------------------------------------------
# The training protocol of Yang & Rush (2017), from the authors' `train.lua`.


@keras.saving.register_keras_serializable(package="keras_memory")
class LieAccessDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The learning-rate decay of the Lie-access paper's code (`train.lua`).

    The authors count "iters" of `iter_size = 10` optimizer steps and multiply
    the rate by `0.99` at the end of every even iter after `decay_delay`:

    `lr(step) = lr0 * 0.99 ** max(0, floor((iter - 1 - decay_delay) / 2))`,
    `iter = floor(step / 10) + 1`.

    With their 10,000 steps the final factor is 0.030 for a delay of 300,
    0.135 for 600 and 0.224 for 700.

    Args:
        initial_learning_rate: `lr0`.
        decay_delay: Iters (of 10 steps) before the decay starts.
        rate: Factor per decay. Defaults to `0.99`.
        steps_per_iter: Defaults to `10`.
    """

    def __init__(self, initial_learning_rate, decay_delay, rate=0.99, steps_per_iter=10):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_delay = int(decay_delay)
        self.rate = float(rate)
        self.steps_per_iter = int(steps_per_iter)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        iteration = keras.ops.floor(step / self.steps_per_iter) + 1.0
        decays = keras.ops.maximum(
            0.0, keras.ops.floor((iteration - 1.0 - self.decay_delay) / 2.0)
        )
        return self.initial_learning_rate * keras.ops.power(self.rate, decays)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_delay": self.decay_delay,
            "rate": self.rate,
            "steps_per_iter": self.steps_per_iter,
        }


def torch_uniform_init(model, magnitude=1.0, forget_bias=1.0, seed=None):
    """Re-initialises a built model as the Lie-access code's `init_magnitude` does.

    The authors' `train.reinit_params` (`train.lua`) draws **every** parameter
    uniformly in `(-magnitude, magnitude)`: kernels, biases, the embedding,
    the readout and the learned initial states. It then resets each LSTM gate
    block (`layers/lstm.lua`, `LSTMGatesX:reset`): its input-to-gates and
    hidden-to-gates maps each get a fresh uniform weight and bias, with the
    forget-gate part of the bias filled with `forget_bias` (`options.lua`:
    1). Keras' `LSTMCell` has one bias for the two maps, so it gets their sum:
    `2 * forget_bias` on the forget gate and the sum of two uniforms on the
    other gates.

    The paper's grid (Table A.1) uses this with `magnitude=1` on some
    configurations (`keras_memory.papers.TABLE_1B_CONFIGS`, `init_magnitude`).
    Such weights give very large first gradients; the authors trained in
    double precision, so build the model with `dtype="float64"`.

    Args:
        model: A built Keras model (or layer).
        magnitude: Half-width of the uniform. Defaults to `1.0`.
        forget_bias: Forget-gate bias of each of the two LSTM maps.
            Defaults to `1.0` (an effective bias of 2).
        seed: Seed of the draws (NumPy). `None` draws fresh values.

    Returns:
        The model, re-initialised in place.
    """
    magnitude = float(magnitude)
    if not (magnitude > 0 and np.isfinite(magnitude)):
        raise ValueError(
            f"`magnitude` must be a positive finite number. Received: magnitude={magnitude!r}"
        )
    if not model.built:
        raise ValueError("torch_uniform_init: build the model first (call it on an input).")
    rng = np.random.default_rng(seed)

    def uniform(shape):
        return rng.uniform(-magnitude, magnitude, size=shape)

    for weight in model.trainable_weights:
        weight.assign(uniform(tuple(weight.shape)).astype(weight.dtype))
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.LSTMCell) and layer.use_bias:
            units = layer.units
            bias = uniform((4 * units,)) + uniform((4 * units,))
            bias[units : 2 * units] = 2.0 * forget_bias  # Keras' gate order: i, f, c, o.
            layer.bias.assign(bias.astype(layer.bias.dtype))
    return model


@contextlib.contextmanager
def dtype_policy(name):
    """Keras' global dtype policy set to `name` inside the block, restored after.

    Layers built inside the block take the policy (e.g. `"float64"` for the
    Lie-access models under the authors' uniform initialisation).

    Args:
        name: A dtype policy name, e.g. `"float32"` or `"float64"`.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def clip_by_global_norm(gradients, clip_norm):
    """Rescales `gradients` to a global L2 norm of at most `clip_norm`, without overflow.

    Keras' `global_clipnorm` sums the squared gradients in their own dtype, so
    in float32 one gradient entry above about `1.8e19` makes the norm `inf`,
    the scale `NaN` and every weight `NaN` after the step, although the
    gradient itself is finite. The Lie-access models meet such gradients:
    the inverse-square weighting (`d^-2` with `eps = 1e-10`) gives gradients
    of 1e29 when a head comes close to a key, and the authors' code clips
    them in double precision. Where Keras' norm is finite this returns
    exactly what Keras does; where it overflows, the norm is computed as
    `m * sqrt(sum((g / m)^2))` with `m` the largest `|g|`. Gradients that
    are themselves `inf` or `NaN` still give `NaN`, as in Keras.

    Args:
        gradients: A list of tensors (entries may be `None`).
        clip_norm: The largest global norm.

    Returns:
        The list of rescaled gradients (`None` entries kept).
    """
    present = [g for g in gradients if g is not None]
    if not present:
        return list(gradients)
    norm = keras.ops.sqrt(keras.ops.sum(keras.ops.stack(
        [keras.ops.sum(keras.ops.square(g)) for g in present])))
    largest = keras.ops.max(keras.ops.stack([keras.ops.max(keras.ops.abs(g)) for g in present]))
    safe_largest = keras.ops.where(largest > 0, largest, keras.ops.ones_like(largest))
    rescaled = safe_largest * keras.ops.sqrt(keras.ops.sum(keras.ops.stack(
        [keras.ops.sum(keras.ops.square(g / safe_largest)) for g in present])))
    norm = keras.ops.where(keras.ops.isfinite(norm), norm, rescaled)
    # Keras' own formula (`optimizers.base_optimizer.clip_by_global_norm`).
    scale = clip_norm * keras.ops.minimum(1.0 / norm, 1.0 / clip_norm)
    scale = scale + (norm - norm)
    return [None if g is None else g * scale for g in gradients]


class _OverflowSafeClip:
    """Mixin: `global_clipnorm` through `clip_by_global_norm` (see there)."""

    def _clip_gradients(self, grads):
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        return super()._clip_gradients(grads)


@keras.saving.register_keras_serializable(package="keras_memory")
class ClippedRMSprop(_OverflowSafeClip, keras.optimizers.RMSprop):
    """`keras.optimizers.RMSprop` whose `global_clipnorm` cannot overflow.

    Identical to Keras' `RMSprop` (same arguments and config) except that
    `global_clipnorm` goes through `clip_by_global_norm`, which gives the
    same result wherever Keras' norm is finite and a finite rescaling where
    the sum of squares overflows (see there).

    Example:

    >>> optimizer = ClippedRMSprop(0.01, rho=0.99, global_clipnorm=32.0)
    >>> variable = keras.Variable(np.zeros(2, "float32"))
    >>> _ = optimizer.apply_gradients([(np.array([1e30, 0.0], "float32"), variable)])
    >>> bool(np.isfinite(keras.ops.convert_to_numpy(variable)).all())
    True
    """


@keras.saving.register_keras_serializable(package="keras_memory")
class ClippedAdam(_OverflowSafeClip, keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose `global_clipnorm` cannot overflow.

    Identical to Keras' `Adam` (same arguments and config) except that
    `global_clipnorm` goes through `clip_by_global_norm`: the same result
    wherever Keras' norm is finite, a finite rescaling where the sum of
    squares overflows float32 (see there). `default_optimizer` returns one.

    Example:

    >>> optimizer = ClippedAdam(1e-3, global_clipnorm=1.0)
    >>> variable = keras.Variable(np.zeros(2, "float32"))
    >>> _ = optimizer.apply_gradients([(np.array([1e30, 0.0], "float32"), variable)])
    >>> bool(np.isfinite(keras.ops.convert_to_numpy(variable)).all())
    True
    """


def lie_access_optimizer(learning_rate=0.01, decay_delay=300, global_clipnorm=32.0):
    """The optimizer of the Lie-access paper's code (`train.lua`, `options.lua`).

    Torch's `optim.rmsprop` (`m <- 0.99 m + 0.01 g^2`,
    `x <- x - lr g / (sqrt(m) + 1e-8)`, no momentum) as Keras' `RMSprop` with
    `rho=0.99` and `epsilon=1e-16` (Keras adds it inside the square root),
    the `LieAccessDecay` schedule, and gradients rescaled to a global norm of
    at most 32 (`max_grad_norm`). The rescaling is `clip_by_global_norm`,
    which stays finite where the gradients' squares overflow float32 (the
    authors computed in double precision).

    Args:
        learning_rate: The initial rate. The paper's grid: 0.01, 0.02, 0.04
            for the memory models, 0.002 for the LSTM.
        decay_delay: Iters before the decay starts (300 to 700 in the grid).
        global_clipnorm: Defaults to `32`.

    Returns:
        A `ClippedRMSprop` (a `keras.optimizers.RMSprop`).
    """
    return ClippedRMSprop(
        LieAccessDecay(learning_rate, decay_delay),
        rho=0.99,
        epsilon=1e-16,
        global_clipnorm=global_clipnorm,
    )


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
