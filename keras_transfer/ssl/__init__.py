"""Semi-supervised learning: FixMatch and its compilable augmentations."""

from keras_transfer.ssl.dataset import ssl_dataset
from keras_transfer.ssl.fixmatch import FixMatch
from keras_transfer.ssl.strong_augment import StrongAugment
from keras_transfer.ssl.weak_augment import WeakAugment

__all__ = ["FixMatch", "StrongAugment", "WeakAugment", "ssl_dataset"]
