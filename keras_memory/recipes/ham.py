"""The reproduction recipe of Andrychowicz & Kurach (2016), "Learning Efficient
Algorithms with Hierarchical Attentive Memory": its tasks at a tree size, its
models and their optimizer (section 4.1).

`examples/ham_tables.py` (one run, printed next to Tables 1 and 2) and
`tuning/hypermodels.py`'s `HAMHyperModel` (a random search of the same
settings) build their tasks and compiled models here; the published numbers
are `keras_memory.papers.HAM_TABLES` and `HAM_BASELINES`.

    task = keras_memory.recipes.ham.make_task("sort", leaves=32)
    model, cell = keras_memory.recipes.ham.build_model("ham", task, leaves=32, seed=1)
"""

import contextlib

import keras
import numpy as np

from keras_memory import papers, tasks
from keras_memory.baselines import build_baseline_model
from keras_memory.cells.ham import HAMCell
from keras_memory.recipes.cells import make_cell
from keras_memory.reinforce import (
    TreeCurriculum, batches_sequence_error, build_ham_model, with_memory_size
)

#: The models of the tables: LSTM+HAM or raw HAM trained by REINFORCE (`"ham"`),
#: the soft DHAM (`"dham"`, Appendix A) and Table 1's two baselines.
MODELS = ("ham", "dham", "lstm", "lstm_attention")
#: The tasks, `keras_memory.tasks` names without `ham_`.
TASKS = tuple(papers.HAM_TABLES)
#: The raw-HAM tasks (Table 2, section 4.3): no controller, one operation per step.
RAW_TASKS = papers.HAM_RAW_TASKS


def make_task(name, leaves, **kwargs):
    """The task `name` for a tree of `leaves` leaves (raw HAM: `leaves` operations).

    Args:
        name: One of `TASKS`.
        leaves: The tree size (the paper trains at 32 and generalizes at 128).
        **kwargs: Other task arguments (e.g. `eta` for Table 1's tasks).

    Returns:
        A `keras_memory.tasks.TreeTask` or `DataStructureTask`.
    """
    if name not in TASKS:
        raise ValueError(f"Unknown HAM task {name!r}; allowed: {TASKS}")
    size = "num_operations" if name in RAW_TASKS else "num_leaves"
    return tasks.get(f"ham_{name}", **{size: leaves, **kwargs})


def build_model(model, task, leaves, *, learning_rate=3e-3, learning_rate_decay=0.95,
                batches=1000, gamma=0.9, alpha=1e-3, alpha_decay=0.9, mlp_depth=1,
                join_bias=True, join="mlp", units=None, hidden_size=20, seed=0,
                jit_compile=True):
    """A compiled model of the paper's tables for `task` at `leaves` leaves.

    Section 4.1: Adam whose learning rate decays by `learning_rate_decay`
    every epoch of `batches` batches, gradients clipped to global norm 5.
    `"ham"` is `HAMCell(units, memory_size=leaves, hidden_size)` (raw HAM,
    without a controller, on the raw tasks) in
    `keras_memory.reinforce.build_ham_model` with REINFORCE's discount
    `gamma` and exploration weight `alpha` (decaying by `alpha_decay` per
    epoch); `"dham"` the same with soft attention; `"lstm"` and
    `"lstm_attention"` Table 1's baselines (`keras_memory.baselines`).
    The controller and the tree nodes have the paper's `l = d = 20`.

    Args:
        model: One of `MODELS`.
        task: The task (`make_task`).
        leaves: The tree size of the cell.
        learning_rate: Adam's initial learning rate.
        learning_rate_decay: Its decay factor per epoch.
        batches: Batches per epoch (the decay's and `alpha`'s step).
        gamma: REINFORCE's discount (`"ham"`).
        alpha: The initial weight of the exploration term (`"ham"`).
        alpha_decay: Its decay factor per epoch (`"ham"`).
        mlp_depth: Depth of the HAM's MLPs (the paper: 1 or 2).
        join_bias: Whether JOIN has biases (`HAMCell`'s `join_bias`).
        join: `"mlp"` (the paper) or `"gated"` (`HAMCell`'s `join`).
        units: Controller size (HAM: 20) or baseline LSTM size (128).
        hidden_size: `d`, the size of every tree node.
        seed: Seed of the cell's initializers and decisions.
        jit_compile: Compile with XLA.

    Returns:
        `(model, cell)`; `cell` is `None` for a baseline.
    """
    if model not in MODELS:
        raise ValueError(f"Unknown HAM model {model!r}; allowed: {MODELS}")
    raw = task.name.removeprefix("ham_") in RAW_TASKS
    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate, batches, learning_rate_decay)
    optimizer = keras.optimizers.Adam(schedule, global_clipnorm=5.0)
    if model in ("ham", "dham"):
        cell = make_cell(model, units=units or 20, memory_size=leaves, hidden_size=hidden_size,
                         controller=not raw, mlp_depth=mlp_depth, join_bias=join_bias,
                         join=join, seed=seed)
        built = build_ham_model(cell, task, gamma=gamma, alpha=alpha, alpha_decay=alpha_decay,
                                alpha_decay_steps=batches)
        loss = {}
    else:
        if raw:
            raise ValueError(f"{model!r} is a Table 1 baseline: it takes a tree task, not "
                             f"{task.name!r}")
        cell = None
        built = build_baseline_model(model, task, units=units or 128)
        loss = {"loss": task.compile_kwargs()["loss"]}
    built.compile(optimizer, weighted_metrics=task.metrics(), jit_compile=jit_compile, **loss)
    return built, cell


