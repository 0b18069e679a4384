"""Plots of where a memory cell read and wrote.

Needs matplotlib (`pip install "keras-memory[plots]"`); it is imported when a
plot is made, so `import keras_memory` works without it.

Example:

```python
from keras_memory import plotting

access = plotting.record_access(model, inputs)          # weightings over time
plotting.plot_memory_access(access, example=0, path="access.png")

heads = plotting.record_heads(lantm_model, inputs)      # LANTM key space
plotting.plot_head_trajectories(heads, example=0, path="heads.png")
```
"""

import keras
import numpy as np

from keras_memory.cells.dnc import DNCCell
from keras_memory.cells.lantm import LANTMCell
from keras_memory.cells.ntm import NTMCell
from keras_memory.cells.sam import SAMCell
from keras_memory.cells.sdnc import SDNCCell


def _find_rnn(model, cell_types):
    for layer in model.layers:
        if isinstance(layer, keras.layers.RNN) and isinstance(layer.cell, cell_types):
            return layer
    raise ValueError(
        f"The model has no keras.layers.RNN layer with a cell of type "
        f"{[t.__name__ for t in cell_types]}. Received layers: "
        f"{[type(layer).__name__ for layer in model.layers]}"
    )


def _sam_weightings(parts, num_heads, k, memory_size, max_dense_rows):
    """Dense `(batch, time, heads, rows)` weightings from SAM's sparse ones.

    With more than `max_dense_rows` slots only the slots that were read or
    written with a positive weight become rows; `rows` names them.
    """
    read_rows = np.asarray(parts["read_rows"]).astype(np.int64)  # (B, T, R, k)
    read_weights = np.asarray(parts["read_weights"])
    write_rows = np.asarray(parts["write_rows"]).astype(np.int64)  # (B, T, R*(k+1))
    write_weights = np.asarray(parts["write_weights"])
    batch, steps = read_rows.shape[:2]
    # Head i wrote its k previous read rows [i*k, (i+1)*k) and LRA row R*k + i.
    per_head = [np.r_[i * k:(i + 1) * k, num_heads * k + i] for i in range(num_heads)]
    write_rows = np.stack([write_rows[..., cols] for cols in per_head], axis=2)
    write_weights = np.stack([write_weights[..., cols] for cols in per_head], axis=2)
    if memory_size <= max_dense_rows:
        rows = np.arange(memory_size)
    else:
        rows = np.unique(np.concatenate([read_rows[read_weights > 0],
                                         write_rows[write_weights > 0]]))
    position = {row: i for i, row in enumerate(rows.tolist())}

    def densify(indices, weights):
        dense = np.zeros(indices.shape[:3] + (len(rows),), np.float32)
        for b, t, h, j in zip(*np.nonzero(weights > 0)):
            dense[b, t, h, position[indices[b, t, h, j]]] += weights[b, t, h, j]
        return dense

    return densify(read_rows, read_weights), densify(write_rows, write_weights), rows


