"""HAMCell: the Keras contract, tree invariants, sampling, DHAM, the NumPy reference, bad input."""

import doctest
import os
import textwrap

import keras
import numpy as np
import pytest
from keras import ops

import numpy_ham as ref
from backend_utils import BACKEND, gradients, numpy, tensor
from contract import CellContract
import keras_memory
from keras_memory import HAMRNN, HAMCell
from keras_memory.addressing import ham as addressing

SMALL = dict(units=5, memory_size=4, hidden_size=4, seed=0)
ITEM = 3  # Width of the items that fill the tree.


# ------------------------------------------------------------ the contract
class _SeedStateMasking:
    """Masking check for hard attention: every output and state but the seed.

    The hard cell draws a fresh base seed for each sequence (outside the RNN
    loop, from its `SeedGenerator`), so two `predict` calls differ in that
    state by design; everything else must be the same with the padded steps
    masked as with the sequence truncated.
    """

    def test_masked_steps_change_nothing(self):
        cell = self.make_cell()
        x = self.inputs()
        valid = self.timesteps - 2
        padded = x.copy()
        padded[:, valid:] = 0.0
        inp = keras.Input((None, self.input_dim))
        # Keras' JAX RNN cannot mask a cell whose output is not its first state.
        rnn_class = keras_memory.MemoryRNN if BACKEND == "jax" else keras.layers.RNN
        rnn = rnn_class(cell, return_state=True)
        model = keras.Model(inp, rnn(keras.layers.Masking(0.0)(inp)))
        full = model.predict(padded, verbose=0)
        truncated = model.predict(x[:, :valid], verbose=0)
        seed_index = len(full) - 2  # [output, *states]; states end with seed, step.
        assert not np.array_equal(full[seed_index], truncated[seed_index])
        for index, (a, b) in enumerate(zip(full, truncated)):
            if index != seed_index:
                np.testing.assert_allclose(a, b, atol=1e-6)
        # The step counter stopped at the last valid step.
        np.testing.assert_array_equal(full[-1], valid)


class TestHAMCellHardContract(_SeedStateMasking, CellContract):
    """LSTM+HAM, hard attention (sampled in `fit`), as a plain RNN cell.

    `feed_inputs=True`: the contract's targets depend on the step inputs,
    which the paper's controller never sees (it reads only the tree), so the
    controller also reads them here. The paper's wiring, the input reaching
    the model only through the tree, is checked by the soft contract's fit
    and the Sort model below.
    """

    # JOIN, SEARCH, WRITE's H and T: kernel and bias each; LSTM: 3. EMBED is
    # built only by a tree initialisation.
    expected_num_trainable_weights = 11

    def make_cell(self, **overrides):
        return HAMCell(**{**SMALL, "feed_inputs": True, **overrides})


@pytest.mark.slow  # The hard variant's contract runs by default; soft steps are tested below.
class TestHAMCellSoftContract(CellContract):
    """LSTM+HAM with soft attention (DHAM), the paper's wiring (`feed_inputs=False`)."""

    expected_num_trainable_weights = 11

    def make_cell(self, **overrides):
        return HAMCell(**{**SMALL, "attention": "soft", **overrides})

    @pytest.mark.parametrize("jit_compile", [False, True])
    def test_fit_reduces_the_loss(self, jit_compile):
        # The controller reads only the tree, so the sequence goes in there
        # (`tree_inputs`); the step inputs are the same sequence, ignored.
        keras.utils.set_random_seed(1)
        inp = keras.Input((self.timesteps, self.input_dim))
        rnn = HAMRNN(self.make_cell(memory_size=8), return_sequences=True)
        out = keras.layers.Dense(1)(rnn(inp, tree_inputs=inp))
        model = keras.Model(inp, out)
        model.compile(keras.optimizers.Adam(0.01), "mse", jit_compile=jit_compile)
        x = self.inputs()
        y = np.cumsum(x[..., :1], axis=1) * 0.1
        first = model.evaluate(x, y, verbose=0)
        model.fit(x, y, epochs=30, verbose=0)
        assert model.evaluate(x, y, verbose=0) < 0.7 * first


@pytest.mark.slow  # The hard variant's contract runs by default; raw steps are tested below.
class TestRawHAMCellContract(_SeedStateMasking, CellContract):
    """Raw HAM (section 4.3): no LSTM, the step input is the query, hard attention."""

    # JOIN, SEARCH, WRITE's H and T, the read-out MLP: kernel and bias each.
    expected_num_trainable_weights = 10

    def make_cell(self, **overrides):
        return HAMCell(**{**SMALL, "controller": False, **overrides})


# ----------------------------------------------------------------- helpers
def _randomize(cell, seed=0, scale=0.6):
    """Random weights everywhere (Keras' zero biases would hide mistakes)."""
    rng = np.random.default_rng(seed)
    for weight in cell.trainable_weights:
        weight.assign(rng.normal(scale=scale, size=weight.shape).astype("float32"))


def _cell(features=ITEM, randomize=True, **overrides):
    cell = HAMCell(**{**SMALL, "memory_size": 8, "hidden_size": 8, "return_decisions": True,
                      **overrides})
    cell.build((None, features))
    cell._build_embed(ITEM)
    if randomize:
        _randomize(cell)
    return cell


