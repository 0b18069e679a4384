"""The reproduction recipe of Yang & Rush (2017), "Lie-Access Neural Turing
Machines", Table 1(b): its tasks, its seven models and their training protocol
(the authors' `train.lua` and `fb.lua`).

`examples/lantm_table1b.py` (one run, printed next to the paper's number) and
`tuning/hypermodels.py`'s `LieAccessHyperModel` (the grid of Table A.1) build
their tasks, models, data and checks here; the published numbers and the
authors' grid-selected configurations are `keras_memory.papers.table_1b` and
`TABLE_1B_CONFIGS`.

    task, test_task = keras_memory.recipes.lantm.make_tasks("copy")
    model = keras_memory.recipes.lantm.build_model("slantm", "copy", task, seed=1)
"""

import math

import keras
import numpy as np

from keras_memory import papers, tasks
from keras_memory.initializers import (
    clone_initializer,
    offset_seed,
    set_forget_bias,
    torch_default_initializer,
)

#: The models of Table 1(b): the LSTM, RAM, RAM/Tape, LANTM(-s), SLANTM(-s).
MODELS = papers.TABLE_1B_MODELS
#: The tasks, `keras_memory.tasks` names without `lantm_`.
TASKS = papers.TABLE_1B_TASKS
#: The models with a Lie-access memory (`LANTMCell`).
LIE_ACCESS = ("lantm", "lantm-s", "slantm", "slantm-s")
#: LSTM baseline layers per task (small, large) in the authors' `xopts`.
LSTM_LAYERS = {
    "copy": (2, 2), "reverse": (2, 2), "bigram_flip": (3, 2), "double": (2, 2),
    "interleaved_add": (3, 3), "odd_first": (2, 2), "repeat_copy": (2, 3),
    "priority_sort": (2, 1),
}
#: The paper's run length (`max_iter = 1000` iters of 10 steps); the decay
#: delays are in iters of such a run.
PAPER_STEPS = 10_000
#: Batches per Keras epoch (the authors reset the small regime's data every 500 batches).
STEPS_PER_EPOCH = 500
#: The small regime: 500 batches of 32 (16,000 examples), cycled.
SMALL_REGIME_BATCHES = 500
#: `(task, regime)` pairs whose grid-selected SLANTM bounds its rotation angle.
SLANTM_BOUNDED = {(task, regime) for (model, task, regime), config
                  in papers.TABLE_1B_CONFIGS.items() if model == "slantm" and config["bound_act"]}


def make_tasks(name, **task_args):
    """The training task and the test task of `lantm_<name>`.

    The training batches pad each sequence length to a multiple of 8 (the
    authors' files group lengths so); the test set of twice the training
    length does not pad.

    Args:
        name: One of `TASKS`.
        **task_args: Task constructor arguments (e.g. `max_length`).

    Returns:
        `(task, test_task)`.
    """
    if name not in TASKS:
        raise ValueError(f"Unknown Table 1(b) task {name!r}; allowed: {TASKS}")
    return (tasks.get(f"lantm_{name}", pad_multiple=8, **task_args),
            tasks.get(f"lantm_{name}", pad_multiple=None, **task_args))


def scaled_decay_delay(decay_delay, steps):
    """A decay delay of a `PAPER_STEPS` run scaled to `steps` (the same share, kept even)."""
    if steps == PAPER_STEPS:
        return int(decay_delay)
    return int(round(decay_delay * steps / PAPER_STEPS / 2)) * 2


def schedule(model, steps, learning_rate=None, decay_delay=None):
    """`(learning_rate, decay_delay)` of a run: the ones given, else the defaults.

    The defaults are 0.01 and 300 iters (the LSTM: 0.002 and 700), the delay
    scaled to `steps` (`scaled_decay_delay`); a given delay is used as is.
    """
    if learning_rate is None:
        learning_rate = 0.002 if model == "lstm" else 0.01
    if decay_delay is None:
        decay_delay = scaled_decay_delay(700 if model == "lstm" else 300, steps)
    return learning_rate, int(decay_delay)


def epochs_of(steps):
    """`(epochs, steps_per_epoch)`: at most `STEPS_PER_EPOCH` steps an epoch, `steps` rounded up."""
    epochs = max(1, math.ceil(steps / STEPS_PER_EPOCH))
    return epochs, math.ceil(steps / epochs)


def training_batches(task, regime, steps, batch_size=32, seed=1):
    """The training data of a run: `(batches, epochs)`.

    The small regime cycles 500 batches (16,000 examples at 32), the large
    one draws fresh batches for every step; `batches` is a
    `keras_memory.training.CyclingBatches` of `epochs_of(steps)` epochs (train
    with its `epoch_callback()`).
    """
    from keras_memory.training import CyclingBatches

    if regime not in ("small", "large"):
        raise ValueError(f"Unknown regime {regime!r}; allowed: ('small', 'large')")
    epochs, per_epoch = epochs_of(steps)
    num_batches = SMALL_REGIME_BATCHES if regime == "small" else epochs * per_epoch
    data = task.dataset(batch_size=batch_size, num_batches=num_batches, seed=seed)
    return CyclingBatches(data, per_epoch), epochs


