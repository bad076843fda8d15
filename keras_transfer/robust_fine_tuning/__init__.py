"""Robust fine-tuning: LP-FT, WiSE-FT weight interpolation, model soups.

Fine-tuning that keeps what the pretrained model knew. Weight averaging
during training (Polyak / EMA) is Keras's own: `use_ema=True` on the
optimizer (also under `keras_transfer.optimizers.GroupOptimizer`, which
averages the weights it applies) with `keras.callbacks.SwapEMAWeights`.
"""

from keras_transfer.robust_fine_tuning.interpolation import WiseFTResult, interpolate_weights, wise_ft
from keras_transfer.robust_fine_tuning.lp_ft import LPFTResult, linear_probe, lp_ft
from keras_transfer.robust_fine_tuning.soups import SoupResult, greedy_soup, uniform_soup

__all__ = [
    "LPFTResult",
    "SoupResult",
    "WiseFTResult",
    "greedy_soup",
    "interpolate_weights",
    "linear_probe",
    "lp_ft",
    "uniform_soup",
    "wise_ft",
]
