"""Semi-supervised learning: FixMatch and its input pipeline.

Its compilable augmentations live in `keras_transfer.layers` (`WeakAugment`,
`StrongAugment`).
"""

from keras_transfer.ssl.dataset import ssl_dataset
from keras_transfer.ssl.fixmatch import FixMatch
from keras_transfer.ssl.flexmatch import FlexMatch
from keras_transfer.ssl.mean_teacher import MeanTeacher
from keras_transfer.ssl.pseudo_label import PseudoLabel
from keras_transfer.ssl.uda import UDA

__all__ = ["FixMatch", "FlexMatch", "MeanTeacher", "PseudoLabel", "UDA", "ssl_dataset"]