def validation(test_task, steps, test_batches=100, batch_size=32, verbose=False):
    """The paper's checks: 10 in the second half of the run (every `steps / 20` steps).

    A `keras_memory.training.BestOfValidation` on `test_batches` batches of the
    test task, which keeps the best fine and coarse accuracy.
    """
    from keras_memory.training import BestOfValidation

    return BestOfValidation(test_task, every=max(1, steps // 20), start=steps // 2,
                            num_batches=test_batches, batch_size=batch_size, verbose=verbose)


def authors_bound_action(model, task, regime):
    """`bound_action` of the authors' grid-selected configuration.

    The LANTMs bound the translation everywhere; SLANTM bounds its angle only
    on some tasks; elsewhere (SLANTM-s) `None`, the cell's default.
    """
    if model in ("lantm", "lantm-s"):
        return True
    if model == "slantm":
        return (task, regime) in SLANTM_BOUNDED
    return None


def authors_lstm(symbols, layers, seed, kernel_initializer=None, forget_bias=None, units=256,
                 embedding_size=128):
    """The authors' LSTM baseline (`models/lstm.lua`, `train.lua`) on one-hot `symbols`.

    An `nn.LookupTable` embedding (Torch's default N(0, 1)); `layers` LSTMs of
    `units` whose input-to-gates and hidden-to-gates maps are Torch
    `nn.Linear`s with their default init, uniform in `+-1/sqrt(fan_in)`, and
    no forget bias (`LSTMGatesX:reset` gets none outside `--init-magnitude`);
    Keras' `LSTMCell` has one bias for the two maps, so it gets their sum.
    Every layer's `h` and `c` start from learned vectors drawn in (-1, 1)
    (`learnable_init_states`, an `nn.Linear(1, n)` bias), `LearnedInitialState`.

    Args:
        symbols: One-hot symbols `(batch, time, vocabulary)`.
        layers: Number of stacked LSTMs.
        seed: Seed of the initializers (`None`: fresh draws).
        kernel_initializer: Replaces the input kernels' Torch init
            (`init="kernels"`); each layer gets its own copy.
        forget_bias: If given, the forget gates' bias (`init="kernels"`).
        units: LSTM size (the authors: 256).
        embedding_size: Embedding size (the authors: 128).

    Returns:
        The top layer's outputs `(batch, time, units)`.
    """
    from keras_memory.layers import LearnedInitialState
    from keras_memory.recipes.cells import make_cell

    embedded = keras.layers.Dense(
        embedding_size, use_bias=False, name="embedding",
        kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=seed))(symbols)
    cells = [make_cell(
        "lstm", units=units, unit_forget_bias=False,
        kernel_initializer=clone_initializer(kernel_initializer, 10 * i + 3) if kernel_initializer
        else torch_default_initializer(offset_seed(seed, 10 * i + 1)),
        recurrent_initializer=torch_default_initializer(offset_seed(seed, 10 * i + 2)))
        for i in range(layers)]
    states = LearnedInitialState([units] * (2 * layers), seed=offset_seed(seed, 40),
                                 name="initial_state")(symbols)
    sequence = keras.layers.RNN(keras.layers.StackedRNNCells(cells), return_sequences=True,
                                name="memory_rnn")(
        embedded, initial_state=[states[2 * i: 2 * i + 2] for i in range(layers)])
    # The bias of the two Torch maps: U(+-1/sqrt(fan_in)) + U(+-1/sqrt(units)).
    rng = np.random.default_rng(offset_seed(seed, 30))
    for cell, fan_in in zip(cells, [embedding_size] + [units] * (layers - 1)):
        bound_x, bound_h = 1 / np.sqrt(fan_in), 1 / np.sqrt(units)
        bias = (rng.uniform(-bound_x, bound_x, cell.bias.shape)
                + rng.uniform(-bound_h, bound_h, cell.bias.shape))
        set_forget_bias(cell, forget_bias, bias)  # forget_bias=None keeps the drawn one.
    return sequence


