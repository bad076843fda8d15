"""`fit_classifier` holds one copy of the dataset: numpy inputs are read a slice at a time.

Keras's `predict(x)` and `tf.data.Dataset.from_tensor_slices(x)` each convert
a whole numpy array to a tensor first (measured: two and a half times the
array at peak); the feature cache reads views of the array instead, in
memory and on disk (benchmarks/cache_memory.py measures VGG16 at 224x224).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer.feature_extraction import feature_cache
from tests.test_case import TestCase

SHAPE = (32, 32, 3)


def classifier():
    keras.utils.set_random_seed(5)
    inputs = keras.Input(SHAPE)
    outputs = keras.layers.Conv2D(4, 8, strides=8, name="conv")(inputs)
    model = kt.build_classifier(keras.Model(inputs, outputs, name="strided"), 3, input_shape=SHAPE)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _vm(key):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(key)


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # VmHWM := VmRSS
        return _vm("VmRSS")
    except OSError:
        pytest.skip("needs Linux's /proc/self/clear_refs to measure a peak")


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_peak_memory_holds_one_copy_of_the_images(storage):
    limit = 0 if storage == "disk" else "auto"
    model = classifier()
    small = np.zeros((40, *SHAPE), np.uint8)
    kt.fit_classifier(model, small, np.arange(40) % 3, epochs=1, batch_size=32, max_cache_memory=limit, verbose=0)
    x = np.random.default_rng(0).integers(0, 256, (60_000, *SHAPE), dtype=np.uint8)  # 176 MiB
    y = np.arange(len(x)) % 3
    before = _reset_peak()
    history = kt.fit_classifier(model, x, y, epochs=1, batch_size=1024, max_cache_memory=limit, verbose=0)
    grown = _vm("VmHWM") - before
    assert history.feature_cache["mode"] == storage
    # A converted copy of the whole array alone is 1x (before: 2.5x at peak).
    assert grown < 0.4 * x.nbytes, f"peak grew by {grown / 2**20:.0f} MiB for a {x.nbytes / 2**20:.0f} MiB array"


def test_the_backbone_sees_views_of_the_array(monkeypatch):
    x = np.random.default_rng(1).integers(0, 256, (300, *SHAPE), dtype=np.uint8)
    seen = []
    original = keras.Model.predict_on_batch

    def spy(self, batch):
        seen.append((len(batch), np.shares_memory(batch, x)))
        return original(self, batch)

    monkeypatch.setattr(keras.Model, "predict_on_batch", spy)
    history = kt.fit_classifier(classifier(), x, np.arange(300) % 3, epochs=1, batch_size=16, verbose=0)
    assert history.feature_cache["mode"] == "memory"
    assert seen == [(128, True), (128, True), (44, True)], "slices of the user's array, no copy of it"


class TestDiskCache(TestCase):
    def test_disk_equals_memory_with_sample_weights(self):
        x = np.random.default_rng(2).uniform(0, 255, (40, *SHAPE)).astype("float32")
        y, weights = np.arange(40) % 3, np.linspace(0.5, 2.0, 40)
        histories, heads = {}, {}
        for limit in ("auto", 0):
            model = classifier()
            keras.utils.set_random_seed(9)
            history = kt.fit_classifier(
                model, x, y, sample_weight=weights, epochs=2, batch_size=8, shuffle=False, max_cache_memory=limit,
                validation_data=(x[:8], y[:8], weights[:8]), verbose=0,
            )
            histories[history.feature_cache["mode"]] = history.history
            heads[history.feature_cache["mode"]] = model.get_layer("predictions").get_weights()
        assert sorted(histories) == ["disk", "memory"]
        for key in histories["memory"]:
            self.assertAllClose(histories["disk"][key], histories["memory"][key], rtol=1e-5, atol=1e-6)
        for a, b in zip(heads["disk"], heads["memory"]):
            self.assertAllClose(a, b, rtol=1e-5, atol=1e-6)

    def test_shuffle_buffer_is_bounded_in_bytes(self):
        def buffer(width, count, floor=32):
            spec = tf.data.Dataset.from_tensors((tf.zeros((width,)), tf.zeros((), tf.int64)))
            return feature_cache.shuffle_buffer(spec, count, floor=floor)

        assert buffer(512, 2_000) == 2_000  # 4 MiB of features: all of them
        assert buffer(512, 10**6) == feature_cache.SHUFFLE_BUFFER_EXAMPLES
        assert buffer(7 * 7 * 512, 10**6) == feature_cache.SHUFFLE_BUFFER_BYTES // (7 * 7 * 512 * 4)  # 2,674
        assert buffer(2**24, 10**6) == 32, "at least one batch"
