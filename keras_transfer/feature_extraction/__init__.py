"""Feature extraction: a frozen pretrained backbone and a new head.

The public names live at the package root (`keras_transfer.build_classifier`,
`keras_transfer.fit_classifier`) and in `keras_transfer.models`
(`TransferClassifier`); this package holds their implementations and the
`"feature_extraction"` strategy.
"""

__all__ = []
