import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer.data.dataset_graph import inspect_pipeline
from tests.test_case import TestCase


def indexed_images(n=10, size=8, channels=1):
    """Image i is filled with the value i: pairs (image, label=i) can be checked after shuffling."""
    return np.broadcast_to(np.arange(n, dtype="uint8")[:, None, None, None], (n, size, size, channels)).copy()


def collect(dataset):
    images, labels = [], []
    for x, y in dataset:
        images.append(x.numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels)


def op_types(dataset):
    from keras_transfer.data.dataset_graph import _op_types

    return _op_types(dataset)


class TestArrays(TestCase):
    def test_batches_raw_float_images_with_their_labels(self):
        x = indexed_images(10, channels=3)
        ds = kt.data.image_dataset(x, np.arange(10), batch_size=4, seed=0)
        assert [int(b[0].shape[0]) for b in ds] == [4, 4, 2]
        images, labels = collect(ds)
        assert images.dtype == np.float32
        assert sorted(labels) == list(range(10))
        # every image still carries its own label, and the [0, 255] range is kept
        self.assertAllEqual(images[:, 0, 0, 0], labels.astype("float32"))

    def test_seeded_shuffle_is_reproducible_and_reshuffles_each_epoch(self):
        x, y = indexed_images(32), np.arange(32)
        ds = kt.data.image_dataset(x, y, batch_size=8, seed=3)
        first, second = collect(ds)[1], collect(ds)[1]
        assert not np.array_equal(first, second), "a new order each epoch"
        again = kt.data.image_dataset(x, y, batch_size=8, seed=3)
        self.assertAllEqual(collect(again)[1], first)
        ordered = kt.data.image_dataset(x, y, batch_size=8, shuffle=False)
        self.assertAllEqual(collect(ordered)[1], y)

    def test_grayscale_resize_and_tuple_source(self):
        x = indexed_images(4, size=28)[..., 0]  # (n, 28, 28): channel axis added
        ds = kt.data.image_dataset((x, np.arange(4)), batch_size=4, image_size=(32, 32), shuffle=False)
        images, _ = collect(ds)
        assert images.shape == (4, 32, 32, 1)
        self.assertAllClose(images[:, 16, 16, 0], np.arange(4), atol=1e-5)

    def test_model_sets_image_size_and_checks_channels(self):
        model = kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3))
        x = indexed_images(3, size=20, channels=3)
        images, _ = collect(kt.data.image_dataset(x, np.zeros(3, "int32"), model=model, shuffle=False))
        assert images.shape == (3, 32, 32, 3)
        with pytest.raises(ValueError, match=r"`source`.*3 channels.*adapt_input"):
            kt.data.image_dataset(indexed_images(3, size=32, channels=1), np.zeros(3), model=model)

    def test_images_without_labels(self):
        ds = kt.data.image_dataset(indexed_images(5), batch_size=2, shuffle=False)
        assert isinstance(ds.element_spec, tf.TensorSpec)
        assert [int(b.shape[0]) for b in ds] == [2, 2, 1]

    def test_one_hot_labels_and_drop_remainder(self):
        y = np.eye(3, dtype="float32")[np.arange(7) % 3]
        ds = kt.data.image_dataset(indexed_images(7), y, batch_size=3, num_classes=3, drop_remainder=True)
        assert [tuple(b[1].shape) for b in ds] == [(3, 3), (3, 3)]

    def test_augmentation_runs_in_the_pipeline_on_batches(self):
        x = np.zeros((8, 4, 4, 1), "uint8")
        x[:, :, 0] = 255  # left column white
        flip = keras.layers.RandomFlip("horizontal", seed=1)
        ds = kt.data.image_dataset(x, np.zeros(8), batch_size=8, shuffle=False, augmentation=[flip])
        images, _ = collect(ds)
        flipped = images[:, 0, -1, 0] == 255
        assert 0 < flipped.sum() < 8, "some, not all, images flipped"
        self.assertAllEqual(np.sort(np.unique(images)), [0.0, 255.0])
        info = inspect_pipeline(ds)
        assert info.random_ops and not info.deterministic_content

    def test_auto_cache_keeps_resized_arrays_and_files_cache_on_disk(self):
        x, y = indexed_images(6), np.arange(6)
        assert "CacheDatasetV2" in op_types(kt.data.image_dataset(x, y, image_size=(16, 16)))
        assert "CacheDatasetV2" not in op_types(kt.data.image_dataset(x, y)), "arrays already in memory"
        assert "CacheDatasetV2" not in op_types(kt.data.image_dataset(x, y, image_size=(16, 16), cache=False))
        path = self.tmp_path_str("cache")
        ds = kt.data.image_dataset(x, y, image_size=(16, 16), cache=path, seed=0)
        collect(ds)
        assert any(name.startswith("cache") for name in os.listdir(os.path.dirname(path)))
        self.assertAllEqual(sorted(collect(ds)[1]), y)

    def test_existing_dataset_is_resized_and_batched(self):
        source = tf.data.Dataset.from_tensor_slices((indexed_images(5, size=6), np.arange(5)))
        images, labels = collect(kt.data.image_dataset(source, batch_size=5, image_size=(12, 12), shuffle=False))
        assert images.shape == (5, 12, 12, 1)
        self.assertAllEqual(labels, np.arange(5))


