"""What a trained LSTM+HAM sort model gets wrong, and the paper's sorting figure.

Andrychowicz & Kurach (2016), section 4.4, show that a trained model visits
the leaves in ascending order of their keys. This script runs a trained
sort model (greedy decisions) on fresh examples at a tree size and splits
its mistakes by cause, for each answer step:

- `right_leaf`: it attended the leaf whose item the stable sort puts there;
- `tie`: it attended another leaf with the same key (a stability mistake:
  equal keys must come out in input order);
- `wrong_key`: it attended a leaf with another key (the search failed);
- `readout`: it attended the right leaf but some output bit is wrong.

It prints the sequence error with and without equal keys in the input, the
shares above, and the first wrong step, writes them to `--output` (JSON),
and draws the leaves one example visits, each labelled with its key.

It also records the median Euclidean norm of the tree's nodes at each height
(`node_norm_median_by_height`, over the nodes that are not 0, in the trees
filled from the inputs before the first step): SEARCH reads the nodes, and
nodes at heights above the training trees' may have sizes it never saw.

For each input's first step that attends a wrong leaf it also records the
height of the node where the descent left the right leaf's path
(`first_wrong_turn_heights`: height -> inputs; the leaves are at height 0,
the root of a tree of `2**d` leaves at height `d`): the trees of training
(32 leaves) have no node above height 5.

And it records how alike the full nodes of each height are
(`full_node_cosine_mean_by_height`: the mean cosine similarity of two
different nodes of that height whose leaves all hold items, over all the
trees): SEARCH decides from a node's direction, and where the nodes of a
height all point one way, what tells one from another is a small part of each.

Why they do (`join_jacobian_by_height`: height -> the two largest moduli of
the eigenvalues of JOIN's Jacobian `d JOIN(l, r) / dl + d JOIN(l, r) / dr` at
`l = r =` the mean full node one height below, central differences in
float64): near there a parent is the map of the sum of its children, and a
map applied height after height turns every vector towards its leading
eigenvector, the faster the more its largest eigenvalue leads the next
(repeated multiplication, as in the power method).

    python examples/ham_sort_analysis.py runs/ham/sort/model.keras --leaves 8

`--max-items` keeps the inputs short in a bigger tree (e.g. 32 items at 128
leaves), to tell the tree's size from the inputs' length. `--cap-search-norm C`
shrinks every node that SEARCH reads to a norm of at most `C`, keeping its
direction (an experiment on the trained model: with `C` the largest norm of
the training trees, are the bigger nodes of a bigger tree what goes wrong?).
"""

import argparse
import json
import os
import shlex
import sys

import keras
import numpy as np

from keras_memory import plotting, tasks
from keras_memory.reinforce import with_memory_size


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a trained sort model (.keras)")
    parser.add_argument("--leaves", type=int, default=32, help="tree size to analyse at")
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--max-items", type=int, default=None,
                        help="inputs of 1 to this many items (default: the tree size)")
    parser.add_argument("--cap-search-norm", type=float, default=None, metavar="C",
                        help="shrink the nodes SEARCH reads to a norm of at most C")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="JSON file (default: beside the model)")
    parser.add_argument("--figure", default=None, help="PNG file (default: beside the model)")
    parser.add_argument("--no-figure", action="store_true", help="draw no figure")
    return parser.parse_args(argv)


def keys_of(items):
    """The 5-bit keys of `(n, 10)` item rows, as ints."""
    return (np.asarray(items[..., :5] > 0.5).astype(int) * (1 << np.arange(4, -1, -1))).sum(-1)


def turn_height(leaf, right_leaf):
    """The height of the node where the root-to-leaf paths of two leaves part:
    1 for siblings, `d` when they sit in different halves of a tree of `2**d`
    leaves, 0 for the same leaf."""
    return (int(leaf) ^ int(right_leaf)).bit_length()


