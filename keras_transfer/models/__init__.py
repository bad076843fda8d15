"""Public Keras models of keras_transfer (all registered for serialization)."""

from keras_transfer.feature_extraction.transfer_classifier import TransferClassifier

__all__ = ["TransferClassifier"]
