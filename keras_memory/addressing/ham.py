"""The memory tree of the Hierarchical Attentive Memory (Andrychowicz & Kurach, 2016).

Pure functions on a tree tensor of shape `(B, 2n - 1, d)`: a full binary tree
with `n` leaves (`n` a power of two) stored as a 0-based heap. The root is
node 0, the children of node `i` are `2i + 1` (left) and `2i + 2` (right), the
leaves are nodes `n - 1 .. 2n - 2`, and leaf `j` of an input sequence is node
`n - 1 + j`. Level `k` (the root is level 0) holds nodes `2^k - 1 .. 2^(k+1) - 2`
from left to right, so the heap is the levels concatenated from the root down.
(The paper numbers the heap from 1: its `h_1` is node 0 here, its `h_e` is
node `e - 1`.)

The modules are passed in as callables, so these functions hold no weights:

- `join(left, right)`: JOIN, `(..., d), (..., d) -> (..., d)`.
- `search(nodes, queries)`: SEARCH before its sigmoid, i.e. the **logit** of
  going right, `(..., d), (..., q) -> (...)`. The functions apply the sigmoid
  (`p = sigmoid(logit)`), and compute log-probabilities and entropies from the
  logits, which stays finite where `p` rounds to 0 or 1 in float32.
- `write(leaves)`: WRITE with its query already bound, `(..., d) -> (..., d)`.

Cost per call: `init_tree` and `rejoin_all` run `n - 1` JOINs in `log n`
sequential levels, each level one batched call; `descend_hard` runs `log n`
SEARCHes; `update_path` runs `log n` JOINs and writes the `log n + 1` new path
values with one `scatter_nd_add` (`keras_memory.backend`) on explicit `[batch, node]` index
pairs, so the arithmetic is `O(d log n)` per step; `leaf_probabilities` runs
`n - 1` SEARCHes (DHAM, `O(n)`).

Whether the scatter copies the tree is up to TensorFlow. Measured on a 2-core
CPU (`HAMCell(20, hidden_size=20)`, batch 32, forward pass, per step):
0.16 / 0.33 / 1.6 ms at `n` = 16 / 256 / 4096 leaves in graph mode, where
each step copies the `(B, 2n - 1, d)` tree, and 0.045 / 0.10 / 0.17 ms under
XLA (`jit_compile=True`), whose per-step time grows roughly like `log n`
(the update apparently runs in place). The backward pass of `tf.while_loop`
also carries a dense tree-sized gradient per step.

`keras.ops` has no `gather_nd` or scatter: these come from
`keras_memory.backend`, as in `keras_memory.addressing.sam`; the rest is
`keras.ops`.

Reference:
    Andrychowicz & Kurach, "Learning Efficient Algorithms with Hierarchical
    Attentive Memory", arXiv:1602.03218v2, 2016: section 3.2 (the model,
    Figs. 2-5), section 3.3 (training) and Appendix A (the fully differentiable
    DHAM; Appendix B of the ICLR 2017 submission). Figure and section numbers
    are those of arXiv v2.
"""

import collections
import math

from keras import ops

from keras_memory import backend

#: Entropy below which the `1 / H(p)` exploration term (section 3.3) continues linearly in `log H`.
ENTROPY_FLOOR = 1e-6

#: What `descend_hard` returns. `leaf` `(B,)` int32 node index of the reached
#: leaf; `path` `(B, D + 1)` int32 node indices from the root to the leaf;
#: `decisions` `(B, D)` float32, 1 for right and 0 for left; `probabilities`
#: `(B, D)` SEARCH's probability of going right at each visited inner node;
#: `logits` `(B, D)` the same before the sigmoid. `D = log2 n`.
Descent = collections.namedtuple(
    "Descent", ["leaf", "path", "decisions", "probabilities", "logits"]
)


# ----------------------------------------------------------------- layout
def num_leaves(tree):
    """Number of leaves `n` of a tree `(B, 2n - 1, d)` (static)."""
    nodes = tree.shape[1]
    if nodes is None:
        raise ValueError("The number of tree nodes (axis 1) must be static.")
    return (nodes + 1) // 2


def depth(num_leaves_):
    """`log2 n`: the number of decisions of a descent (static int)."""
    value = int(round(math.log2(num_leaves_)))
    if num_leaves_ < 2 or 2 ** value != num_leaves_:
        raise ValueError(
            "A HAM tree needs a power-of-two number of leaves >= 2. "
            f"Received: num_leaves={num_leaves_}"
        )
    return value


