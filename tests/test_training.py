"""keras_memory.training: model builder, evaluation, data stream and callbacks."""

import json
import re

import keras
import numpy as np
import pytest

import keras_memory
from keras_memory import NTMCell, tasks
from keras_memory.metrics import evaluate_predictions
from keras_memory.training import (
    ClippedAdam,
    ClippedRMSprop,
    StopAtThreshold,
    TaskEvaluation,
    TimeLimit,
    TrainingStream,
    build_model,
    clip_by_global_norm,
    default_optimizer,
    evaluate_task,
    lie_access_optimizer,
    torch_uniform_init,
)
from keras.src.optimizers.base_optimizer import clip_by_global_norm as keras_clip_by_global_norm


def zero_logit_model(task):
    """Predicts logit 0 (probability 1/2, thresholded to bit 0) everywhere."""
    inputs = keras.Input((None, task.input_size))
    outputs = keras.layers.Dense(task.output_size, kernel_initializer="zeros")(inputs)
    return keras.Model(inputs, outputs)


def test_build_model_maps_task_inputs_to_per_step_logits():
    task = tasks.CopyTask(max_length=3)
    model = build_model(NTMCell(units=4, memory_size=8, word_size=3), task)
    x, _, _ = task.generate(np.random.default_rng(0), 2)
    assert model.predict_on_batch(x).shape == (2, x.shape[1], task.output_size)
    assert model.get_layer("memory_rnn").cell.units == 4


def test_evaluate_task_counts_over_all_batches():
    task = tasks.CopyTask(max_length=4)
    model = zero_logit_model(task)
    result = evaluate_task(model, task, split="validation", num_batches=3, batch_size=5, seed=7)
    # The same batches, scored directly.
    rng = np.random.default_rng(7)
    batches = [task.generate(rng, 5, split="validation") for _ in range(3)]
    x, y, w = (np.concatenate(parts) for parts in zip(*batches))
    expected = evaluate_predictions(np.zeros(y.shape, "float32"), y, w)
    assert result["num_sequences"] == 15
    for key, value in expected.items():
        np.testing.assert_allclose(result[key], value)
    # Zero logits predict bit 0: accuracy is the share of zero bits.
    np.testing.assert_allclose(result["bit_accuracy"], 1 - (y * w[..., None]).sum() / (8 * w.sum()))


def test_evaluate_task_at_a_fixed_length():
    task = tasks.CopyTask(max_length=4)
    result = evaluate_task(zero_logit_model(task), task, num_batches=1, batch_size=3, length=9)
    assert result["num_sequences"] == 3
    assert result["bit_errors_per_sequence"] > 0


def test_training_stream_is_reproducible_and_fresh_every_epoch():
    task = tasks.CopyTask(max_length=5)
    a = TrainingStream(task, batch_size=4, steps_per_epoch=3, seed=11)
    b = TrainingStream(task, batch_size=4, steps_per_epoch=3, seed=11)
    assert len(a) == 3
    for i in range(3):
        for left, right in zip(a[i], b[i]):
            np.testing.assert_array_equal(left, right)
    first = a[0][0]
    a.epoch_callback().on_epoch_begin(5)
    assert a.epoch == 5
    assert not np.array_equal(first, a[0][0])
    b.epoch = 5
    np.testing.assert_array_equal(a[0][0], b[0][0])  # a resumed run sees the same batches


def test_task_evaluation_logs_and_stop_at_threshold_stops():
    task = tasks.CopyTask(max_length=2)
    model = zero_logit_model(task)
    model.compile(optimizer="sgd", **task.compile_kwargs())
    stream = TrainingStream(task, batch_size=4, steps_per_epoch=2)
    evaluation = TaskEvaluation(task, batch_size=4, every=2, num_batches=1)
    # Any error is <= 1e9: training must stop after the first evaluation.
    stop = StopAtThreshold(evaluation, "validation_bit_errors_per_sequence", 1e9)
    history = model.fit(stream, epochs=5, callbacks=[stream.epoch_callback(), evaluation, stop],
                        verbose=0)
    assert len(evaluation.history) == 1
    assert evaluation.history[0]["sequences"] == 8
    assert len(history.history["loss"]) == 1
    assert "validation_bit_errors_per_sequence" in history.history