def node_statistics(model, x):
    """Three maps height -> statistic of the nodes of the trees filled from
    `x["sequence"]` (leaves at height 0): the median norm of the non-zero nodes,
    the mean cosine similarity of two different full nodes (every leaf below
    them holds an item; over every pair, in all the trees; `None` below 2), and
    the two largest eigenvalue moduli of JOIN's Jacobian at the mean full node
    one height below (`join_jacobian_moduli`; heights with full children)."""
    cell = next(layer.cell for layer in model.layers if isinstance(layer, keras.layers.RNN))
    sequence = x["sequence"]
    states = cell.initial_state_from(sequence[..., :-1], sequence[..., -1])
    tree = keras.ops.convert_to_numpy(cell.split_state(states)["tree"])
    depth = int(np.log2(cell.memory_size))
    lengths = np.asarray(sequence[..., -1]).sum(axis=1)
    medians, cosines, full_nodes = {}, {}, {}
    for k in range(depth + 1):  # level k from the root is height depth - k
        level = tree[:, 2**k - 1:2 ** (k + 1) - 1]
        norms = np.linalg.norm(level, axis=-1)
        norms = norms[norms > 0]
        medians[str(depth - k)] = float(np.median(norms)) if norms.size else 0.0
        # Node j of level k covers leaves [j w, (j + 1) w), w = 2**(depth - k).
        width = 2 ** (depth - k)
        full = (np.arange(1, 2**k + 1) * width)[None, :] <= lengths[:, None]
        cosines[str(depth - k)] = mean_pairwise_cosine(level[full])
        full_nodes[depth - k] = level[full]
    jacobians = {str(h): join_jacobian_moduli(cell, full_nodes[h - 1].mean(0))
                 for h in range(1, depth + 1) if len(full_nodes[h - 1])}
    return tuple(dict(sorted(stats.items(), key=lambda item: int(item[0])))
                 for stats in (medians, cosines, jacobians))


def join_jacobian_moduli(cell, child, epsilon=1e-6):
    """The two largest moduli of the eigenvalues of `J = d JOIN(l, r)/dl + d JOIN(l, r)/dr`
    of `cell` at `l = r = child` (`(d,)`), by central differences in float64, sorted
    descending."""
    layers = [(keras.ops.convert_to_numpy(dense.kernel).astype(np.float64),
               (keras.ops.convert_to_numpy(dense.bias).astype(np.float64) if dense.use_bias
                else 0.0),
               keras.activations.serialize(dense.activation))
              for dense in cell.join.dense_layers]
    act = {"relu": lambda z: np.maximum(z, 0.0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
           "linear": lambda z: z}

    def join(left, right):
        value = np.concatenate([left, right], -1)
        for kernel, bias, activation in layers:
            value = act[activation](value @ kernel + bias)
        if getattr(cell, "join_kind", "mlp") == "gated":
            return value * left + (1.0 - value) * right
        return value

    child = np.asarray(child, np.float64)
    steps = epsilon * np.eye(len(child))
    jacobian = (join(child + steps, child + steps) - join(child - steps, child - steps)).T / (
        2 * epsilon)
    return sorted(np.abs(np.linalg.eigvals(jacobian)).tolist(), reverse=True)[:2]


def mean_pairwise_cosine(vectors):
    """The mean cosine similarity of `vectors[i]` and `vectors[j]` over the pairs
    `i != j` of the non-zero rows of `(n, d)` `vectors` (`None` below 2 rows):
    with unit rows `u`, `(|sum u|^2 - n) / (n (n - 1))`, in O(n d)."""
    vectors = np.asarray(vectors, np.float64)
    norms = np.linalg.norm(vectors, axis=-1)
    units = vectors[norms > 0] / norms[norms > 0, None]
    n = len(units)
    return float((np.sum(units.sum(0) ** 2) - n) / (n * (n - 1))) if n > 1 else None


def cap_search_norm(model, cap):
    """Make the HAM cell of `model` shrink every node SEARCH reads to a norm of
    at most `cap`, its direction kept (for this model object only)."""
    from keras import ops

    cell = next(layer.cell for layer in model.layers if isinstance(layer, keras.layers.RNN))
    search = cell._search

    def capped(nodes, queries):
        norm = ops.sqrt(ops.sum(ops.square(nodes), axis=-1, keepdims=True))
        return search(nodes * ops.minimum(1.0, cap / ops.maximum(norm, 1e-6)), queries)

    cell._search = capped


def analyse(model, leaves, examples, seed, max_items=None, cap=None):
    task = tasks.get("ham_sort", num_leaves=leaves, max_length=max_items)
    model = with_memory_size(model, leaves) if leaves != _tree_size(model) else model
    if cap is not None:
        cap_search_norm(model, cap)
    x, y, w = task.generate(np.random.default_rng(seed), examples)
    record = plotting.record_leaves(model, x)
    visited, logits = record["leaf"], record["logits"]
    counts = dict(steps=0, right_leaf=0, tie=0, wrong_key=0, readout=0, eoo=0)
    first_wrong, wrong_with_ties, wrong_without, with_ties = [], 0, 0, 0
    turn_heights = {}
    for b in range(examples):
        length = int(x["sequence"][b, :, -1].sum())
        items = x["sequence"][b, :length, :-1]
        keys = keys_of(items)
        order = np.argsort(keys, kind="stable")
        has_ties = len(set(keys.tolist())) < length
        with_ties += has_ties
        wrong_steps, turned = [], False
        for i in range(length):
            leaf = int(visited[b, i])
            counts["steps"] += 1
            bits_right = bool(((logits[b, i] > 0) == (y[b, i] > 0.5)).all())
            if leaf == order[i]:
                counts["right_leaf"] += 1
                if not bits_right:
                    counts["readout"] += 1
            else:
                if not turned:
                    turned = True
                    height = turn_height(leaf, order[i])
                    turn_heights[height] = turn_heights.get(height, 0) + 1
                tie = leaf < length and keys[leaf] == keys[order[i]]
                counts["tie" if tie else "wrong_key"] += 1
            if not bits_right:
                wrong_steps.append(i)
        eoo_right = bool(((logits[b, length] > 0) == (y[b, length] > 0.5)).all())
        counts["eoo"] += not eoo_right
        wrong = bool(wrong_steps) or not eoo_right
        if wrong:
            first_wrong.append(wrong_steps[0] / max(length, 1) if wrong_steps else 1.0)
        wrong_with_ties += wrong and has_ties
        wrong_without += wrong and not has_ties
    steps = max(counts["steps"], 1)
    without = examples - with_ties
    norms, cosines, jacobians = node_statistics(model, x)
    return {
        "leaves": leaves, "max_items": task.max_length, "examples": examples, "seed": seed,
        "cap_search_norm": cap,
        "sequence_error": 100.0 * (wrong_with_ties + wrong_without) / examples,
        "sequences_with_equal_keys": with_ties,
        "sequence_error_with_equal_keys": 100.0 * wrong_with_ties / max(with_ties, 1),
        "sequence_error_without_equal_keys": 100.0 * wrong_without / max(without, 1),
        "answer_steps": counts["steps"],
        "share_right_leaf": counts["right_leaf"] / steps,
        "share_tie_mistakes": counts["tie"] / steps,
        "share_wrong_key": counts["wrong_key"] / steps,
        "share_readout_mistakes": counts["readout"] / steps,
        "wrong_end_of_output": counts["eoo"],
        "first_wrong_turn_heights": {str(h): turn_heights[h] for h in sorted(turn_heights)},
        "first_wrong_step_quartiles": (np.percentile(first_wrong, [25, 50, 75]).tolist()
                                       if first_wrong else None),
        "node_norm_median_by_height": norms,
        "full_node_cosine_mean_by_height": cosines,
        "join_jacobian_by_height": jacobians,
    }, (model, x, w)


def _tree_size(model):
    return next(layer.cell.memory_size for layer in model.layers
                if isinstance(layer, keras.layers.RNN))


def main(argv=None):
    args = parse_args(argv)
    model = keras.models.load_model(args.model)
    result, (model, x, w) = analyse(model, args.leaves, args.examples, args.seed,
                                       args.max_items, args.cap_search_norm)
    result["model"] = args.model
    argv = sys.argv[1:] if argv is None else argv
    result["command"] = "python examples/ham_sort_analysis.py " + shlex.join(argv)
    base = os.path.splitext(args.model)[0]
    output = args.output or f"{base}_analysis_{args.leaves}leaves.json"
    with open(output, "w") as f:
        json.dump(result, f, indent=1)
    for key, value in result.items():
        print(f"{key}: {value}")
    if args.no_figure:
        return result
    example = int(np.argmax(x["sequence"][:, :, -1].sum(1)))  # the longest input
    items = x["sequence"][example]
    labels = [int(k) if item[-1] > 0 else None for k, item in zip(keys_of(items[:, :-1]), items)]
    record = plotting.record_leaves(model, {k: v[example:example + 1] for k, v in x.items()})
    plotting.plot_leaf_visits(record, sample_weight=w[example:example + 1],
                              path=args.figure or f"{base}_leaves_{args.leaves}.png",
                              leaf_values=labels,
                              title="LSTM+HAM sort: the leaf of each output step, "
                                    "labelled with its key")
    return result


if __name__ == "__main__":
    main()