def leaves_of(tree):
    """The leaves `(B, n, d)` of `tree`, left to right (nodes `n - 1 .. 2n - 2`)."""
    return tree[:, num_leaves(tree) - 1 :]


def level(tree, k):
    """The `2^k` nodes of level `k` `(B, 2^k, d)`, left to right."""
    return tree[:, 2**k - 1 : 2 ** (k + 1) - 1]


def batch_node_indices(nodes):
    """`[batch, node]` index pairs `(B, ..., 2)` for int32 node indices `(B, ...)`."""
    nodes = ops.cast(nodes, "int32")
    shape = ops.shape(nodes)
    batch = ops.reshape(ops.arange(shape[0], dtype="int32"), (-1,) + (1,) * (len(shape) - 1))
    return ops.stack([ops.broadcast_to(batch, shape), nodes], axis=-1)


def gather_nodes(tree, nodes):
    """The values `(B, ..., d)` of the nodes `(B, ...)` of `tree`."""
    return backend.gather_nd(tree, batch_node_indices(nodes))


# ---------------------------------------------------------------- the tree
def init_tree(leaves, join):
    """Build the tree bottom-up from its leaves (section 3.2, Fig. 2).

    Every inner node is `h_e = JOIN(h_l(e), h_r(e))`, computed level by level
    from the leaves up: `log n` sequential levels, each level one batched JOIN
    of all its pairs (`n - 1` JOINs in all).

    Args:
        leaves: `(B, n, d)`, the leaf values left to right (the paper's
            `EMBED(x_i)` for `i <= m` and zeros after), `n` a power of two.
        join: JOIN, `join(left, right) -> parent` on `(..., d)` tensors.

    Returns:
        The tree `(B, 2n - 1, d)`.
    """
    n = leaves.shape[1]
    depth(n)
    levels = [leaves]
    current = leaves
    while current.shape[1] > 1:
        width = current.shape[1] // 2
        pairs = ops.reshape(current, (-1, width, 2, current.shape[-1]))
        current = join(pairs[:, :, 0], pairs[:, :, 1])
        levels.append(current)
    return ops.concatenate(levels[::-1], axis=1)


def rejoin_all(tree, join):
    """Recompute every inner node from the leaves (DHAM update, Appendix A).

    Args:
        tree: `(B, 2n - 1, d)`.
        join: see `init_tree`.

    Returns:
        The tree with the same leaves and `h_e = JOIN(h_l(e), h_r(e))` at
        every inner node.
    """
    return init_tree(leaves_of(tree), join)


def descend_hard(tree, search, query, decisions_fn):
    """The attention phase of HAM: walk from the root to one leaf (section 3.2, Fig. 3).

    At each inner node `c`, `p = SEARCH(h_c, query)` is the probability of
    going right; `decisions_fn` turns it into the decision (a Bernoulli sample
    in training, section 3.3; `p > 0.5` at test time, section 4.1). `log n`
    decisions.

    Args:
        tree: `(B, 2n - 1, d)`.
        search: SEARCH logits, `search(nodes (B, d), query (B, q)) -> (B,)`.
        query: `(B, q)`, the controller state `h_LSTM` of the previous step
            (or the current input in raw HAM, section 4.3).
        decisions_fn: `decisions_fn(logits (B,), level) -> (B,)` float 0/1
            (1 = right), `level` the Python int depth of the node (0 = root).
            It should not propagate gradients.

    Returns:
        A `Descent` (`leaf`, `path`, `decisions`, `probabilities`, `logits`).
    """
    n = num_leaves(tree)
    node = ops.zeros(ops.shape(tree)[:1], "int32")
    path, decisions, logits = [node], [], []
    for k in range(depth(n)):
        logit = search(gather_nodes(tree, node), query)
        decision = ops.cast(decisions_fn(logit, k), "float32")
        node = 2 * node + 1 + ops.cast(decision > 0.5, "int32")
        path.append(node)
        decisions.append(decision)
        logits.append(logit)
    logits = ops.stack(logits, axis=1)
    return Descent(
        leaf=node,
        path=ops.stack(path, axis=1),
        decisions=ops.stack(decisions, axis=1),
        probabilities=ops.sigmoid(logits),
        logits=logits,
    )


