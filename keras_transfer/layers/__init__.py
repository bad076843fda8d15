"""Public Keras layers of keras_transfer (all registered for serialization)."""

from keras_transfer.backbones.freezable_dropout import FreezableDropout
from keras_transfer.backbones.image_preprocessing import ImagePreprocessing
from keras_transfer.text.pooling import TextPooling

__all__ = ["FreezableDropout", "ImagePreprocessing"]
__all__ += ["TextPooling"]
