"""Recipes on labelled target data: feature extraction, fine-tuning, L2-SP, prototypes."""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.feature_extraction.fit_classifier import fit_classifier
from keras_transfer.few_shot.prototype_head import PrototypeHead
from keras_transfer.fine_tuning.fine_tune import fine_tune as fine_tune_recipe
from keras_transfer.regularizers.l2sp_model import apply_l2sp
from keras_transfer.text.build_text_classifier import build_text_classifier


def feature_extraction(context, *, cache_features="auto"):
    """Frozen backbone + new head; the backbone runs once (`fit_classifier`)."""
    model = context.compile(context.classifier(freeze=True), loss="sparse_categorical_crossentropy")
    x, y = context.data
    history = fit_classifier(model, x, y, cache_features=cache_features, **context.fit_kwargs())
    return model, history, {"feature_cache": history.feature_cache}


def _unfreezing(context, gradual, freeze_epochs, lr_mult, train_batchnorm):
    freeze_epochs = _checks.check_int("freeze_epochs", freeze_epochs, minimum=0)
    if context.epochs <= freeze_epochs:
        raise _checks.invalid(
            "epochs", f"more than freeze_epochs={freeze_epochs} (head-only epochs come first, then unfrozen ones)", context.epochs
        )
    model = context.classifier(freeze=True)
    x, y = context.data
    kwargs = context.fit_kwargs()
    kwargs.pop("epochs")
    history = fine_tune_recipe(
        model, x, y,
        epochs=context.epochs - freeze_epochs, freeze_epochs=freeze_epochs, base_lr=context.learning_rate,
        lr_mult=lr_mult, gradual=gradual, train_batchnorm=train_batchnorm, jit_compile=context.jit_compile, **kwargs,
    )
    return model, history, {}


def fine_tune(context, *, freeze_epochs=1, lr_mult=100.0, train_batchnorm=False):
    """Head first, then everything with discriminative learning rates (`fine_tune`)."""
    return _unfreezing(context, False, freeze_epochs, lr_mult, train_batchnorm)


def gradual(context, *, freeze_epochs=1, lr_mult=100.0, train_batchnorm=False):
    """Head first, then one more group per epoch from the top (`FreezeSchedule.gradual`)."""
    return _unfreezing(context, True, freeze_epochs, lr_mult, train_batchnorm)


def l2sp(context, *, alpha=0.1, beta=0.01):
    """All layers train, pulled toward the pretrained weights (`apply_l2sp`)."""
    model = context.classifier(freeze=False)
    wrapped = context.compile(apply_l2sp(model, alpha=alpha, beta=beta), loss="sparse_categorical_crossentropy")
    x, y = context.data
    history = wrapped.fit(x, y, **context.fit_kwargs())
    return model, history, {"l2sp_model": wrapped}


def prototype(context, *, metric="cosine", scale=10.0):
    """Class means of frozen embeddings (`PrototypeHead.fit_prototypes`): no gradient step."""
    head = PrototypeHead(context.num_classes, metric=metric, scale=scale, name="prototypes")
    embedder = context.classifier(freeze=True).feature_extractor
    x, y = context.data
    missing = sorted(set(range(context.num_classes)) - set(np.unique(y).tolist()))
    if missing:
        raise _checks.invalid("data", f"at least one example of every class 0..{context.num_classes - 1}", f"no example of class(es) {missing}")
    head.fit_prototypes(embedder.predict(x, batch_size=context.batch_size, verbose=0), y)
    model = keras.Model(embedder.inputs, head(embedder.outputs[0]), name="prototype_classifier")
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


def text(context, *, freeze=False, pooling="mean", sequence_length=None, lora_rank=None):
    """A keras-hub text encoder + new head on raw strings (`build_text_classifier`)."""
    if context.weights not in ("imagenet", "pretrained", None):
        raise _checks.invalid("weights", '"pretrained" (or the default "imagenet"): the preset\'s weights, or None', context.weights)
    model = build_text_classifier(
        context.backbone, context.num_classes, weights=None if context.weights is None else "pretrained",
        freeze=freeze, pooling=pooling, sequence_length=sequence_length, lora_rank=lora_rank,
    )
    context.compile(model, loss="sparse_categorical_crossentropy")
    x, y = context.data
    history = model.fit(x, y, **context.fit_kwargs())
    return model, history, {}
