"""Test configuration: the TensorFlow backend unless `KERAS_BACKEND` names another, quiet logs,
a clean Keras session per test."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_keras_session():
    keras.config.set_dtype_policy("float32")
    yield
    keras.utils.clear_session()


@pytest.fixture(autouse=True)
def _clear_jax_caches():
    """On JAX, drop the compiled programs of a test after it: a process that
    keeps those of many tests' models crashed (segmentation fault) inside
    XLA's CPU compiler (jaxlib 0.10.2)."""
    yield
    if keras.backend.backend() == "jax":
        import jax

        jax.clear_caches()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Mark `slow` the contract checks a `CellContract` subclass lists in
    `slow_contract_tests`, before `-m` selects (hence `tryfirst`)."""
    for item in items:
        slow = getattr(getattr(item, "cls", None), "slow_contract_tests", ())
        if getattr(item, "originalname", None) in slow:
            item.add_marker(pytest.mark.slow)
