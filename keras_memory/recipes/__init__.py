"""Recipes: the papers' models built by name.

`make_cell(name, **settings)` is the one place that maps a name (`"ntm"`,
`"sam_lsh"`, `"slantm-s"`, `"tape"`, `"dham"`, ...) to a cell;
`memory_settings(name, slots, width)` gives each cell's own keywords for
the size of its memory. The examples, the benchmarks and the tuning
hypermodels build their cells here.

`keras_memory.recipes.ham` is the recipe of Andrychowicz & Kurach (2016):
its tasks at a tree size, its compiled models and the test of a trained
one, shared by `examples/ham_tables.py` and the tuning's `HAMHyperModel`
(and `tuning/search.py --evaluate-trial`). `keras_memory.recipes.lantm` is
the recipe of Yang & Rush (2017), Table 1(b): its tasks, its seven models,
their data and checks, shared by `examples/lantm_table1b.py` and the
tuning's `LieAccessHyperModel`.
"""

from keras_memory.recipes.cells import CELL_NAMES, make_cell, memory_settings

__all__ = ["CELL_NAMES", "make_cell", "memory_settings"]
