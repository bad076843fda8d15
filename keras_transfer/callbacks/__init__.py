"""Public Keras callbacks of keras_transfer."""

from keras_transfer.domain_adaptation.gradient_reversal_schedule import GradientReversalSchedule
from keras_transfer.domain_adaptation.importance_weighted_validation import ImportanceWeightedValidation
from keras_transfer.domain_adaptation.reverse_validation_callback import ReverseValidation
from keras_transfer.fine_tuning.discriminative_lr import DiscriminativeLR
from keras_transfer.fine_tuning.freeze_schedule import FreezeSchedule

__all__ = ["DiscriminativeLR", "FreezeSchedule", "GradientReversalSchedule", "ImportanceWeightedValidation",
           "ReverseValidation"]
