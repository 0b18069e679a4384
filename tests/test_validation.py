"""Bad constructor arguments of every cell raise a `ValueError` naming the argument."""

import numpy as np
import pytest

from keras_memory.cells.dnc import DNCCell
from keras_memory.cells.ham import HAMCell
from keras_memory.cells.lantm import LANTMCell
from keras_memory.cells.ntm import NTMCell
from keras_memory.cells.ram import RAMCell
from keras_memory.cells.sam import SAMCell
from keras_memory.cells.sdnc import SDNCCell
from keras_memory.validation import (
    MAX_TENSOR_ELEMENTS,
    check_bool,
    check_seed,
    check_tensor_size,
)

BOOLEAN_ARGUMENTS = [
    (NTMCell, {"units": 4}, "return_weightings"),
    (SAMCell, {"units": 4}, "return_weightings"),
    (HAMCell, {}, "feed_inputs"),
    (HAMCell, {}, "controller"),
    (LANTMCell, {}, "action_interpolation"),
    (LANTMCell, {}, "write_flag_input"),
    (LANTMCell, {}, "return_weightings"),
    (LANTMCell, {}, "bound_action"),
    (LANTMCell, {"key_space": "sphere"}, "project_initial_key"),
    (RAMCell, {}, "tape"),
    (RAMCell, {}, "sharpen"),
    (RAMCell, {}, "write_flag_input"),
    (RAMCell, {}, "return_weightings"),
]


@pytest.mark.parametrize("cls, base, argument", BOOLEAN_ARGUMENTS)
@pytest.mark.parametrize("value", ["no", "False", 1])
def test_boolean_arguments_refuse_what_is_not_a_boolean(cls, base, argument, value):
    with pytest.raises(ValueError, match=rf"`{argument}`.*Received: {argument}={value!r}"):
        cls(**base, **{argument: value})


@pytest.mark.parametrize("cls, base, argument", BOOLEAN_ARGUMENTS)
def test_boolean_arguments_take_python_and_numpy_booleans(cls, base, argument):
    for value in (True, np.bool_(False)):
        cell = cls(**base, **{argument: value})
        stored = getattr(cell, "controller_enabled" if argument == "controller" else argument)
        assert stored is bool(value)


@pytest.mark.parametrize("cls, base, argument", BOOLEAN_ARGUMENTS)
def test_none_is_a_boolean_only_where_documented(cls, base, argument):
    if argument == "bound_action":  # None: the key space's default
        cls(**base, bound_action=None)
        return
    with pytest.raises(ValueError, match=rf"`{argument}`.*Received: {argument}=None"):
        cls(**base, **{argument: None})


@pytest.mark.parametrize(
    "cls, kwargs, argument",
    [
        (NTMCell, {"units": 4, "memory_size": 10**12}, "memory_size"),
        (NTMCell, {"units": 4, "word_size": 10**12}, "word_size"),
        (NTMCell, {"units": 10**6}, "units"),
        (SAMCell, {"units": 4, "word_size": 10**12}, "word_size"),
        (HAMCell, {"memory_size": 2**40}, "memory_size"),
        (HAMCell, {"hidden_size": 10**12}, "hidden_size"),
        (HAMCell, {"units": 10**12}, "units"),
        (LANTMCell, {"memory_capacity": 10**12}, "memory_capacity"),
        (LANTMCell, {"memory_width": 10**12}, "memory_width"),
        (RAMCell, {"memory_capacity": 10**12}, "memory_capacity"),
        (RAMCell, {"key_size": 10**12}, "key_size"),
    ],
)
def test_sizes_that_cannot_fit_are_refused_naming_the_argument(cls, kwargs, argument):
    value = kwargs[argument]
    with pytest.raises(ValueError, match=rf"`{argument}`.*2\*\*31.*{argument}={value}"):
        cls(**kwargs)


def test_the_size_limit_is_on_one_tensor_and_allows_its_bound():
    check_tensor_size("x", (2**16, 2**15), {"a": 1})  # exactly 2**31: allowed
    with pytest.raises(ValueError, match="`a` or `b` too large"):
        check_tensor_size("x", (2**16, 2**15 + 1), {"a": 1, "b": 2})
    assert MAX_TENSOR_ELEMENTS == 2**31


@pytest.mark.parametrize(
    "cls, base",
    [(NTMCell, {"units": 4}), (SAMCell, {"units": 4}), (HAMCell, {}),
     (LANTMCell, {}), (RAMCell, {})],
)
@pytest.mark.parametrize("seed", ["abc", 1.5, -1, True])
def test_a_bad_seed_is_named_as_the_user_passed_it(cls, base, seed):
    with pytest.raises(ValueError, match=rf"`seed`.*Received: seed={seed!r}$"):
        cls(**base, seed=seed)