class TestBadInput(TestCase):
    @pytest.mark.parametrize(
        "kwargs, error, pattern",
        [
            (dict(source=np.zeros((0, 8, 8, 3))), ValueError, r"`source`.*at least one image"),
            (dict(source=np.zeros((4, 8, 8, 3)), labels=np.zeros(3)), ValueError, r"`labels`.*4 images.*3 labels"),
            (dict(source=np.zeros((2, 8, 8, 3)), labels=[0, 5], num_classes=3), ValueError, r"`labels`.*\[0, 3\).*0 to 5"),
            (dict(source=np.zeros((2, 8, 8, 3)), labels=[-1, 0]), ValueError, r"`labels`.*>= 0"),
            (dict(source=np.zeros((2, 8, 8, 3)), labels=["a", "b"]), TypeError, r"`labels`.*integer"),
            (dict(source=np.full((2, 8, 8, 3), np.nan, "float32")), ValueError, r"`source`.*finite.*image 0"),
            (dict(source=np.zeros((2, 3, 32, 32))), ValueError, r"channels-last.*np.transpose"),
            (dict(source=np.zeros((2, 8))), ValueError, r"`source`.*shape \(2, 8\)"),
            (dict(source="no/such/dir_or_tfds_name"), ValueError, r"`source`.*directory or a TFDS"),
            (dict(source=[[1, 2]], batch_size=0), ValueError, r"`batch_size`.*>= 1"),
            (dict(source=np.zeros((2, 8, 8, 3)), augmentation="flip"), TypeError, r"`augmentation`"),
            (dict(source=np.zeros((2, 8, 8, 3)), image_size=32), TypeError, r"`image_size`"),
            (dict(source=np.zeros((2, 8, 8, 3)), cache=3), TypeError, r"`cache`"),
            (dict(source=tf.data.Dataset.from_tensor_slices(np.zeros((2, 8, 8, 3))).repeat()), ValueError, r"finite"),
            (dict(source=np.zeros((2, 8, 8, 3)), model="vgg16"), TypeError, r"`model`"),
            (dict(source="mnist", labels=[0, 1]), TypeError, r"`labels`.*TFDS"),
            (dict(source=np.zeros((2, 8, 8, 3)), color_mode="grayscale"), ValueError, r"`color_mode`.*directory"),
            (dict(source=np.zeros((2, 8, 8, 3)), data_dir="/tmp"), ValueError, r"`data_dir`.*TFDS"),
        ],
    )
    def test_clear_errors(self, kwargs, error, pattern):
        with pytest.raises(error, match=pattern):
            kt.data.image_dataset(**kwargs)

    def test_unit_range_floats_warn(self):
        with pytest.warns(UserWarning, match=r"\[0, 255\]"):
            kt.data.image_dataset(np.full((2, 8, 8, 3), 0.5, "float32"))


class TestDirectory(TestCase):
    def make_directory(self, counts):
        root = os.path.dirname(self.tmp_path_str("x"))
        rng = np.random.default_rng(0)
        for name, count in counts.items():
            os.makedirs(os.path.join(root, name))
            for i in range(count):
                image = rng.integers(0, 255, (10 + i, 12, 3)).astype("uint8")  # sizes differ
                keras.utils.save_img(os.path.join(root, name, f"{i}.png"), image)
        return root

    def test_reads_resizes_and_labels_from_subdirectories(self):
        root = self.make_directory({"cat": 2, "dog": 3})
        ds = kt.data.image_dataset(root, image_size=(16, 16), batch_size=2, seed=0)
        assert ds.class_names == ["cat", "dog"]
        images, labels = collect(ds)
        assert images.shape == (5, 16, 16, 3) and images.dtype == np.float32
        assert sorted(labels) == [0, 0, 1, 1, 1]
        assert images.max() > 1.0, "raw [0, 255] values"
        assert "CacheDatasetV2" in op_types(ds), "decoded images cached in memory (small)"

    def test_grayscale_from_model_and_errors(self):
        root = self.make_directory({"a": 1, "b": 1})
        model = kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 1), adapt_input=True)
        images, _ = collect(kt.data.image_dataset(root, model=model))
        assert images.shape == (2, 32, 32, 1)
        with pytest.raises(ValueError, match=r"`image_size`.*directory"):
            kt.data.image_dataset(root)
        with pytest.raises(ValueError, match=r"`num_classes`.*2"):
            kt.data.image_dataset(root, image_size=(8, 8), num_classes=3)
        empty = os.path.dirname(self.tmp_path_str("x"))
        with pytest.raises(ValueError, match=r"`source`"):
            kt.data.image_dataset(empty, image_size=(8, 8))


class TestTFDS(TestCase):
    def test_mock_tfds_name(self):
        import tensorflow_datasets as tfds

        with tfds.testing.mock_data(num_examples=6):
            ds = kt.data.image_dataset("mnist", split="train", batch_size=4, image_size=(32, 32), seed=0)
            assert ds.class_names == [str(i) for i in range(10)]
            images, labels = collect(ds)
        assert images.shape == (6, 32, 32, 1) and labels.shape == (6,)
        assert labels.max() < 10

    def test_offline_error_names_the_data_dir(self):
        missing = os.path.join(os.path.dirname(self.tmp_path_str("x")), "tfds")
        with pytest.raises(ValueError, match=r"not prepared in .*tfds.*nothing is downloaded"):
            kt.data.image_dataset("mnist", data_dir=missing)
