import keras
import numpy as np
import pytest

from keras_memory import metrics as km
from keras_memory import tasks
from keras_memory.tasks import AlgorithmicTask
from keras_memory.tasks import AssociativeRecallTask
from keras_memory.tasks import CopyTask
from keras_memory.tasks import DynamicNGramsTask
from keras_memory.tasks import PrioritySortTask
from keras_memory.tasks import RepeatCopyTask
from keras_memory.tasks import TaskDataset

NAMES = ["copy", "repeat_copy", "associative_recall", "dynamic_ngrams",
         "priority_sort"]
SPLITS = ["train", "validation", "generalization"]
SEEDS = [0, 1, 2]

# Expected (input_size, output_size, max_steps train, max_steps generalization)
# for the default (paper) parameters.
DEFAULT_SHAPES = {
    "copy": (9, 8, 41, 81),
    "repeat_copy": (9, 9, 10 + 10 * 10 + 2, 20 + 20 * 20 + 2),
    "associative_recall": (8, 6, 6 * 4 + 8, 12 * 4 + 8),
    "dynamic_ngrams": (1, 1, 199, 399),
    "priority_sort": (10, 8, 37, 73),
}


def rng(seed):
    return np.random.default_rng(seed)


def test_registry():
    # The NTM names; other families (e.g. the lantm_* tasks) register too.
    assert set(NAMES) <= set(tasks.available())
    assert tasks.available() == sorted(tasks.available())
    for name in NAMES:
        task = tasks.get(name)
        assert isinstance(task, AlgorithmicTask)
        assert task.name == name
    task = tasks.get("copy", max_length=5)
    assert isinstance(task, CopyTask) and task.max_length == 5
    assert tasks.get(task) is task
    with pytest.raises(ValueError, match="'nope'.*copy"):
        tasks.get("nope")


def test_register_decorator():
    @tasks.register("_test_dummy")
    class Dummy(CopyTask):
        name = "_test_dummy"

    try:
        assert "_test_dummy" in tasks.available()
        assert isinstance(tasks.get("_test_dummy", num_bits=3), Dummy)
        with pytest.raises(ValueError, match="already registered"):
            tasks.register("_test_dummy")(CopyTask)
        with pytest.raises(ValueError, match="AlgorithmicTask"):
            tasks.register("_test_other")(object)
    finally:
        tasks.registry._REGISTRY.pop("_test_dummy", None)
    assert "_test_dummy" not in tasks.available()


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_dtypes(name, split):
    task = tasks.get(name)
    in_size, out_size, train_steps, gen_steps = DEFAULT_SHAPES[name]
    assert (task.input_size, task.output_size) == (in_size, out_size)
    assert task.output_type == "bits"
    steps = gen_steps if split == "generalization" else train_steps
    assert task.max_steps(split) == steps
    x, y, w = task.generate(rng(0), 5, split=split)
    assert x.shape == (5, steps, in_size) and x.dtype == np.float32
    assert y.shape == (5, steps, out_size) and y.dtype == np.float32
    assert w.shape == (5, steps) and w.dtype == np.float32
    assert set(np.unique(w)) <= {0.0, 1.0}
    assert np.all(w.sum(axis=1) >= 1)
    assert set(np.unique(y)) <= {0.0, 1.0}
    if name != "dynamic_ngrams":
        # Targets are zero wherever no loss is taken. (For N-grams the first
        # context_length - 1 targets are the true, unscored, next bits.)
        assert np.all(y[w == 0] == 0)


@pytest.mark.parametrize("name", NAMES)
def test_generalization_exceeds_training(name):
    task = tasks.get(name)
    assert task.max_steps("generalization") > task.max_steps("train")
    _, _, w_train = task.generate(rng(0), 64, "train")
    _, _, w_gen = task.generate(rng(0), 64, "generalization")
    # Answers are longer (or, for recall, sequences hold more items).
    if name == "associative_recall":
        assert w_gen.sum(1).min() == w_train.sum(1).max() == 3
        last_train = np.nonzero(w_train)[1].max()
        first_gen = np.min([np.nonzero(r)[0].min() for r in w_gen])
        assert first_gen > last_train
    else:
        assert w_gen.sum(axis=1).min() > w_train.sum(axis=1).max()


