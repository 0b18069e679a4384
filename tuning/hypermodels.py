"""Keras Tuner hypermodels shaped like the papers' hyperparameter searches.

- `LieAccessHyperModel`: the seven models of Table 1(b) of Yang & Rush (2017),
  `lstm`, `ram`, `tape`, `lantm`, `lantm-s`, `slantm`, `slantm-s`, over the
  grid of their Table A.1 (`table_a1_space`), trained with the authors'
  protocol (as `examples/lantm_table1b.py` does) and scored with the paper's
  best-of-validation fine / coarse accuracy on 3,200 examples of twice the
  training length (`keras_memory.training.BestOfValidation`).
- `MemoryHyperModel`: `NTMCell` and `SAMCell` on any task, with a random
  search space (`memory_space`) and the generalization bit errors per
  sequence as the objective.
- `HAMHyperModel`: `HAMCell` (hard, trained by REINFORCE, or the soft DHAM)
  on the tasks of Andrychowicz & Kurach (2016), for a random search as the
  paper's (section 4.1; `ham_space`), trained with the paper's protocol and
  curriculum, scored by the validation sequence error at the full tree.

Every hyperparameter is an `hp.Choice` (or an `hp.Fixed` when a dimension has
a single value), so `keras_tuner.GridSearch` walks the exact grid. The seed
is a grid dimension, declared last (it varies fastest); `build` calls
`keras.utils.set_random_seed(seed)` after the tuner's `clear_session()` and
passes `seed=` to the cells and initializers.

Example:

```python
import sys; sys.path.insert(0, "tuning")
from hypermodels import LieAccessHyperModel, OBJECTIVE
from tuners import ResumableGridSearch

hypermodel = LieAccessHyperModel("lantm", "copy", "small", steps=10_000)
tuner = ResumableGridSearch(hypermodel, objective=OBJECTIVE,
                            directory="runs/tuning", project_name="lantm_copy_small")
tuner.search()
```
"""

import collections
import json
import math
import os
import time

import keras
import keras_tuner as kt
import numpy as np

from keras_memory import papers, tasks
from keras_memory.recipes import ham as ham_recipe
from keras_memory.recipes import lantm as lantm_recipe
from keras_memory.recipes import make_cell, memory_settings
from keras_memory.training import (
    TaskEvaluation,
    TrainingStream,
    default_optimizer,
    build_model,
    lie_access_optimizer,
)

#: The models of Table 1(b) (and of Table A.1).
LIE_ACCESS_MODELS = papers.TABLE_1B_MODELS
#: The tasks of Table 1(b), without the `lantm_` prefix.
LIE_ACCESS_TASKS = papers.TABLE_1B_TASKS
#: The cells searched at random (no published grid).
MEMORY_CELLS = ("ntm", "sam")
#: HAM with hard attention (REINFORCE) and the soft DHAM: random search (the paper's).
HAM_MODELS = ("ham", "dham")
#: The HAM tasks (the `keras_memory.tasks` names without `ham_`).
HAM_TASKS = ham_recipe.TASKS
ALL_MODELS = LIE_ACCESS_MODELS + MEMORY_CELLS + HAM_MODELS

#: Name of the objective every hypermodel's `fit` returns.
OBJECTIVE = "objective"
#: Weight of the fine accuracy in the Lie-access objective (see `lie_access_objective`).
FINE_WEIGHT = 1e-4

#: The paper's run length (`keras_memory.recipes.lantm.PAPER_STEPS`).
PAPER_STEPS = lantm_recipe.PAPER_STEPS