def test_time_limit_stops_training():
    task = tasks.CopyTask(max_length=2)
    model = zero_logit_model(task)
    model.compile(optimizer="sgd", **task.compile_kwargs())
    stream = TrainingStream(task, batch_size=2, steps_per_epoch=5)
    history = model.fit(stream, epochs=50, callbacks=[TimeLimit(0.0)], verbose=0)
    assert len(history.history["loss"]) == 1


def test_torch_uniform_init_draws_every_parameter_and_sets_the_lstm_forget_bias():
    """The Lie-access code's `init_magnitude`: all parameters U(-m, m); each of the
    two Torch LSTM maps has forget bias 1, so Keras' single bias is 2 there."""
    import keras_memory

    cell = keras_memory.LANTMCell(units=6, memory_width=3, memory_capacity=8, embedding_size=4,
                                  key_space="sphere", seed=0)
    inputs = keras.Input((None, 5))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras_memory.MemoryRNN(cell)(inputs)))
    torch_uniform_init(model, 0.5, seed=3)
    controller_bias = cell.controller.bias
    for weight in model.trainable_weights:
        values = np.asarray(weight.numpy())
        if weight is controller_bias:
            continue
        assert np.all(np.abs(values) <= 0.5), weight.path
        if values.size > 4:  # Not the default initialisers (zeros, N(0, 1), fan-in ranges).
            assert values.std() > 0.2, weight.path
    bias = np.asarray(controller_bias.numpy())
    units = cell.units
    np.testing.assert_array_equal(bias[units : 2 * units], 2.0)
    others = np.concatenate([bias[:units], bias[2 * units :]])
    # The sum of the two maps' uniform biases: within 2m, and wider than m.
    assert np.all(np.abs(others) <= 1.0) and np.abs(others).max() > 0.5
    first = [np.asarray(w.numpy()) for w in model.trainable_weights]
    torch_uniform_init(model, 0.5, seed=3)
    for a, w in zip(first, model.trainable_weights):
        np.testing.assert_array_equal(a, np.asarray(w.numpy()))


def test_torch_uniform_init_rejects_a_bad_magnitude_and_an_unbuilt_model():
    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="build the model first"):
        torch_uniform_init(model)
    model.build((None, 3))
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="Received: magnitude"):
            torch_uniform_init(model, bad)


def test_torch_uniform_init_reaches_lstm_cells_inside_stacked_cells():
    cells = [keras.layers.LSTMCell(4) for _ in range(2)]
    inputs = keras.Input((None, 3))
    outputs = keras.layers.RNN(keras.layers.StackedRNNCells(cells))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(outputs))
    torch_uniform_init(model, seed=0)
    for cell in cells:
        np.testing.assert_array_equal(np.asarray(cell.bias.numpy())[4:8], 2.0)


def test_variable_length_batches_whose_first_two_match_still_fit():
    """Keras fixes every axis that has one length in a PyDataset's first two
    batches (keras-team/keras#19748); seed 0 draws two batches of 127 steps
    first, and a later batch of 64 steps used to stop `fit`."""
    from keras_memory.tasks.base import shape_partner

    task = tasks.get("lantm_repeat_copy", pad_multiple=8)
    data = task.dataset(batch_size=4, num_batches=6, seed=0)
    raw = [data._generate(i)[0].shape[1] for i in range(3)]
    assert raw[0] == raw[1] != raw[2]  # The case this test is about.
    assert data[0][0].shape[1] != data[1][0].shape[1]
    assert shape_partner(data._generate, 6) == 2
    # The swap is a permutation: the same batches, 1 and 2 exchanged.
    np.testing.assert_array_equal(data[2][0], data._generate(1)[0])
    inputs = keras.Input((None, task.input_size))
    model = keras.Model(inputs, keras.layers.Dense(task.output_size)(inputs))
    model.compile("sgd", **task.compile_kwargs())
    model.fit(data, epochs=1, verbose=0)
    stream = TrainingStream(task, batch_size=4, steps_per_epoch=6, seed=0)
    assert stream[0][0].shape[1] != stream[1][0].shape[1]
    model.fit(stream, epochs=2, verbose=0, callbacks=[stream.epoch_callback()])


def test_batches_of_one_shape_are_not_reordered():
    from keras_memory.tasks.base import shape_partner

    task = tasks.CopyTask(max_length=3)
    data = task.dataset(batch_size=2, num_batches=5, seed=0, generate_kwargs={"length": 3})
    assert shape_partner(data._generate, 5) is None
    for i in range(5):
        np.testing.assert_array_equal(data[i][0], data._generate(i)[0])