def _f64(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


def _mlp_layers(mlp):
    layers = []
    for dense in mlp.dense_layers:
        activation = keras.activations.serialize(dense.activation)
        activation = None if activation == "linear" else activation
        bias = _f64(dense.bias) if dense.use_bias else np.zeros(dense.units)
        layers.append((_f64(dense.kernel), bias, activation))
    return layers


def _modules(cell):
    names = ("embed", "join", "search", "write_candidate", "write_gate")
    return ref.Modules({name: _mlp_layers(getattr(cell, name)) for name in names},
                       gated_join=cell.join_kind == "gated")


def _join_np(cell):
    modules = _modules(cell)
    return modules.join


def _assert_every_inner_node_is_the_join_of_its_children(cell, tree, atol=1e-5):
    join = _join_np(cell)
    tree = _f64(tree)
    n = cell.memory_size
    for row in tree:
        for e in range(n - 1):  # 0-based inner nodes.
            np.testing.assert_allclose(
                row[e], join(row[2 * e + 1], row[2 * e + 2]), atol=atol, rtol=1e-5
            )


def _items(batch=2, length=5, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, length, ITEM)).astype("float32")


def _step(cell, states, training, x=None):
    batch = states[0].shape[0]
    if x is None:
        x = np.zeros((batch, ITEM), "float32")
    return cell(x, states, training=training)


# ------------------------------------------------- the heap, exactly
def _add(left, right):
    return left + right


def test_heap_arithmetic_with_join_as_a_sum():
    # With JOIN = +, every node must hold the sum of the leaves below it.
    n = 8
    leaves = np.arange(1.0, n + 1.0, dtype="float32").reshape(1, n, 1)
    tree = numpy(addressing.init_tree(tensor(leaves), _add))[0, :, 0]
    np.testing.assert_array_equal(tree[n - 1 :], leaves[0, :, 0])
    for e in range(n - 1):
        np.testing.assert_array_equal(tree[e], tree[2 * e + 1] + tree[2 * e + 2])
    assert tree[0] == leaves.sum()

    # Right, left, right: node 0 -> 2 -> 5 -> 12, leaf 5.
    def decide(logits, level):
        return tensor([[1.0, 0.0, 1.0][level]] * 2)

    full = addressing.init_tree(tensor(np.repeat(leaves, 2, axis=0)), _add)
    descent = addressing.descend_hard(full, lambda h, q: h[:, 0] * 0.0, ops.zeros((2, 1)), decide)
    np.testing.assert_array_equal(numpy(descent.path), [[0, 2, 5, 12]] * 2)
    np.testing.assert_array_equal(numpy(descent.leaf), [12, 12])
    np.testing.assert_array_equal(numpy(descent.probabilities), 0.5)

    # Writing 100 into leaf 5 of row 0 and leaf 0 of row 1: each ancestor's sum follows.
    updated = numpy(addressing.update_path(
        full, tensor([12, 7]), tensor([[100.0], [100.0]]), _add))[..., 0]
    for row, leaf in ((0, 5), (1, 0)):
        expected_leaves = leaves[0, :, 0].copy()
        expected_leaves[leaf] = 100.0
        expected = addressing.init_tree(tensor(expected_leaves.reshape(1, n, 1)), _add)
        np.testing.assert_array_equal(updated[row], numpy(expected)[0, :, 0])

    # Leaf probabilities with SEARCH = 0.5 everywhere are uniform; soft_write
    # with p = 1 on one leaf writes exactly that leaf.
    uniform = addressing.leaf_probabilities(full, lambda h, q: h[..., 0] * 0.0, ops.zeros((2, 1)))
    np.testing.assert_allclose(numpy(uniform), 1.0 / n)
    one_hot = ops.one_hot([3, 6], n)
    written = numpy(addressing.soft_write(full, one_hot, lambda h: h * 0.0 - 1.0))[..., 0]
    np.testing.assert_array_equal(written[0, n - 1 + 3], -1.0)
    np.testing.assert_array_equal(written[1, n - 1 + 6], -1.0)
    assert (written[:, n - 1 :] == -1.0).sum() == 2
    np.testing.assert_array_equal(written[:, : n - 1], numpy(full)[:, : n - 1, 0])


# --------------------------------------------------------- tree invariants
def test_initial_tree_embeds_the_items_zeroes_the_rest_and_joins_bottom_up():
    cell = _cell()
    items = _items(batch=2, length=5)
    mask = np.ones((2, 5), "float32")
    mask[1, 2] = 0.0
    parts = cell.split_state(cell.initial_state_from(items, mask))
    tree = _f64(parts["tree"])
    modules = _modules(cell)
    n = cell.memory_size
    for b in range(2):
        leaves = [
            modules.embed(items[b, j].astype("float64")) * mask[b, j] if j < 5 else
            np.zeros(cell.hidden_size)
            for j in range(n)
        ]
        expected = ref.to_heap(ref.build_tree(leaves, modules.join), n)
        np.testing.assert_allclose(tree[b], expected, rtol=1e-5, atol=1e-6)
    # Excess and masked leaves are exactly zero, the others are not.
    np.testing.assert_array_equal(tree[:, n - 1 + 5 :], 0.0)
    np.testing.assert_array_equal(tree[1, n - 1 + 2], 0.0)
    assert np.abs(tree[:, n - 1 : n - 1 + 5]).sum(-1).max(0).min() > 0
    np.testing.assert_array_equal(_f64(parts["h"]), 0.0)
    np.testing.assert_array_equal(_f64(parts["c"]), 0.0)
    _assert_every_inner_node_is_the_join_of_its_children(cell, tree)


def test_the_empty_initial_tree_has_zero_leaves_and_joined_inner_nodes():
    cell = _cell()
    tree = _f64(cell.split_state(cell.get_initial_state(3))["tree"])
    np.testing.assert_array_equal(tree[:, cell.memory_size - 1 :], 0.0)
    assert np.abs(tree[:, 0]).sum() > 0  # Random JOIN biases: JOIN(0, 0) != 0.
    _assert_every_inner_node_is_the_join_of_its_children(cell, tree)