#: Task arguments of `--quick` searches: short sequences, small alphabets.
QUICK_TASK_ARGS = {
    "copy": {"alphabet_size": 8, "max_length": 4},
    "reverse": {"alphabet_size": 8, "max_length": 4},
    "bigram_flip": {"alphabet_size": 8, "max_length": 4},
    "odd_first": {"alphabet_size": 8, "max_length": 4},
    "double": {"max_digits": 3},
    "interleaved_add": {"max_digits": 3},
    "repeat_copy": {"alphabet_size": 8, "length": 3, "max_repeats": 2},
    "priority_sort": {"alphabet_size": 8, "max_items": 3},
    # The NTM tasks (for `ntm` and `sam`).
    "ntm:copy": {"num_bits": 4, "max_length": 4},
    "ntm:repeat_copy": {"num_bits": 4, "max_length": 3, "max_repeats": 2},
    "ntm:associative_recall": {"num_bits": 4, "item_length": 2, "max_items": 3},
    "ntm:priority_sort": {"num_bits": 4, "num_inputs": 4, "num_outputs": 3,
                          "generalization_num_inputs": 6, "generalization_num_outputs": 5},
    "ntm:dynamic_ngrams": {"sequence_length": 20, "generalization_sequence_length": 40},
}


# ---------------------------------------------------------------------------
# Search spaces.


def table_a1_space(model):
    """The grid of Table A.1 of Yang & Rush (2017) for one model, seeds 1-3 included.

    Returns an ordered dict `name -> list of values`, in declaration order
    (the last entry, `seed`, varies fastest in a grid search). Single values
    are fixed dimensions, listed so they show up in the results.

    - LANTM(-s): rnn 50, embed 14, decay delay {300, 600}, init {1, *},
      learning rate {1, 2, 4}e-2, key dim 2, seeds 1-3 (36 points). The
      translation is bounded by 1 (Appendix A: "We bound the norm of the
      LANTM head shifts by 1").
    - SLANTM(-s): the same with key dim 3 and the angle bound
      (`bound_action`) True or False (72 points).
    - RAM: the same with key dim (`key_size`) {2, 20} (72 points);
      RAM/Tape also `sharpen` {True, False} (144 points).
    - LSTM: 256 units, layers {1, 2, 3, 4}, embed 128, decay delay
      {500, 700}, init *, learning rate 2e-{1, 2, 3, 4} (96 points).

    `init`: `"1"` is the authors' `init_magnitude=1`, every parameter uniform
    in (-1, 1) and the LSTM forget bias 1 + 1
    (`keras_memory.training.torch_uniform_init`), `"*"` the Torch default
    (the package default).

    Args:
        model: One of `LIE_ACCESS_MODELS`.
    """
    if model not in LIE_ACCESS_MODELS:
        raise ValueError(f"Unknown model {model!r}; Table A.1 covers {LIE_ACCESS_MODELS}")
    space = collections.OrderedDict()
    if model == "lstm":
        space["units"] = [256]
        space["layers"] = [1, 2, 3, 4]
        space["embed"] = [128]
        space["decay_delay"] = [500, 700]
        space["init"] = ["*"]
        space["learning_rate"] = [2e-1, 2e-2, 2e-3, 2e-4]
    else:
        space["units"] = [50]
        space["embed"] = [14]
        space["decay_delay"] = [300, 600]
        space["init"] = ["1", "*"]
        space["learning_rate"] = [1e-2, 2e-2, 4e-2]
        if model in ("lantm", "lantm-s"):
            space["key_dim"] = [2]
        elif model in ("slantm", "slantm-s"):
            space["key_dim"] = [3]
            space["bound_action"] = [True, False]
        else:
            space["key_size"] = [2, 20]
            if model == "tape":
                space["sharpen"] = [True, False]
    space["seed"] = [1, 2, 3]
    return space


def quick_lie_access_space(model):
    """A tiny grid for `--quick`: two learning rates, seed 1, the rest at Table A.1's first value."""
    space = collections.OrderedDict(
        (name, values[:2] if name == "learning_rate" else values[:1])
        for name, values in table_a1_space(model).items()
    )
    return space


def memory_space(cell):
    """The random-search space of `NTMCell` (`"ntm"`) or `SAMCell` (`"sam"`).

    No paper publishes a grid for these; the ranges bracket the package's
    defaults and Collier & Beel's NTM recipe (Adam 1e-3, 100 units, 128 x 20
    memory).
    """
    space = collections.OrderedDict()
    space["learning_rate"] = [3e-4, 1e-3, 3e-3]
    space["units"] = [100, 200]
    if cell == "ntm":
        space["memory_size"] = [64, 128]
        space["word_size"] = [20, 32]
        space["num_read_heads"] = [1, 2]
    elif cell == "sam":
        space["memory_size"] = [128, 1024]
        space["word_size"] = [20, 32]
        space["num_heads"] = [1, 2, 4]
        space["k"] = [4, 8]
    else:
        raise ValueError(f"Unknown cell {cell!r}; allowed: {MEMORY_CELLS}")
    space["seed"] = [1, 2, 3]
    return space


