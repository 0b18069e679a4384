"""keras_memory.recipes: cells by name, the same cells as the classes build."""

import doctest

import keras
import numpy as np
import pytest

import keras_memory
from backend_utils import FAST_JIT
from keras_memory import initializers, recipes
from keras_memory.recipes import CELL_NAMES, make_cell, memory_settings
from keras_memory.recipes import cells as recipe_cells

EXPECTED = {
    "ntm": (keras_memory.NTMCell, {}),
    "sam": (keras_memory.SAMCell, {"search": "exact"}),
    "sam_lsh": (keras_memory.SAMCell, {"search": "lsh"}),
    "dnc": (keras_memory.DNCCell, {}),
    "sdnc": (keras_memory.SDNCCell, {"search": "exact"}),
    "sdnc_lsh": (keras_memory.SDNCCell, {"search": "lsh"}),
    "lantm": (keras_memory.LANTMCell, {"key_space": "plane", "weighting": "inverse_square"}),
    "lantm-s": (keras_memory.LANTMCell, {"key_space": "plane", "weighting": "softmax"}),
    "slantm": (keras_memory.LANTMCell, {"key_space": "sphere", "weighting": "inverse_square"}),
    "slantm-s": (keras_memory.LANTMCell, {"key_space": "sphere", "weighting": "softmax"}),
    "ram": (keras_memory.RAMCell, {"tape": False}),
    "tape": (keras_memory.RAMCell, {"tape": True}),
    "ham": (keras_memory.HAMCell, {"attention": "hard"}),
    "dham": (keras_memory.HAMCell, {"attention": "soft"}),
    "lstm": (keras.layers.LSTMCell, {}),
}


def test_every_name_is_covered():
    assert set(CELL_NAMES) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_name_picks_the_class_and_the_variant(name):
    cls, fixed = EXPECTED[name]
    settings = {"units": 8}
    if name != "lstm":
        settings.update(memory_settings(name, 16, 4))
    cell = make_cell(name, **settings)
    assert type(cell) is cls
    config = cell.get_config()
    for key, value in fixed.items():
        assert config[key] == value, (name, key)
    if name != "lstm":
        size_key, width_key = memory_settings(name, 16, 4)
        assert config[size_key] == 16 and config[width_key] == 4


def _initial_weights(cell):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, 5))
    model = keras.Model(inputs, keras_memory.MemoryRNN(cell)(inputs))
    return [w.numpy() for w in model.weights]


@pytest.mark.parametrize("name, direct", [
    ("ntm", lambda: keras_memory.NTMCell(units=8, memory_size=16, word_size=4, seed=3)),
    ("slantm-s", lambda: keras_memory.LANTMCell(units=8, memory_capacity=16, memory_width=4,
                                                key_space="sphere", weighting="softmax", seed=3)),
    ("tape", lambda: keras_memory.RAMCell(units=8, memory_capacity=16, memory_width=4,
                                          tape=True, seed=3)),
])
def test_same_initial_weights_as_the_class(name, direct):
    built = make_cell(name, units=8, seed=3, **memory_settings(name, 16, 4))
    ours, theirs = _initial_weights(built), _initial_weights(direct())
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_unknown_name_says_what_was_received_and_allowed():
    with pytest.raises(ValueError, match=r"'gru'.*allowed: ntm, sam"):
        make_cell("gru", units=8)
    with pytest.raises(ValueError, match=r"'gru'.*allowed"):
        memory_settings("gru", 16, 4)


def test_a_setting_that_contradicts_the_name_raises():
    with pytest.raises(ValueError, match=r"'tape' means tape=True; received tape=False"):
        make_cell("tape", units=8, tape=False)
    with pytest.raises(ValueError, match=r"search='lsh'; received search='exact'"):
        make_cell("sam_lsh", units=8, search="exact")
    # The value the name fixes may be repeated.
    assert make_cell("dham", units=8, attention="soft").attention == "soft"


def test_lstm_has_no_memory_settings():
    with pytest.raises(ValueError, match=r"'lstm' has no memory; allowed: ntm"):
        memory_settings("lstm", 16, 4)


@pytest.mark.parametrize("module", [recipe_cells, initializers])
def test_docstring_examples_run(module):
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(module, module.__name__,
                            globs={"np": np, "keras": keras, "keras_memory": keras_memory,
                                   **{name: getattr(module, name) for name in module.__all__
                                      if hasattr(module, name)},
                                   **{name: getattr(recipe_cells, name)
                                      for name in ("make_cell", "memory_settings")}}):
        runner.run(test)
    assert runner.summarize(verbose=False).attempted >= 2
    assert runner.summarize(verbose=False).failed == 0


def test_package_exports_the_modules():
    assert keras_memory.recipes is recipes
    assert keras_memory.initializers is initializers


# ------------------------------------------------------------- the HAM recipe
def test_ham_tasks_take_the_tree_size_by_their_kind():
    from keras_memory.recipes import ham

    assert ham.make_task("sort", 8).num_leaves == 8
    assert ham.make_task("stack", 8).num_operations == 8
    assert ham.make_task("search", 8, eta=2).eta == 2
    with pytest.raises(ValueError, match="'sorting'.*allowed"):
        ham.make_task("sorting", 8)


