"""Test configuration: the TensorFlow backend, quiet logs, a clean Keras session per test."""

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
