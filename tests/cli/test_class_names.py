"""Class names recorded by `fit` travel inside the saved model: `evaluate` checks folders against them, `export` serves them."""

import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.cli import main
from tests.cli.test_commands import toy
from tests.test_case import tiny_backbone


def _folder(root, names, x, y):
    for i in range(len(y)):
        folder = root / names[y[i]]
        folder.mkdir(parents=True, exist_ok=True)
        keras.utils.save_img(str(folder / f"{i}.png"), x[i])
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("names")
    x, y = toy(30)
    _folder(root / "train", ["sneaker", "trouser", "tshirt"], x, y)
    x_test, y_test = toy(12, seed=1)
    _folder(root / "test", ["sneaker", "trouser", "tshirt"], x_test, y_test)
    _folder(root / "pets", ["cat", "dog", "fish"], x_test, y_test)
    tiny_backbone().save(str(root / "backbone.keras"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["fit", str(root / "train"), "--backbone", str(root / "backbone.keras"), "--preprocessing", "unit",
                     "--out", str(root / "report"), "--verbose", "0", "--epochs", "1"])
    assert code == 0
    return root


def test_fit_stores_the_folder_names_in_the_model(trained):
    model = keras.models.load_model(str(trained / "report" / "feature_extraction.keras"))
    assert model.class_names == ("sneaker", "trouser", "tshirt")


def test_evaluate_says_what_it_scored_and_refuses_other_classes(trained, capsys):
    model = str(trained / "report" / "feature_extraction.keras")
    assert main(["evaluate", model, str(trained / "test"), "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "all labelled examples (12 examples)" in out and "split 'train'" not in out
    assert main(["evaluate", model, str(trained / "pets"), "--verbose", "0"]) == 2
    err = capsys.readouterr().err
    assert "has classes ['cat', 'dog', 'fish'], the model ['sneaker', 'trouser', 'tshirt']" in err


def test_export_serves_the_stored_names(trained, tmp_path, capsys):
    path = tmp_path / "served"
    assert main(["export", str(trained / "report" / "feature_extraction.keras"), str(path)]) == 0
    served = tf.saved_model.load(str(path))
    outputs = served.signatures["serving_default"](images=tf.zeros((2, 8, 8, 3)))
    names = [name.decode() for name in outputs["class_names"].numpy().reshape(-1).tolist()]
    assert set(names) <= {"sneaker", "trouser", "tshirt"}


def test_the_prototype_strategy_stores_them_too(trained, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", str(trained / "train"), "--backbone", str(trained / "backbone.keras"), "--preprocessing", "unit",
                     "--out", str(tmp_path / "report"), "--verbose", "0", "--strategy", "prototype"]) == 0
    model = keras.models.load_model(str(tmp_path / "report" / "prototype.keras"))
    assert model.class_names == ("sneaker", "trouser", "tshirt")
