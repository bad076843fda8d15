"""`keras_transfer.data.sources`: the one reader of directories and TFDS names (image_dataset and the CLI)."""

import os

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.cli import _data
from keras_transfer.data import sources


def _folder(root, classes=("cat", "dog"), per_class=3, size=(6, 5)):
    rng = np.random.default_rng(0)
    for name in classes:
        os.makedirs(os.path.join(root, name))
        for i in range(per_class):
            keras.utils.save_img(os.path.join(root, name, f"{i}.png"), rng.integers(0, 255, (*size, 3)).astype("uint8"))
    return root


def test_the_pipeline_and_the_command_line_read_a_directory_the_same(tmp_path):
    root = _folder(str(tmp_path / "images"))
    assert sources.first_image_size(root) == (6, 5)
    arrays = _data.load(root, argument="data")
    dataset = kt.data.image_dataset(root, image_size=(6, 5), batch_size=100, shuffle=False)
    x, y = next(iter(dataset))
    assert arrays.class_names == dataset.class_names == ["cat", "dog"]
    np.testing.assert_array_equal(arrays.x_train, x.numpy())
    np.testing.assert_array_equal(arrays.y_train, y.numpy())


def test_errors_name_the_argument_and_the_path(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(sources.SourceError, match=r"`--source`.*holds no image"):
        sources.first_image_size(str(empty), argument="--source")
    with pytest.raises(_data.DataError, match=r"^--source: .*empty.*No images found"):
        _data.load(str(empty), argument="--source", image_size=(4, 4))
    with pytest.raises(ValueError, match=r"`source`.*cannot read images.*No images found"):
        kt.data.image_dataset(str(empty), image_size=(4, 4))


def test_tfds_splits_and_class_names():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=5):
        datasets, info = sources.tfds_splits("mnist", splits=["train", "test"])
        x, y = sources.materialise(datasets["train"])
    assert set(datasets) == {"train", "test"} and x.shape == (5, 28, 28, 1) and y.shape == (5,)
    assert sources.class_names(info) == [str(i) for i in range(10)]
    with pytest.raises(sources.SourceError, match=r"`data`.*cannot load TFDS dataset 'surely_not_a_dataset'"):
        sources.tfds_splits("surely_not_a_dataset", argument="data")