def leaf_probabilities(tree, search, query, forced_levels=0):
    """DHAM: the probability that the stochastic descent reaches each leaf (Appendix A).

    `p(root) = 1`, `p(r(c)) = p(c) SEARCH(h_c, q)`,
    `p(l(c)) = p(c) (1 - SEARCH(h_c, q))`: SEARCH is evaluated at every inner
    node (`n - 1` evaluations, level by level), and a leaf's probability is
    the product of the branch probabilities on its path. Each row sums to 1.

    Args:
        tree: `(B, 2n - 1, d)`.
        search: SEARCH logits, `search(nodes (B, K, d), queries (B, K, q)) -> (B, K)`.
        query: `(B, q)`.
        forced_levels: int (or int32 scalar tensor): the levels above this
            depth go left with probability 1, so that only the leftmost
            subtree of `n / 2**forced_levels` leaves can be reached (the
            curriculum of `HAMCell.set_active_leaves`). Defaults to `0`.

    Returns:
        `(B, n)` leaf probabilities, left to right.
    """
    n = num_leaves(tree)
    probabilities = ops.ones_like(tree[:, :1, 0])  # (B, 1): the root.
    for k in range(depth(n)):
        nodes = level(tree, k)
        # `tile` with constant multiples: a dynamic `broadcast_to` inside
        # `tf.while_loop` has a gradient that XLA cannot compile.
        queries = ops.tile(query[:, None, :], [1, 2**k, 1])
        right = ops.sigmoid(search(nodes, queries))  # (B, 2^k)
        if not (isinstance(forced_levels, int) and forced_levels == 0):
            right = ops.where(k < forced_levels, ops.zeros_like(right), right)
        children = ops.stack([probabilities * (1.0 - right), probabilities * right], axis=-1)
        probabilities = ops.reshape(children, (-1, 2 ** (k + 1)))
    return probabilities


def soft_read(tree, probabilities):
    """DHAM's read: `sum_e p(e) h_e` over the leaves (Appendix A). Returns `(B, d)`."""
    return ops.einsum("bn,bnd->bd", probabilities, leaves_of(tree))


def update_path(tree, leaf, new_leaf, join, mask=None):
    """HAM's update phase: write one leaf and re-JOIN its ancestors (section 3.2, Fig. 5).

    The leaf gets `new_leaf`; then, from its parent up to the root, each
    ancestor `e` gets `JOIN(h_l(e), h_r(e))` (the off-path child read from
    `tree`). Only these `log n + 1` nodes change; they are written with one
    `scatter_nd_add` of `new - old` on `[batch, node]` pairs, every
    other node is passed through untouched, so under XLA a training step
    (forward and backward) costs O(log n), not O(n).

    Args:
        tree: `(B, 2n - 1, d)`.
        leaf: `(B,)` int node index of the leaf to write (`n - 1 .. 2n - 2`).
        new_leaf: `(B, d)`, its new value.
        join: see `init_tree`.
        mask: Optional `(B,)`, 1 where the step is real and 0 where it is
            padding: a padded sequence's tree is left unchanged, at the same
            `O(d log n)` cost (its path's change is scaled by 0).

    Returns:
        The updated tree `(B, 2n - 1, d)`.
    """
    n = num_leaves(tree)
    node = ops.cast(leaf, "int32")
    current = ops.cast(new_leaf, tree.dtype)
    nodes, values = [node], [current]
    for _ in range(depth(n)):
        is_right = ops.equal(node % 2, 0)  # Right children have even indices.
        sibling = gather_nodes(tree, ops.where(is_right, node - 1, node + 1))
        right_side = is_right[:, None]
        current = join(
            ops.where(right_side, sibling, current), ops.where(right_side, current, sibling)
        )
        node = (node - 1) // 2
        nodes.append(node)
        values.append(current)
    indices = batch_node_indices(ops.stack(nodes, axis=1))  # (B, D + 1, 2)
    # Written as `tree + scatter(new - old)`, not `tensor_scatter_nd_update`:
    # the same values (a path holds distinct nodes), but the gradient of an
    # add is the identity plus gathers, which XLA runs in place, while the
    # gradient of an update both reads and overwrites the incoming gradient,
    # which costs a copy of the whole tree every step (O(n), not O(log n)).
    old = backend.gather_nd(tree, indices)
    change = ops.stack(values, axis=1) - old
    if mask is not None:
        change = change * ops.cast(ops.reshape(mask, (-1, 1, 1)), change.dtype)
    return backend.scatter_nd_add(tree, indices, change)