def sequence_error(model, task, split, examples, batch_size, seed):
    """Percent of `task`'s `split` sequences with any wrong bit (greedy decisions).

    `examples` sequences (rounded down to whole batches, at least one): the
    batches of `task.dataset(..., seed=seed)`, scored by
    `keras_memory.reinforce.batches_sequence_error`.
    """
    dataset = task.dataset(batch_size=batch_size, num_batches=max(1, examples // batch_size),
                           split=split, seed=seed)
    return batches_sequence_error(model, (dataset[i] for i in range(len(dataset))))


def evaluate(model, task_name, examples=2500, batch_size=50, seed=0, jit_compile=True,
             task_args=None):
    """Test and generalization error (%) of a trained model, greedy decisions.

    Section 4.1: the test at the model's own tree size (32 leaves), the
    generalization with the same weights on a tree 4x bigger with 2-4x longer
    inputs (raw HAM: 4x more operations). The examples are drawn from seeds
    `2 seed + 1` (test) and `2 seed + 2`, so that a test never sees the
    validation examples of training. The model is compiled again (metrics
    only; a baseline also with its loss).

    Args:
        model: A model of `build_model` (trained), or one loaded from its
            `.keras` file.
        task_name: One of `TASKS`.
        examples: Sequences of each measurement (the paper does not say; 2,500).
        batch_size: Sequences per batch.
        seed: Selects the examples.
        jit_compile: Compile with XLA.
        task_args: Other arguments of the task, as the model was trained
            (`{"eta": 2}`, say); the model itself does not record them.

    Returns:
        `(test_error, generalization_error)`, percent of sequences with any
        wrong output bit.
    """
    if task_name not in TASKS:
        raise ValueError(f"Unknown HAM task {task_name!r}; allowed: {TASKS}")
    cells = [layer.cell for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    ham = [cell for cell in cells if isinstance(cell, HAMCell)]
    size = ham[0].memory_size if ham else model.get_layer("sequence").batch_shape[1]
    task = make_task(task_name, size, **(task_args or {}))
    loss = {} if ham else {"loss": task.compile_kwargs()["loss"]}
    model.compile(weighted_metrics=task.metrics(), jit_compile=jit_compile, **loss)
    test = sequence_error(model, task, "validation", examples, batch_size, seed=2 * seed + 1)
    # The same weights on a 4x bigger tree (the weights do not depend on it).
    leaves = (task.operations("generalization") if task_name in RAW_TASKS
              else task.leaves("generalization"))
    if ham:
        bigger = with_memory_size(model, leaves)
    else:  # a baseline: the same model for 4x more items
        kind = model.name.split("_ham_")[0]
        # The logits read h (lstm) or [s; c] with a bidirectional read (3 units).
        width = model.get_layer("logits").kernel.shape[0]
        units = width // (3 if kind == "lstm_attention" else 1)
        bigger = build_baseline_model(kind, task, units=units, num_leaves=leaves)
        bigger.set_weights(model.get_weights())
    bigger.compile(weighted_metrics=task.metrics(), jit_compile=jit_compile, **loss)
    generalization = sequence_error(bigger, task, "generalization", examples, batch_size,
                                    seed=2 * seed + 2)
    return test, generalization


class EpochValidation(keras.callbacks.Callback):
    """The validation error after every epoch, and the best epoch at the full size.

    Section 4.1 keeps the parameters of the epoch with the lowest validation
    error. After each epoch this measures `sequence_error` on `num_batches`
    fresh validation batches (drawn with seed `10,000 + epoch`) at the full
    tree size, also while the curriculum trains a smaller tree, and records
    it in `history`; only epochs whose curriculum (if any) is at the full
    size can be the best (`best`, `best_epoch`; a
    tie goes to the later epoch). Adds `validation_error` to the epoch's logs
    and, once there is a best, `best_validation_error`. Put it after the
    curriculum in `fit`'s callbacks (it measures the stage the curriculum
    leaves) and before any callback that reads those logs.

    Args:
        task: The task (its `"validation"` split).
        curriculum: The run's `keras_memory.reinforce.TreeCurriculum`, or `None`.
        num_batches: Batches of each measurement (the paper does not say; 20).
        batch_size: Sequences per batch.
    """

    def __init__(self, task, curriculum=None, num_batches=20, batch_size=50):
        super().__init__()
        self.task, self.curriculum = task, curriculum
        self.num_batches, self.batch_size = int(num_batches), int(batch_size)
        self.history = []
        self.best = self.best_epoch = None

    def full_size(self):
        """Whether the model trains at the full tree (no curriculum, or its last stage)."""
        return self.curriculum is None or self.curriculum.leaves == self.curriculum.full_leaves

    def on_epoch_end(self, epoch, logs=None):
        with (self.curriculum.at_full_size() if self.curriculum is not None
              else contextlib.nullcontext()):
            error = sequence_error(self.model, self.task, "validation",
                                   self.num_batches * self.batch_size, self.batch_size,
                                   seed=10_000 + epoch)
        full = self.full_size()
        self.history.append({"epoch": epoch + 1, "validation_error": error, "full_size": full})
        if full and (self.best is None or error <= self.best):
            self.best, self.best_epoch = error, epoch + 1
        if logs is not None:
            logs["validation_error"] = error
            if self.best is not None:
                logs["best_validation_error"] = self.best


def make_curriculum(cell, task, start_leaves, threshold, batch_size=50, seed=0, verbose=1):
    """The run's `TreeCurriculum` (section 4.2), or `None` when `start_leaves` is 0.

    The tree starts at `start_leaves` and doubles when the error on 10 fresh
    validation batches falls below `threshold` (a fraction).
    """
    if not start_leaves:
        return None
    return TreeCurriculum(cell, task, start_leaves=start_leaves, threshold=threshold,
                          batch_size=batch_size, seed=seed, verbose=verbose)


def train(model, task, *, epochs, batches=1000, batch_size=50, curriculum=None, seed=0,
          initial_epoch=0, validation=None, callbacks=(), on_epoch_end=None, verbose=0):
    """The paper's training: `epochs` epochs of `batches` batches of fresh examples.

    Epoch `e` draws its batches with seed `1000 seed + e + 1` (from the
    curriculum's current stage when there is one) and is one `model.fit`,
    so a run can stop after any epoch and go on from it (`initial_epoch`).
    The callbacks of each epoch are `TerminateOnNaN`, the curriculum, the
    validation (`EpochValidation`) and then `callbacks`.

    Args:
        model: A compiled model of `build_model`.
        task: Its task.
        epochs: The epoch to train up to (the paper: 100).
        batches: Batches per epoch (the paper: 1,000).
        batch_size: Sequences per batch (the paper: 50).
        curriculum: A `make_curriculum` result, or `None`.
        seed: Selects the training batches.
        initial_epoch: Epochs already trained.
        validation: An `EpochValidation` (default: a new one, 20 batches).
        callbacks: More Keras callbacks, given every epoch.
        on_epoch_end: Optional `f(epoch)` called after each epoch (e.g. to
            checkpoint); it may raise to stop.
        verbose: `fit`'s verbosity.

    Returns:
        The `EpochValidation`, whose `history`, `best` and `best_epoch` tell
        the run.

    Raises:
        FloatingPointError: A weight became NaN or infinite; the epoch's
            number is in the message.
    """
    if validation is None:
        validation = EpochValidation(task, curriculum, batch_size=batch_size)
    own = [keras.callbacks.TerminateOnNaN()] + ([curriculum] if curriculum else [])
    for epoch in range(initial_epoch, epochs):
        data = (curriculum or task).dataset(batch_size=batch_size, num_batches=batches,
                                            seed=seed * 1000 + epoch + 1)
        model.fit(data, initial_epoch=epoch, epochs=epoch + 1, verbose=verbose,
                  callbacks=own + [validation] + list(callbacks))
        if not all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights):
            raise FloatingPointError(f"Epoch {epoch + 1}: the loss or the weights are not "
                                     "finite.")
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    return validation