def build_model(model, task_name, task, *, regime="small", seed=1, init="default",
                lstm_init="torch", lstm_layers=None, units=None, embedding_size=None,
                key_size=None, sharpen=False, bound_action="auto", project_initial_key=False,
                dtype=None):
    """The uncompiled model of Table 1(b): inputs `(B, T, vocab + 1)` to logits.

    The memory models are `MemoryRNN(cell)` with a controller of `units`
    (the paper: 50), an embedding of 14, words of 20, a memory for the
    longest test sequence, and the write flag as input; the LSTM is
    `authors_lstm` (or, with `lstm_init="keras"`, Keras' `LSTMCell`
    defaults with a forget bias of 1 and zero initial states) on the symbols
    without the write flag. A `Dense` readout gives the logits.

    Args:
        model: One of `MODELS`.
        task_name: One of `TASKS` (the LSTM's layers and the RAM's key size
            depend on it).
        task: The training task (`make_tasks`).
        regime: `"small"` or `"large"` (the LSTM's layers depend on it).
        seed: Seed of every initializer.
        init: `"default"` (Torch's defaults, as the authors' `*`), `"all"`
            (the authors' `init_magnitude=1`: every parameter uniform in
            (-1, 1), the LSTM forget bias 1 + 1), or `"kernels"` (only the
            controller's and heads' kernels uniform in (-1, 1), forget bias 2).
        lstm_init: The LSTM's initialisation, `"torch"` (the authors') or
            `"keras"`.
        lstm_layers: The LSTM's layers (default: `LSTM_LAYERS`).
        units: Controller size (default 50; the LSTM 256).
        embedding_size: Default 14 (the LSTM 128).
        key_size: RAM and RAM/Tape key size (default 20; 2 on repeat copy).
        sharpen: RAM weight sharpening.
        bound_action: LANTM translation / SLANTM angle bound; `"auto"` takes
            the authors' grid-selected value (`authors_bound_action`).
        project_initial_key: SLANTM: project the initial slot's key onto the sphere.
        dtype: The model's dtype policy (`"float64"` for the authors' double
            precision; default: the global policy).

    Returns:
        A `keras.Model`.
    """
    from keras_memory.training import dtype_policy

    if model not in MODELS:
        raise ValueError(f"Unknown Table 1(b) model {model!r}; allowed: {MODELS}")
    if init not in ("default", "all", "kernels"):
        raise ValueError(f"init must be 'default', 'all' or 'kernels'. Received: init={init!r}")
    if lstm_init not in ("torch", "keras"):
        raise ValueError(f"lstm_init must be 'torch' or 'keras'. Received: {lstm_init!r}")
    with dtype_policy(dtype or keras.config.dtype_policy()):
        return _build_model(model, task_name, task, regime, seed, init, lstm_init, lstm_layers,
                            units, embedding_size, key_size, sharpen, bound_action,
                            project_initial_key)


def _build_model(model, task_name, task, regime, seed, init, lstm_init, lstm_layers, units,
                 embedding_size, key_size, sharpen, bound_action, project_initial_key):
    import keras_memory
    from keras_memory.recipes.cells import make_cell
    from keras_memory.training import torch_uniform_init

    kernels_only = init == "kernels"
    initializer = keras.initializers.RandomUniform(-1.0, 1.0, seed=seed) if kernels_only else None
    forget_bias = 2.0 if kernels_only else None
    inputs = keras.Input((None, task.input_size), name="inputs")
    readout_init = {}
    if model == "lstm":
        layers = lstm_layers or LSTM_LAYERS[task_name][0 if regime == "small" else 1]
        units, embedding_size = units or 256, embedding_size or 128
        symbols = inputs[..., :-1]  # The write flag is for memory models only.
        if lstm_init == "keras":
            embedded = keras.layers.Dense(
                embedding_size, use_bias=False, name="embedding",
                kernel_initializer=keras.initializers.RandomNormal(seed=seed))(symbols)
            cells = [make_cell("lstm", units=units, seed=seed,
                               kernel_initializer=clone_initializer(initializer, i)
                               if initializer else "glorot_uniform",
                               unit_forget_bias=True) for i in range(layers)]
            sequence = keras.layers.RNN(keras.layers.StackedRNNCells(cells),
                                        return_sequences=True, name="memory_rnn")(embedded)
            if forget_bias is not None:  # init="kernels": forget bias 2, as for the others.
                for cell in cells:
                    set_forget_bias(cell, forget_bias)
        else:
            sequence = authors_lstm(symbols, layers, seed, initializer, forget_bias, units,
                                    embedding_size)
            readout_init = dict(kernel_initializer=torch_default_initializer(offset_seed(seed, 50)),
                                bias_initializer=keras.initializers.RandomUniform(
                                    -1 / 16, 1 / 16, seed=offset_seed(seed, 51)))
    else:
        capacity = task.max_write_steps("generalization") + 2
        common = dict(units=units or 50, memory_width=20, memory_capacity=capacity,
                      embedding_size=embedding_size or 14, write_flag_input=True,
                      kernel_initializer=initializer, forget_bias=forget_bias, seed=seed)
        if model in ("ram", "tape"):
            key_size = key_size or (2 if task_name == "repeat_copy" else 20)
            cell = make_cell(model, key_size=key_size, sharpen=sharpen, **common)
        else:  # lantm, lantm-s, slantm, slantm-s
            if bound_action == "auto":
                bound_action = authors_bound_action(model, task_name, regime)
            cell = make_cell(model, bound_action=bound_action,
                             project_initial_key=project_initial_key, **common)
        sequence = keras_memory.MemoryRNN(cell, return_sequences=True, name="memory_rnn")(inputs)
    logits = keras.layers.Dense(task.output_size, name="readout", **readout_init)(sequence)
    built = keras.Model(inputs, logits, name=f"{model}_{task_name}")
    if init == "all":
        # The authors' init_magnitude=1: every parameter U(-1, 1), LSTM forget bias 1 + 1.
        torch_uniform_init(built, 1.0, seed=seed)
    return built
