"""keras-memory: memory-augmented recurrent cells for Keras 3.

Cells (use them inside `keras.layers.RNN`):

- `NTMCell`: Neural Turing Machine (Graves et al., 2014).
- `SAMCell`: Sparse Access Memory (Rae et al., 2016).
- `DNCCell`: Differentiable Neural Computer (Graves et al., 2016).
- `SDNCCell`: the Sparse DNC, SAM with sparse temporal links (Rae et al., 2016).
- `LANTMCell`: Lie-access Neural Turing Machine, plane and sphere (Yang & Rush, 2017).
- `RAMCell`: the RAM and RAM/Tape baselines of Yang & Rush (2017).
- `HAMCell`: Hierarchical Attentive Memory, hard (REINFORCE) and soft (DHAM),
  LSTM+HAM and raw HAM (Andrychowicz & Kurach, 2016); `HAMRNN` fills its tree
  from an input sequence.

Layers: `keras_memory.layers.MemoryRNN`, a `keras.layers.RNN` that lets a
sparse cell apply the mask itself; `keras_memory.layers.LearnedInitialState`,
learned initial states for any RNN.

Modules:

- `keras_memory.addressing`: the cells' addressing equations as pure functions.
- `keras_memory.tasks`: the papers' algorithmic tasks as Keras-ready data.
- `keras_memory.metrics`: bit errors per sequence, bit, symbol and sequence accuracy.
- `keras_memory.training`: a task model builder, evaluation and training callbacks.
- `keras_memory.plotting`: where the heads read and wrote (needs matplotlib).
- `keras_memory.reinforce`: REINFORCE training of hard HAMs with `model.fit`.
- `keras_memory.baselines`: the encoder-decoder LSTM baselines of the HAM paper.
- `keras_memory.recipes`: the papers' cells by name (`recipes.make_cell("slantm", ...)`).
- `keras_memory.initializers`: seeds per weight, copies of seeded initializers, Torch's defaults.
"""

# reinforce and baselines register HAMModel and the baselines' layers, so that
# `keras.models.load_model` finds them after `import keras_memory`.
from keras_memory import (addressing, baselines, initializers, layers, metrics, recipes, reinforce,
                          tasks, training)
from keras_memory.cells import DNCCell, HAMRNN, HAMCell, LANTMCell, NTMCell, RAMCell, SAMCell, SDNCCell
from keras_memory.layers import MemoryRNN

__version__ = "0.1.0"

__all__ = ["DNCCell", "HAMCell", "HAMRNN", "LANTMCell", "NTMCell", "RAMCell", "SAMCell", "SDNCCell", "MemoryRNN", "addressing", "baselines", "initializers", "layers", "metrics", "recipes", "reinforce", "tasks", "training", "__version__"]
