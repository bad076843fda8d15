"""The regulariser strategies: `"l2sp"`, `"lwf"`, `"bss"`, `"delta"`, `"co_tuning"`, `"stochnorm"`.

Each fine-tunes every layer of a classifier on the backbone, kept near what
the pretrained network knew. `"lwf"` and `"co_tuning"` need a source
classifier with its head: the context gives a trunk (the backbone), not a
source head, so they first train one on `source=(x_s, y_s)` (the trunk with
a source head), then fine-tune its trunk with a new head.
"""

import dataclasses

from keras_transfer import _checks
from keras_transfer.groups.freezing import set_trainable
from keras_transfer.regularizers.bss import BSSModel
from keras_transfer.regularizers.co_tuning import CoTuningModel
from keras_transfer.regularizers.co_tuning import category_relationship
from keras_transfer.regularizers.delta import DELTAModel
from keras_transfer.regularizers.delta import delta_attention
from keras_transfer.regularizers.l2sp import L2SP
from keras_transfer.regularizers.l2sp_model import L2SPModel
from keras_transfer.regularizers.l2sp_model import apply_l2sp
from keras_transfer.regularizers.lwf import LwFModel
from keras_transfer.regularizers.stochnorm import StochNorm
from keras_transfer.regularizers.stochnorm import apply_stochnorm
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy

SPARSE = "sparse_categorical_crossentropy"


def _fit(context, model, wrapped, name, details=None):
    """Compiles and fits `wrapped` on `data`; returns the strategy's `(model, history, details)`."""
    x, y = context.data
    history = context.compile(wrapped).fit(x, y, **context.fit_kwargs())
    return model, history, {**(details or {}), name: wrapped}


def l2sp(context, *, alpha=0.1, beta=0.01):
    """All layers train, pulled toward the pretrained weights (`apply_l2sp`)."""
    model = context.classifier(freeze=False)
    wrapped = context.compile(apply_l2sp(model, alpha=alpha, beta=beta), loss=SPARSE)
    x, y = context.data
    history = wrapped.fit(x, y, **context.fit_kwargs())
    return model, history, {"l2sp_model": wrapped}


def _source_classifier(context, source_epochs):
    """The source classifier (trunk + source head) trained on `source`, and the target classifier on its trunk."""
    if context.source is None:
        raise _checks.invalid(
            "source", f"labelled source data (x_s, y_s): strategy {context.strategy.name!r} pretrains the source "
            "classifier (the backbone with a source head) on it, then keeps that head's knowledge", None)
    if source_epochs is not None:
        source_epochs = _checks.check_int("source_epochs", source_epochs, minimum=1)
    source = context.classifier(num_classes=context.source_classes, freeze=False)
    history = context.fit_on_source(source, source_epochs or context.epochs)
    model = context.classifier(freeze=False)
    for trained, fresh in zip(source.layers[:-1], model.layers[:-1]):  # the trunk: every layer but the head
        fresh.set_weights(trained.get_weights())
    return source, model, {"source_model": source, "source_history": history}


def lwf(context, *, alpha=1.0, temperature=2.0, source_epochs=None):
    """Fine-tunes the source trunk on `data` while its source head keeps the source model's answers."""
    _checks.check_float("alpha", alpha, minimum=0.0)
    _checks.check_float("temperature", temperature, minimum=0.0, exclusive_minimum=True)
    source, model, details = _source_classifier(context, source_epochs)
    wrapped = LwFModel(model, source, alpha=alpha, temperature=temperature)
    return _fit(context, model, wrapped, "lwf_model", details)


def co_tuning(context, *, weight=2.3, source_epochs=None):
    """Fine-tunes the source trunk on `data` and its source head on the labels translated to source classes."""
    _checks.check_float("weight", weight, minimum=0.0)
    source, model, details = _source_classifier(context, source_epochs)
    x, y = context.data
    relationship = category_relationship(source, x, y, num_classes=context.num_classes, batch_size=context.batch_size)
    wrapped = CoTuningModel(model, source.layers[-1], relationship, weight=weight)
    return _fit(context, model, wrapped, "co_tuning_model", {**details, "relationship": relationship})


def bss(context, *, eta=0.001, k=1):
    """All layers train; the smallest singular values of the batch features shrink."""
    model = context.classifier(freeze=False)
    return _fit(context, model, BSSModel(model, eta=eta, k=k), "bss_model")


