"""Shared base of the compilable augmentation layers."""

import keras
from keras import ops

from keras_transfer.models import _inputs
from keras_transfer import _checks
from keras_transfer.models import _replicas
from keras_transfer.models._seeds import SavesSeedState
from keras_transfer.ssl import _image_ops


class AugmentBase(SavesSeedState, keras.layers.Layer):
    """Flip + integer translation (the FixMatch weak view); subclasses add more.

    Works in float32 on images scaled to [0, 1] from `value_range`; identity
    unless called with `training=True`.
    """

    def __init__(self, *, flip=True, translate=0.125, fill_mode="reflect", value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(flip, bool):
            raise _checks.invalid("flip", "a bool", flip, error=TypeError)
        self.flip = flip
        self.translate = _checks.check_float("translate", translate, minimum=0.0, maximum=0.5)
        self.fill_mode = _checks.check_choice("fill_mode", fill_mode, _image_ops.FILL_MODES)
        self.value_range = _inputs.check_value_range("value_range", value_range)
        self.seed = None if seed is None else _checks.check_int("seed", seed, minimum=0)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.built = True

    def _uniform(self, batch, low=0.0, high=1.0):
        return _replicas.uniform((batch,), self.seed_generator, minval=low, maxval=high)

    def _weak_matrices(self, batch, height, width):
        matrices = _image_ops.identity_matrices(batch)
        if self.flip:
            flips = ops.cast(self._uniform(batch) < 0.5, "float32")
            matrices = ops.matmul(matrices, _image_ops.flip_matrices(flips, height, width))
        if self.translate > 0:
            tx = ops.round(self._uniform(batch, -self.translate, self.translate) * width)
            ty = ops.round(self._uniform(batch, -self.translate, self.translate) * height)
            matrices = ops.matmul(_image_ops.translation_matrices(tx, ty), matrices)
        return matrices

    def _to_unit(self, images):
        low, high = self.value_range
        return (ops.cast(images, "float32") - low) / (high - low)

    def _from_unit(self, images):
        low, high = self.value_range
        return ops.cast(images * (high - low) + low, self.compute_dtype)

    def _check_images(self, images):
        if len(images.shape) != 4 or None in tuple(images.shape[1:]):
            raise ValueError(
                f"{type(self).__name__} expects images (batch, height, width, channels) with known "
                f"height, width and channels. Received: inputs.shape={tuple(images.shape)}."
            )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "flip": self.flip,
            "translate": self.translate,
            "fill_mode": self.fill_mode,
            "value_range": self.value_range,
            "seed": self.seed,
        }