def quick_memory_space(cell):
    """A tiny space for `--quick`: two learning rates, small cells, seed 1."""
    space = collections.OrderedDict()
    space["learning_rate"] = [1e-3, 3e-3]
    space["units"] = [16]
    space["memory_size"] = [16]
    space["word_size"] = [8]
    if cell == "ntm":
        space["num_read_heads"] = [1]
    elif cell == "sam":
        space["num_heads"] = [1]
        space["k"] = [2]
    else:
        raise ValueError(f"Unknown cell {cell!r}; allowed: {MEMORY_CELLS}")
    space["seed"] = [1]
    return space


def ham_space(model, task):
    """The random-search space of HAM (Andrychowicz & Kurach, 2016, section 4.1).

    The paper searches at random and publishes only that the MLP depth is 1
    or 2 and `eta` (steps per output) 1 or 2, with `l = d = 20`. The other
    ranges are our choice, not the paper's:
    learning rate log-spaced in [1e-4, 1e-2] with a per-epoch decay in
    [0.9, 1]; REINFORCE's discount `gamma` and the exploration weight
    `alpha` (decaying per epoch); the curriculum threshold 1-5%. Discrete
    values, so that `--fix` and the reports work as for the grids.
    """
    if model not in HAM_MODELS:
        raise ValueError(f"Unknown model {model!r}; allowed: {HAM_MODELS}")
    space = collections.OrderedDict()
    space["learning_rate"] = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
    space["learning_rate_decay"] = [0.9, 0.95, 0.98, 1.0]
    space["mlp_depth"] = [1, 2]
    if task not in papers.HAM_RAW_TASKS:
        space["eta"] = [1, 2]
    if model == "ham":
        space["gamma"] = [0.5, 0.8, 0.9, 0.95, 1.0]
        space["alpha"] = [1e-4, 1e-3, 1e-2, 1e-1]
        space["alpha_decay"] = [0.9, 0.95, 0.99]
    space["curriculum_threshold"] = [0.01, 0.02, 0.05]
    space["seed"] = [1, 2, 3]
    return space


def quick_ham_space(model, task):
    """A tiny space for `--quick`: two learning rates, one value of the rest, seed 1."""
    space = collections.OrderedDict(
        (name, values[2:4] if name == "learning_rate" else values[-1:] if name == "seed"
         else values[:1])
        for name, values in ham_space(model, task).items())
    space["seed"] = [1]
    return space


def grid_size(space):
    """Number of points of a grid `name -> values`."""
    return math.prod(len(values) for values in space.values())


def restrict_space(space, fixed):
    """`space` with some dimensions replaced, e.g. `{"seed": [1]}`.

    Values are cast to the type of the dimension's values (`"1"` stays a
    string for `init`, `"false"`/`"False"` becomes `False` for booleans).

    Raises:
        ValueError: For a name that is not in the space.
    """
    space = collections.OrderedDict(space)
    for name, values in (fixed or {}).items():
        if name not in space:
            raise ValueError(f"Unknown hyperparameter {name!r}; the space has {list(space)}")
        kind = type(space[name][0])
        space[name] = [_cast(value, kind) for value in values]
    return space


def _cast(value, kind):
    if kind is bool:
        if isinstance(value, str):
            if value.lower() in ("true", "1", "yes"):
                return True
            if value.lower() in ("false", "0", "no"):
                return False
            raise ValueError(f"Not a boolean: {value!r}")
        return bool(value)
    return kind(value)


def declare_space(hp, space):
    """Declare `space` on `hp` (`Choice`, or `Fixed` for one value) and return the values."""
    values = {}
    for name, choices in space.items():
        if len(choices) == 1:
            values[name] = hp.Fixed(name, choices[0])
        else:
            values[name] = hp.Choice(name, list(choices))
    return values


