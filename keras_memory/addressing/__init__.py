"""Pure addressing and memory-access functions, one module per memory family.

- `keras_memory.addressing.ntm`: the Neural Turing Machine (Graves et al., 2014).
"""

from keras_memory.addressing import ntm

__all__ = ["ntm"]
