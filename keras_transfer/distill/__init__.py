"""Knowledge distillation: the baseline of transfer when label spaces differ."""

from keras_transfer.distill.distiller import Distiller

__all__ = ["Distiller"]
