"""Plots of where a memory cell read and wrote.

Needs matplotlib (`pip install "keras-memory[plots]"`); it is imported when a
plot is made, so `import keras_memory` works without it.

Example:

```python
from keras_memory import plotting

access = plotting.record_access(model, inputs)          # weightings over time
plotting.plot_memory_access(access, example=0, path="access.png")
```
"""

import keras
import numpy as np

from keras_memory.cells.ntm import NTMCell


def _find_rnn(model, cell_types):
    for layer in model.layers:
        if isinstance(layer, keras.layers.RNN) and isinstance(layer.cell, cell_types):
            return layer
    raise ValueError(
        f"The model has no keras.layers.RNN layer with a cell of type "
        f"{[t.__name__ for t in cell_types]}. Received layers: "
        f"{[type(layer).__name__ for layer in model.layers]}"
    )


def record_access(model, inputs, layer_name=None):
    """Run a trained model and record where its memory heads read and wrote.

    The model's `NTMCell` need not have been built with
    `return_weightings=True`: a copy of its RNN layer that returns the
    weightings is made with the same weights (the weights do not depend on that
    option) and run on the RNN's own inputs.

    Args:
        model: A functional `keras.Model` containing a
            `keras.layers.RNN(NTMCell(...))`.
        inputs: The model's input batch (a NumPy array).
        layer_name: Name of the RNN layer, if the model has several.

    Returns:
        A dict of NumPy arrays: `"read_weightings"`
        `(batch, time, num_read_heads, memory_size)`, `"write_weightings"`
        `(batch, time, num_write_heads, memory_size)`, `"inputs"`, and
        `"predictions"` (the model's output on `inputs`).
    """
    rnn = model.get_layer(layer_name) if layer_name else _find_rnn(model, (NTMCell,))
    config = rnn.cell.get_config()
    config["return_weightings"] = True
    cell = type(rnn.cell).from_config(config)
    recorder = keras.layers.RNN(cell, return_sequences=True, go_backwards=rnn.go_backwards)
    rnn_inputs = keras.Model(model.inputs, rnn.input).predict_on_batch(inputs)
    recorder(rnn_inputs[:1])
    recorder.set_weights(rnn.get_weights())
    parts = cell.split_output(recorder(rnn_inputs))
    return {
        "read_weightings": keras.ops.convert_to_numpy(parts["read_weightings"]),
        "write_weightings": keras.ops.convert_to_numpy(parts["write_weightings"]),
        "inputs": np.asarray(inputs),
        "predictions": np.asarray(model.predict_on_batch(inputs)),
    }


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
    for h in range(reads.shape[1]):
        panels.append((f"read head {h}", reads[:steps, h].T, "viridis"))

    heights = [max(2.0, min(6.0, p[1].shape[0] / 8)) for p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(6.0, steps / 5), sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (label, image, cmap) in zip(axes[:, 0], panels):
        ax.imshow(image, aspect="auto", interpolation="nearest", cmap=cmap, origin="upper")
        ax.set_ylabel("slot" if "head" in label else "channel")
        ax.set_title(label, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time step")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig
