"""The `"prototype"` strategy: class means of frozen embeddings, no gradient step."""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.few_shot.head_classifier import HeadClassifier
from keras_transfer.few_shot.prototype_head import PrototypeHead
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


def prototype(context, *, metric="cosine", scale=10.0):
    """Class means of frozen embeddings (`PrototypeHead.fit_prototypes`): no gradient step."""
    context.warn_if_frozen_random()
    head = PrototypeHead(context.num_classes, metric=metric, scale=scale, name="prototypes")
    embedder = context.classifier(freeze=True).feature_extractor
    x, y = context.data
    missing = sorted(set(range(context.num_classes)) - set(np.unique(y).tolist()))
    if missing:
        raise _checks.invalid("data", f"at least one example of every class 0..{context.num_classes - 1}", f"no example of class(es) {missing}")
    head.fit_prototypes(embedder.predict(x, batch_size=context.batch_size, verbose=0), y)
    model = HeadClassifier(embedder, head, name="prototype_classifier")
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=context.jit_compile)
    logs = model.evaluate(x, y, batch_size=context.batch_size, verbose=0, return_dict=True)
    if context.validation_data is not None:
        validation = model.evaluate(*context.validation_data, batch_size=context.batch_size, verbose=0, return_dict=True)
        logs.update({f"val_{key}": value for key, value in validation.items()})
    history = keras.callbacks.History()
    history.set_model(model)
    history.epoch = [0]
    history.history = {key: [float(value)] for key, value in logs.items()}
    return model, history, {"head": head}


register_strategy(Strategy(
    "prototype", prototype, trains=False, epochs=0,
    paper='Snell, Swersky & Zemel, "Prototypical Networks for Few-shot Learning", NeurIPS 2017',
    when="A handful of examples per new class (few-shot): class means of frozen embeddings, no training.",
    options={"metric": "cosine", "scale": 10.0}, page="few_shot.md", section="prototype-head", builds=(PrototypeHead, HeadClassifier),
))
