"""Pure addressing and memory-access functions, one module per memory family.

- `keras_memory.addressing.ntm`: the Neural Turing Machine (Graves et al., 2014).
- `keras_memory.addressing.dnc`: the Differentiable Neural Computer (Graves et al., 2016).
- `keras_memory.addressing.sam`: Sparse Access Memory (Rae et al., 2016).
- `keras_memory.addressing.sdnc`: the Sparse DNC's sparse temporal links (Rae et al., 2016).
- `keras_memory.addressing.ham`: the Hierarchical Attentive Memory tree (Andrychowicz & Kurach, 2016).
- `keras_memory.addressing.lantm`: Lie-access memory and its RAM baselines (Yang & Rush, 2017).
"""

from keras_memory.addressing import dnc, ham, lantm, ntm, sam, sdnc

__all__ = ["dnc", "ham", "lantm", "ntm", "sam", "sdnc"]
