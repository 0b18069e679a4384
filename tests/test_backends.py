"""Every cell saved on this Keras backend reloads on the others with the same outputs.

The test saves one small model per cell to a `.keras` file on the backend
under test (`KERAS_BACKEND`, TensorFlow by default), then loads every file in a
subprocess on each other backend and compares the predictions. A backend runs
when its framework imports in this interpreter, or when the environment
variable `KERAS_MEMORY_PYTHON_<BACKEND>` (e.g. `KERAS_MEMORY_PYTHON_JAX`) names
a Python interpreter that has it; otherwise its cases skip.
"""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_memory import (DNCCell, HAMCell, LANTMCell, MemoryRNN, NTMCell, RAMCell, SAMCell,
                          SDNCCell)

BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}  # backend: module
CURRENT = keras.backend.backend()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CELLS = {
    "ntm": lambda: NTMCell(8, memory_size=8, word_size=4, seed=1),
    "ham_hard": lambda: HAMCell(8, memory_size=4, hidden_size=6, attention="hard", seed=1),
    "ham_soft": lambda: HAMCell(8, memory_size=4, hidden_size=6, attention="soft", seed=1),
    "sam_exact": lambda: SAMCell(8, memory_size=16, word_size=4, num_heads=2, k=2, seed=1),
    "sam_lsh": lambda: SAMCell(8, memory_size=16, word_size=4, num_heads=1, k=2, search="lsh",
                               lsh_tables=2, lsh_bucket_size=4, seed=1),
    "lantm": lambda: LANTMCell(8, memory_width=4, memory_capacity=16, seed=1),
    "ram": lambda: RAMCell(8, memory_width=4, key_size=4, memory_capacity=16, seed=1),
    "dnc": lambda: DNCCell(8, memory_size=8, word_size=4, num_read_heads=2, seed=1),
    "sdnc_exact": lambda: SDNCCell(8, memory_size=16, word_size=4, num_heads=2, k=2,
                                   num_links=2, seed=1),
    "sdnc_lsh": lambda: SDNCCell(8, memory_size=16, word_size=4, num_heads=2, k=2, num_links=2,
                                 search="lsh", lsh_bucket_size=4, lsh_recent=2, seed=1),
}

# Run in the other backend's interpreter: load each model, predict, save.
LOAD_AND_PREDICT = """
import json, sys
import numpy as np
import keras
import keras_memory  # registers the cells
cases = json.loads(sys.argv[1])
for model_path, inputs_path, outputs_path in cases:
    model = keras.models.load_model(model_path)
    np.save(outputs_path, keras.ops.convert_to_numpy(model.predict(np.load(inputs_path), verbose=0)))
print(keras.backend.backend())
"""


def _python_for(backend):
    """An interpreter that runs `backend`, or None."""
    override = os.environ.get(f"KERAS_MEMORY_PYTHON_{backend.upper()}")
    if override:
        return override
    if importlib.util.find_spec(BACKENDS[backend]) is not None:
        return sys.executable
    return None


def _model(cell):
    inputs = keras.Input((5, 3))
    x = MemoryRNN(cell, return_sequences=True)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """`{cell: (model path, inputs path, outputs on this backend)}`."""
    folder = tmp_path_factory.mktemp("models")
    inputs = np.random.default_rng(0).normal(size=(3, 5, 3)).astype("float32")
    inputs_path = str(folder / "inputs.npy")
    np.save(inputs_path, inputs)
    result = {}
    for name, make in CELLS.items():
        keras.utils.set_random_seed(0)
        model = _model(make())
        path = str(folder / f"{name}.keras")
        model.save(path)
        result[name] = (path, inputs_path, keras.ops.convert_to_numpy(model.predict(inputs, verbose=0)))
    return result


_loaded = {}


def _outputs_on(backend, saved, folder):
    """Every saved model's predictions on `backend`, from one subprocess."""
    if backend not in _loaded:
        python = _python_for(backend)
        cases = [(path, inputs_path, os.path.join(folder, f"{name}.{backend}.npy"))
                 for name, (path, inputs_path, _) in saved.items()]
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2",
                   PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
        run = subprocess.run([python, "-c", LOAD_AND_PREDICT, json.dumps(cases)], env=env,
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.split()[-1] == backend
        _loaded[backend] = {name: np.load(out) for name, (_, _, out) in zip(saved, cases)}
    return _loaded[backend]


@pytest.mark.parametrize("target", [b for b in BACKENDS if b != CURRENT])
@pytest.mark.parametrize("cell", list(CELLS))
def test_a_model_saved_on_this_backend_reloads_on_another_with_equal_outputs(
        cell, target, saved, tmp_path_factory):
    if _python_for(target) is None:
        pytest.skip(f"the {target} backend is not installed (set KERAS_MEMORY_PYTHON_"
                    f"{target.upper()} to an interpreter that has it)")
    folder = os.path.dirname(saved[cell][0])
    outputs = _outputs_on(target, saved, folder)[cell]
    expected = saved[cell][2]
    assert np.abs(expected).max() > 1e-3  # the model computes something
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-5)
