"""The shared test base: layer, serialization and saving helpers.

In the spirit of keras-hub's `TestCase`: `run_layer_test` builds a layer,
calls it, checks the output shape and the config round trip;
`run_serialization_test` checks `get_config`/`from_config`;
`run_model_saving_test` saves a model in the Keras format, loads it without
`custom_objects` and compares outputs.
"""

import os
import tempfile

import keras
import numpy as np


class TestCase:
    """Mixin for pytest test classes (no unittest machinery needed)."""

    def tmp_path_str(self, *parts):
        directory = tempfile.mkdtemp(prefix="kt_test_")
        return os.path.join(directory, *parts)

    def assertAllClose(self, actual, expected, atol=1e-6, rtol=1e-6, msg=None):
        actual = keras.ops.convert_to_numpy(actual) if not isinstance(actual, np.ndarray) else actual
        expected = keras.ops.convert_to_numpy(expected) if not isinstance(expected, np.ndarray) else expected
        np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, err_msg=msg or "")

    def assertAllEqual(self, actual, expected, msg=None):
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected), err_msg=msg or "")

    def run_serialization_test(self, instance):
        """`get_config` -> `from_config` gives an equal config; also via Keras serialization."""
        config = instance.get_config()
        revived = instance.__class__.from_config(config)
        assert revived.get_config() == config
        serialized = keras.saving.serialize_keras_object(instance)
        revived = keras.saving.deserialize_keras_object(serialized)
        assert revived.__class__ is instance.__class__
        assert revived.get_config() == config
        return revived

    def run_layer_test(self, layer_cls, init_kwargs, input_data, expected_output_shape, run_training=False):
        layer = layer_cls(**init_kwargs)
        output = layer(input_data)
        assert tuple(output.shape) == tuple(expected_output_shape)
        self.run_serialization_test(layer)
        inputs = keras.Input(shape=tuple(input_data.shape[1:]), dtype=str(keras.ops.convert_to_numpy(input_data).dtype))
        model = keras.Model(inputs, layer_cls(**init_kwargs)(inputs))
        self.run_model_saving_test(model, input_data)
        if run_training:
            model.compile("sgd", "mse")
            model.fit(input_data, np.zeros(tuple(output.shape), "float32"), epochs=1, verbose=0)
        return layer

    def run_model_saving_test(self, model, input_data, atol=1e-6):
        """Saves `model` as `.keras`, loads it (no custom_objects), compares outputs."""
        path = self.tmp_path_str("model.keras")
        expected = model.predict(input_data, verbose=0) if isinstance(model, keras.Model) else model(input_data)
        model.save(path)
        revived = keras.models.load_model(path)
        actual = revived.predict(input_data, verbose=0)
        keras.tree.map_structure(lambda a, e: self.assertAllClose(a, e, atol=atol, rtol=atol), actual, expected)
        return revived


def tiny_backbone(input_shape=(8, 8, 3), batchnorm=True, name="tiny"):
    """A 3-block CNN (conv + BN per block) that builds and trains in milliseconds.

    Its groups, read from the graph, are `block1_conv`, `block2_conv`,
    `block3_conv` (each BatchNorm joins its convolution's group).
    """
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for i, filters in enumerate((4, 6, 8), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", name=f"block{i}_conv")(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(name=f"block{i}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i}_relu")(x)
    return keras.Model(inputs, x, name=name)


def tiny_classifier(num_classes=3, input_shape=(8, 8, 3), **kwargs):
    """`build_classifier` on `tiny_backbone`: groups block1_conv..block3_conv + head."""
    import keras_transfer

    return keras_transfer.build_classifier(
        tiny_backbone(input_shape), num_classes, input_shape=input_shape, preprocessing="unit", **kwargs
    )


def tiny_data(n=16, input_shape=(8, 8, 3), num_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (n, *input_shape)).astype("float32")
    y = rng.integers(0, num_classes, n)
    return x, y
