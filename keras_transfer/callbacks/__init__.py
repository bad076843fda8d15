"""Public Keras callbacks of keras_transfer."""

from keras_transfer.fine_tuning.discriminative_lr import DiscriminativeLR
from keras_transfer.fine_tuning.freeze_schedule import FreezeSchedule

__all__ = ["DiscriminativeLR", "FreezeSchedule"]
