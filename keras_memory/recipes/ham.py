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

import keras

from keras_memory import papers, tasks
from keras_memory.recipes.cells import make_cell

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
                units=None, hidden_size=20, seed=0, jit_compile=True):
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
        from keras_memory.reinforce import build_ham_model

        cell = make_cell(model, units=units or 20, memory_size=leaves, hidden_size=hidden_size,
                         controller=not raw, mlp_depth=mlp_depth, seed=seed)
        built = build_ham_model(cell, task, gamma=gamma, alpha=alpha, alpha_decay=alpha_decay,
                                alpha_decay_steps=batches)
        loss = {}
    else:
        if raw:
            raise ValueError(f"{model!r} is a Table 1 baseline: it takes a tree task, not "
                             f"{task.name!r}")
        from keras_memory.baselines import build_baseline_model

        cell = None
        built = build_baseline_model(model, task, units=units or 128)
        loss = {"loss": task.compile_kwargs()["loss"]}
    built.compile(optimizer, weighted_metrics=task.metrics(), jit_compile=jit_compile, **loss)
    return built, cell
