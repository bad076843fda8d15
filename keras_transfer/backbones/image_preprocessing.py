"""The input scaling each pretrained backbone expects, as a Keras layer."""

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export

_IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
MODES = ("caffe", "tf", "torch", "unit", "none")


@keras_transfer_export("keras_transfer.layers.ImagePreprocessing")
class ImagePreprocessing(keras.layers.Layer):
    """Maps raw RGB images in [0, 255] to what a backbone was trained on.

    The same arithmetic as `keras.applications.*.preprocess_input`, but as a
    registered layer, so it lives inside the model (exported models take raw
    images) and the model loads without `safe_mode=False`.

    Args:
        mode: `"caffe"` (RGB to BGR, minus the ImageNet mean: VGG, ResNet),
            `"tf"` (scaled to [-1, 1]: MobileNet, Inception, Xception,
            ResNetV2, NASNet), `"torch"` (scaled to [0, 1], then normalised by
            the ImageNet mean and std: DenseNet), `"unit"` (scaled to [0, 1])
            or `"none"` (backbones that scale inside, e.g. EfficientNet,
            ConvNeXt, MobileNetV3).

    Example:

    >>> import numpy as np, keras_transfer
    >>> layer = keras_transfer.layers.ImagePreprocessing("tf")
    >>> float(layer(np.full((1, 2, 2, 3), 255.0, "float32"))[0, 0, 0, 0])
    1.0
    """

    def __init__(self, mode="tf", **kwargs):
        super().__init__(**kwargs)
        self.mode = _checks.check_choice("mode", mode, MODES)
        self.supports_masking = False

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, dtype=x.dtype)
            std = ops.convert_to_tensor(_TORCH_STD, dtype=x.dtype)
            return (x / 255.0 - mean) / std
        if self.mode == "caffe":
            x = ops.flip(x, axis=-1)  # RGB -> BGR
            mean = ops.convert_to_tensor(_IMAGENET_MEAN_RGB[::-1], dtype=x.dtype)
            return x - mean
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