@pytest.mark.parametrize("seed", SEEDS)
def test_copy_semantics(seed):
    task = CopyTask()
    x, y, w = task.generate(rng(seed), 32)
    bits = task.num_bits
    lengths = []
    for b in range(32):
        delim = np.nonzero(x[b, :, bits])[0]
        assert len(delim) == 1
        L = int(delim[0])
        lengths.append(L)
        assert 1 <= L <= 20
        np.testing.assert_array_equal(x[b, L, :bits], 0)
        np.testing.assert_array_equal(x[b, L + 1 :], 0)
        np.testing.assert_array_equal(y[b, L + 1 : 2 * L + 1], x[b, :L, :bits])
        expected_w = np.zeros(task.max_steps())
        expected_w[L + 1 : 2 * L + 1] = 1
        np.testing.assert_array_equal(w[b], expected_w)
    assert len(set(lengths)) > 5  # each sequence has its own length


def test_copy_fixed_length():
    task = CopyTask()
    x, y, w = task.generate(rng(0), 4, split="train", length=40)
    assert x.shape == (4, 81, 9)
    np.testing.assert_array_equal(w.sum(axis=1), 40)
    np.testing.assert_array_equal(y[:, 41:81], x[:, :40, :8])
    x, y, w = task.generate(rng(0), 4, split="train", length=3)
    assert x.shape == (4, 41, 9)  # still padded to max_steps
    np.testing.assert_array_equal(w.sum(axis=1), 3)
    x, _, _ = task.generate(rng(0), 2, split="generalization", length=50)
    assert x.shape == (2, 101, 9)


def test_copy_custom_ranges():
    task = CopyTask(num_bits=4, min_length=3, max_length=5)
    assert task.generalization_min_length == 6
    assert task.generalization_max_length == 10
    _, _, w = task.generate(rng(1), 200)
    assert set(w.sum(axis=1).astype(int)) == {3, 4, 5}
    _, _, w = task.generate(rng(1), 200, "generalization")
    assert set(w.sum(axis=1).astype(int)) == set(range(6, 11))


@pytest.mark.parametrize("split", ["train", "generalization"])
@pytest.mark.parametrize("seed", SEEDS)
def test_repeat_copy_semantics(seed, split):
    task = RepeatCopyTask()
    x, y, w = task.generate(rng(seed), 16, split=split)
    bits = task.num_bits
    low_l, high_l = task.length_range(split)
    low_r, high_r = task.repeats_range(split)
    mean, var = 5.5, (100 - 1) / 12
    for b in range(16):
        L = int(np.nonzero(w[b])[0][0]) - 1
        assert low_l <= L <= high_l
        assert np.all(x[b, :L, bits] == 0)
        value = x[b, L, bits]
        R = int(round(value * np.sqrt(var) + mean))
        assert value == pytest.approx((R - mean) / np.sqrt(var), abs=1e-6)
        assert low_r <= R <= high_r
        np.testing.assert_array_equal(x[b, L, :bits], 0)
        np.testing.assert_array_equal(x[b, L + 1 :], 0)
        answer = y[b, L + 1 : L + 1 + L * R, :bits]
        np.testing.assert_array_equal(answer, np.tile(x[b, :L, :bits], (R, 1)))
        assert np.all(y[b, : L + 1 + L * R, bits] == 0)
        end = L + L * R + 1
        np.testing.assert_array_equal(y[b, end], [0] * bits + [1])
        expected_w = np.zeros(x.shape[1])
        expected_w[L + 1 : end + 1] = 1
        np.testing.assert_array_equal(w[b], expected_w)


def test_repeat_copy_normalisation_and_overrides():
    task = RepeatCopyTask()
    assert task.repeat_mean == 5.5
    assert task.repeat_std == pytest.approx(np.sqrt(8.25))
    # The training repeat values have mean 0 and variance 1.
    values = task.normalize_repeats(np.arange(1, 11))
    assert values.mean() == pytest.approx(0.0)
    assert values.var() == pytest.approx(1.0)
    assert task.normalize_repeats(20) > values.max()
    x, y, w = task.generate(rng(0), 3, length=3, repeats=4)
    assert x.shape == (3, 112, 9)
    np.testing.assert_array_equal(w.sum(axis=1), 3 * 4 + 1)
    np.testing.assert_allclose(x[:, 3, 8], task.normalize_repeats(4))
    # A fixed size longer than the split's maximum pads to exactly its need.
    x, _, w = task.generate(rng(0), 2, length=10, repeats=20)
    assert x.shape == (2, 10 + 200 + 2, 9)
    assert w[:, -1].tolist() == [1.0, 1.0]
    gen = RepeatCopyTask(max_length=4, max_repeats=3)
    assert (gen.generalization_min_length, gen.generalization_max_length) == (5, 8)
    assert (gen.generalization_min_repeats, gen.generalization_max_repeats) == (4, 6)
    assert gen.max_steps("generalization") == 8 + 8 * 6 + 2