@pytest.mark.parametrize("mlp_depth", [1, 2])
def test_without_join_bias_an_empty_subtree_is_zero_at_every_height(mlp_depth):
    """With `join_bias=False` every node above excess leaves only is 0, in any tree size;
    with JOIN's biases such nodes are not all 0."""
    items = _items(batch=2, length=3)
    for join_bias in (False, True):
        for n in (8, 32):
            cell = _cell(memory_size=n, mlp_depth=mlp_depth, join_bias=join_bias)
            assert len(cell.join.weights) == mlp_depth * (1 + join_bias)
            tree = _f64(cell.split_state(cell.initial_state_from(items))["tree"])
            _assert_every_inner_node_is_the_join_of_its_children(cell, tree)
            empty = [e for e in range(2 * n - 1) if _first_leaf(e, n) >= 3]  # only excess leaves
            norms = np.abs(tree[:, empty]).sum(-1)
            if join_bias:  # JOIN(0, 0) = ReLU(bias): not 0 (here at height 1 at least)
                assert norms[:, [e for e in empty if e < n - 1]].max() > 0
            else:
                np.testing.assert_array_equal(norms, 0.0)
                assert np.abs(tree[:, 0]).sum(-1).min() > 0  # the root holds the items


def test_a_gated_join_blends_the_children_entry_by_entry():
    """`join="gated"`: every node lies between its children entry by entry, so an empty
    subtree is 0 at every height even with biases, and a subtree of equal leaves is
    that leaf at every height; the paper's MLP JOIN does neither."""
    items = _items(batch=2, length=3)
    same = np.repeat(_items(batch=2, length=1), 32, axis=1)
    for join in ("gated", "mlp"):
        cell = _cell(memory_size=32, join=join)
        assert len(cell.join.weights) == 2
        tree = _f64(cell.split_state(cell.initial_state_from(items))["tree"])
        _assert_every_inner_node_is_the_join_of_its_children(cell, tree)
        inner = np.arange(31)
        left, right = tree[:, 2 * inner + 1], tree[:, 2 * inner + 2]
        between = (tree[:, inner] >= np.minimum(left, right) - 1e-6) & (
            tree[:, inner] <= np.maximum(left, right) + 1e-6)
        full = _f64(cell.split_state(cell.initial_state_from(same))["tree"])
        empty = [e for e in range(63) if _first_leaf(e, 32) >= 3]
        if join == "gated":
            assert between.all()
            np.testing.assert_array_equal(np.abs(tree[:, empty]).sum(-1), 0.0)
            np.testing.assert_allclose(full, np.repeat(full[:, -1:], 63, axis=1), rtol=1e-6)
        else:
            assert not between.all()
            assert np.abs(full[:, 0] - full[:, -1]).max() > 1e-3
    with pytest.raises(ValueError, match="join.*Received: join='max'"):
        HAMCell(join="max")
    assert HAMCell.from_config(HAMCell(join="gated").get_config()).join_kind == "gated"


def _first_leaf(node, n):
    """The index (0..n-1) of the leftmost leaf under heap node `node`."""
    while node < n - 1:
        node = 2 * node + 1
    return node - (n - 1)


@pytest.mark.parametrize(
    "attention, training, controller",
    [("hard", True, True), ("hard", False, True), ("soft", True, True), ("hard", True, False)],
)
def test_every_inner_node_stays_the_join_of_its_children(attention, training, controller):
    cell = _cell(attention=attention, controller=controller)
    states = cell.initial_state_from(_items(batch=3))
    rng = np.random.default_rng(1)
    before = _f64(states[0])
    for _ in range(5):
        x = rng.normal(size=(3, ITEM)).astype("float32")
        _, states = _step(cell, states, training, x)
        tree = cell.split_state(states)["tree"]
        _assert_every_inner_node_is_the_join_of_its_children(cell, tree)
    assert not np.allclose(_f64(states[0]), before)  # The steps did write.


def _path_nodes(leaf, n):
    node = n - 1 + leaf
    nodes = [node]
    while node:
        node = (node - 1) // 2
        nodes.append(node)
    return nodes


@pytest.mark.parametrize("controller", [True, False])
def test_a_hard_step_changes_only_the_attended_leaf_and_its_ancestors(controller):
    cell = _cell(controller=controller)
    n = cell.memory_size
    states = cell.initial_state_from(_items(batch=6))
    rng = np.random.default_rng(2)
    for _ in range(4):
        before = _f64(cell.split_state(states)["tree"])
        x = rng.normal(size=(6, ITEM)).astype("float32")
        output, states = _step(cell, states, True, x)
        after = _f64(cell.split_state(states)["tree"])
        leaves = numpy(cell.split_output(output)["leaf"]).astype(int)
        for b, leaf in enumerate(leaves):
            path = _path_nodes(leaf, n)
            others = [e for e in range(2 * n - 1) if e not in path]
            np.testing.assert_array_equal(after[b, others], before[b, others])
            assert not np.allclose(after[b, n - 1 + leaf], before[b, n - 1 + leaf])
        # The root is on every path; a ReLU JOIN may give it zeros before and
        # after (which leaves are sampled depends on the backend's stream).
        assert any(not np.allclose(after[b, 0], before[b, 0]) for b in range(len(leaves)))