@pytest.mark.parametrize("name", ["ham", "dham", "lstm", "lstm_attention"])
def test_ham_models_are_compiled_with_the_papers_optimizer(name):
    from keras_memory.recipes import ham

    task = ham.make_task("reverse", 4)
    model, cell = ham.build_model(name, task, 4, learning_rate=0.01, learning_rate_decay=0.5,
                                  batches=10, mlp_depth=2, seed=3, jit_compile=FAST_JIT)
    assert model.optimizer.global_clipnorm == 5.0
    schedule = model.optimizer._learning_rate
    assert float(schedule(10)) == pytest.approx(0.005)  # decays by 0.5 per epoch of 10 batches
    if name in ("ham", "dham"):
        assert cell.attention == ("hard" if name == "ham" else "soft")
        assert (cell.memory_size, cell.units, cell.hidden_size, cell.mlp_depth) == (4, 20, 20, 2)
        assert model.alpha_decay_steps == 10
    else:
        assert cell is None
    x, y, w = task.generate(np.random.default_rng(0), 2)
    assert np.isfinite(model.train_on_batch(x, y, sample_weight=w)).all()


@pytest.mark.parametrize("name", ["lstm", "lstm_attention"])
def test_the_baselines_train_compiled_as_the_tables_script_trains_them(name):
    """`examples/ham_tables.py` compiles with XLA; on TensorFlow the attention
    decoder's gradient once held a Tensordot XLA could not compile."""
    from keras_memory.recipes import ham

    task = ham.make_task("sort", 4)
    model, _ = ham.build_model(name, task, 4, units=8, batches=2, jit_compile=True)
    ham.train(model, task, epochs=1, batches=2, batch_size=4, seed=0)
    x, y, w = task.generate(np.random.default_rng(0), 4)
    assert np.isfinite(model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)["loss"])


def test_a_ham_baseline_refuses_a_raw_task():
    from keras_memory.recipes import ham

    with pytest.raises(ValueError, match="Table 1 baseline"):
        ham.build_model("lstm", ham.make_task("stack", 4), 4)
    with pytest.raises(ValueError, match="'gru'.*allowed"):
        ham.build_model("gru", ham.make_task("sort", 4), 4)


# ------------------------------------------------------------- the Lie-access recipe
def test_lantm_runs_are_whole_epochs_of_at_most_500_steps_covering_the_steps():
    from keras_memory.recipes import lantm

    assert lantm.epochs_of(10_000) == (20, 500)
    assert lantm.epochs_of(1200) == (3, 400)  # not 2 x 500 = 1,000 steps
    assert lantm.epochs_of(6) == (1, 6)
    task, _ = lantm.make_tasks("copy", alphabet_size=4, max_length=3)
    batches, epochs = lantm.training_batches(task, "small", 1200, batch_size=4)
    assert (epochs, len(batches)) == (3, 400)
    assert len(batches.data) == lantm.SMALL_REGIME_BATCHES
    batches, epochs = lantm.training_batches(task, "large", 1200, batch_size=4)
    assert len(batches.data) == 1200  # a fresh batch for every step
    assert lantm.schedule("lantm", 10_000) == (0.01, 300)
    assert lantm.schedule("lstm", 5_000) == (0.002, 350)  # the default delay scales
    assert lantm.schedule("lantm", 5_000, 0.02, 300) == (0.02, 300)  # a given one does not


@pytest.mark.parametrize("model", ["lstm", "slantm", "tape"])
def test_the_table1b_example_and_hypermodel_build_the_same_model(model):
    """examples/lantm_table1b.py and tuning's LieAccessHyperModel share the recipe's builder."""
    import importlib.util
    import os
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "lantm_table1b", os.path.join(root, "examples", "lantm_table1b.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    pytest.importorskip("keras_tuner")
    sys.path.insert(0, os.path.join(root, "tuning"))
    try:
        import hypermodels
    finally:
        sys.path.remove(os.path.join(root, "tuning"))
    argv = ["--model", model, "--task", "repeat_copy", "--seed", "2"] + (
        ["--bound-action", "no"] if model == "slantm" else [])
    values = {"units": 256 if model == "lstm" else 50, "embed": 128 if model == "lstm" else 14,
              "seed": 2, "init": "*", "layers": 2, "key_size": 2, "sharpen": False,
              "bound_action": False}
    task = example.make_task("repeat_copy")
    keras.utils.set_random_seed(2)  # as both do before they build (the readout's init)
    built = example.build(example.parse_args(argv), task)
    hypermodel = hypermodels.LieAccessHyperModel(model, "repeat_copy", "small",
                                                 space={k: [v] for k, v in values.items()})
    keras.utils.set_random_seed(2)
    searched = hypermodel.build_model(values)
    assert [w.shape for w in built.weights] == [w.shape for w in searched.weights]
    for a, b in zip(built.weights, searched.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a),
                                      keras.ops.convert_to_numpy(b), err_msg=a.path)
    if model == "lstm":  # the authors' LSTM in both (learned initial states)
        assert searched.get_layer("initial_state") is not None


def test_the_epoch_validation_measures_the_full_tree_and_keeps_the_stage():
    from keras_memory.recipes import ham

    task = ham.make_task("reverse", 4)
    model, cell = ham.build_model("ham", task, 4, seed=1, jit_compile=FAST_JIT)
    curriculum = ham.make_curriculum(cell, task, 2, 0.0, batch_size=4, verbose=0)
    curriculum.set_model(model)
    curriculum.on_train_begin()
    assert cell.active_leaves == 2 and task.max_length < 4
    validation = ham.EpochValidation(task, curriculum, num_batches=2, batch_size=4)
    validation.set_model(model)
    logs = {}
    validation.on_epoch_end(0, logs)
    assert cell.active_leaves == 2 and task.max_length < 4  # the stage goes on
    with curriculum.at_full_size():
        assert cell.active_leaves == 4
        full = ham.sequence_error(model, task, "validation", 8, 4, seed=10_000)
    assert validation.history == [{"epoch": 1, "validation_error": full, "full_size": False}]
    assert logs == {"validation_error": full} and validation.best is None
    curriculum.leaves = 4  # the last stage: the epoch can be the best
    validation.on_epoch_end(1, logs)
    assert validation.best_epoch == 2 and logs["best_validation_error"] == validation.best