def _parse_recall(task, x_b):
    """Returns (items, query, answer_steps) decoded from one input episode."""
    bits, k = task.num_bits, task.item_length
    item_starts = np.nonzero(x_b[:, bits])[0]
    query_delims = np.nonzero(x_b[:, bits + 1])[0]
    assert len(query_delims) == 2
    q = query_delims[0]
    assert query_delims[1] == q + k + 1
    np.testing.assert_array_equal(item_starts, np.arange(len(item_starts)) * (k + 1))
    assert q == len(item_starts) * (k + 1)
    items = [x_b[s + 1 : s + 1 + k, :bits] for s in item_starts]
    query = x_b[q + 1 : q + 1 + k, :bits]
    return items, query, q + k + 2


@pytest.mark.parametrize("split", ["train", "generalization"])
@pytest.mark.parametrize("seed", SEEDS)
def test_associative_recall_semantics(seed, split):
    task = AssociativeRecallTask()
    x, y, w = task.generate(rng(seed), 32, split=split)
    k = task.item_length
    counts, query_positions = [], []
    for b in range(32):
        items, query, answer = _parse_recall(task, x[b])
        n = len(items)
        counts.append(n)
        low, high = task.items_range(split)
        assert low <= n <= high
        matches = [i for i, item in enumerate(items) if np.array_equal(item, query)]
        assert len(matches) == 1  # items are distinct
        j = matches[0]
        assert j < n - 1
        query_positions.append(j)
        np.testing.assert_array_equal(y[b, answer : answer + k], items[j + 1])
        np.testing.assert_array_equal(x[b, answer:], 0)
        expected_w = np.zeros(x.shape[1])
        expected_w[answer : answer + k] = 1
        np.testing.assert_array_equal(w[b], expected_w)
    assert len(set(counts)) > 2
    assert len(set(query_positions)) > 2


def test_associative_recall_num_items_override():
    task = AssociativeRecallTask()
    x, _, w = task.generate(rng(0), 3, num_items=4)
    assert x.shape == (3, 32, 8)
    assert all(len(_parse_recall(task, x[b])[0]) == 4 for b in range(3))
    x, _, _ = task.generate(rng(0), 3, num_items=9)
    assert x.shape == (3, 9 * 4 + 8, 8)
    assert all(len(_parse_recall(task, x[b])[0]) == 9 for b in range(3))


@pytest.mark.parametrize("seed", SEEDS)
def test_priority_sort_semantics(seed):
    task = PrioritySortTask()
    for split, (n, m) in [("train", (20, 16)), ("generalization", (40, 32))]:
        x, y, w = task.generate(rng(seed), 8, split=split)
        bits = task.num_bits
        for b in range(8):
            priority = x[b, :n, bits]
            assert np.all((priority >= -1) & (priority <= 1))
            assert len(np.unique(priority)) == n
            np.testing.assert_array_equal(x[b, :n, bits + 1], 0)
            assert x[b, n, bits + 1] == 1
            np.testing.assert_array_equal(x[b, n, : bits + 1], 0)
            np.testing.assert_array_equal(x[b, n + 1 :], 0)
            order = np.argsort(-priority)[:m]
            np.testing.assert_array_equal(y[b, n + 1 : n + 1 + m], x[b, order, :bits])
            expected_w = np.zeros(n + 1 + m)
            expected_w[n + 1 :] = 1
            np.testing.assert_array_equal(w[b], expected_w)


def test_priority_sort_overrides():
    task = PrioritySortTask()
    x, _, w = task.generate(rng(0), 2, num_inputs=10)
    assert x.shape == (2, 37, 10)
    np.testing.assert_array_equal(w.sum(axis=1), 8)  # keeps the 16/20 ratio
    x, _, w = task.generate(rng(0), 2, num_inputs=30, num_outputs=30)
    assert x.shape == (2, 61, 10)
    with pytest.raises(ValueError, match="num_outputs=25, num_inputs=20|"
                       "`num_inputs` must be >= `num_outputs`"):
        task.generate(rng(0), 2, num_inputs=20, num_outputs=25)