def _numpy(values):
    return [None if v is None else keras.ops.convert_to_numpy(v) for v in values]


def test_clip_by_global_norm_equals_keras_where_the_norm_is_finite():
    rng = np.random.default_rng(0)
    for scale in (1e-3, 1.0, 1e3):
        grads = [keras.ops.convert_to_tensor((scale * rng.normal(size=shape)).astype("float32"))
                 for shape in ((3, 4), (5,), (2, 2, 2))]
        ours = _numpy(clip_by_global_norm(grads + [None], 32.0))
        theirs = _numpy(keras_clip_by_global_norm(grads, 32.0))
        assert ours[-1] is None
        for a, b in zip(ours[:-1], theirs):
            np.testing.assert_array_equal(a, b)


def test_clip_by_global_norm_stays_finite_where_the_squares_overflow_float32():
    # Entries of 1e29 (as the inverse-square weighting produces near a key):
    # their squares overflow float32, Keras' clip returns NaN.
    big = np.array([3e29, -4e29], "float32")
    small = np.array([1e20, 0.0, 5.0], "float32")
    grads = [keras.ops.convert_to_tensor(big), keras.ops.convert_to_tensor(small)]
    assert np.isnan(_numpy(keras_clip_by_global_norm(grads, 32.0))[0]).all()
    clipped = _numpy(clip_by_global_norm(grads, 32.0))
    exact = np.concatenate([big, small]).astype("float64")
    exact = exact * 32.0 / np.linalg.norm(exact)
    np.testing.assert_allclose(np.concatenate(clipped), exact, rtol=1e-6, atol=1e-30)
    assert np.linalg.norm(np.concatenate(clipped).astype("float64")) == pytest.approx(32.0, rel=1e-6)


def test_clip_by_global_norm_passes_on_inf_and_nan_gradients_as_nan():
    for bad in (np.inf, np.nan):
        grads = [keras.ops.convert_to_tensor(np.array([1.0, bad], "float32")),
                 keras.ops.convert_to_tensor(np.array([2.0], "float32"))]
        assert all(np.isnan(g).all() for g in _numpy(clip_by_global_norm(grads, 32.0)))


@pytest.mark.parametrize("ours, theirs", [(ClippedRMSprop, keras.optimizers.RMSprop),
                                          (ClippedAdam, keras.optimizers.Adam)])
def test_clipped_optimizers_take_a_finite_step_on_gradients_whose_squares_overflow(ours, theirs):
    huge = np.array([2e29, -1e29, 3.0], "float32")
    results = {}
    for name, optimizer in (("keras", theirs(0.01, global_clipnorm=32.0)),
                            ("ours", ours(0.01, global_clipnorm=32.0))):
        variable = keras.Variable(np.zeros(3, "float32"))
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(huge), variable)])
        results[name] = keras.ops.convert_to_numpy(variable)
    assert np.isnan(results["keras"]).all()
    assert np.isfinite(results["ours"]).all()
    # The first step moves each entry against its gradient's sign.
    assert results["ours"][0] < 0 < results["ours"][1]


@pytest.mark.parametrize("ours, theirs", [(ClippedRMSprop, keras.optimizers.RMSprop),
                                          (ClippedAdam, keras.optimizers.Adam)])
def test_clipped_optimizers_equal_keras_for_ten_steps_where_nothing_overflows(ours, theirs):
    weights = {}
    for name, optimizer in (("keras", theirs(0.01, global_clipnorm=1.0)),
                            ("ours", ours(0.01, global_clipnorm=1.0))):
        variables = [keras.Variable(np.ones((3, 2), "float32")), keras.Variable(np.zeros(4, "float32"))]
        steps = np.random.default_rng(3)
        for _ in range(10):
            # Tensors: Keras' own clip multiplies NumPy gradients by a backend tensor,
            # which PyTorch refuses (ours converts them; see the docstring examples).
            grads = [keras.ops.convert_to_tensor(steps.normal(size=v.shape).astype("float32") * 5.0)
                     for v in variables]
            optimizer.apply_gradients(zip(grads, variables))
        weights[name] = [keras.ops.convert_to_numpy(v) for v in variables]
    for a, b in zip(weights["ours"], weights["keras"]):
        if keras.backend.backend() == "torch":
            # Keras runs its own Adam and RMSprop on PyTorch as fused `torch._foreach`
            # updates, a subclass as the per-variable update: the same steps rounded
            # otherwise (the clips themselves are equal, `clip_by_global_norm` above).
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=0)
        else:
            np.testing.assert_array_equal(a, b)
    # The clip acted (norms of about 10 against 1): the test compares clipped steps.
    assert not np.allclose(weights["ours"][0], 1.0)


