"""The model every task trains, its optimizer, and its evaluation on fresh batches.

`build_model` puts a memory cell between a task's inputs and a readout
(`keras_memory.layers.MemoryRNN`, then `Dense`), `default_optimizer` is the
clipped Adam of the NTM and SAM runs, `evaluate_task` scores a model on
fresh batches of a task split with `keras_memory.metrics`, and
`dtype_policy` builds layers under another global dtype policy.
"""

import contextlib

import keras
import numpy as np

from keras_memory.layers import MemoryRNN
from keras_memory.metrics import evaluate_predictions
from keras_memory.tasks import get as get_task
from keras_memory.training.optimizers import ClippedAdam


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