@pytest.mark.parametrize("seed", SEEDS)
def test_dynamic_ngrams_semantics(seed):
    task = DynamicNGramsTask()
    x, y, w = task.generate(rng(seed), 16)
    # Targets are the inputs shifted by one step.
    np.testing.assert_array_equal(y[:, :-1, 0], x[:, 1:, 0])
    expected_w = np.zeros(199)
    expected_w[4:] = 1
    np.testing.assert_array_equal(w, np.tile(expected_w, (16, 1)))
    x, y, w = task.generate(rng(seed), 4, split="generalization")
    assert x.shape == (4, 399, 1)
    np.testing.assert_array_equal(w.sum(axis=1), 395)
    x, y, w = task.generate(rng(seed), 4, length=50)
    assert x.shape == (4, 199, 1)
    np.testing.assert_array_equal(w.sum(axis=1), 45)
    np.testing.assert_array_equal(x[:, 49:], 0)


def _reference_optimal_cost(bits_seq, context_length=5):
    """Straightforward per-sequence implementation with a dict of counts."""
    counts = {}
    cost = 0.0
    for i in range(context_length, len(bits_seq)):
        context = tuple(bits_seq[i - context_length : i])
        n0, n1 = counts.get(context, (0, 0))
        p1 = (n1 + 0.5) / (n1 + n0 + 1)
        cost -= np.log2(p1 if bits_seq[i] == 1 else 1 - p1)
        counts[context] = (n0 + (bits_seq[i] == 0), n1 + (bits_seq[i] == 1))
    return cost


def test_dynamic_ngrams_optimal_cost():
    task = DynamicNGramsTask()
    x, y, w = task.generate(rng(7), 200)
    cost = task.optimal_cost(x, y, w)
    assert cost.shape == (200,)
    for b in range(3):
        seq = np.concatenate([x[b, :1, 0], y[b, :, 0]]).astype(int)
        assert cost[b] == pytest.approx(_reference_optimal_cost(seq))
    # Predicting 0.5 costs exactly one bit per scored step: 195 bits.
    assert w.sum(axis=1)[0] == 195
    assert cost.mean() < 180
    # The paper's optimal estimator: about 131 bits per 200-bit sequence.
    assert 110 < cost.mean() < 150
    # Padding does not change the cost.
    x_long, y_long, w_long = task.generate(rng(7), 200, length=200, split="generalization")
    np.testing.assert_allclose(task.optimal_cost(x_long, y_long, w_long), cost)


