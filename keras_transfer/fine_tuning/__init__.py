"""Fine-tuning: gradual unfreezing, discriminative learning rates, recipes.

The public names of this package have their homes where Keras users look for
them: `keras_transfer.fine_tune` and `keras_transfer.lr_find` (root
conveniences), `keras_transfer.callbacks.FreezeSchedule` and
`DiscriminativeLR`, `keras_transfer.optimizers.GroupOptimizer`. What
`lr_find` returns is `LRFinderResult`, here.
"""

from keras_transfer.fine_tuning.lr_finder import LRFinderResult

__all__ = ["LRFinderResult"]
