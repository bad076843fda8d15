"""Tiny models and data shared by the generative, ssl and distill tests."""

import keras
import numpy as np
import pytest

import keras_transfer as kt

SHAPE = (8, 8, 1)

# Mixed precision in the default run; its cross product with XLA is `large`
# (each model also has a float32 `jit_compile=True` test in the default run).
PRECISION_AXES = [
    pytest.param("mixed_float16", False, id="float16"),
    pytest.param("mixed_bfloat16", False, id="bfloat16"),
    pytest.param("mixed_float16", True, id="float16-jit", marks=pytest.mark.large),
    pytest.param("mixed_bfloat16", True, id="bfloat16-jit", marks=pytest.mark.large),
]


def images(n=6, shape=SHAPE, low=0.0, high=255.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, (n, *shape)).astype("float32")


def classifier(classes=3, shape=SHAPE, activation="softmax", name=None):
    """Rescaling -> Flatten -> Dense(6, relu) -> Dense(classes, activation)."""
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Flatten(),
            keras.layers.Dense(6, activation="relu", name="hidden"),
            keras.layers.Dense(classes, activation=activation, name="predictions"),
        ],
        name=name,
    )


def conv_classifier(classes=3, shape=SHAPE):
    inputs = keras.Input(shape)
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions", dtype=_head_dtype())(x)
    return keras.Model(inputs, outputs)


def _head_dtype():
    policy = keras.config.dtype_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else None


def generator(classes=3, shape=SHAPE, latent_dim=4, seed=0):
    return kt.generative.ConditionalVAE(shape, classes, latent_dim=latent_dim, filters=(4, 4), hidden_units=8, seed=seed)


def label_only_generator(classes=3, latent_dim=2, shape=SHAPE):
    """`(z, y) -> x` whose images ignore `z`: pixel values are `255 * y @ W` (deterministic)."""
    z = keras.Input((latent_dim,))
    y = keras.Input((classes,))
    x = keras.layers.Dense(int(np.prod(shape)), use_bias=False, name="paint")(y)
    x = keras.layers.Reshape(shape)(x)
    model = keras.Model([z, y], x)
    rng = np.random.default_rng(1)
    model.get_layer("paint").set_weights([rng.uniform(0, 255, (classes, int(np.prod(shape)))).astype("float32")])
    return model


def weights_of(model):
    return [np.array(v) for v in model.weights]


def changed(before, model):
    return any(not np.array_equal(b, np.array(v)) for b, v in zip(before, model.weights))