# ------------------------------------------------------------------ sampling
def test_sampled_leaves_follow_the_leaf_probabilities():
    cell = _cell()
    last = cell.search.dense_layers[-1]
    last.kernel.assign(last.kernel * 0.3)  # Spread the leaf distribution.
    n, batch = cell.memory_size, 4000
    states = cell.initial_state_from(np.repeat(_items(batch=1), batch, axis=0))
    # A non-zero previous controller state: the query of the descent.
    query = np.random.default_rng(3).normal(size=(1, cell.units)).astype("float32")
    states[1] = tensor(np.repeat(query, batch, axis=0))
    tree = cell.split_state(states)["tree"]

    modules = _modules(cell)
    expected = ref.leaf_distribution(ref.from_heap(_f64(tree[0])), n, modules, query[0])
    np.testing.assert_allclose(expected.sum(), 1.0, rtol=1e-12)
    assert expected.max() < 0.6  # Not saturated: the test can tell sampling apart.
    package = addressing.leaf_probabilities(tree[:1], cell._search, states[1][:1])
    np.testing.assert_allclose(_f64(package)[0], expected, rtol=1e-4, atol=1e-6)

    output, _ = _step(cell, states, training=True)
    parts = cell.split_output(output)
    leaves = numpy(parts["leaf"]).astype(int)
    frequencies = np.bincount(leaves, minlength=n) / batch
    tolerance = 4.5 * np.sqrt(expected * (1 - expected) / batch) + 1e-3
    np.testing.assert_array_less(np.abs(frequencies - expected), tolerance)
    # The log-probability output is log p(reached leaf).
    np.testing.assert_allclose(
        numpy(parts["log_prob"]), np.log(expected[leaves]), rtol=1e-4, atol=1e-5
    )

    # Inference takes the most probable branch at every node.
    deterministic, _ = _step(cell, states, training=False)
    assert len(set(numpy(cell.split_output(deterministic)["leaf"]))) == 1


def test_sampling_is_reproducible_from_the_seed_state_and_changes_with_it():
    cell = _cell()
    states = cell.initial_state_from(np.repeat(_items(batch=1), 64, axis=0))
    states[1] = tensor(np.random.default_rng(4).normal(size=(64, cell.units)), "float32")
    first, _ = _step(cell, states, True)
    again, _ = _step(cell, states, True)
    np.testing.assert_array_equal(numpy(first), numpy(again))
    other = list(states)
    other[3] = states[3] + 1.0  # Another base seed.
    changed, _ = _step(cell, other, True)
    leaf = numpy(cell.split_output(first)["leaf"])
    assert (leaf != numpy(cell.split_output(changed)["leaf"])).any()
    later = list(states)
    later[4] = states[4] + 1.0  # The next step number.
    stepped, _ = _step(cell, later, True)
    assert (leaf != numpy(cell.split_output(stepped)["leaf"])).any()
    # A fresh initial state draws a fresh base seed below 2^24.
    seeds = [_f64(cell.get_initial_state(2)[3]) for _ in range(2)]
    assert seeds[0][0, 0] != seeds[1][0, 0]
    assert all(0 <= s[0, 0] < 2**24 and s[0, 0] == int(s[0, 0]) for s in seeds)


def test_inference_is_deterministic_and_training_samples():
    keras.utils.set_random_seed(0)
    cell = HAMCell(**{**SMALL, "memory_size": 8, "return_decisions": True})
    rnn = HAMRNN(cell, return_sequences=True)
    steps = np.zeros((16, 6, 1), "float32")
    items = _items(batch=16, length=8)
    rnn(steps, tree_inputs=items)
    _randomize(cell, scale=0.3)
    runs = [cell.split_output(rnn(steps, tree_inputs=items, training=t)) for t in (0, 0, 1, 1)]
    np.testing.assert_array_equal(numpy(runs[0]["output"]), numpy(runs[1]["output"]))
    np.testing.assert_array_equal(numpy(runs[0]["leaf"]), numpy(runs[1]["leaf"]))
    assert (numpy(runs[2]["leaf"]) != numpy(runs[3]["leaf"])).any()


# --------------------------------------------------- REINFORCE bookkeeping
def test_decision_terms_and_their_gradients():
    cell = _cell()
    query = tensor(np.random.default_rng(5).normal(size=(4, cell.units)), "float32")
    search_kernel = cell.search.dense_layers[-1].kernel
    embed_kernel = cell.embed.dense_layers[0].kernel
    # Every leaf holds an item, so every sampled leaf depends on EMBED.
    items = _items(batch=4, length=cell.memory_size)
    seed = cell.initial_state_from(items)[3]  # the same samples every call

    def parts_of_a_step():
        states = cell.initial_state_from(items)
        states[1], states[3] = query, seed
        output, _ = _step(cell, states, True)
        return cell.split_output(output)

    def gradient(name, variable):
        return gradients(lambda: ops.sum(parts_of_a_step()[name]), [variable],
                         allow_missing=True)[1][0]

    parts = parts_of_a_step()
    assert (numpy(parts["log_prob"]) < 0).all()
    assert (numpy(parts["entropy"]) > 0).all()
    assert (numpy(parts["entropy"]) <= 3 * np.log(2) + 1e-6).all()  # log2(8) decisions.
    assert (numpy(parts["inverse_entropy"]) >= 3 / np.log(2) - 1e-4).all()
    # REINFORCE's log pi and the 1/H term reach SEARCH; the prediction does
    # not (the decisions are samples).
    assert np.abs(gradient("log_prob", search_kernel)).sum() > 0
    assert np.abs(gradient("inverse_entropy", search_kernel)).sum() > 0
    no_gradient = gradient("output", search_kernel)
    assert no_gradient is None or not np.any(no_gradient)
    # The prediction does reach the tree modules through the attended leaf.
    assert np.abs(gradient("output", embed_kernel)).sum() > 0


