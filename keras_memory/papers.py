"""Published results that the package's examples print next to their own.

`TABLE_1B` is Table 1(b) of Yang & Rush (2017), "Lie-Access Neural Turing
Machines": fine / coarse accuracy (%) on 3,200 examples of twice the training
length, best of the validation checks, in the small (16K examples x 20
passes) and large (320K examples, one pass) regimes, without action
interpolation. A star in the paper (exactly 100) is 100 here.

`HAM_TABLES` is Tables 1 (LSTM+HAM) and 2 (raw HAM) of Andrychowicz & Kurach
(2016), "Learning Efficient Algorithms with Hierarchical Attentive Memory":
the share (%) of output sequences with any wrong bit, on the test (tree of 32
leaves, lengths U[1, 32]; raw HAM: 32 operations) and generalization (128
leaves, lengths U[65, 128]; raw HAM: 128 operations) sets.
"""

#: `task -> (test error, generalization error)` in percent (the `keras_memory.tasks`
#: names without `ham_`).
HAM_TABLES = {
    "reverse": (0.0, 0.0), "search": (0.12, 1.68), "merge": (0.0, 2.48), "sort": (0.04, 0.24),
    "add": (0.0, 100.0), "stack": (0.0, 0.0), "queue": (0.0, 0.0), "priority_queue": (0.08, 0.2),
}
#: The raw-HAM tasks of `HAM_TABLES` (Table 2); the others are LSTM+HAM (Table 1).
HAM_RAW_TASKS = ("stack", "queue", "priority_queue")

#: Model names of `TABLE_1B`, as in the paper: LSTM, RAM, RAM/Tape, LANTM,
#: LANTM-s, SLANTM, SLANTM-s.
TABLE_1B_MODELS = ("lstm", "ram", "tape", "lantm", "lantm-s", "slantm", "slantm-s")
#: Task names of `TABLE_1B` (the `keras_memory.tasks` names without `lantm_`).
TABLE_1B_TASKS = (
    "copy", "reverse", "bigram_flip", "double", "interleaved_add", "odd_first",
    "repeat_copy", "priority_sort",
)