@pytest.mark.parametrize(
    "cls, base, argument",
    [
        (NTMCell, {"units": 4}, "kernel_initializer"),
        (NTMCell, {"units": 4}, "controller_initializer"),
        (SAMCell, {"units": 4}, "kernel_initializer"),
        (HAMCell, {}, "kernel_initializer"),
        (LANTMCell, {}, "kernel_initializer"),
        (RAMCell, {}, "kernel_initializer"),
    ],
)
def test_an_unknown_initializer_name_is_named_with_its_argument(cls, base, argument):
    with pytest.raises(ValueError, match=rf"`{argument}`.*Received: {argument}='nope'"):
        cls(**base, **{argument: "nope"})


def test_check_bool_and_check_seed_return_plain_python_values():
    assert check_bool("b", np.bool_(True)) is True
    assert check_seed("s", np.int64(3)) == 3 and type(check_seed("s", np.int64(3))) is int
    assert check_seed("s", None) is None


# ------------------------------------------------------------- bad inputs
STEP_CELLS = [
    lambda: NTMCell(4, memory_size=8, word_size=3, seed=1),
    lambda: SAMCell(4, memory_size=8, word_size=3, num_heads=1, k=2, seed=1),
    lambda: LANTMCell(4, memory_width=3, memory_capacity=8, seed=1),
    lambda: RAMCell(4, memory_width=3, key_size=3, memory_capacity=8, seed=1),
    lambda: HAMCell(4, memory_size=4, hidden_size=3, seed=1),  # LSTM+HAM
    lambda: HAMCell(4, memory_size=4, hidden_size=3, controller=False, seed=1),  # raw HAM
    lambda: HAMCell(4, memory_size=4, hidden_size=3, feed_inputs=True, seed=1),
    lambda: HAMCell(4, memory_size=4, hidden_size=3, attention="soft", seed=1),
    lambda: DNCCell(4, memory_size=8, word_size=3, seed=1),
    lambda: SDNCCell(4, memory_size=8, word_size=3, num_heads=1, k=2, seed=1),
]


@pytest.mark.parametrize("make_cell", STEP_CELLS)
def test_a_feature_size_other_than_the_built_one_is_a_clear_error(make_cell):
    import keras

    rnn = keras.layers.RNN(make_cell())
    rnn(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="built for inputs with 4 features.*cannot take 5"):
        rnn(np.zeros((2, 3, 5), "float32"))


@pytest.mark.parametrize("make_cell", STEP_CELLS)
def test_an_empty_batch_is_a_clear_error(make_cell):
    import keras

    rnn = keras.layers.RNN(make_cell())
    with pytest.raises(ValueError, match="the batch is empty"):
        rnn(np.zeros((0, 3, 4), "float32"))


@pytest.mark.parametrize("make_cell", STEP_CELLS)
def test_an_empty_time_axis_is_a_clear_error_of_memory_rnn(make_cell):
    from keras_memory.layers import MemoryRNN

    with pytest.raises(ValueError, match="MemoryRNN: the time axis is empty"):
        MemoryRNN(make_cell())(np.zeros((2, 0, 4), "float32"))


@pytest.mark.parametrize("controller", [True, False])
def test_ham_rnn_refuses_an_empty_batch_or_time_axis_and_a_new_step_width(controller):
    from keras_memory.cells.ham import HAMRNN

    rnn = HAMRNN(HAMCell(4, memory_size=4, hidden_size=3, controller=controller, seed=1))
    items = np.zeros((2, 3, 5), "float32")
    assert tuple(rnn(np.zeros((2, 3, 4), "float32"), tree_inputs=items).shape) == (2, 4)
    with pytest.raises(ValueError, match="HAMRNN: the time axis is empty"):
        rnn(np.zeros((2, 0, 4), "float32"), tree_inputs=items)
    with pytest.raises(ValueError, match="initial_state_from: the batch is empty"):
        rnn(np.zeros((0, 3, 4), "float32"), tree_inputs=np.zeros((0, 3, 5), "float32"))
    with pytest.raises(ValueError, match="HAMCell: the batch is empty"):
        rnn(np.zeros((0, 3, 4), "float32"))
    with pytest.raises(ValueError, match="built for inputs with 4 features.*cannot take 6"):
        rnn(np.zeros((2, 3, 6), "float32"), tree_inputs=items)