def test_inverse_entropy_stays_finite_where_a_decision_is_certain():
    logits = tensor([[0.0, 40.0, -200.0]])
    np.testing.assert_allclose(addressing.decision_entropies(logits)[0, 0], np.log(2), rtol=1e-6)
    inverse = numpy(addressing.inverse_entropies(logits))
    assert np.isfinite(inverse).all()
    # Past the floor (H < 1e-6) it continues linearly in log H: (1 + log(1e-6) - log H) / 1e-6.
    log_h = np.array([-40.0 + np.log(41.0), -200.0 + np.log(201.0)])
    np.testing.assert_allclose(inverse[0, 1:], (1 + np.log(1e-6) - log_h) / 1e-6, rtol=1e-5)
    log_p = addressing.decision_log_probabilities(logits, tensor([[1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(numpy(log_p), [[np.log(0.5), -40.0, 0.0]], atol=1e-6)


# ------------------------------------------------------------------ DHAM
def _copy_weights(source, target):
    for s, t in zip(source.weights, target.weights):
        t.assign(s)


def test_soft_attention_with_saturated_search_equals_hard_attention():
    hard = _cell(attention="hard")
    soft = _cell(attention="soft")
    _copy_weights(hard, soft)
    for cell in (hard, soft):
        last = cell.search.dense_layers[-1]
        last.kernel.assign(last.kernel * 1e6)
        last.bias.assign(last.bias * 1e6)
    items = _items(batch=3)
    hard_states = hard.initial_state_from(items)
    soft_states = soft.initial_state_from(items)
    for _ in range(4):
        # Precondition: every SEARCH on the hard path is saturated.
        parts = hard.split_state(hard_states)
        descent = addressing.descend_hard(
            parts["tree"], hard._search, parts["h"], lambda z, k: addressing.hard_decisions(z)
        )
        assert np.abs(numpy(descent.logits)).min() > 30
        hard_output, hard_states = _step(hard, hard_states, False)
        soft_output, soft_states = _step(soft, soft_states, False)
        hard_parts, soft_parts = hard.split_output(hard_output), soft.split_output(soft_output)
        np.testing.assert_allclose(numpy(soft_parts["output"]), numpy(hard_parts["output"]),
                                   atol=1e-5)
        np.testing.assert_array_equal(numpy(soft_parts["leaf"]), numpy(hard_parts["leaf"]))
        np.testing.assert_allclose(numpy(soft_states[0]), numpy(hard_states[0]), atol=1e-5)
    assert not np.allclose(_f64(hard_states[0]), _f64(hard.initial_state_from(items)[0]))


def test_a_soft_step_matches_the_numpy_reference():
    cell = _cell(attention="soft")
    modules = _modules(cell)
    n = cell.memory_size
    items = _items(batch=2)
    states = cell.initial_state_from(items)
    states[1] = tensor(np.random.default_rng(6).normal(size=(2, cell.units)), "float32")
    tree = _f64(states[0]).reshape(2, 2 * n - 1, -1)
    output, new_states = _step(cell, states, False)
    lstm = cell.controller
    for b in range(2):
        h = ref.from_heap(tree[b])
        p = ref.leaf_distribution(h, n, modules, _f64(states[1][b]))
        read = sum(p[j] * h[n + j] for j in range(n))
        h_new, c_new = ref.lstm_step(
            read, _f64(states[1][b]), _f64(states[2][b]),
            _f64(lstm.kernel), _f64(lstm.recurrent_kernel), _f64(lstm.bias),
        )
        leaves = [p[j] * modules.write(h[n + j], h_new) + (1 - p[j]) * h[n + j] for j in range(n)]
        expected = ref.to_heap(ref.build_tree(leaves, modules.join), n)
        np.testing.assert_allclose(_f64(cell.split_state(new_states)["tree"][b]), expected,
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(_f64(output[b, : cell.units]), h_new, rtol=1e-4, atol=1e-5)
        assert output[b, -1] == np.argmax(p)


# -------------------------------------------------------- NumPy reference
@pytest.mark.parametrize(
    "overrides",
    [
        dict(),
        dict(mlp_depth=2),
        dict(write_query="root"),
        dict(controller=False),
        dict(controller=False, mlp_depth=2),
        dict(join_bias=False),
        dict(join="gated"),
        dict(join="gated", mlp_depth=2, controller=False),
    ],
    ids=["lstm", "lstm-depth2", "lstm-root_query", "raw", "raw-depth2", "lstm-no_join_bias",
         "lstm-gated_join", "raw-depth2-gated_join"],
)
def test_hard_inference_steps_match_the_numpy_reference(overrides):
    steps, batch = 4, 4
    cell = _cell(**overrides)
    modules = _modules(cell)
    n, units = cell.memory_size, cell.units
    items = _items(batch=batch)
    xs = np.random.default_rng(7).normal(size=(batch, steps, ITEM)).astype("float32")
    states = cell.initial_state_from(items)
    outputs = []
    for t in range(steps):
        output, states = _step(cell, states, False, xs[:, t])
        outputs.append(_f64(output))
    outputs = np.stack(outputs, axis=1)
    final_tree = _f64(cell.split_state(states)["tree"])

    if cell.write_query == "root":
        original_write = modules.write
    for b in range(batch):
        leaves = [modules.embed(items[b, j].astype("float64")) if j < 5 else
                  np.zeros(cell.hidden_size) for j in range(n)]
        h = ref.build_tree(leaves, modules.join)
        state = (np.zeros(units), np.zeros(units))
        for t in range(steps):
            if cell.write_query == "root":
                root = h[1]
                modules.write = lambda leaf, query, root=root: original_write(leaf, root)
            if cell.controller_enabled:
                lstm = cell.controller

                def lstm_fn(x, s, lstm=lstm):
                    return ref.lstm_step(x, s[0], s[1], _f64(lstm.kernel),
                                         _f64(lstm.recurrent_kernel), _f64(lstm.bias))

                y, h, state, info = ref.hard_step(h, n, modules, lstm=lstm_fn, state=state)
            else:
                read_out = _mlp_layers(cell.read_out)
                y, h, _, info = ref.hard_step(
                    h, n, modules, read_out=lambda a: ref.mlp(read_out, a),
                    x=xs[b, t].astype("float64"))
            got = outputs[b, t]
            np.testing.assert_allclose(got[:units], y, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(
                got[units:units + 3],
                [info["log_prob"], info["entropy"], info["inverse_entropy"]],
                rtol=1e-4, atol=1e-5)
            assert got[units + 3] == info["leaf"]
        np.testing.assert_allclose(final_tree[b], ref.to_heap(h, n), rtol=1e-4, atol=1e-5)
    # The steps wrote to the tree and moved the controller or the read-out.
    initial_tree = _f64(cell.split_state(cell.initial_state_from(items))["tree"])
    assert not np.allclose(final_tree, initial_tree)
    assert not np.allclose(outputs[:, 0, :units], outputs[:, -1, :units])


# ------------------------------------------------------- models and saving
def test_feed_inputs_decides_whether_the_controller_sees_the_step_inputs():
    x = np.random.default_rng(8).normal(size=(2, 4, ITEM)).astype("float32")
    for feed, differs in ((False, False), (True, True)):
        rnn = keras.layers.RNN(HAMCell(**SMALL, feed_inputs=feed), return_sequences=True)
        a, b = numpy(rnn(x)), numpy(rnn(2.0 * x))
        assert (not np.allclose(a, b)) is differs


def test_weights_do_not_depend_on_memory_size():
    small = HAMCell(**{**SMALL, "memory_size": 8, "mlp_depth": 2, "return_decisions": True})
    large = HAMCell(**{**SMALL, "memory_size": 32, "mlp_depth": 2, "seed": 1,
                       "return_decisions": True})
    steps = np.zeros((2, 5, 1), "float32")
    small_rnn = HAMRNN(small, return_sequences=True)
    large_rnn = HAMRNN(large, return_sequences=True)
    small_rnn(steps, tree_inputs=_items(length=6))
    _randomize(small)
    before = numpy(large_rnn(steps, tree_inputs=_items(length=20)))
    assert [w.shape for w in small.weights] == [w.shape for w in large.weights]
    large.set_weights(small.get_weights())
    after = numpy(large_rnn(steps, tree_inputs=_items(length=20)))
    assert np.isfinite(after).all() and not np.allclose(before, after)
    assert set(large.split_output(after)["leaf"].ravel()) <= set(range(32))


def _docstring_sort_model():
    """Run the class docstring's Sort example (it must stay within 15 lines)."""
    doc = HAMCell.__doc__
    start = doc.index("```python") + len("```python")
    code = textwrap.dedent(doc[start : doc.index("```\n", start)])
    assert len(code.strip().splitlines()) <= 15
    namespace = {"keras": keras, "keras_memory": keras_memory, "HAMCell": HAMCell, "HAMRNN": HAMRNN}
    exec(code, namespace)
    return namespace["task"], namespace["model"]


def test_the_sort_model_trains_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(0)
    task, model = _docstring_sort_model()
    x, y, w = task.generate(np.random.default_rng(0), 8)
    num_weights = len(model.weights)
    losses = {"logits": keras.losses.BinaryCrossentropy(from_logits=True), "baseline": "mse"}
    targets = {"logits": y, "baseline": np.zeros(y.shape[:2] + (1,), "float32")}
    model.compile("adam", loss=losses)
    model.fit(x, targets, epochs=1, verbose=0)
    path = os.path.join(tmp_path, "sort.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    expected, got = model.predict(x, verbose=0), restored.predict(x, verbose=0)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])
    # One copy of every weight (EMBED and JOIN are shared by the tree
    # initialisation and the steps), and the restored model keeps training.
    assert len(restored.weights) == num_weights
    restored.compile("adam", loss=losses)
    restored.fit(x, targets, epochs=1, verbose=0)
    assert not np.array_equal(restored.predict(x, verbose=0)["logits"], expected["logits"])


def test_the_hamrnn_docstring_example_runs():
    test = doctest.DocTestFinder().find(HAMRNN, "HAMRNN", globs={
        "np": np, "keras": keras, "HAMCell": HAMCell, "HAMRNN": HAMRNN})[0]
    assert test.examples
    result = doctest.DocTestRunner().run(test)
    assert result.failed == 0


def test_initial_state_from_works_with_a_plain_rnn():
    cell = HAMCell(**SMALL)
    items = _items(length=3)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    states = cell.initial_state_from(items)
    out = rnn(np.zeros((2, 4, 1), "float32"), initial_state=states)
    assert out.shape == (2, 4, cell.output_size)
    np.testing.assert_allclose(
        HAMRNN(cell, return_sequences=True)(np.zeros((2, 4, 1), "float32"), tree_inputs=items),
        out, atol=1e-6)
    # A serialized cell rebuilds its lazily built EMBED (the build config
    # carries the item width), so its weights reload.
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(cell))
    assert clone.embed.built and len(clone.weights) == len(cell.weights)
    clone.set_weights(cell.get_weights())
    np.testing.assert_allclose(clone.initial_state_from(items)[0], states[0], atol=1e-6)


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "argument, value",
    [
        ("memory_size", 12),
        ("memory_size", 0),
        ("memory_size", 1),
        ("memory_size", 8.0),
        ("mlp_depth", 3),
        ("mlp_depth", 0),
        ("attention", "medium"),
        ("write_query", "leaf"),
        ("units", 0),
        ("hidden_size", -1),
        ("controller", "yes"),
    ],
)
def test_bad_arguments_raise_a_value_error_naming_the_argument(argument, value):
    with pytest.raises(ValueError, match=f"`{argument}`.*Received: {argument}={value!r}"):
        HAMCell(**{argument: value})


def test_bad_tree_inputs_raise_clear_errors():
    cell = HAMCell(**SMALL)
    with pytest.raises(ValueError, match="more than the tree's memory_size=4"):
        cell.initial_state_from(_items(length=5))
    with pytest.raises(ValueError, match="rank 3"):
        cell.initial_state_from(np.zeros((2, 3), "float32"))
    rnn = HAMRNN(HAMCell(**SMALL))
    steps = np.zeros((2, 3, 1), "float32")
    with pytest.raises(ValueError, match="not both"):
        rnn(steps, tree_inputs=_items(length=3), initial_state=cell.get_initial_state(2))
    with pytest.raises(ValueError, match="HAMCell"):
        HAMRNN(keras.layers.LSTMCell(3))
    # EMBED is built for one item width.
    cell.initial_state_from(_items(length=3))
    with pytest.raises(ValueError, match="width"):
        cell.initial_state_from(np.zeros((2, 3, ITEM + 1), "float32"))


# ------------------------------------------------- O(log n) per training step
def _tree_sized_xla_ops(attention, masked=False, layer=None):
    """Kinds of op in the optimized XLA program of a training step whose result
    is a whole tree: `(B, 2n - 1, d)` or the flat state `(B, (2n - 1) d)`."""
    import re

    cell = HAMCell(units=4, memory_size=1024, hidden_size=3, attention=attention, seed=0)
    inputs = keras.Input((None, 3), batch_size=2)
    x = keras.layers.Masking(0.0)(inputs) if masked else inputs
    rnn = (layer or keras_memory.MemoryRNN)(cell)
    model = keras.Model(inputs, keras.layers.Dense(1)(rnn(x)))

    x = np.ones((2, 5, 3), "float32")
    if BACKEND == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=True)
        def step(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(model(x, training=True))
            return tape.gradient(loss, model.trainable_weights)

        hlo = step.experimental_get_compiler_ir(tf.constant(x))(stage="optimized_hlo")
    elif BACKEND == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        fixed = [v.value for v in model.non_trainable_variables]

        def loss(trainable, x):
            return ops.sum(model.stateless_call(trainable, fixed, x, training=True)[0])

        hlo = jax.jit(jax.grad(loss)).lower(trainable, x).compile().as_text()
    else:
        pytest.skip(f"no XLA program to audit on the {BACKEND} backend")
    tree = re.compile(r"= f32\[2,(2047,3|6141)\]\{[0-9,]*\} ([a-z-]+)\(")
    return [m.group(2) for m in map(tree.search, hlo.splitlines()) if m]


def test_a_hard_training_step_never_copies_the_tree():
    """Under XLA the hard path's writes (a scatter-add on the log n path nodes)
    and their gradients run in place: no op copies the tree, so a step of
    forward and backward costs O(log n). A `tensor_scatter_nd_update` there
    costs two whole-tree copies per step (benchmarks/scaling.py measures it:
    16 ms instead of 0.2 ms per step at 65,536 leaves)."""
    ops_on_trees = _tree_sized_xla_ops("hard")
    assert "scatter" in ops_on_trees  # the audit sees the in-place writes
    assert "copy" not in ops_on_trees, ops_on_trees


def test_the_exploration_term_is_one_over_the_entropy_and_keeps_pushing():
    """Section 3.3: `alpha / H(p)` per decision. It equals `1 / H` (NumPy, float64)
    while `H >= 1e-6`, and beyond (logits past about 16, where `1 / max(H, 1e-6)` is
    flat) it keeps growing with |logit|, so its gradient still pushes the decision
    back towards uncertainty; finite and symmetric for any logit."""
    z = np.array([0.0, 0.5, 2.0, 5.0, 10.0, 13.0, 15.0], "float64")
    p = 1.0 / (1.0 + np.exp(-z))
    entropy = -(p * np.log(p) + (1 - p) * np.log1p(-p))
    values = numpy(addressing.inverse_entropies(tensor(z, "float32")))
    np.testing.assert_allclose(values, 1.0 / entropy, rtol=2e-4)
    np.testing.assert_allclose(
        numpy(addressing.log_decision_entropies(tensor(z, "float32"))), np.log(entropy),
        rtol=1e-5, atol=1e-6)

    big = np.array([-500.0, -100.0, -30.0, -17.0, 17.0, 30.0, 100.0, 500.0], "float32")
    values = numpy(addressing.inverse_entropies(tensor(big)))
    _, (gradient,) = gradients(lambda t: ops.sum(addressing.inverse_entropies(t)), [tensor(big)])
    assert np.isfinite(values).all() and np.isfinite(gradient).all()
    # Descent on the term moves every logit towards 0, with a push that does not fade.
    np.testing.assert_array_equal(np.sign(gradient), np.sign(big))
    assert (np.abs(gradient) > 1e5).all()
    np.testing.assert_allclose(values[:4], values[::-1][:4], rtol=1e-6)
    # Continuous at the floor.
    edge = float(np.log(1e-6))
    zs = tensor(np.linspace(15.0, 18.0, 301).astype("float32"))
    v = numpy(addressing.inverse_entropies(zs))
    assert np.all(np.diff(v) > 0) and np.max(np.abs(np.diff(v)) / v[1:]) < 0.05
    assert edge < 0


@pytest.mark.skipif(BACKEND == "torch", reason="PyTorch has no XLA")
def test_the_decision_terms_have_finite_gradients_under_xla_at_every_logit():
    """Under XLA a HAM step's decision terms (log-probability, entropy, exploration)
    have finite gradients for every logit. XLA flushes subnormal floats to zero, and
    the exploration term's `log1p(u) / u` had the derivative 0 / 0 for |logit| of
    about 44 to 46 (u = exp(-|logit|) near 1e-19): a NaN that the zero gradient of a
    forced curriculum level or of the likelihood did not cancel, which stopped a
    100-epoch sort run at epoch 16 with NaN weights. Values match the eager ones."""
    z = np.concatenate([np.linspace(-200.0, 200.0, 4001), [-1e4, 1e4]]).astype("float32")
    d = (np.arange(z.size) % 2).astype("float32")
    for term in (lambda t: addressing.inverse_entropies(t),
                 lambda t: addressing.log_decision_entropies(t),
                 lambda t: addressing.decision_entropies(t),
                 lambda t: addressing.decision_log_probabilities(t, tensor(d))):
        eager, (g_eager,) = gradients(lambda t: ops.sum(term(t) * 1e-9), [tensor(z)])
        compiled, (g_xla,) = gradients(lambda t: ops.sum(term(t) * 1e-9), [tensor(z)],
                                       jit_compile=True)
        assert np.isfinite(g_xla).all(), z[~np.isfinite(g_xla)][:5]
        np.testing.assert_allclose(g_xla, g_eager, rtol=1e-4, atol=1e-12)
    # log H against float64 over the whole range (the series below u = 1e-4 included).
    a = np.abs(z.astype("float64"))
    u = np.exp(-a)
    exact = -a + np.log(np.log1p(u) / np.where(u > 0, u, 1.0) * (u > 0) + (u == 0)
                        + a / (1.0 + u))
    np.testing.assert_allclose(numpy(addressing.log_decision_entropies(tensor(z))), exact,
                               rtol=2e-6, atol=2e-6)


# ------------------------------------------------ the output and the step mask
def test_the_plain_output_is_what_the_next_layer_reads():
    """`keras.layers.RNN(HAMCell(...))` then `Dense`: the output is `y` alone,
    `units` wide (no leaf index, whose range grows with the tree);
    `return_decisions=True` appends the four REINFORCE quantities."""
    x = np.random.default_rng(0).normal(size=(2, 3, ITEM)).astype("float32")
    for attention in ("hard", "soft"):
        cell = HAMCell(**SMALL, attention=attention)
        assert cell.output_size == SMALL["units"]
        out = keras.layers.RNN(cell, return_sequences=True)(x)
        assert out.shape == (2, 3, SMALL["units"])
        assert set(cell.split_output(out)) == {"output"}
        full = HAMCell(**SMALL, attention=attention, return_decisions=True)
        assert full.output_size == SMALL["units"] + 4
        rnn = keras.layers.RNN(full, return_sequences=True)
        parts = full.split_output(rnn(x))
        assert set(parts) == {"output", "log_prob", "entropy", "inverse_entropy", "leaf"}
        # The same weights give the same y with or without the extra columns.
        rnn_plain = keras.layers.RNN(HAMCell(**SMALL, attention=attention), return_sequences=True)
        rnn_plain.build(x.shape)
        rnn_plain.set_weights(rnn.get_weights())
        np.testing.assert_allclose(rnn_plain(x), parts["output"], atol=1e-6)
    assert HAMCell.from_config(full.get_config()).return_decisions is True
    with pytest.raises(ValueError, match="return_decisions"):
        HAMCell(return_decisions="yes")


@pytest.mark.parametrize("variant", [
    dict(attention="hard"), dict(attention="soft"), dict(attention="hard", controller=False)])
@pytest.mark.parametrize("training", [False, True])
def test_step_mask_gives_what_keras_masking_gives(variant, training):
    """`MemoryRNN` hands the mask to `HAMCell.call(step_mask=)`; outputs and final
    states equal `keras.layers.RNN`'s per-step select over every state, with the
    same initial state (seed included), sampled or greedy."""
    if BACKEND == "jax":
        pytest.skip("Keras' JAX RNN cannot mask a cell whose output is not its first state")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6, ITEM)).astype("float32")
    mask = np.ones((3, 6), bool)
    mask[0, 4:] = False
    mask[1, 1:3] = False
    mask[2, 0] = False
    cell = HAMCell(**{**SMALL, "memory_size": 8, **variant}, return_decisions=True)
    reference = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    sparse = keras_memory.MemoryRNN(cell, return_sequences=True, return_state=True)
    state = cell.get_initial_state(3)
    cell.build((None, ITEM))
    _randomize(cell, seed=2, scale=0.8)
    expected = reference(x, mask=mask, initial_state=state, training=training)
    got = sparse(x, mask=mask, initial_state=state, training=training)
    for a, b in zip(expected, got):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # The masked steps did something to hide: an unmasked run differs.
    unmasked = sparse(x, initial_state=state, training=training)
    assert np.abs(np.asarray(unmasked[1]) - np.asarray(got[1])).max() > 1e-4


def test_a_masked_hard_training_step_never_copies_or_selects_the_tree():
    """With a mask, `MemoryRNN` passes `step_mask` and the hard cell scales its
    path's change by it: no tree-sized `select` (Keras' masking) and no copy, so
    masked sequences keep O(log n) per step."""
    ops_on_trees = _tree_sized_xla_ops("hard", masked=True)
    assert "scatter" in ops_on_trees
    assert "copy" not in ops_on_trees and "select" not in ops_on_trees, ops_on_trees


def test_configs_saved_before_return_decisions_keep_their_output():
    config = HAMCell(**SMALL).get_config()
    del config["return_decisions"]  # as saved before the option existed
    assert HAMCell.from_config(config).output_size == SMALL["units"] + 4
