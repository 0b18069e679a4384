"""Memory-augmented recurrent cells, one module per cell."""

from keras_memory.cells.ntm import NTMCell

__all__ = ["NTMCell"]
