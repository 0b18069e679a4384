"""Pure addressing and memory-access functions, one module per memory family.

- `keras_memory.addressing.ntm`: the Neural Turing Machine (Graves et al., 2014).
- `keras_memory.addressing.sam`: Sparse Access Memory (Rae et al., 2016).
"""

from keras_memory.addressing import ntm, sam

__all__ = ["ntm", "sam"]
