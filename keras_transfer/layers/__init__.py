"""Public Keras layers of keras_transfer (all registered for serialization)."""

from keras_transfer.backbones.freezable_dropout import FreezableDropout
from keras_transfer.backbones.image_preprocessing import ImagePreprocessing
from keras_transfer.generative.pseudo_ssl_generator import PseudoSSLGenerator
from keras_transfer.ssl.strong_augment import StrongAugment
from keras_transfer.ssl.weak_augment import WeakAugment

__all__ = ["FreezableDropout", "ImagePreprocessing", "PseudoSSLGenerator", "StrongAugment", "WeakAugment"]
