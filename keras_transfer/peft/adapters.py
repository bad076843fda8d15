"""`add_adapters`: bottleneck adapters in a pretrained network; only they (and the head) train."""

import numbers

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.backbones import hub
from keras_transfer.feature_extraction.transfer_classifier import TransferClassifier
from keras_transfer.groups import graph
from keras_transfer.peft import adapter_graph
from keras_transfer.peft.adapter import check_activation
from keras_transfer.peft.adapter_encoder import POSITIONS
from keras_transfer.peft.adapter_encoder import check_positions

SUPPORTED = (
    "a model from keras_transfer.build_classifier or build_text_classifier, a keras-hub text backbone "
    "(BERT-style TransformerEncoder layers), or a functional convolutional keras.Model"
)


@keras_transfer_export("keras_transfer.peft.add_adapters")
def add_adapters(model, *, reduction_factor=16, where="auto", activation="relu", train_layer_norm=True):
    """A copy of `model` with bottleneck adapters inserted; only they and the head train.

    Adapters (`keras_transfer.layers.BottleneckAdapter`: `x + up(act(down(x)))`,
    `up` starting at zero) go into the pretrained network; the copy starts
    computing exactly what `model` computes, its pretrained weights are
    frozen, and training moves the adapters and the head only. The
    adapters are nonlinear, so they stay layers in saved and exported models
    (nothing to merge). `model` itself is not changed.

    Where they go:

    - text (`build_text_classifier` models, keras-hub text backbones): each
      `keras_hub.layers.TransformerEncoder` becomes a
      `keras_transfer.layers.AdapterTransformerEncoder` with an adapter after
      the attention block and after the feed-forward block (Houlsby et al.),
      whose LayerNorms train too with `train_layer_norm=True`;
    - images (`build_classifier` models, functional CNNs): an adapter
      (1x1 convolutions over the channels) after the last layer of each
      layer group of the backbone (`model.layer_groups`: VGG16's `block1`
      .. `block5`, MobileNetV2's stages; a plain functional model gets the
      groups read from its graph), where that layer outputs a feature map.
      BatchNorm stays frozen (inference mode).

    A plain functional model or text backbone is taken as a backbone: the
    copy has every layer frozen but the adapters. `keras_transfer.describe_groups`
    on the result shows each group's trainable (adapter) parameters.

    Args:
        model: what to adapt (see above). A model that already has adapters
            or LoRA factors is refused.
        reduction_factor: the bottleneck is the width of what the adapter
            sees divided by this (at least 1 unit): 16 gives 24 units on
            MiniLM's 384 and 32 after a 512-channel VGG16 block. Defaults to
            `16`.
        where: `"auto"` (the placements above). For text, `"attention"`,
            `"feedforward"` (one adapter per layer, as Pfeiffer et al.) or
            a list of both; for images, a list of backbone layer names to put
            an adapter after. Defaults to `"auto"`.
        activation: the adapters' nonlinearity. Defaults to `"relu"`.
        train_layer_norm: whether LayerNorms train too, as in the paper:
            the two inside each adapted transformer layer (the embeddings'
            stays frozen), and every `LayerNormalization` of an image
            backbone (e.g. ConvNeXt; VGG16 and MobileNetV2 have none).
            Defaults to `True`.

    Returns:
        A new model of the same kind (`TextClassifier`, `TransferClassifier`,
        or a functional `keras.Model`), uncompiled.

    Example:

    >>> import numpy as np, keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 3, weights=None, input_shape=(32, 32, 3))
    >>> adapted = keras_transfer.peft.add_adapters(model)
    >>> x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3))
    >>> bool(np.allclose(adapted.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6))
    True
    >>> text = keras_transfer.describe_groups(adapted, print_fn=None)
    >>> text.splitlines()[2].split()[:4]  # block1: 64 channels, a 4-unit adapter (580 weights) trains
    ['block1', '4', '39,300', '580']

    Reference:
        Houlsby et al., "Parameter-Efficient Transfer Learning for NLP",
        ICML 2019 (https://arxiv.org/abs/1902.00751).
    """
    if isinstance(reduction_factor, bool) or not isinstance(reduction_factor, numbers.Real):
        raise _checks.invalid("reduction_factor", "a number > 0", reduction_factor, error=TypeError)
    _checks.check_float("reduction_factor", reduction_factor, minimum=0.0, exclusive_minimum=True)
    activation = check_activation("activation", activation)
    if not isinstance(train_layer_norm, bool):
        raise _checks.invalid("train_layer_norm", "a bool", train_layer_norm, error=TypeError)
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", SUPPORTED, model, error=TypeError)
    if adapter_graph.adapter_layers(model):
        raise _checks.invalid("model", "a model without adapters (this one has them already)", model.name)
    if any(getattr(layer, "lora_enabled", False) for layer in model._flatten_layers(include_self=False)):
        raise _checks.invalid("model", "a model without LoRA factors (adapters and LoRA are not combined)", model.name)
    from keras_transfer.text.pipeline import TextPipelineModel

    options = dict(reduction_factor=reduction_factor, activation=activation)
    if isinstance(model, TextPipelineModel):
        return _text_model(model, _text_positions(where), train_layer_norm, **options)
    if isinstance(model, TransferClassifier):
        return _image_classifier(model, where, train_layer_norm, **options)
    if not hub.is_functional(model) or not model.inputs:
        raise _checks.invalid("model", SUPPORTED, model, error=TypeError)
    if adapter_graph.transformer_encoders(model) or len(model.inputs) > 1:  # a keras-hub text backbone
        backbone = _text_backbone(model, _text_positions(where), train_layer_norm, **options)
        adapter_graph.freeze_all_but_adapters(backbone)
        return backbone
    targets = _image_targets(model, graph.generic_groups(model), where)
    adapted = adapter_graph.insert_after(model, targets, **options)
    adapter_graph.copy_weights(model, adapted)
    adapter_graph.freeze_all_but_adapters(adapted, train_layer_norm)
    return adapted


