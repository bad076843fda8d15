"""Feature extraction: a frozen pretrained backbone and a new head."""

from keras_transfer.feature_extraction.build_classifier import build_classifier
from keras_transfer.feature_extraction.fit_classifier import fit_classifier
from keras_transfer.feature_extraction.transfer_classifier import TransferClassifier

__all__ = ["TransferClassifier", "build_classifier", "fit_classifier"]
