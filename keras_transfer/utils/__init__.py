"""Utilities: reproducibility."""

from keras_transfer.utils.determinism import disable_determinism
from keras_transfer.utils.determinism import enable_determinism

__all__ = ["disable_determinism", "enable_determinism"]
