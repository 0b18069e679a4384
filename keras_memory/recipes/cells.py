"""Memory cells by name: the one factory behind the examples, benchmarks and tuning.

Each name is a cell class with the settings that make the variant, e.g.
`"tape"` is `RAMCell(tape=True)` and `"slantm-s"` is
`LANTMCell(key_space="sphere", weighting="softmax")`. Everything else is
passed to the class as given: the factory adds no defaults of its own, so
`make_cell("ntm", units=100, seed=1)` builds exactly
`NTMCell(units=100, seed=1)`.
"""

import keras

from keras_memory.cells import DNCCell, HAMCell, LANTMCell, NTMCell, RAMCell, SAMCell, SDNCCell

#: name -> (cell class, the settings that make the variant).
_VARIANTS = {
    # Graves et al. (2014), section 3.
    "ntm": (NTMCell, {}),
    # Rae et al. (2016), section 3: exact top-k, or the LSH index (section 3.5).
    "sam": (SAMCell, {}),
    "sam_lsh": (SAMCell, {"search": "lsh"}),
    # Graves et al. (2016), Methods.
    "dnc": (DNCCell, {}),
    # Rae et al. (2016), section 3.4 and appendix: SAM with sparse temporal links.
    "sdnc": (SDNCCell, {}),
    "sdnc_lsh": (SDNCCell, {"search": "lsh"}),
    # Yang & Rush (2017), sections 3-4: the plane (LANTM) and the sphere
    # (SLANTM), with inverse-square or softmax (`-s`) weighting.
    "lantm": (LANTMCell, {"key_space": "plane", "weighting": "inverse_square"}),
    "lantm-s": (LANTMCell, {"key_space": "plane", "weighting": "softmax"}),
    "slantm": (LANTMCell, {"key_space": "sphere", "weighting": "inverse_square"}),
    "slantm-s": (LANTMCell, {"key_space": "sphere", "weighting": "softmax"}),
    # Yang & Rush (2017), section 5: the RAM and RAM/Tape baselines.
    "ram": (RAMCell, {"tape": False}),
    "tape": (RAMCell, {"tape": True}),
    # Andrychowicz & Kurach (2016), section 3: hard (REINFORCE) and soft (DHAM) attention.
    "ham": (HAMCell, {"attention": "hard"}),
    "dham": (HAMCell, {"attention": "soft"}),
    # The LSTM baseline of every paper: Keras' own cell.
    "lstm": (keras.layers.LSTMCell, {}),
}

#: Every name `make_cell` accepts.
CELL_NAMES = tuple(_VARIANTS)

#: name -> the keywords of (memory slots, slot width) of its cell class.
_MEMORY_KEYWORDS = {
    NTMCell: ("memory_size", "word_size"),
    SAMCell: ("memory_size", "word_size"),
    DNCCell: ("memory_size", "word_size"),
    SDNCCell: ("memory_size", "word_size"),
    LANTMCell: ("memory_capacity", "memory_width"),
    RAMCell: ("memory_capacity", "memory_width"),
    HAMCell: ("memory_size", "hidden_size"),
}


def _check_name(name):
    if name not in _VARIANTS:
        raise ValueError(f"Unknown cell name {name!r}; allowed: {', '.join(CELL_NAMES)}")


