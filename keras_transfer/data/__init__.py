"""Data helpers: offline real datasets and `tf.data` pipelines."""

from keras_transfer.data.fashion_mnist import FASHION_MNIST_CLASSES
from keras_transfer.data.fashion_mnist import load_fashion_mnist
from keras_transfer.data.domain_adaptation import domain_adaptation_dataset

__all__ = ["FASHION_MNIST_CLASSES", "load_fashion_mnist"]
__all__ += ["domain_adaptation_dataset"]
