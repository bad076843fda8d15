"""Class names travel inside the saved `.keras` model (its config), not in a file beside it."""

import json
import zipfile

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.test_case import tiny_classifier


def test_class_names_are_part_of_the_saved_config(tmp_path):
    model = tiny_classifier(3)
    assert model.class_names is None
    model.class_names = ["sneaker", "trouser", "t-shirt"]
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    assert config["config"]["class_names"] == ["sneaker", "trouser", "t-shirt"]
    loaded = keras.models.load_model(path)
    assert loaded.class_names == ("sneaker", "trouser", "t-shirt")
    np.testing.assert_allclose(loaded.predict(np.zeros((1, 8, 8, 3)), verbose=0), model.predict(np.zeros((1, 8, 8, 3)), verbose=0))


def test_wrapped_models_keep_them_too(tmp_path):
    model = kt.regularizers.apply_l2sp(tiny_classifier(2))
    model.class_names = ["cat", "dog"]
    model.save(str(tmp_path / "l2sp.keras"))
    assert keras.models.load_model(str(tmp_path / "l2sp.keras")).class_names == ("cat", "dog")


def test_bad_class_names_are_refused():
    model = tiny_classifier(3)
    with pytest.raises(ValueError, match=r"`class_names`.*3 names"):
        model.class_names = ["a", "b"]
    with pytest.raises(ValueError, match=r"`class_names`.*distinct"):
        model.class_names = ["a", "a", "b"]
    with pytest.raises(TypeError, match="`class_names`"):
        model.class_names = "abc"
    binary = tiny_classifier(1)
    binary.class_names = ["no", "yes"]  # one sigmoid unit: two names
    assert binary.class_names == ("no", "yes")
