"""Data helpers: offline real datasets and `tf.data` pipelines."""

from keras_transfer.domain_adaptation.dataset import domain_adaptation_dataset
from keras_transfer.data.corruptions import CORRUPTIONS
from keras_transfer.data.corruptions import corrupt
from keras_transfer.data.fashion_mnist import FASHION_MNIST_CLASSES
from keras_transfer.data.fashion_mnist import load_fashion_mnist
from keras_transfer.data.fashion_mnist_c import load_fashion_mnist_c
from keras_transfer.data.fashion_mnist_m import blend_with_photos
from keras_transfer.data.fashion_mnist_m import load_fashion_mnist_m
from keras_transfer.data.fortunes import FORTUNE_TOPICS
from keras_transfer.data.fortunes import load_fortunes
from keras_transfer.data.fortunes import per_class_split
from keras_transfer.data.font_digits import render_font_digits
from keras_transfer.data.pipeline import image_dataset
from keras_transfer.data.uci_digits import load_uci_digits

__all__ = [
    "CORRUPTIONS",
    "FASHION_MNIST_CLASSES",
    "FORTUNE_TOPICS",
    "blend_with_photos",
    "corrupt",
    "domain_adaptation_dataset",
    "image_dataset",
    "load_fashion_mnist",
    "load_fashion_mnist_c",
    "load_fashion_mnist_m",
    "load_fortunes",
    "load_uci_digits",
    "per_class_split",
    "render_font_digits",
]
