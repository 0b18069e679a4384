"""keras-memory: memory-augmented recurrent cells for Keras 3.

Cells (use them inside `keras.layers.RNN`):

- `NTMCell`: Neural Turing Machine (Graves et al., 2014).

Modules:

- `keras_memory.addressing`: the cells' addressing equations as pure functions.
- `keras_memory.tasks`: the papers' algorithmic tasks as Keras-ready data.
- `keras_memory.metrics`: bit errors per sequence, bit, symbol and sequence accuracy.
- `keras_memory.training`: a task model builder, evaluation and training callbacks.
- `keras_memory.plotting`: where the heads read and wrote (needs matplotlib).
"""

from keras_memory import addressing, metrics, tasks, training
from keras_memory.cells import NTMCell

__version__ = "0.1.0"

__all__ = ["NTMCell", "addressing", "metrics", "tasks", "training", "__version__"]