def lie_access_objective(fine, coarse):
    """The single value the Lie-access search maximises: `coarse + FINE_WEIGHT * fine`.

    `fine` and `coarse` in percent. Coarse first, fine to break ties: the
    order is lexicographic as long as the test set has fewer than 10,000
    sequences (a coarse accuracy then moves in steps of more than 0.01%, the
    largest fine term), e.g. the paper's 3,200.
    """
    return float(coarse) + FINE_WEIGHT * float(fine)


def task_args_for(model, task, quick=False, task_args=None):
    """Task constructor arguments: the quick ones (with `quick`), then `task_args`."""
    kwargs = {}
    if quick and model not in HAM_MODELS:  # HAM: the quick tree size does it
        key = task if model in LIE_ACCESS_MODELS else f"ntm:{task}"
        kwargs.update(QUICK_TASK_ARGS.get(key, {}))
    kwargs.update(task_args or {})
    return kwargs


class _ReportObjective(keras.callbacks.Callback):
    """Puts the running best fine / coarse / objective into the epoch logs.

    So the tuner's `SaveBestEpoch` keeps the weights of the best epoch.
    Must come before the tuner's callbacks.
    """

    def __init__(self, validation):
        super().__init__()
        self.validation = validation

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self.validation.best_fine is None:
            return
        fine = 100.0 * self.validation.best_fine
        coarse = 100.0 * self.validation.best_coarse
        logs.update({"fine": fine, "coarse": coarse, OBJECTIVE: lie_access_objective(fine, coarse)})


def _log_fit(path, event, hp, **extra):
    """Append one JSON line to `path` (a log of every `fit` start and end, for tests and audits)."""
    if not path:
        return
    record = {"event": event, "pid": os.getpid(), "time": time.time(),
              "tuner_id": os.environ.get("KERASTUNER_TUNER_ID", "tuner0"),
              "values": dict(hp.values)}
    record.update(extra)
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


# ---------------------------------------------------------------------------
# The Lie-access paper's models.


class LieAccessHyperModel(kt.HyperModel):
    """One model of Table 1(b) on one task and regime, over the grid of Table A.1.

    The tasks, the model, the data and the checks are the recipe's
    (`keras_memory.recipes.lantm`), as in `examples/lantm_table1b.py`.
    `build(hp)` makes the model (`recipes.lantm.build_model`; the LSTM with the
    authors' initialisation, `init="1"` as `init="all"` in float64) and
    compiles it with the authors' RMSProp (`lie_access_optimizer(learning_rate,
    delay)`, where the Table A.1 delay is scaled to `steps`, see
    `recipes.lantm.scaled_decay_delay`).

    `fit(hp, model, ...)` trains for `steps` steps of `batch_size` in the
    small regime (500 fixed batches cycled) or the large one (a fresh batch
    every step), checks the fine / coarse accuracy on the fixed 2x test set
    10 times in the second half (every `steps // 20` steps after
    `steps // 2`), and returns `{"objective", "fine", "coarse", "seconds",
    ...}`: the best fine and the best coarse (in percent) over the checks,
    each maximised on its own as the authors' `captureresults` does, and
    `objective = coarse + 1e-4 * fine` (`lie_access_objective`; maximise).

    Args:
        model: One of `LIE_ACCESS_MODELS`.
        task: One of `LIE_ACCESS_TASKS` (`"copy"`, ...).
        regime: `"small"` or `"large"`.
        steps: Optimizer steps per trial (the paper: 10,000). Rounded up to
            whole epochs of at most 500 steps.
        space: Optional search space `name -> values` replacing
            `table_a1_space(model)` (e.g. `quick_lie_access_space(model)`).
        task_args: Optional dict of task constructor arguments.
        test_batches: Batches of `batch_size` in the 2x test set (the paper: 100).
        batch_size: Defaults to `32`.
        jit_compile: Compile the train step with XLA. Defaults to `True`.
        verbose: Keras `fit` verbosity. Defaults to `0`.
        fit_log: Optional path; every `fit` appends a JSON line when it starts
            and when it ends.
        name: Optional name of the hypermodel.
    """

    def __init__(self, model="lantm", task="copy", regime="small", steps=PAPER_STEPS, space=None,
                 task_args=None, test_batches=100, batch_size=32, jit_compile=True, verbose=0,
                 fit_log=None, name=None):
        if model not in LIE_ACCESS_MODELS:
            raise ValueError(f"Unknown model {model!r}; allowed: {LIE_ACCESS_MODELS}")
        if task not in LIE_ACCESS_TASKS:
            raise ValueError(f"Unknown task {task!r}; allowed: {LIE_ACCESS_TASKS}")
        if regime not in ("small", "large"):
            raise ValueError(f"Unknown regime {regime!r}; allowed: ('small', 'large')")
        super().__init__(name=name or f"{model}_{task}_{regime}", tunable=True)
        self.model = model
        self.task_name = task
        self.regime = regime
        self.steps = int(steps)
        self.space = collections.OrderedDict(space or table_a1_space(model))
        self.task_args = dict(task_args or {})
        self.test_batches = int(test_batches)
        self.batch_size = int(batch_size)
        self.jit_compile = jit_compile
        self.verbose = verbose
        self.fit_log = fit_log
        # The same tasks for every trial.
        self.task, self.test_task = lantm_recipe.make_tasks(task, **self.task_args)

    # The epochs of a trial: at most 500 steps each, `steps` rounded up.
    @property
    def epochs(self):
        return lantm_recipe.epochs_of(self.steps)[0]

    @property
    def steps_per_epoch(self):
        return lantm_recipe.epochs_of(self.steps)[1]

    def declare_hyperparameters(self, hp):
        declare_space(hp, self.space)

    def build(self, hp):
        values = declare_space(hp, self.space)
        seed = int(values["seed"])
        keras.utils.set_random_seed(seed)
        model = self.build_model(values)
        delay = lantm_recipe.scaled_decay_delay(values["decay_delay"], self.steps)
        model.compile(lie_access_optimizer(values["learning_rate"], delay),
                      jit_compile=self.jit_compile, **self.task.compile_kwargs())
        return model

    def build_model(self, values):
        """The uncompiled model for hyperparameter values `values` (a dict).

        With `init` "1" (every weight uniform in (-1, 1)) the model computes in
        float64, as the authors' CPU runs did and as the example does: float32
        gradients overflow from that start.
        """
        uniform = values.get("init") == "1"
        extra = {}
        if self.model in ("ram", "tape"):
            extra = dict(key_size=values["key_size"], sharpen=values.get("sharpen", False))
        elif self.model != "lstm":
            extra = dict(bound_action=values.get("bound_action", "auto"))
        model = lantm_recipe.build_model(
            self.model, self.task_name, self.task, regime=self.regime, seed=int(values["seed"]),
            init="all" if uniform else "default", lstm_layers=values.get("layers"),
            units=values["units"], embedding_size=values["embed"],
            dtype="float64" if uniform else None, **extra)
        if self.model in lantm_recipe.LIE_ACCESS and "key_dim" in values:
            key_size = model.get_layer("memory_rnn").cell.key_size
            if key_size != values["key_dim"]:
                raise ValueError(f"{self.model} has key dim {key_size}, not {values['key_dim']}")
        return model

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        seed = int(hp.get("seed"))
        _log_fit(self.fit_log, "start", hp)
        batches, epochs = lantm_recipe.training_batches(self.task, self.regime, self.steps,
                                                        self.batch_size, seed)
        total_steps = batches.steps_per_epoch * epochs
        validation = lantm_recipe.validation(self.test_task, self.steps, self.test_batches,
                                             self.batch_size, verbose=self.verbose > 0)
        start = time.perf_counter()
        model.fit(batches, epochs=epochs, verbose=self.verbose,
                  callbacks=[batches.epoch_callback(), validation, _ReportObjective(validation),
                             keras.callbacks.TerminateOnNaN()] + list(callbacks or []))
        if not validation.history:  # Fewer steps than checks: check once at the end.
            validation.check()
        seconds = time.perf_counter() - start
        fine = 100.0 * validation.best_fine
        coarse = 100.0 * validation.best_coarse
        results = {
            OBJECTIVE: lie_access_objective(fine, coarse),
            "fine": fine,
            "coarse": coarse,
            "last_fine": 100.0 * validation.history[-1]["fine"],
            "last_coarse": 100.0 * validation.history[-1]["coarse"],
            "seconds": seconds,
            "steps": float(total_steps),
            "decay_delay_used": float(lantm_recipe.scaled_decay_delay(hp.get("decay_delay"),
                                                                      self.steps)),
            "checks": float(len(validation.history)),
            "parameters": float(model.count_params()),
        }
        _log_fit(self.fit_log, "end", hp, **{k: results[k] for k in (OBJECTIVE, "fine", "coarse")})
        return results

    def paper_result(self):
        """The paper's `(fine, coarse)` in Table 1(b) for this model, task and regime."""
        return papers.table_1b(self.model, self.task_name, self.regime)