def test_lie_access_optimizer_is_torch_rmsprop():
    # train.lua's optim.rmsprop: alpha 0.99, epsilon 1e-8 outside the root (1e-16 inside).
    optimizer = lie_access_optimizer(0.02, decay_delay=600)
    assert optimizer.rho == 0.99 and optimizer.epsilon == 1e-16 and optimizer.momentum == 0.0


@pytest.mark.parametrize("make, cls, clip", [
    (lambda: default_optimizer(3e-3), ClippedAdam, 1.0),
    (lambda: lie_access_optimizer(0.02, decay_delay=600), ClippedRMSprop, 32.0),
])
def test_package_optimizers_are_clipped_and_round_trip_through_save(make, cls, clip, tmp_path):
    optimizer = make()
    assert isinstance(optimizer, cls)
    assert optimizer.global_clipnorm == clip
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer, loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, cls)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


@pytest.mark.parametrize("name", ["ClippedRMSprop", "ClippedAdam"])
def test_clipped_optimizer_docstring_examples_run(name):
    import doctest

    from keras_memory import training

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    cls = getattr(training, name)
    for test in finder.find(cls, name, globs={"keras": keras, "np": np, name: cls}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted == 4 and result.failed == 0


def test_run_checkpoint_saves_each_epoch_and_keeps_the_last_finite_model(tmp_path):
    from keras_memory.training import RunCheckpoint, resume_state

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile("sgd", loss="mse")
    model_path, state_path = str(tmp_path / "model.keras"), str(tmp_path / "state.json")
    checkpoint = RunCheckpoint(model_path, state_path, extra_state=lambda: {"note": 1})
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=2, verbose=0, callbacks=[checkpoint])
    state = resume_state(state_path)
    assert state.pop("python_random_state")  # For restore_random_state.
    assert state == {"epoch": 2, "note": 1}
    saved = [w.copy() for w in keras.models.load_model(model_path).get_weights()]
    # A NaN step (TerminateOnNaN stops the run, but the epoch still ends).
    model.layers[-1].kernel.assign(np.full((3, 2), np.nan, "float32"))
    with pytest.warns(UserWarning, match="not finite"):
        checkpoint.on_epoch_end(2)
    assert resume_state(state_path)["epoch"] == 2
    for a, b in zip(keras.models.load_model(model_path).get_weights(), saved):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------- run directory locks