def delta(context, *, alpha=0.01, beta=0.01, probe_epochs=1):
    """A linear probe gives the channel attention, then all layers train near the pretrained features."""
    probe_epochs = _checks.check_int("probe_epochs", probe_epochs, minimum=1)
    _checks.check_float("alpha", alpha, minimum=0.0)
    _checks.check_float("beta", beta, minimum=0.0)
    model = context.classifier(freeze=True)
    x, y = context.data
    probe = context.compile(model, loss=SPARSE).fit(x, y, **context.fit_kwargs(epochs=probe_epochs))
    # The paper's term is on the backbone's feature maps (before pooling), when the backbone gives maps.
    backbone = getattr(model, "backbone", None)
    maps = backbone is not None and backbone in model.layers and len(backbone.output.shape) == 4
    feature_layer = backbone.name if maps else None
    attention = delta_attention(model, x, y, feature_layer=feature_layer, batch_size=context.batch_size)
    set_trainable(model, "all", train_batchnorm=bool(context.build_options.get("train_batchnorm", False)))
    wrapped = DELTAModel(model, alpha=alpha, beta=beta, attention=attention, feature_layer=feature_layer)
    return _fit(context, model, wrapped, "delta_model", {"attention": attention, "probe_history": probe})


def stochnorm(context, *, p=0.5):
    """All layers train, BatchNorm included, each BatchNorm replaced by `StochNorm(p)`."""
    _checks.check_float("p", p, minimum=0.0, maximum=1.0)
    options = {**context.build_options, "train_batchnorm": True}
    model = apply_stochnorm(dataclasses.replace(context, build_options=options).classifier(freeze=False), p=p)
    x, y = context.data
    history = context.compile(model, loss=SPARSE).fit(x, y, **context.fit_kwargs())
    return model, history, {}


register_strategy(Strategy(
    "l2sp", l2sp,
    paper='Li, Grandvalet & Davoine, "Explicit Inductive Bias for Transfer Learning with CNNs", ICML 2018',
    when="Fine-tuning every layer on a small target set: keep the weights near their pretrained values.",
    options={"alpha": 0.1, "beta": 0.01}, page="l2sp.md", builds=(L2SPModel, L2SP),
))
SOURCE = dict(requires=("data", "source"), page="regularizers.md")
register_strategy(Strategy(
    "lwf", lwf, **SOURCE, section="lwf",
    paper='Li & Hoiem, "Learning without Forgetting", ECCV 2016',
    when="A source task worth keeping (its data or head): fine-tune while the old head keeps its answers.",
    options={"alpha": 1.0, "temperature": 2.0, "source_epochs": None}, builds=(LwFModel,),
))
register_strategy(Strategy(
    "co_tuning", co_tuning, **SOURCE, section="co_tuning",
    paper='You et al., "Co-Tuning for Transfer Learning", NeurIPS 2020',
    when="A source classifier whose classes relate to the target's: train its head too, on translated labels.",
    options={"weight": 2.3, "source_epochs": None}, builds=(CoTuningModel,),
))
register_strategy(Strategy(
    "bss", bss, page="regularizers.md", section="bss",
    paper='Chen et al., "Catastrophic Forgetting Meets Negative Transfer: Batch Spectral Shrinkage", NeurIPS 2019',
    when="Fine-tuning on very few labels: shrink the feature directions the small target set cannot correct.",
    options={"eta": 0.001, "k": 1}, builds=(BSSModel,),
))
register_strategy(Strategy(
    "delta", delta, page="regularizers.md", section="delta",
    paper='Li et al., "DELTA: DEep Learning Transfer using Feature Map with Attention", ICLR 2019',
    when="Fine-tuning a trunk whose features suit the task: keep the useful channels' features, free the others.",
    options={"alpha": 0.01, "beta": 0.01, "probe_epochs": 1}, builds=(DELTAModel,),
))
register_strategy(Strategy(
    "stochnorm", stochnorm, page="regularizers.md", section="stochnorm",
    paper='Kou et al., "Stochastic Normalization", NeurIPS 2020',
    when="Fine-tuning a BatchNorm backbone (ResNet, MobileNet) with BatchNorm training, on a small target set.",
    options={"p": 0.5}, builds=(StochNorm,),
))
