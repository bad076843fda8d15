"""Semi-supervised learning: FixMatch and its input pipeline.

Its compilable augmentations live in `keras_transfer.layers` (`WeakAugment`,
`StrongAugment`).
"""

from keras_transfer.ssl.dataset import ssl_dataset
from keras_transfer.ssl.fixmatch import FixMatch

__all__ = ["FixMatch", "ssl_dataset"]