def record_access(model, inputs, layer_name=None, max_dense_rows=1024):
    """Run a trained model and record where its memory heads read and wrote.

    Works for `NTMCell`, `SAMCell`, `DNCCell` and `SDNCCell`. The model's cell need not have been
    built with
    `return_weightings=True`: a copy of its RNN layer that returns the
    weightings is made with the same weights (the weights do not depend on that
    option) and run on the RNN's own inputs.

    Args:
        model: A functional `keras.Model` containing a
            `keras.layers.RNN(NTMCell(...))`, `SAMCell`, `DNCCell` or `SDNCCell`.
        inputs: The model's input batch (a NumPy array).
        layer_name: Name of the RNN layer, if the model has several.
        max_dense_rows: A `SAMCell` or `SDNCCell` with more slots than this has its
            weightings returned only for the slots it touched (see `"rows"`).

    Returns:
        A dict of NumPy arrays: `"read_weightings"`
        `(batch, time, read_heads, rows)`, `"write_weightings"`
        `(batch, time, write_heads, rows)`, `"rows"` (the memory slot of each
        row: every slot, or for a large `SAMCell` or `SDNCCell` the slots it
        touched),
        `"inputs"`, `"predictions"` (the model's output on `inputs`) and, for
        a `DNCCell`, `"read_modes"` `(batch, time, read_heads, 3)`: the
        weights of each read head's backward, content and forward weightings
        (for an `SDNCCell`, the weight its read puts on its backward, content
        and forward rows: each mode times the mass of its sparse weighting).
    """
    rnn = (model.get_layer(layer_name) if layer_name
           else _find_rnn(model, (NTMCell, SAMCell, DNCCell, SDNCCell)))
    config = rnn.cell.get_config()
    config["return_weightings"] = True
    cell = type(rnn.cell).from_config(config)
    recorder = keras.layers.RNN(cell, return_sequences=True, go_backwards=rnn.go_backwards)
    rnn_inputs = keras.Model(model.inputs, rnn.input).predict_on_batch(inputs)
    recorder(rnn_inputs[:1])
    recorder.set_weights(rnn.get_weights())
    parts = cell.split_output(recorder(rnn_inputs))
    parts = {key: keras.ops.convert_to_numpy(value) for key, value in parts.items()}
    if isinstance(cell, (SAMCell, SDNCCell)):
        # An SDNC head reads (and next writes) its k content rows and its
        # forward and backward rows, in SAM's layout with k + 2 num_links.
        k = cell.read_support if isinstance(cell, SDNCCell) else cell.k
        reads, writes, rows = _sam_weightings(parts, cell.num_heads, k,
                                              cell.memory_size, max_dense_rows)
        if isinstance(cell, SDNCCell):  # the weight on each head's b / c / f rows
            weights = np.asarray(parts["read_weights"])
            links = cell.num_links
            parts["read_modes"] = np.stack(
                [weights[..., k + links:].sum(-1), weights[..., :k].sum(-1),
                 weights[..., k:k + links].sum(-1)], axis=-1)
    else:
        reads, writes = parts["read_weightings"], parts["write_weightings"]
        rows = np.arange(cell.memory_size)
    access = {
        "read_weightings": reads,
        "write_weightings": writes,
        "rows": rows,
        "inputs": np.asarray(inputs),
        "predictions": np.asarray(model.predict_on_batch(inputs)),
    }
    if "read_modes" in parts:  # DNC: (batch, time, read_heads, 3)
        access["read_modes"] = parts["read_modes"]
    return access