def soft_write(tree, probabilities, write):
    """DHAM's write phase on every leaf (Appendix A).

    `h_e <- p(e) WRITE(h_e, q) + (1 - p(e)) h_e` for every leaf `e`; the inner
    nodes are left as they are (call `rejoin_all` next).

    Args:
        tree: `(B, 2n - 1, d)`.
        probabilities: `(B, n)` leaf probabilities (`leaf_probabilities`).
        write: WRITE with its query bound, `write(leaves (B, n, d)) -> (B, n, d)`.

    Returns:
        The tree with the written leaves.
    """
    n = num_leaves(tree)
    leaves = leaves_of(tree)
    p = ops.cast(probabilities, tree.dtype)[..., None]
    written = p * write(leaves) + (1.0 - p) * leaves
    return ops.concatenate([tree[:, : n - 1], written], axis=1)


# -------------------------------------------------------- the decisions
def hard_decisions(logits):
    """Test-time decisions (section 4.1): right iff `p > 0.5`, i.e. `logit > 0`."""
    return ops.cast(logits > 0.0, "float32")


def decision_log_probabilities(logits, decisions):
    """`log p(decision)` of Bernoulli decisions (1 = right), from SEARCH logits (section 3.3).

    `log sigmoid(z)` for right and `log sigmoid(-z)` for left, finite even
    where `sigmoid(z)` rounds to 0 or 1.
    """
    return decisions * ops.log_sigmoid(logits) + (1.0 - decisions) * ops.log_sigmoid(
        -logits
    )


def decision_entropies(logits):
    """Binary entropy `H(p)` (nats) of each decision, `p = sigmoid(logit)` (section 3.3).

    `H = p softplus(-z) + (1 - p) softplus(z)`, finite for any logit.
    """
    p = ops.sigmoid(logits)
    return p * ops.softplus(-logits) + (1.0 - p) * ops.softplus(logits)


def log_decision_entropies(logits):
    """`log H(p)` of each decision, `p = sigmoid(logit)`, finite for any logit.

    `H` is symmetric in the logit; with `a = |z|` and `u = exp(-a)` it is
    `log1p(u) + a u / (1 + u)`, so `log H = -a + log(log1p(u) / u + a / (1 + u))`.
    Unlike `log(decision_entropies(z))`, which is `-inf` once `H` underflows
    in float32 (`|z|` above about 100), this keeps its slope of about `-1`
    per unit of `|z|` however confident the decision.
    """
    a = ops.abs(ops.cast(logits, "float32"))
    u = ops.exp(-a)
    # log1p(u) / u -> 1 as u -> 0. Below u = 1e-4 it is the series
    # 1 - u / 2 + u^2 / 3 (the next term, u^3 / 4, is below float32's
    # precision there): the quotient's derivative, (u / (1 + u) - log1p(u)) / u^2,
    # is 0 / 0 once u^2 underflows (u below about 1e-19, |z| above 44; XLA
    # flushes subnormal numbers to zero), a NaN that a zero upstream gradient
    # does not cancel. `where` selects between the two branches, and the
    # quotient's own input is kept at 1 where it is not used, so that neither
    # branch has a non-finite gradient (JAX multiplies an unused branch's
    # gradient by 0, which keeps a NaN).
    small = u < 1e-4
    u_big = ops.where(small, 1.0, u)
    ratio = ops.where(small, 1.0 - u / 2.0 + u * u / 3.0, ops.log1p(u_big) / u_big)
    return -a + ops.log(ratio + a / (1.0 + u))


def inverse_entropies(logits, floor=ENTROPY_FLOOR):
    """The exploration term `1 / H(p)` of each decision, without its `alpha` (section 3.3).

    The paper adds `alpha / H(p)` for every sampled decision: a cost that
    "goes to infinity whenever the entropy goes to zero, which ensures some
    level of exploration". It is exactly `1 / H` while `H >= floor` (logits
    up to about 16 for the default floor `1e-6`). Below the floor, where
    `1 / H` would overflow, it continues as
    `(1 + log(floor) - log H) / floor`: continuous, with the same slope in
    `log H` at the floor (`-1 / floor`), and still growing with `|logit|`,
    so its gradient keeps pushing the decision back towards uncertainty
    exactly where the paper says it should push hardest (a plain
    `1 / max(H, floor)` has zero gradient there).

    Args:
        logits: SEARCH logits of the decisions.
        floor: Entropy below which `1 / H` continues linearly in `log H`.

    Returns:
        A tensor like `logits`, `>= 1 / log(2)`.
    """
    log_h = log_decision_entropies(logits)
    log_floor = math.log(floor)
    # `maximum` keeps the untaken branch finite (its gradient is then 0).
    exact = ops.exp(-ops.maximum(log_h, log_floor))
    continued = (1.0 + log_floor - log_h) / floor
    return ops.where(log_h >= log_floor, exact, continued)
