"""Shared pytest setup: quiet TensorFlow, deterministic seeds, fresh Keras state."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402


# A full garbage collection after every test was 38% of the default run's time (the
# heap holds TensorFlow's objects): collect every few tests instead.
_COLLECT_EVERY = 20
_tests_since_collect = [0]


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1337)
    yield
    keras.config.set_dtype_policy("float32")
    _tests_since_collect[0] += 1
    collect = _tests_since_collect[0] >= _COLLECT_EVERY
    if collect:
        _tests_since_collect[0] = 0
    keras.backend.clear_session(free_memory=collect)
    from tensorflow.python.framework import config as tf_config

    if tf_config.is_op_determinism_enabled():
        tf_config.disable_op_determinism()