def plot_memory_access(access, example=0, targets=None, sample_weight=None, path=None,
                       title=None, from_logits=True):
    """Heat maps of the inputs, outputs and head weightings over time.

    Args:
        access: The dict returned by `record_access`.
        example: Index of the example of the batch to show.
        targets: Optional targets of the batch, drawn next to the outputs.
        sample_weight: Optional `(batch, time)` weights; steps with weight 0
            are blanked in the output panel.
        path: If given, the figure is saved there (PNG by extension).
        title: Optional figure title.
        from_logits: Whether `access["predictions"]` are logits (they go
            through a sigmoid for display).

    Returns:
        The matplotlib `Figure`.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reads = access["read_weightings"][example]  # (T, R, N)
    writes = access["write_weightings"][example]
    predictions = access["predictions"][example]
    if from_logits:
        predictions = 1.0 / (1.0 + np.exp(-predictions))
    if sample_weight is not None:
        predictions = predictions * (sample_weight[example][:, None] > 0)
    steps = reads.shape[0]
    if sample_weight is not None:
        # Leave out the padding after the last step that carries weight or input.
        used = np.nonzero((np.abs(access["inputs"][example]).sum(-1) > 0)
                          | (sample_weight[example] > 0))[0]
        steps = int(used.max()) + 1 if used.size else steps

    panels = [("inputs", access["inputs"][example][:steps].T, "Greys")]
    if targets is not None:
        panels.append(("targets", np.asarray(targets[example])[:steps].T, "Greys"))
    panels.append(("outputs", predictions[:steps].T, "Greys"))
    for h in range(writes.shape[1]):
        panels.append((f"write head {h}", writes[:steps, h].T, "viridis"))
    modes = access.get("read_modes")
    for h in range(reads.shape[1]):
        panels.append((f"read head {h}", reads[:steps, h].T, "viridis"))
        if modes is not None:  # rows: backward, content, forward
            panels.append((f"read head {h}: mode (backward / content / forward)",
                           modes[example][:steps, h].T, "viridis"))

    tallest = 6.0 if sum("head" in p[0] and "mode" not in p[0] for p in panels) <= 3 else 3.0
    heights = [1.0 if "mode" in p[0] else max(2.0, min(tallest, p[1].shape[0] / 8))
               for p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(6.0, steps / 5), sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    rows = access.get("rows")
    for ax, (label, image, cmap) in zip(axes[:, 0], panels):
        ax.imshow(image, aspect="auto", interpolation="nearest", cmap=cmap, origin="upper",
                  **({"vmin": 0.0, "vmax": 1.0} if "mode" in label else {}))
        ax.set_ylabel("mode" if "mode" in label else "slot" if "head" in label else "channel")
        if "mode" in label:
            ax.set_yticks([0, 1, 2], ["b", "c", "f"])
        if "head" in label and "mode" not in label and rows is not None and len(rows) and (
            rows[-1] != len(rows) - 1
        ):
            # Only the touched slots are drawn: label some rows with their slot.
            ticks = np.linspace(0, len(rows) - 1, min(len(rows), 6)).astype(int)
            ax.set_yticks(ticks, [str(rows[i]) for i in ticks])
        ax.set_title(label, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time step")
    if title:
        fig.suptitle(title)
    # Leave about 0.5 inch at the top for the title.
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()) if title else None)
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def record_heads(model, inputs, layer_name=None):
    """Run a trained model and record where a `LANTMCell`'s heads went in key space.

    As with `record_access`, the cell need not return its weightings: a copy
    of its RNN layer that does is run with the same weights.

    Args:
        model: A functional `keras.Model` containing a
            `keras.layers.RNN(LANTMCell(...))` (or `MemoryRNN`).
        inputs: The model's input batch (a NumPy array).
        layer_name: Name of the RNN layer, if the model has several.

    Returns:
        A dict of NumPy arrays: `"read_head"` and `"write_head"`
        `(batch, time, k)` (the heads after each step's action; `k` is 2 on
        the plane, 3 on the sphere), `"read_weightings"`
        `(batch, time, capacity)`, `"written"` `(batch, time)` (1 where the
        step appended an entry: the write flag, or 1 without one),
        `"key_space"`, `"inputs"` and `"predictions"`.
    """
    rnn = model.get_layer(layer_name) if layer_name else _find_rnn(model, (LANTMCell,))
    config = rnn.cell.get_config()
    config["return_weightings"] = True
    cell = type(rnn.cell).from_config(config)
    recorder = keras.layers.RNN(cell, return_sequences=True, go_backwards=rnn.go_backwards)
    rnn_inputs = keras.Model(model.inputs, rnn.input).predict_on_batch(inputs)
    recorder(rnn_inputs[:1])
    recorder.set_weights(rnn.get_weights())
    parts = cell.split_output(recorder(rnn_inputs))
    parts = {key: keras.ops.convert_to_numpy(value) for key, value in parts.items()}
    rnn_inputs = np.asarray(rnn_inputs)
    if cell.write_flag_input:
        written = (rnn_inputs[..., -1] > 0).astype(np.float32)
    else:
        written = np.ones(rnn_inputs.shape[:2], np.float32)
    return {
        "read_head": parts["read_head"],
        "write_head": parts["write_head"],
        "read_weightings": parts["read_weightings"],
        "written": written,
        "key_space": cell.key_space,
        "inputs": np.asarray(inputs),
        "predictions": np.asarray(model.predict_on_batch(inputs)),
    }


def plot_head_trajectories(record, example=0, path=None, title=None):
    """The key-space paths of the write and read heads (the paper's Figures 2b and 3b).

    Every entry written is a dot at its key, coloured by the step that wrote
    it (the write head's path while the input is read); the read head's path
    while the model answers is drawn over it as crosses joined in order. On
    the sphere the picture is a 3-D view of the unit sphere.

    Args:
        record: The dict returned by `record_heads`.
        example: Index of the example of the batch to show.
        path: If given, the figure is saved there.
        title: Optional title.

    Returns:
        The matplotlib `Figure`.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = record["written"][example] > 0
    active = np.abs(record["inputs"][example]).sum(-1) > 0
    writes = record["write_head"][example][written & active]
    reads = record["read_head"][example][~written & active]
    sphere = record["key_space"] == "sphere"
    fig = plt.figure(figsize=(6.5, 6))
    ax = fig.add_subplot(111, projection="3d" if sphere else None)
    if sphere:
        u, v = np.mgrid[0 : 2 * np.pi : 30j, 0 : np.pi : 15j]
        ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v),
                          color="0.85", linewidth=0.4)
    coords = (lambda a: (a[:, 0], a[:, 1], a[:, 2])) if sphere else (lambda a: (a[:, 0], a[:, 1]))
    if len(writes):
        dots = ax.scatter(*coords(writes), c=np.arange(len(writes)), cmap="viridis", s=18,
                          label="entries written (colour: step)")
        fig.colorbar(dots, ax=ax, shrink=0.7, label="write step")
    if len(reads):
        ax.plot(*coords(reads), color="tab:red", linewidth=0.8, marker="x", markersize=4,
                label="read head while answering")
        ax.scatter(*coords(reads[:1]), color="tab:red", s=60, marker="o", facecolors="none",
                   label="first read")
    if not sphere:
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("key 1")
        ax.set_ylabel("key 2")
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title or ("sphere" if sphere else "plane"), fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def record_leaves(model, inputs, layer_name="ham_rnn"):
    """The leaf a trained HAM attends at every step (greedy decisions).

    Args:
        model: A model from `keras_memory.reinforce.build_ham_model` (its
            outputs include `"log_prob"`; the leaf is read from the HAM layer).
        inputs: The model's input batch (a dict for tree tasks).
        layer_name: Name of the `HAMRNN` layer. Defaults to `"ham_rnn"`.

    Returns:
        A dict with `"leaf"` `(batch, time)` ints, `"inputs"` and the
        model's `"logits"`.
    """
    rnn = model.get_layer(layer_name)
    probe = keras.Model(model.inputs, rnn.output)
    parts = rnn.cell.split_output(probe.predict_on_batch(inputs))
    return {
        "leaf": np.asarray(parts["leaf"]).astype(int),
        "inputs": inputs,
        "logits": np.asarray(model.predict_on_batch(inputs)["logits"]),
    }


