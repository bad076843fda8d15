"""The `"feature_extraction"` strategy: a frozen backbone and a new head, the backbone run once."""

from keras_transfer.feature_extraction.fit_classifier import fit_classifier
from keras_transfer.feature_extraction.transfer_classifier import TransferClassifier
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


def feature_extraction(context, *, cache_features="auto"):
    """Frozen backbone + new head; the backbone runs once (`fit_classifier`)."""
    context.warn_if_frozen_random()
    model = context.compile(context.classifier(freeze=True), loss="sparse_categorical_crossentropy")
    x, y = context.data
    history = fit_classifier(model, x, y, cache_features=cache_features, **context.fit_kwargs())
    return model, history, {"feature_cache": history.feature_cache}


register_strategy(Strategy(
    "feature_extraction", feature_extraction, epochs=10, learning_rate=1e-2,  # a linear head
    paper='Razavian et al., "CNN Features off-the-shelf", CVPRW 2014',
    when="Few labels, or a target close to the pretraining data: train only a new head on frozen features (fast).",
    options={"cache_features": "auto"}, page="feature_extraction.md", builds=(TransferClassifier,),
))