def make_cell(name, **settings):
    """Builds the memory cell called `name` with `settings`.

    The name picks the class and fixes the settings that define the variant
    (see `CELL_NAMES`):

    | name | cell |
    |---|---|
    | `"ntm"` | `NTMCell` |
    | `"sam"`, `"sam_lsh"` | `SAMCell`, `SAMCell(search="lsh")` |
    | `"dnc"`, `"sdnc"`, `"sdnc_lsh"` | `DNCCell`, `SDNCCell`, `SDNCCell(search="lsh")` |
    | `"lantm"`, `"lantm-s"` | `LANTMCell(key_space="plane")`, inverse-square or softmax weighting |
    | `"slantm"`, `"slantm-s"` | `LANTMCell(key_space="sphere")`, inverse-square or softmax weighting |
    | `"ram"`, `"tape"` | `RAMCell(tape=False)`, `RAMCell(tape=True)` |
    | `"ham"`, `"dham"` | `HAMCell(attention="hard")`, `HAMCell(attention="soft")` |
    | `"lstm"` | `keras.layers.LSTMCell` |

    Every other setting goes to the class unchanged; the factory adds no
    defaults, so a caller that passes what it passed to the class before
    gets the same cell, the same initial weights included.

    Args:
        name: One of `CELL_NAMES`.
        **settings: Constructor arguments of the cell class, e.g. `units`,
            `memory_size`, `seed`. A setting the name fixes (e.g. `tape` for
            `"ram"`) may be given only with the value the name fixes.

    Returns:
        A new, unbuilt cell, for `keras.layers.RNN` or
        `keras_memory.MemoryRNN`.

    Raises:
        ValueError: If `name` is not one of `CELL_NAMES`, or a setting
            contradicts the variant `name` stands for.

    Example:

    >>> cell = make_cell("tape", units=50, memory_width=20, seed=1)
    >>> type(cell).__name__, cell.tape
    ('RAMCell', True)
    >>> make_cell("ntm", units=100, seed=1).memory_size
    128

    Reference:
        - [Graves et al., 2014. Neural Turing Machines](https://arxiv.org/abs/1410.5401).
        - [Rae et al., 2016. Scaling Memory-Augmented Neural Networks with
          Sparse Reads and Writes](https://arxiv.org/abs/1610.09027).
        - [Graves et al., 2016. Hybrid computing using a neural network with
          dynamic external memory](https://www.nature.com/articles/nature20101).
        - [Yang & Rush, 2017. Lie-Access Neural Turing Machines](
          https://arxiv.org/abs/1611.02854).
        - [Andrychowicz & Kurach, 2016. Learning Efficient Algorithms with
          Hierarchical Attentive Memory](https://arxiv.org/abs/1602.03218).
    """
    _check_name(name)
    cls, fixed = _VARIANTS[name]
    for key, value in fixed.items():
        if key in settings and settings[key] != value:
            raise ValueError(
                f"Cell name {name!r} means {key}={value!r}; received {key}={settings[key]!r}. "
                f"Pick the name of the variant you want (allowed: {', '.join(CELL_NAMES)})."
            )
    return cls(**{**fixed, **settings})


def memory_settings(name, slots, width):
    """The keywords that give the cell called `name` `slots` slots of `width` numbers.

    The cells name their memory's size differently: `memory_size` and
    `word_size` (NTM, SAM, DNC, SDNC), `memory_capacity` and `memory_width`
    (LANTM, RAM), `memory_size` leaves and `hidden_size` (HAM, whose
    `memory_size` must be a power of two). Pass the result to `make_cell`.

    Args:
        name: One of `CELL_NAMES` but `"lstm"`.
        slots: Memory slots (HAM: leaves).
        width: Numbers per slot.

    Returns:
        A dict of two settings.

    Raises:
        ValueError: If `name` is unknown or has no memory (`"lstm"`).

    Example:

    >>> memory_settings("lantm", 64, 20)
    {'memory_capacity': 64, 'memory_width': 20}
    >>> cell = make_cell("ntm", units=100, **memory_settings("ntm", 128, 20))
    """
    _check_name(name)
    cls = _VARIANTS[name][0]
    if cls not in _MEMORY_KEYWORDS:
        memories = [n for n in CELL_NAMES if _VARIANTS[n][0] in _MEMORY_KEYWORDS]
        raise ValueError(f"Cell name {name!r} has no memory; allowed: {', '.join(memories)}")
    size_key, width_key = _MEMORY_KEYWORDS[cls]
    return {size_key: slots, width_key: width}

__all__ = ["CELL_NAMES", "make_cell", "memory_settings"]
