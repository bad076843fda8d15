"""Data helpers: offline real datasets and `tf.data` pipelines."""

from keras_transfer.data.fashion_mnist import FASHION_MNIST_CLASSES
from keras_transfer.data.fashion_mnist import load_fashion_mnist
from keras_transfer.data.domain_adaptation import domain_adaptation_dataset

__all__ = ["FASHION_MNIST_CLASSES", "load_fashion_mnist"]
__all__ += ["domain_adaptation_dataset"]
from keras_transfer.data.fashion_mnist_m import blend_with_photos  # noqa: E402
from keras_transfer.data.fashion_mnist_m import load_fashion_mnist_m  # noqa: E402
from keras_transfer.data.font_digits import render_font_digits  # noqa: E402
from keras_transfer.data.uci_digits import load_uci_digits  # noqa: E402

__all__ += ["blend_with_photos", "load_fashion_mnist_m", "render_font_digits", "load_uci_digits"]