@pytest.mark.parametrize("name", NAMES)
def test_dataset_reproducible(name):
    task = tasks.get(name)
    data = task.dataset(batch_size=4, num_batches=5, seed=3)
    assert isinstance(data, TaskDataset) and len(data) == 5
    later = [data[i] for i in (4, 2)]
    again = task.dataset(batch_size=4, num_batches=5, seed=3)
    for got, i in zip(later, (4, 2)):
        for a, b in zip(got, again[i]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(data[-1][0], data[4][0])
    assert not np.array_equal(data[0][0], data[1][0])
    other_seed = task.dataset(batch_size=4, num_batches=5, seed=4)
    assert not np.array_equal(data[0][0], other_seed[0][0])
    validation = task.dataset(batch_size=4, num_batches=5, split="validation", seed=3)
    assert not np.array_equal(data[0][0], validation[0][0])
    with pytest.raises(IndexError):
        data[5]


def test_dataset_generate_kwargs_and_pydataset_kwargs():
    task = CopyTask()
    data = task.dataset(
        batch_size=2, num_batches=3, split="generalization",
        generate_kwargs={"length": 40}, workers=2,
    )
    assert data.workers == 2
    x, y, w = data[1]
    np.testing.assert_array_equal(w.sum(axis=1), 40)
    with pytest.raises(ValueError, match="split='test'"):
        task.dataset(split="test")


@pytest.mark.parametrize(
    "cls, kwargs, pattern",
    [
        (CopyTask, {"min_length": 5, "max_length": 3},
         r"`max_length` must be >= `min_length`, received min_length=5, max_length=3"),
        (CopyTask, {"num_bits": 0}, r"`num_bits` must be >= 1, received num_bits=0"),
        (CopyTask, {"max_length": 2.5}, r"`max_length` must be an integer, received max_length=2.5"),
        (CopyTask, {"generalization_min_length": 30, "generalization_max_length": 25},
         r"generalization_min_length=30, generalization_max_length=25"),
        (RepeatCopyTask, {"min_repeats": 0}, r"`min_repeats` must be >= 1, received min_repeats=0"),
        (RepeatCopyTask, {"min_repeats": 4, "max_repeats": 2}, r"min_repeats=4, max_repeats=2"),
        (AssociativeRecallTask, {"min_items": 1}, r"`min_items` must be >= 2, received min_items=1"),
        (AssociativeRecallTask, {"num_bits": 1, "item_length": 1},
         r"2 \*\* \(num_bits \* item_length\) = 2"),
        (DynamicNGramsTask, {"sequence_length": 5},
         r"`sequence_length` must be >= 6, received sequence_length=5"),
        (DynamicNGramsTask, {"concentration": -1.0}, r"concentration=-1.0"),
        (PrioritySortTask, {"num_outputs": 21},
         r"`num_inputs` must be >= `num_outputs`, received num_outputs=21, num_inputs=20"),
        (PrioritySortTask, {"generalization_num_outputs": 41},
         r"generalization_num_outputs=41, generalization_num_inputs=40"),
    ],
)
def test_invalid_arguments(cls, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        cls(**kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_invalid_generate_arguments(name):
    task = tasks.get(name)
    with pytest.raises(ValueError, match=r"`split` must be one of .*split='test'"):
        task.generate(rng(0), 2, split="test")
    with pytest.raises(ValueError, match="split='test'"):
        task.max_steps("test")
    with pytest.raises(ValueError, match="batch_size=0"):
        task.generate(rng(0), 0)


def test_invalid_size_overrides():
    with pytest.raises(ValueError, match="length=0"):
        CopyTask().generate(rng(0), 2, length=0)
    with pytest.raises(ValueError, match="repeats=0"):
        RepeatCopyTask().generate(rng(0), 2, repeats=0)
    with pytest.raises(ValueError, match="num_items=1"):
        AssociativeRecallTask().generate(rng(0), 2, num_items=1)
    with pytest.raises(ValueError, match="length=5"):
        DynamicNGramsTask().generate(rng(0), 2, length=5)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    task = tasks.get(name)
    config = task.get_config()
    clone = type(task).from_config(config)
    assert clone.get_config() == config
    assert clone == task
    x1 = task.generate(rng(5), 3, "generalization")[0]
    x2 = clone.generate(rng(5), 3, "generalization")[0]
    np.testing.assert_array_equal(x1, x2)
    assert repr(task).startswith(type(task).__name__ + "(")


def test_loss_and_metrics():
    task = CopyTask()
    loss = task.loss()
    assert isinstance(loss, keras.losses.BinaryCrossentropy)
    names = [m.name for m in task.metrics()]
    assert names == ["bit_errors_per_sequence", "bit_accuracy",
                     "symbol_accuracy", "sequence_accuracy"]
    assert task.metrics()[0] is not task.metrics()[0]  # fresh instances
    # The loss is the mean binary cross-entropy over the answer steps only.
    x, y, w = task.generate(rng(0), 4)
    logits = np.random.default_rng(1).normal(size=y.shape).astype(np.float32)
    bce = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
    expected = bce.mean(axis=-1)[w > 0].mean()
    assert float(loss(y, logits, sample_weight=w)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", ["copy", "dynamic_ngrams"])
def test_dataset_with_model_fit(name):
    task = tasks.get(name)
    steps = task.max_steps()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((steps, task.input_size)), keras.layers.Dense(task.output_size)]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
        loss=task.loss(),
        weighted_metrics=task.metrics(),
    )
    data = task.dataset(batch_size=4, num_batches=1, seed=0)
    history = model.fit(data, epochs=1, verbose=0)
    x, y, w = data[0]
    expected = km.evaluate_predictions(model.predict(x, verbose=0), y, w)
    for key, value in expected.items():
        assert history.history[key][0] == pytest.approx(value, rel=1e-5), key
    assert np.isfinite(history.history["loss"][0])
    # compile_kwargs gives the same setup.
    kwargs = task.compile_kwargs()
    assert isinstance(kwargs["loss"], keras.losses.BinaryCrossentropy)
    assert [m.name for m in kwargs["weighted_metrics"]] == list(expected)