#: `(model, task, regime) -> (fine, coarse)` accuracy in percent.
TABLE_1B = {
    ("lstm", "copy", "small"): (16, 0),
    ("lstm", "copy", "large"): (21, 0),
    ("ram", "copy", "small"): (61, 0),
    ("ram", "copy", "large"): (61, 1),
    ("tape", "copy", "small"): (70, 2),
    ("tape", "copy", "large"): (70, 1),
    ("lantm", "copy", "small"): (100, 100),
    ("lantm", "copy", "large"): (100, 100),
    ("lantm-s", "copy", "small"): (100, 100),
    ("lantm-s", "copy", "large"): (100, 100),
    ("slantm", "copy", "small"): (100, 100),
    ("slantm", "copy", "large"): (100, 100),
    ("slantm-s", "copy", "small"): (100, 100),
    ("slantm-s", "copy", "large"): (100, 100),
    ("lstm", "reverse", "small"): (26, 0),
    ("lstm", "reverse", "large"): (32, 0),
    ("ram", "reverse", "small"): (58, 2),
    ("ram", "reverse", "large"): (54, 2),
    ("tape", "reverse", "small"): (24, 1),
    ("tape", "reverse", "large"): (43, 2),
    ("lantm", "reverse", "small"): (100, 100),
    ("lantm", "reverse", "large"): (100, 100),
    ("lantm-s", "reverse", "small"): (97, 44),
    ("lantm-s", "reverse", "large"): (98, 88),
    ("slantm", "reverse", "small"): (99, 96),
    ("slantm", "reverse", "large"): (100, 100),
    ("slantm-s", "reverse", "small"): (100, 100),
    ("slantm-s", "reverse", "large"): (100, 100),
    ("lstm", "bigram_flip", "small"): (30, 0),
    ("lstm", "bigram_flip", "large"): (39, 0),
    ("ram", "bigram_flip", "small"): (56, 5),
    ("ram", "bigram_flip", "large"): (54, 9),
    ("tape", "bigram_flip", "small"): (64, 8),
    ("tape", "bigram_flip", "large"): (69, 9),
    ("lantm", "bigram_flip", "small"): (100, 100),
    ("lantm", "bigram_flip", "large"): (100, 100),
    ("lantm-s", "bigram_flip", "small"): (100, 100),
    ("lantm-s", "bigram_flip", "large"): (99, 94),
    ("slantm", "bigram_flip", "small"): (99, 99),
    ("slantm", "bigram_flip", "large"): (97, 67),
    ("slantm-s", "bigram_flip", "small"): (93, 60),
    ("slantm-s", "bigram_flip", "large"): (90, 43),
    ("lstm", "double", "small"): (44, 0),
    ("lstm", "double", "large"): (47, 0),
    ("ram", "double", "small"): (72, 8),
    ("ram", "double", "large"): (74, 15),
    ("tape", "double", "small"): (70, 12),
    ("tape", "double", "large"): (71, 6),
    ("lantm", "double", "small"): (100, 100),
    ("lantm", "double", "large"): (100, 100),
    ("lantm-s", "double", "small"): (100, 100),
    ("lantm-s", "double", "large"): (100, 100),
    ("slantm", "double", "small"): (100, 100),
    ("slantm", "double", "large"): (100, 100),
    ("slantm-s", "double", "small"): (100, 100),
    ("slantm-s", "double", "large"): (100, 100),
    ("lstm", "interleaved_add", "small"): (60, 0),
    ("lstm", "interleaved_add", "large"): (61, 0),
    ("ram", "interleaved_add", "small"): (74, 13),
    ("ram", "interleaved_add", "large"): (76, 17),
    ("tape", "interleaved_add", "small"): (77, 23),
    ("tape", "interleaved_add", "large"): (67, 19),
    ("lantm", "interleaved_add", "small"): (99, 93),
    ("lantm", "interleaved_add", "large"): (99, 93),
    ("lantm-s", "interleaved_add", "small"): (90, 38),
    ("lantm-s", "interleaved_add", "large"): (94, 57),
    ("slantm", "interleaved_add", "small"): (99, 91),
    ("slantm", "interleaved_add", "large"): (99, 97),
    ("slantm-s", "interleaved_add", "small"): (98, 78),
    ("slantm-s", "interleaved_add", "large"): (100, 100),
    ("lstm", "odd_first", "small"): (29, 0),
    ("lstm", "odd_first", "large"): (42, 0),
    ("ram", "odd_first", "small"): (31, 5),
    ("ram", "odd_first", "large"): (46, 4),
    ("tape", "odd_first", "small"): (43, 8),
    ("tape", "odd_first", "large"): (62, 8),
    ("lantm", "odd_first", "small"): (99, 91),
    ("lantm", "odd_first", "large"): (99, 95),
    ("lantm-s", "odd_first", "small"): (90, 29),
    ("lantm-s", "odd_first", "large"): (50, 0),
    ("slantm", "odd_first", "small"): (49, 7),
    ("slantm", "odd_first", "large"): (56, 8),
    ("slantm-s", "odd_first", "small"): (74, 15),
    ("slantm-s", "odd_first", "large"): (76, 16),
    ("lstm", "repeat_copy", "small"): (24, 0),
    ("lstm", "repeat_copy", "large"): (37, 0),
    ("ram", "repeat_copy", "small"): (98, 56),
    ("ram", "repeat_copy", "large"): (99, 98),
    ("tape", "repeat_copy", "small"): (71, 18),
    ("tape", "repeat_copy", "large"): (99, 93),
    ("lantm", "repeat_copy", "small"): (67, 0),
    ("lantm", "repeat_copy", "large"): (70, 0),
    ("lantm-s", "repeat_copy", "small"): (17, 0),
    ("lantm-s", "repeat_copy", "large"): (48, 0),
    ("slantm", "repeat_copy", "small"): (99, 91),
    ("slantm", "repeat_copy", "large"): (99, 78),
    ("slantm-s", "repeat_copy", "small"): (96, 41),
    ("slantm-s", "repeat_copy", "large"): (99, 51),
    ("lstm", "priority_sort", "small"): (46, 0),
    ("lstm", "priority_sort", "large"): (53, 0),
    ("ram", "priority_sort", "small"): (60, 5),
    ("ram", "priority_sort", "large"): (80, 22),
    ("tape", "priority_sort", "small"): (78, 15),
    ("tape", "priority_sort", "large"): (66, 9),
    ("lantm", "priority_sort", "small"): (87, 35),
    ("lantm", "priority_sort", "large"): (98, 72),
    ("lantm-s", "priority_sort", "small"): (99, 95),
    ("lantm-s", "priority_sort", "large"): (99, 99),
    ("slantm", "priority_sort", "small"): (100, 100),
    ("slantm", "priority_sort", "large"): (99, 99),
    ("slantm-s", "priority_sort", "small"): (98, 79),
    ("slantm-s", "priority_sort", "large"): (100, 100),
}


def table_1b(model, task, regime):
    """The paper's `(fine, coarse)` for one cell of Table 1(b).

    Raises:
        ValueError: If the model, task or regime is not in the table.
    """
    key = (model, task, regime)
    if key not in TABLE_1B:
        raise ValueError(
            f"No Table 1(b) entry for model={model!r}, task={task!r}, regime={regime!r}. "
            f"Models: {TABLE_1B_MODELS}; tasks: {TABLE_1B_TASKS}; regimes: ('small', 'large')"
        )
    return TABLE_1B[key]
