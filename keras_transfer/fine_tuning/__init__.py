"""Fine-tuning: gradual unfreezing, discriminative learning rates, recipes."""

from keras_transfer.fine_tuning.discriminative_lr import DiscriminativeLR
from keras_transfer.fine_tuning.fine_tune import fine_tune
from keras_transfer.fine_tuning.freeze_schedule import FreezeSchedule
from keras_transfer.fine_tuning.group_optimizer import GroupOptimizer
from keras_transfer.fine_tuning.lr_finder import LRFinderResult
from keras_transfer.fine_tuning.lr_finder import lr_find

__all__ = ["DiscriminativeLR", "FreezeSchedule", "GroupOptimizer", "LRFinderResult", "fine_tune", "lr_find"]
