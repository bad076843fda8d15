"""`StrongAugment`: a RandAugment-style strong view plus Cutout, compilable with XLA."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.ssl import _image_ops
from keras_transfer.ssl._augment import AugmentBase

OPERATIONS = (
    "identity", "autocontrast", "brightness", "color", "contrast", "posterize", "rotate",
    "sharpness", "shear_x", "shear_y", "solarize", "translate_x", "translate_y",
)
_GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")


@keras_transfer_export("keras_transfer.layers.StrongAugment")
class StrongAugment(AugmentBase):
    """FixMatch's strong view: flip and shift, `num_ops` random operations, Cutout.

    Each image gets its own `num_ops` operations drawn uniformly from
    `operations`, each with a magnitude drawn uniformly over its range
    (FixMatch's RandAugment variant), then one Cutout square of side up to
    `cutout` times the image size, filled with mid-grey. Everything is
    `keras.ops` arithmetic and one gather-based warp per image (the flip, the
    shift and all geometric operations are composed into one affine map), so
    it compiles with XLA on CPU, unlike `keras.layers.RandAugment`.

    Ranges: brightness, color, contrast and sharpness factors in [0.05, 1.95]
    (1 is the identity); rotate within +-30 degrees; shear_x/shear_y within
    +-0.3; translate_x/translate_y within +-30% of the size; posterize to 4-8
    bits; solarize above a threshold in [0, 1]. Colour operations are
    applied before the warp. `equalize` is not offered (no compilable
    histogram equalisation); `color` is the identity on grayscale images.

    Args:
        num_ops: int >= 0, operations per image. Defaults to `2`.
        operations: names from `OPERATIONS` to draw from. Defaults to all.
        cutout: float in [0, 1], largest Cutout side as a fraction of the
            image size; `0` disables it. Defaults to `0.5`.
        **kwargs: `flip`, `translate`, `fill_mode`, `value_range`, `seed`
            as in `keras_transfer.layers.WeakAugment`, and layer arguments.

    Call arguments:
        inputs: images `(batch, height, width, channels)`.
        training: augment only when `True`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> layer = keras_transfer.layers.StrongAugment(seed=0)
    >>> x = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 1)).astype("float32")
    >>> y = np.asarray(layer(x, training=True))
    >>> y.shape, bool(y.min() >= 0 and y.max() <= 255), bool(np.array_equal(layer(x), x))
    ((4, 8, 8, 1), True, True)

    Reference:
        Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with
        Consistency and Confidence", NeurIPS 2020. Cubuk et al.,
        "RandAugment", CVPR Workshops 2020. DeVries & Taylor, "Improved
        Regularization of Convolutional Neural Networks with Cutout", 2017.
    """

    def __init__(self, num_ops=2, operations=None, cutout=0.5, **kwargs):
        super().__init__(**kwargs)
        self.num_ops = _checks.check_int("num_ops", num_ops, minimum=0)
        if operations is None:
            operations = OPERATIONS
        if isinstance(operations, str) or not isinstance(operations, (tuple, list)) or not operations:
            raise _checks.invalid("operations", f"a non-empty list of names from {OPERATIONS}", operations, error=TypeError)
        for name in operations:
            _checks.check_choice("operations", name, OPERATIONS)
        self.operations = tuple(operations)
        self.cutout = _checks.check_float("cutout", cutout, minimum=0.0, maximum=1.0)

    def _factor(self, magnitude):
        return 0.05 + 1.9 * magnitude

    def _color(self, name, images, magnitude):
        if name == "autocontrast":
            return _image_ops.autocontrast(images)
        if name == "brightness":
            return _image_ops.brightness(images, self._factor(magnitude))
        if name == "color":
            return _image_ops.color(images, self._factor(magnitude))
        if name == "contrast":
            return _image_ops.contrast(images, self._factor(magnitude))
        if name == "posterize":
            return _image_ops.posterize(images, ops.round(4.0 + 4.0 * magnitude))
        if name == "sharpness":
            return _image_ops.sharpness(images, self._factor(magnitude))
        if name == "solarize":
            return _image_ops.solarize(images, magnitude)
        return images

    def _geometry(self, name, magnitude, height, width):
        signed = 2.0 * magnitude - 1.0
        if name == "rotate":
            return _image_ops.rotation_matrices(_image_ops.degrees(30.0) * signed, height, width)
        if name == "shear_x":
            return _image_ops.shear_matrices(0.3 * signed, ops.zeros_like(signed), height, width)
        if name == "shear_y":
            return _image_ops.shear_matrices(ops.zeros_like(signed), 0.3 * signed, height, width)
        if name == "translate_x":
            return _image_ops.translation_matrices(0.3 * width * signed, ops.zeros_like(signed))
        return _image_ops.translation_matrices(ops.zeros_like(signed), 0.3 * height * signed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        self._check_images(inputs)
        batch, height, width = ops.shape(inputs)[0], inputs.shape[1], inputs.shape[2]
        images = self._to_unit(inputs)
        matrices = self._weak_matrices(batch, height, width)
        count = len(self.operations)
        for _ in range(self.num_ops):
            choice = ops.minimum(ops.cast(ops.floor(self._uniform(batch) * count), "int32"), count - 1)
            magnitude = self._uniform(batch)
            geometry = _image_ops.identity_matrices(batch)
            for index, name in enumerate(self.operations):
                chosen = ops.equal(choice, index)
                if name in _GEOMETRIC:
                    candidate = self._geometry(name, magnitude, height, width)
                    geometry = ops.where(chosen[:, None, None], candidate, geometry)
                elif name != "identity":
                    candidate = self._color(name, images, magnitude)
                    images = ops.where(chosen[:, None, None, None], candidate, images)
            matrices = ops.matmul(matrices, geometry)
        images = _image_ops.warp(images, matrices, self.fill_mode)
        if self.cutout > 0:
            side = self._uniform(batch, 0.0, self.cutout) * min(height, width)
            center_x = self._uniform(batch, 0.0, float(width))
            center_y = self._uniform(batch, 0.0, float(height))
            images = _image_ops.cutout(images, side, center_x, center_y, 0.5)
        return self._from_unit(images)

    def get_config(self):
        return {**super().get_config(), "num_ops": self.num_ops, "operations": self.operations, "cutout": self.cutout}