def test_a_directory_lock_refuses_a_second_holder_naming_the_directory_and_pid(tmp_path):
    import os
    import subprocess
    import sys

    from keras_memory.training import DirectoryInUseError, DirectoryLock

    directory = str(tmp_path / "run")
    with DirectoryLock(directory):
        with open(os.path.join(directory, ".lock")) as f:
            assert int(f.read()) == os.getpid()
        # Another process cannot take it.
        code = ("import sys; from keras_memory.training import DirectoryLock, DirectoryInUseError\n"
                f"try:\n DirectoryLock({directory!r}).acquire()\n"
                "except DirectoryInUseError as e:\n print(e); sys.exit(3)\n")
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=dict(os.environ, PYTHONPATH=os.getcwd()))
        assert other.returncode == 3, other.stderr
        assert directory in other.stdout and f"pid {os.getpid()}" in other.stdout
        # Nor can a second lock in this process.
        with pytest.raises(DirectoryInUseError, match=f"pid {os.getpid()}"):
            DirectoryLock(directory).acquire()
    # Released: free again.
    DirectoryLock(directory).acquire().release()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    import os
    import subprocess
    import sys

    from keras_memory.training import DirectoryLock

    directory = str(tmp_path / "run")
    # A process that takes the lock and dies without releasing it.
    code = (f"import os; from keras_memory.training import DirectoryLock\n"
            f"DirectoryLock({directory!r}).acquire(); os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert os.path.exists(os.path.join(directory, ".lock"))
    with DirectoryLock(directory):
        with open(os.path.join(directory, ".lock")) as f:
            assert int(f.read()) == os.getpid()


def test_run_checkpoint_writes_through_a_temporary_name_of_its_own_process(tmp_path, monkeypatch):
    import os

    from keras_memory.training import RunCheckpoint

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    saved = []
    monkeypatch.setattr(model, "save", lambda path: (saved.append(path), open(path, "w").close()))
    callback = RunCheckpoint(str(tmp_path / "model.keras"), str(tmp_path / "state.json"))
    callback.set_model(model)
    callback.on_epoch_end(0)
    assert saved == [str(tmp_path / f"model.keras.partial-{os.getpid()}.keras")]
    assert sorted(os.listdir(tmp_path)) == ["model.keras", "state.json"]


def test_learning_summary_finds_the_first_check_below_each_threshold_of_the_mean_curve():
    import doctest

    from keras_memory import training
    from keras_memory.training import learning_summary

    errors = [30.0, 30.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.3]
    curve = [{"sequences": 1600 * (i + 1), "validation_bit_errors_per_sequence": e}
             for i, e in enumerate(errors)]
    summary = learning_summary(curve)
    # Means of the last 4 checks: 30, 30, 20.17, 15.13, 7.63, 0.125, 0, 0.075.
    np.testing.assert_allclose(summary["smoothed"],
                               [30, 30, 60.5 / 3, 60.5 / 4, 0.5 / 4 + 7.5, 0.125, 0.0, 0.075])
    assert summary["below"] == {"1": 6 * 1600, "0.1": 7 * 1600}
    assert summary["final_error"] == pytest.approx(0.075)
    assert summary["sequences"] == 8 * 1600 and summary["checks"] == 8
    # One lucky check does not count: with window 1 it would.
    assert learning_summary(curve, window=1)["below"] == {"1": 3 * 1600, "0.1": 4 * 1600}
    assert learning_summary(curve[:3], thresholds=(1.0,))["below"] == {"1": None}
    with pytest.raises(ValueError, match="at least one check"):
        learning_summary([])
    with pytest.raises(ValueError, match="window=0"):
        learning_summary(curve, window=0)
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(training.learning_summary, "learning_summary",
                                             globs={"learning_summary": learning_summary}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted == 3 and result.failed == 0


def test_stop_callbacks_say_whether_they_stopped_the_training():
    from keras_memory.training import StopAtThreshold, TaskEvaluation, TimeLimit

    class FakeModel:
        stop_training = False

    evaluation = TaskEvaluation("copy", batch_size=2)
    stop = StopAtThreshold(evaluation, "validation_bit_errors_per_sequence", 0.01, patience=2)
    stop.set_model(FakeModel())
    for error, stopped in [(0.0, False), (0.5, False), (0.0, False), (0.01, True)]:
        evaluation.history.append({"validation_bit_errors_per_sequence": error})
        stop.on_train_batch_end(0)
        assert stop.stopped is stopped and stop.model.stop_training is stopped
    budget = TimeLimit(3600)
    budget.set_model(FakeModel())
    budget.on_train_begin()
    budget.on_train_batch_end(0)
    assert not budget.stopped and not budget.model.stop_training
    budget.seconds = 0
    budget.on_train_batch_end(1)
    assert budget.stopped and budget.model.stop_training


# ------------------------------------------------------------- the curriculum
def test_curriculum_batches_draw_their_level_up_to_the_current_one_and_pad_to_powers_of_two():
    from keras_memory.training import CurriculumStream

    stream = CurriculumStream("associative_recall", batch_size=3, steps_per_epoch=40, seed=5)
    assert (stream.min_level, stream.level, stream.argument) == (2, 6, "num_items")
    stream.epoch, stream.level = 1, 48
    task = stream.task
    levels = set()
    for i in range(40):
        x, y, w = stream[i]
        again = stream[i]
        for a, b in zip((x, y, w), again):
            np.testing.assert_array_equal(a, b)  # batch (epoch, i) is one batch
        steps = x.shape[1]
        assert steps & (steps - 1) == 0 and steps >= 32  # a power of two
        # Every episode of the batch has the same items: the item delimiters
        # (channel num_bits) of episode 0 count them, and 3 answer steps each.
        items = {int(x[b, :, task.num_bits].sum()) for b in range(3)}
        assert len(items) == 1
        (n,) = items
        levels.add(n)
        assert 2 <= n <= 48 and steps < 2 * task.num_steps_for(max(n, 6))
        np.testing.assert_array_equal(w.sum(axis=1), [3.0] * 3)
        assert not x[:, task.num_steps_for(max(n, 6)):].any()  # the padding is zeros
    assert min(levels) < 10 and max(levels) > 30


def test_the_first_two_curriculum_batches_differ_in_length_so_keras_keeps_the_time_axis_free():
    from keras_memory.training import CurriculumStream

    stream = CurriculumStream(tasks.get("copy", max_length=4), batch_size=2, steps_per_epoch=5,
                              seed=1)
    first, second = stream[0], stream[1]
    assert (first[0].shape[1], second[0].shape[1]) == (16, 32)  # 2 * 4 + 2 steps, padded
    stream.epoch = 1
    assert stream[1][0].shape[1] == 16  # later epochs are not padded further


def test_doubling_curriculum_doubles_the_level_after_an_epoch_below_the_threshold_only():
    from keras_memory.training import CurriculumStream, DoublingCurriculum

    stream = CurriculumStream("associative_recall", batch_size=2, steps_per_epoch=5,
                              max_level=20)
    curriculum = DoublingCurriculum(stream, threshold=1.0)
    logs = {"bit_errors_per_sequence": 3.0}
    curriculum.on_epoch_end(0, logs)
    assert stream.level == 6 and logs["curriculum_level"] == 6
    assert logs["curriculum_mastered"] == 0
    for epoch, (level, after) in enumerate([(6, 12), (12, 20), (20, 20)], start=1):
        logs = {"bit_errors_per_sequence": 0.5}
        curriculum.on_epoch_end(epoch, logs)
        assert (logs["curriculum_level"], stream.level) == (level, after)
        assert logs["curriculum_mastered"] == level
    assert [h["next_level"] for h in curriculum.history] == [6, 12, 20, 20]
    with pytest.raises(ValueError, match="'bit_errors_per_sequence'.*do not have"):
        curriculum.on_epoch_end(4, {"loss": 0.1})


@pytest.mark.parametrize("kwargs, message", [
    (dict(task="ham_sort"), "grows the tasks"),
    (dict(level=1), "`level` must be >= min_level=2"),
    (dict(level=0), "`level` must be an integer >= 1"),
    (dict(max_level=4), "`max_level` must be None or an integer >= level=6"),
    (dict(steps_per_epoch=1), "`steps_per_epoch` >= 2"),
])
def test_curriculum_stream_names_the_argument_it_refuses(kwargs, message):
    from keras_memory.training import CurriculumStream

    kwargs = {"task": "associative_recall", "steps_per_epoch": 3, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message) if "`" in message else message):
        CurriculumStream(batch_size=2, **kwargs)


def test_doubling_curriculum_refuses_a_threshold_that_is_not_positive():
    from keras_memory.training import CurriculumStream, DoublingCurriculum

    stream = CurriculumStream("copy", batch_size=2, steps_per_epoch=3)
    with pytest.raises(ValueError, match="`threshold` must be a number > 0, received threshold=0"):
        DoublingCurriculum(stream, threshold=0)


def test_the_curriculum_stream_docstring_example_runs():
    import doctest

    from keras_memory.training import CurriculumStream

    (test,) = [t for t in doctest.DocTestFinder().find(CurriculumStream, "CurriculumStream",
                                                       globs={"CurriculumStream": CurriculumStream})
               if t.examples]
    result = doctest.DocTestRunner().run(test)
    assert result.attempted == 4 and result.failed == 0


def test_environment_names_the_software_and_the_machine_of_a_run():
    """`environment()` is what a results file records beside a run's numbers: the
    versions of this process's packages (its backend's own), its machine, as JSON."""
    import doctest
    import importlib.metadata

    from keras_memory.training import environment
    from keras_memory.training.runs import BACKEND_DISTRIBUTIONS

    env = environment()
    assert json.loads(json.dumps(env)) == env
    assert env["keras"] == keras.__version__ and env["numpy"] == np.__version__
    assert env["keras_memory"] == keras_memory.__version__
    assert env["backend"] == keras.backend.backend()
    assert env["backend_version"] == importlib.metadata.version(
        BACKEND_DISTRIBUTIONS[env["backend"]])
    assert isinstance(env["cpus"], int) and env["cpus"] >= 1
    assert env["cpu"] and env["platform"] and env["python"].count(".") == 2

    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(environment, "environment",
                                             globs={"environment": environment, "keras": keras}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted == 2 and result.failed == 0