def plot_leaf_visits(record, example=0, sample_weight=None, path=None, title=None,
                     leaf_values=None):
    """The leaves a HAM visits, step by step (like the paper's sorting analysis).

    Args:
        record: The dict returned by `record_leaves`.
        example: Index of the example of the batch.
        sample_weight: Optional `(batch, time)` weights; only steps up to the
            last weighted one are drawn, and weighted steps are marked.
        path: If given, the figure is saved there.
        title: Optional title.
        leaf_values: Optional sequence, one value per leaf of this example
            (e.g. the sort keys the tree was filled with; `None` for an
            empty leaf). Each visit is labelled with the value of its leaf,
            so a model that sorts reads the labels in ascending order.

    Returns:
        The matplotlib `Figure`.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    leaves = record["leaf"][example]
    steps = len(leaves)
    scored = None
    if sample_weight is not None:
        scored = np.asarray(sample_weight[example]) > 0
        steps = int(np.nonzero(scored)[0].max()) + 1 if scored.any() else steps
    fig, ax = plt.subplots(figsize=(max(5.0, steps / 4), 4))
    ax.plot(np.arange(steps), leaves[:steps], color="0.6", linewidth=0.8)
    colours = "tab:blue" if scored is None else np.where(scored[:steps], "tab:red", "tab:blue")
    ax.scatter(np.arange(steps), leaves[:steps], c=colours, s=20, zorder=3)
    if leaf_values is not None:
        for step, leaf in enumerate(leaves[:steps]):
            if 0 <= leaf < len(leaf_values) and leaf_values[leaf] is not None:
                ax.annotate(str(leaf_values[leaf]), (step, leaf), textcoords="offset points",
                            xytext=(0, 6), ha="center", fontsize=7)
    ax.set_xlabel("step (red: output steps)" if scored is not None else "step")
    ax.set_ylabel("leaf attended")
    ax.set_title(title or "leaves visited", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig
