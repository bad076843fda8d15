"""Data helpers: offline real datasets and `tf.data` pipelines."""

from keras_transfer.data.fashion_mnist import FASHION_MNIST_CLASSES
from keras_transfer.data.fashion_mnist import load_fashion_mnist

__all__ = ["FASHION_MNIST_CLASSES", "load_fashion_mnist"]
from keras_transfer.data.fortunes import FORTUNE_TOPICS  # noqa: E402
from keras_transfer.data.fortunes import load_fortunes  # noqa: E402
from keras_transfer.data.fortunes import per_class_split  # noqa: E402

__all__ += ["FORTUNE_TOPICS", "load_fortunes", "per_class_split"]