def _text_positions(where):
    if where == "auto":
        return POSITIONS
    return check_positions("where", where)


def _text_backbone(backbone, positions, train_layer_norm, **options):
    if not adapter_graph.transformer_encoders(backbone):
        raise _checks.invalid(
            "model", "a text backbone made of keras_hub.layers.TransformerEncoder layers (BERT, RoBERTa, "
            "DistilBERT, MiniLM, ...)", f"{backbone.name} ({backbone.__class__.__name__}), which has none",
        )
    adapted = adapter_graph.replace_encoders(
        backbone, options["reduction_factor"], options["activation"], positions, train_layer_norm
    )
    adapter_graph.copy_weights(backbone, adapted)
    return adapted


def _text_model(model, positions, train_layer_norm, **options):
    """A `TextClassifier` / `TextEncoder` rebuilt on an adapted backbone, its head copied."""
    backbone = _text_backbone(model.backbone, positions, train_layer_norm, **options)
    config = model.get_config()
    config.update(backbone=backbone, preprocessor=model.preprocessor, trainable_groups=None)
    adapted = type(model).from_config(config)
    adapter_graph.copy_weights(model, adapted)
    adapter_graph.freeze_all_but_adapters(adapted.backbone)
    groups = getattr(adapted, "layer_groups", {})
    for layer in groups.get("head", []):
        layer.trainable = True
    return adapted


def _image_targets(backbone, groups, where):
    """Names of the backbone layers an adapter goes after."""
    if where == "auto":
        names = []
        for layers in groups.values():
            last = max(layers, key=backbone.layers.index)
            if output_rank(last) >= 3:
                names.append(last.name)
        if not names:
            raise _checks.invalid(
                "model", "a backbone whose layer groups end in feature maps (convolutional stages)", backbone.name
            )
        return names
    if isinstance(where, str) or not isinstance(where, (list, tuple)) or not where:
        raise _checks.invalid(
            "where", f"'auto' or a non-empty list of layer names of backbone {backbone.name!r}", where, error=TypeError
        )
    known = {layer.name: layer for layer in backbone.layers}
    for name in where:
        if name not in known:
            raise _checks.invalid("where", f"names of layers of backbone {backbone.name!r}", where,
                                  hint=f"No layer {name!r}.{_checks.suggest(name, known)}")
        if output_rank(known[name]) < 3:
            raise _checks.invalid("where", "layers whose output is a feature map (rank 3 or 4)", where,
                                  hint=f"{name!r} outputs rank {output_rank(known[name])}.")
    return list(dict.fromkeys(where))


def output_rank(layer):
    return adapter_graph.output_rank_and_width(layer)[0]


def _image_classifier(model, where, train_layer_norm, **options):
    """A `TransferClassifier` on an adapted copy of its backbone; head and preprocessing copied."""
    backbone = model.backbone
    groups = {name: [backbone.get_layer(n) for n in names] for name, names in (model.backbone_groups or {}).items()}
    if not groups:
        groups = graph.generic_groups(backbone)
    targets = _image_targets(backbone, groups, where)
    adapted_backbone = adapter_graph.insert_after(backbone, targets, **options)
    adapter_graph.copy_weights(backbone, adapted_backbone)
    new_groups = {}
    for name, layers in groups.items():
        names = [layer.name for layer in layers]
        new_groups[name] = names + [f"{n}_adapter" for n in names if n in targets]
    config = model.get_config()
    config.update(backbone=adapted_backbone, backbone_groups=new_groups)
    adapted = type(model).from_config(config)
    adapter_graph.copy_weights(model, adapted)
    for layer in adapted.layers:
        layer.trainable = layer.name in model._head_layer_names
    adapter_graph.freeze_all_but_adapters(adapted.backbone, train_layer_norm)
    return adapted
