"""Public optimizers of keras_transfer."""

from keras_transfer.fine_tuning.group_loss_scale_optimizer import GroupLossScaleOptimizer
from keras_transfer.fine_tuning.group_optimizer import GroupOptimizer

__all__ = ["GroupLossScaleOptimizer", "GroupOptimizer"]
