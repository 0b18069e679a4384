"""Recipes: the papers' models built by name.

`make_cell(name, **settings)` is the one place that maps a name (`"ntm"`,
`"sam_lsh"`, `"slantm-s"`, `"tape"`, `"dham"`, ...) to a cell;
`memory_settings(name, slots, width)` gives each cell's own keywords for
the size of its memory. The examples, the benchmarks and the tuning
hypermodels build their cells here.

`keras_memory.recipes.ham` is the recipe of Andrychowicz & Kurach (2016):
its tasks at a tree size and its compiled models, shared by
`examples/ham_tables.py` and the tuning's `HAMHyperModel`.
"""

from keras_memory.recipes.cells import CELL_NAMES, make_cell, memory_settings

__all__ = ["CELL_NAMES", "make_cell", "memory_settings"]
