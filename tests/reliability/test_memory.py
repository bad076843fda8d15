"""Memory: feature caching and sample generation check the size they need.

`fit_classifier` falls back to a `tf.data` cache file on disk when the features
would take more than half the available memory (and removes it afterwards);
`ConditionalVAE.generate` refuses a request that does not fit, with advice.
The available memory is monkeypatched to force each path.
"""

import os

import numpy as np
import pytest

import keras
import keras_transfer as kt
from keras_transfer.data import pipeline
from keras_transfer.feature_extraction import feature_cache
from keras_transfer.generative import conditional_generator
from tests.generative import tiny
from tests.test_case import tiny_classifier, tiny_data

X, Y = tiny_data(24)


def _fit(monkeypatch, available, cache_dir):
    monkeypatch.setattr(feature_cache, "available_memory_bytes", lambda: available)
    keras.utils.set_random_seed(3)
    model = tiny_classifier()
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    history = kt.fit_classifier(model, X, Y, batch_size=8, epochs=2, shuffle=False, cache_dir=cache_dir, verbose=0)
    return model, history


def test_features_go_to_disk_when_memory_is_short_and_the_file_is_removed(monkeypatch, tmp_path):
    features = 24 * int(np.prod(tiny_classifier().feature_extractor.output_shape[1:])) * 4
    in_memory, memory_history = _fit(monkeypatch, 64 * features, str(tmp_path))
    assert memory_history.feature_cache["mode"] == "memory"
    seen = []
    original = feature_cache.extract

    def spy(model, split, *, storage, directory, batch_size):
        result = original(model, split, storage=storage, directory=directory, batch_size=batch_size)
        seen.extend(os.listdir(directory))  # the cache file exists while the head trains
        return result

    monkeypatch.setattr(feature_cache, "extract", spy)
    on_disk, disk_history = _fit(monkeypatch, features, str(tmp_path))  # needs > half of what is free
    assert disk_history.feature_cache["mode"] == "disk"
    assert any(name.startswith("features") for name in seen)
    assert os.listdir(tmp_path) == [], "the cache directory is removed after fit"
    np.testing.assert_allclose(disk_history.history["loss"], memory_history.history["loss"], rtol=1e-5)
    for a, b in zip(in_memory.head.weights, on_disk.head.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_generate_refuses_what_does_not_fit_in_memory(monkeypatch):
    generator = tiny.generator()
    monkeypatch.setattr(conditional_generator, "available_memory_bytes", lambda: 10_000)
    with pytest.raises(MemoryError, match=r"40 images of shape \(8, 8, 1\) need about .* MiB.*slices of `labels`.*PseudoPretrainer"):
        generator.generate(np.arange(40) % 3)
    assert generator.generate(np.arange(3)).shape == (3, 8, 8, 1)  # 768 bytes: fits
    monkeypatch.setattr(conditional_generator, "available_memory_bytes", lambda: None)  # unknown: no refusal
    assert generator.generate(np.arange(40) % 3).shape == (40, 8, 8, 1)


def test_pseudo_samples_are_streamed_not_materialised(monkeypatch):
    # Pseudo pre-training draws each batch inside the train step: it needs no
    # memory check, and works however little memory is reported.
    monkeypatch.setattr(conditional_generator, "available_memory_bytes", lambda: 1)
    monkeypatch.setattr(feature_cache, "available_memory_bytes", lambda: 1)
    model = kt.generative.PseudoPretrainer(tiny.classifier(3), tiny.generator(), seed=0)
    model.compile(optimizer="adam")
    history = model.fit(batch_size=8, steps_per_epoch=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and int(model.optimizer.iterations.numpy()) == 2


def test_the_memory_probe_is_shared():
    assert conditional_generator.available_memory_bytes is pipeline.available_memory_bytes
    assert feature_cache.available_memory_bytes is pipeline.available_memory_bytes
    available = pipeline.available_memory_bytes()
    assert available is None or available > 0
