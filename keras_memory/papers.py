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
#: Table 1's baselines, `model -> task -> (test error, generalization error)` in
#: percent: the encoder-decoder LSTM and the LSTM with attention (LSTM+A)
#: (`keras_memory.baselines`).
HAM_BASELINES = {
    "lstm": {"reverse": (73.0, 100.0), "search": (62.0, 89.0), "merge": (88.0, 100.0),
             "sort": (99.0, 100.0), "add": (39.0, 100.0)},
    "lstm_attention": {"reverse": (0.0, 100.0), "search": (0.04, 0.52), "merge": (16.0, 100.0),
                       "sort": (25.0, 100.0), "add": (0.0, 100.0)},
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


#: The authors' grid-selected setting of every Table 1(b) run: `(model, task,
#: regime) -> {learning_rate, decay_delay, init_magnitude, seed, bound_act
#: (LANTM and SLANTM), num_lstm_layers (LSTM), key_dim and wt_sharpening (RAM
#: and RAM/Tape)}`, from `xopts/<task>/<model>_<task>_<regime>train.json` of
#: harvardnlp/lie-access-memory (commit 12c2024). `init_magnitude` True: every
#: weight uniform in (-1, 1), run in double precision (`gpuid: -1`, the CPU).
TABLE_1B_CONFIGS = {
    ("lantm", "bigram_flip", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 1},
    ("lantm", "bigram_flip", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": True, "seed": 3},
    ("lantm-s", "bigram_flip", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm-s", "bigram_flip", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("lstm", "bigram_flip", "large"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 1, "num_lstm_layers": 2},
    ("lstm", "bigram_flip", "small"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 3, "num_lstm_layers": 3},
    ("ram", "bigram_flip", "large"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20},
    ("ram", "bigram_flip", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20},
    ("slantm", "bigram_flip", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": False, "seed": 3},
    ("slantm", "bigram_flip", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "bound_act": True, "seed": 3},
    ("slantm-s", "bigram_flip", "large"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "bound_act": False, "seed": 1},
    ("slantm-s", "bigram_flip", "small"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": False, "bound_act": False, "seed": 1},
    ("tape", "bigram_flip", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "seed": 1, "key_dim": 2, "wt_sharpening": True},
    ("tape", "bigram_flip", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 2, "key_dim": 20, "wt_sharpening": False},
    ("lantm", "copy", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": True, "seed": 2},
    ("lantm", "copy", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 1},
    ("lantm-s", "copy", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm-s", "copy", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("lstm", "copy", "large"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 2, "num_lstm_layers": 2},
    ("lstm", "copy", "small"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 2, "num_lstm_layers": 2},
    ("ram", "copy", "large"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20},
    ("ram", "copy", "small"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "seed": 1, "key_dim": 20},
    ("slantm", "copy", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": False, "seed": 2},
    ("slantm", "copy", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": False, "seed": 1},
    ("slantm-s", "copy", "large"): {"learning_rate": 0.04, "decay_delay": 300, "init_magnitude": False, "bound_act": False, "seed": 3},
    ("slantm-s", "copy", "small"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "bound_act": False, "seed": 2},
    ("tape", "copy", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 2, "key_dim": 2, "wt_sharpening": True},
    ("tape", "copy", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 2, "key_dim": 2, "wt_sharpening": True},
    ("lantm", "double", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "bound_act": True, "seed": 3},
    ("lantm", "double", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "bound_act": True, "seed": 2},
    ("lantm-s", "double", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("lantm-s", "double", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lstm", "double", "large"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 3, "num_lstm_layers": 2},
    ("lstm", "double", "small"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 1, "num_lstm_layers": 2},
    ("ram", "double", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20},
    ("ram", "double", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20},
    ("slantm", "double", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "bound_act": True, "seed": 1},
    ("slantm", "double", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("slantm-s", "double", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": True, "seed": 2},
    ("slantm-s", "double", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("tape", "double", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 2, "wt_sharpening": True},
    ("tape", "double", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 2, "key_dim": 2, "wt_sharpening": True},
    ("lantm", "interleaved_add", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm", "interleaved_add", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm-s", "interleaved_add", "large"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm-s", "interleaved_add", "small"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 1},
    ("lstm", "interleaved_add", "large"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 1, "num_lstm_layers": 3},
    ("lstm", "interleaved_add", "small"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 2, "num_lstm_layers": 3},
    ("ram", "interleaved_add", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20},
    ("ram", "interleaved_add", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 2, "key_dim": 20},
    ("slantm", "interleaved_add", "large"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("slantm", "interleaved_add", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": False, "seed": 3},
    ("slantm-s", "interleaved_add", "large"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("slantm-s", "interleaved_add", "small"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("tape", "interleaved_add", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20, "wt_sharpening": False},
    ("tape", "interleaved_add", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 1, "key_dim": 20, "wt_sharpening": True},
    ("lantm", "odd_first", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("lantm", "odd_first", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("lantm-s", "odd_first", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 1},
    ("lantm-s", "odd_first", "small"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("lstm", "odd_first", "large"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 1, "num_lstm_layers": 2},
    ("lstm", "odd_first", "small"): {"learning_rate": 0.002, "decay_delay": 500, "seed": 3, "num_lstm_layers": 2},
    ("ram", "odd_first", "large"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20},
    ("ram", "odd_first", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "seed": 3, "key_dim": 20},
    ("slantm", "odd_first", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 1},
    ("slantm", "odd_first", "small"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 1},
    ("slantm-s", "odd_first", "large"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("slantm-s", "odd_first", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("tape", "odd_first", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "seed": 3, "key_dim": 20, "wt_sharpening": False},
    ("tape", "odd_first", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20, "wt_sharpening": True},
    ("lantm", "priority_sort", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm", "priority_sort", "small"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": True, "bound_act": True, "seed": 2},
    ("lantm-s", "priority_sort", "large"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm-s", "priority_sort", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 1},
    ("lstm", "priority_sort", "large"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 2, "num_lstm_layers": 1},
    ("lstm", "priority_sort", "small"): {"learning_rate": 0.002, "decay_delay": 500, "seed": 3, "num_lstm_layers": 2},
    ("ram", "priority_sort", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "seed": 3, "key_dim": 20},
    ("ram", "priority_sort", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20},
    ("slantm", "priority_sort", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": False, "seed": 2},
    ("slantm", "priority_sort", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "bound_act": False, "seed": 2},
    ("slantm-s", "priority_sort", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": True, "seed": 2},
    ("slantm-s", "priority_sort", "small"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": True, "bound_act": False, "seed": 2},
    ("tape", "priority_sort", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "seed": 2, "key_dim": 2, "wt_sharpening": False},
    ("tape", "priority_sort", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "seed": 1, "key_dim": 20, "wt_sharpening": False},
    ("lantm", "repeat_copy", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm", "repeat_copy", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm-s", "repeat_copy", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm-s", "repeat_copy", "small"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lstm", "repeat_copy", "large"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 2, "num_lstm_layers": 3},
    ("lstm", "repeat_copy", "small"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 3, "num_lstm_layers": 2},
    ("ram", "repeat_copy", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "seed": 2, "key_dim": 2},
    ("ram", "repeat_copy", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "seed": 2, "key_dim": 2},
    ("slantm", "repeat_copy", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": False, "seed": 3},
    ("slantm", "repeat_copy", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": False, "seed": 2},
    ("slantm-s", "repeat_copy", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "bound_act": False, "seed": 3},
    ("slantm-s", "repeat_copy", "small"): {"learning_rate": 0.04, "decay_delay": 300, "init_magnitude": True, "bound_act": True, "seed": 2},
    ("tape", "repeat_copy", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "seed": 1, "key_dim": 2, "wt_sharpening": False},
    ("tape", "repeat_copy", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": True, "seed": 2, "key_dim": 2, "wt_sharpening": True},
    ("lantm", "reverse", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": True, "seed": 3},
    ("lantm", "reverse", "small"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "bound_act": True, "seed": 1},
    ("lantm-s", "reverse", "large"): {"learning_rate": 0.02, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 2},
    ("lantm-s", "reverse", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "bound_act": True, "seed": 3},
    ("lstm", "reverse", "large"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 3, "num_lstm_layers": 2},
    ("lstm", "reverse", "small"): {"learning_rate": 0.002, "decay_delay": 700, "seed": 3, "num_lstm_layers": 2},
    ("ram", "reverse", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 2, "key_dim": 20},
    ("ram", "reverse", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": False, "seed": 2, "key_dim": 20},
    ("slantm", "reverse", "large"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": True, "bound_act": True, "seed": 1},
    ("slantm", "reverse", "small"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": True, "bound_act": True, "seed": 2},
    ("slantm-s", "reverse", "large"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": True, "seed": 3},
    ("slantm-s", "reverse", "small"): {"learning_rate": 0.01, "decay_delay": 600, "init_magnitude": True, "bound_act": True, "seed": 3},
    ("tape", "reverse", "large"): {"learning_rate": 0.01, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 2, "wt_sharpening": True},
    ("tape", "reverse", "small"): {"learning_rate": 0.02, "decay_delay": 300, "init_magnitude": False, "seed": 3, "key_dim": 20, "wt_sharpening": False},
}


def table_1b_config(model, task, regime):
    """The authors' settings for one cell of Table 1(b) (see `TABLE_1B_CONFIGS`).

    Raises:
        ValueError: If the model, task or regime is not in the table.
    """
    key = (model, task, regime)
    if key not in TABLE_1B_CONFIGS:
        raise ValueError(
            f"No Table 1(b) configuration for model={model!r}, task={task!r}, "
            f"regime={regime!r}. Models: {TABLE_1B_MODELS}; tasks: {TABLE_1B_TASKS}; "
            "regimes: ('small', 'large')"
        )
    return dict(TABLE_1B_CONFIGS[key])