# ---------------------------------------------------------------------------
# NTM and SAM.

#: Objective of `MemoryHyperModel` (minimise).
MEMORY_OBJECTIVE = "generalization_bit_errors"


class MemoryHyperModel(kt.HyperModel):
    """`NTMCell` or `SAMCell` on a task, for a random search.

    `build(hp)` makes `keras_memory.training.build_model(cell, task)` and
    compiles it with `default_optimizer(learning_rate)` (Adam, global norm
    clip 1). `fit` trains on fresh batches (`TrainingStream`) for `steps`
    steps, evaluating the validation and generalization splits every
    `eval_every` steps on `eval_batches` batches (`TaskEvaluation`), and
    returns `{"objective", "generalization_bit_errors", ...}`: the
    generalization bit errors per sequence at the check with the fewest
    validation bit errors (model selection on validation, as `train.py`'s
    `best.keras`). `objective` is the same number; minimise it.

    Args:
        cell: `"ntm"` or `"sam"`.
        task: A `keras_memory.tasks` name, e.g. `"copy"`.
        steps: Training steps per trial.
        space: Optional space replacing `memory_space(cell)`.
        task_args: Optional dict of task constructor arguments.
        eval_every: Steps between evaluations. Defaults to `steps // 10`.
        eval_batches: Batches per evaluation and split. Defaults to `10`.
        batch_size, jit_compile, verbose, fit_log, name: As in
            `LieAccessHyperModel`.
    """

    def __init__(self, cell="ntm", task="copy", steps=10_000, space=None, task_args=None,
                 eval_every=None, eval_batches=10, batch_size=32, jit_compile=True, verbose=0,
                 fit_log=None, name=None):
        if cell not in MEMORY_CELLS:
            raise ValueError(f"Unknown cell {cell!r}; allowed: {MEMORY_CELLS}")
        super().__init__(name=name or f"{cell}_{task}", tunable=True)
        self.cell = cell
        self.task_name = task
        self.steps = int(steps)
        self.space = collections.OrderedDict(space or memory_space(cell))
        self.task_args = dict(task_args or {})
        self.task = tasks.get(task, **self.task_args)
        self.eval_every = int(eval_every or max(1, self.steps // 10))
        self.eval_batches = int(eval_batches)
        self.batch_size = int(batch_size)
        self.jit_compile = jit_compile
        self.verbose = verbose
        self.fit_log = fit_log

    def declare_hyperparameters(self, hp):
        declare_space(hp, self.space)

    def make_cell(self, values):
        if self.cell == "ntm":
            heads = dict(num_read_heads=values.get("num_read_heads", 1))
        else:
            heads = dict(num_heads=values.get("num_heads", 4),
                         k=min(values.get("k", 4), values["memory_size"]))
        return make_cell(self.cell, units=values["units"], seed=int(values["seed"]),
                         **memory_settings(self.cell, values["memory_size"], values["word_size"]),
                         **heads)

    def build(self, hp):
        values = declare_space(hp, self.space)
        keras.utils.set_random_seed(int(values["seed"]))
        model = build_model(self.make_cell(values), self.task)
        model.compile(optimizer=default_optimizer(values["learning_rate"]),
                      jit_compile=self.jit_compile, **self.task.compile_kwargs())
        return model

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        _log_fit(self.fit_log, "start", hp)
        epochs = max(1, self.steps // self.eval_every)
        stream = TrainingStream(self.task, self.batch_size, self.eval_every, seed=int(hp.get("seed")))
        evaluation = TaskEvaluation(self.task, self.batch_size, every=self.eval_every,
                                    splits=("validation", "generalization"),
                                    num_batches=self.eval_batches)
        start = time.perf_counter()
        model.fit(stream, epochs=epochs, verbose=self.verbose,
                  callbacks=[stream.epoch_callback(), evaluation] + list(callbacks or []))
        if not evaluation.history:
            evaluation.evaluate_now()
        seconds = time.perf_counter() - start
        history = evaluation.history
        validation = np.array([r["validation_bit_errors_per_sequence"] for r in history], float)
        validation = np.where(np.isnan(validation), np.inf, validation)
        best = history[int(np.argmin(validation))]
        generalization = best["generalization_bit_errors_per_sequence"]
        results = {
            OBJECTIVE: float(generalization),
            MEMORY_OBJECTIVE: float(generalization),
            "validation_bit_errors": float(best["validation_bit_errors_per_sequence"]),
            "final_generalization_bit_errors": float(
                history[-1]["generalization_bit_errors_per_sequence"]),
            "best_sequences": float(best["sequences"]),
            "seconds": seconds,
            "steps": float(epochs * self.eval_every),
            "parameters": float(model.count_params()),
        }
        _log_fit(self.fit_log, "end", hp, **{OBJECTIVE: results[OBJECTIVE]})
        return results


# ---------------------------------------------------------------------------
# HAM (Andrychowicz & Kurach, 2016).

#: Name of the HAM objective: validation sequence error (%) at the full tree, best epoch.
HAM_OBJECTIVE = "validation_sequence_error"


class _HAMObjective(keras.callbacks.Callback):
    """Puts the best validation error so far into the epoch's logs as `objective`.

    So the tuner's `SaveBestEpoch` keeps the weights of the best epoch at the
    full tree (the paper keeps the parameters of the epoch with the lowest
    validation error). Before the tree reaches the full size there is no
    objective in the logs, and `SaveBestEpoch` keeps the last epoch's weights.
    """

    def __init__(self, validation):
        super().__init__()
        self.validation = validation

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.validation.best is not None:
            logs.update({HAM_OBJECTIVE: self.validation.history[-1]["validation_error"],
                         OBJECTIVE: self.validation.best})


class HAMHyperModel(kt.HyperModel):
    """`HAMCell` on a task of Andrychowicz & Kurach (2016), for a random search.

    `build(hp)` makes `keras_memory.reinforce.build_ham_model` around
    `HAMCell(units=20, memory_size=leaves, hidden_size=20)` (raw HAM,
    `controller=False`, for the data-structure tasks; `attention="soft"`
    for `"dham"`) with the trial's `mlp_depth`, `gamma`, `alpha` (decaying
    by `alpha_decay` per epoch) and `eta`, compiled with Adam whose learning
    rate decays by `learning_rate_decay` per epoch, gradients clipped to norm
    5 (section 4.1). `fit` trains `epochs` epochs of `batches` batches of
    `batch_size` fresh examples with the curriculum
    (`keras_memory.reinforce.TreeCurriculum` from `curriculum_start` leaves,
    threshold `curriculum_threshold`; `curriculum_start=0` trains at the
    full size) and measures, after each epoch, the share of
    `validation_batches` fresh validation batches with any wrong bit
    (greedy decisions): the training loop of `keras_memory.recipes.ham.train`,
    the one `examples/ham_tables.py` runs, with the same batches for the same
    seed. It returns `{"objective", "validation_sequence_error",
    ...}`: the lowest such error (%), to minimise; 100 when the curriculum
    never reached the full tree.

    Args:
        model: `"ham"` or `"dham"`.
        task: A HAM task name without `ham_` (`"reverse"`, ..., `"stack"`).
        epochs: Epochs per trial (the paper: 100).
        batches: Batches per epoch (the paper: 1,000).
        batch_size: The paper's 50.
        leaves: The full tree (the paper: 32).
        curriculum_start: Leaves of the first curriculum stage (0: none).
        validation_batches: Batches of each validation measurement.
        space: Optional space replacing `ham_space(model, task)`.
        task_args: Optional dict of task constructor arguments.
        jit_compile, verbose, fit_log, name: As in `LieAccessHyperModel`.
    """

    def __init__(self, model="ham", task="reverse", epochs=100, batches=1000, batch_size=50,
                 leaves=32, curriculum_start=2, validation_batches=20, space=None,
                 task_args=None, jit_compile=True, verbose=0, fit_log=None, name=None):
        if model not in HAM_MODELS:
            raise ValueError(f"Unknown model {model!r}; allowed: {HAM_MODELS}")
        if task not in HAM_TASKS:
            raise ValueError(f"Unknown HAM task {task!r}; allowed: {HAM_TASKS}")
        super().__init__(name=name or f"{model}_{task}", tunable=True)
        self.model_name, self.task_name = model, task
        self.raw = task in papers.HAM_RAW_TASKS
        self.epochs, self.batches, self.batch_size = int(epochs), int(batches), int(batch_size)
        self.leaves = int(leaves)
        self.curriculum_start = int(curriculum_start)
        self.validation_batches = int(validation_batches)
        self.space = collections.OrderedDict(space or ham_space(model, task))
        self.task_args = dict(task_args or {})
        self.jit_compile, self.verbose, self.fit_log = jit_compile, verbose, fit_log
        self._built = None

    def declare_hyperparameters(self, hp):
        declare_space(hp, self.space)

    def make_task(self, values):
        kwargs = dict(self.task_args)
        if not self.raw and "eta" in values:
            kwargs.setdefault("eta", int(values["eta"]))
        return ham_recipe.make_task(self.task_name, self.leaves, **kwargs)

    def build(self, hp):
        values = declare_space(hp, self.space)
        seed = int(values["seed"])
        keras.utils.set_random_seed(seed)
        task = self.make_task(values)
        reinforce = {}
        if self.model_name == "ham":
            reinforce = dict(gamma=float(values["gamma"]), alpha=float(values["alpha"]),
                             alpha_decay=float(values["alpha_decay"]))
        model, cell = ham_recipe.build_model(
            self.model_name, task, self.leaves, learning_rate=float(values["learning_rate"]),
            learning_rate_decay=float(values["learning_rate_decay"]), batches=self.batches,
            mlp_depth=int(values["mlp_depth"]), seed=seed, jit_compile=self.jit_compile,
            **reinforce)
        self._built = (model, cell, task)
        return model

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        _log_fit(self.fit_log, "start", hp)
        built_model, cell, task = self._built
        if built_model is not model:
            raise RuntimeError("HAMHyperModel.fit: the model is not the one build() made")
        seed = int(hp.get("seed"))
        curriculum = None
        if 0 < self.curriculum_start < self.leaves:
            curriculum = ham_recipe.make_curriculum(
                cell, task, self.curriculum_start, float(hp.get("curriculum_threshold")),
                batch_size=self.batch_size, seed=seed, verbose=0)
        validation = ham_recipe.EpochValidation(task, curriculum, self.validation_batches,
                                                self.batch_size)
        start = time.perf_counter()
        ham_recipe.train(model, task, epochs=self.epochs, batches=self.batches,
                         batch_size=self.batch_size, curriculum=curriculum, seed=seed,
                         validation=validation,
                         callbacks=[_HAMObjective(validation)] + list(callbacks or []),
                         verbose=self.verbose)
        seconds = time.perf_counter() - start
        best = 100.0 if validation.best is None else float(validation.best)
        full = [h["validation_error"] for h in validation.history if h["full_size"]]
        results = {
            OBJECTIVE: best,
            HAM_OBJECTIVE: best,
            "final_validation_error": full[-1] if full else 100.0,
            "full_size_epochs": float(len(full)),
            "curriculum_final_leaves": float(curriculum.leaves if curriculum else self.leaves),
            "seconds": seconds,
            "steps": float(self.epochs * self.batches),
            "parameters": float(model.count_params()),
        }
        _log_fit(self.fit_log, "end", hp, **{OBJECTIVE: best})
        return results
