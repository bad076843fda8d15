"""`build_text_classifier`: a pretrained text encoder and a new head, from a preset."""

from keras_transfer import _checks
from keras_transfer.groups.freezing import groups_to_train
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.backbones.resolve import resolve_backbone
from keras_transfer.text import presets
from keras_transfer.text.pipeline import ON_TOO_LONG
from keras_transfer.text.text_classifier import TextClassifier, check_head
from keras_transfer.text.text_encoder import POOLINGS


@keras_transfer_export("keras_transfer.build_text_classifier")
def build_text_classifier(
    preset,
    num_classes,
    *,
    weights="pretrained",
    freeze=True,
    pooling="mean",
    hidden_units=(),
    dropout=0.0,
    activation="auto",
    sequence_length=None,
    on_too_long="truncate",
    lora_rank=None,
    name=None,
):
    """A keras-hub text encoder with a new classification head, from a preset.

    Returns an uncompiled `keras_transfer.models.TextClassifier` whose `fit`,
    `evaluate` and `predict` take raw strings (tokenized in the input
    pipeline, so `jit_compile=True` works) and whose saved and exported forms
    take raw strings too.

    Sequence length: texts are cut to `sequence_length` tokens, special
    tokens included (`on_too_long="truncate"`, with a warning that counts the
    cut texts of in-memory inputs), or refused (`on_too_long="error"`). A
    `sequence_length` above the backbone's `max_sequence_length` is refused.

    Args:
        preset: a keras-hub preset name (e.g. `"bert_tiny_en_uncased"`,
            downloaded on first use), a local Keras preset directory
            (`save_to_preset`), or a local Hugging Face checkpoint directory
            keras-hub can convert (BERT, RoBERTa, DistilBERT, ... with
            `safetensors` installed).
        num_classes: number of classes (1: binary, sigmoid output).
        weights: `"pretrained"` (the preset's weights) or `None` (same
            architecture, random initialisation: the from-scratch baseline).
            Defaults to `"pretrained"`.
        freeze: `True` (the encoder is frozen, only the head trains: feature
            extraction), `False` (everything trains), or a list of encoder
            group names to keep frozen (e.g. `["embeddings",
            "transformer_layer_0"]`). Defaults to `True`.
        pooling: `"mean"` (masked mean of the token states: what sentence
            encoders are trained for), `"cls"` (the first token's state) or
            `"pooler"` (the backbone's pooled output, e.g. BERT's tanh layer).
            Defaults to `"mean"`.
        hidden_units: sizes of hidden `Dense(relu)` layers of the head.
        dropout: dropout rate before the output layer. Defaults to `0.0`.
        activation: `"auto"` (softmax; sigmoid when `num_classes=1`), `None`
            for logits, or an activation name.
        sequence_length: tokens per text, special tokens included. Defaults
            to the preset preprocessor's, capped at the backbone's
            `max_sequence_length`.
        on_too_long: `"truncate"` or `"error"`. Defaults to `"truncate"`.
        lora_rank: `None`, or a LoRA rank: the encoder stays frozen and only
            low-rank factors on its attention query/value projections and the
            head train (`freeze` must then stay `True`).
        name: model name.

    Returns:
        An uncompiled `keras_transfer.models.TextClassifier`.

    Example:

    >>> import keras_transfer
    >>> model = keras_transfer.build_text_classifier(  # doctest: +SKIP
    ...     "path/to/all-MiniLM-L6-v2", num_classes=4, freeze=False)
    >>> list(model.layer_groups)[:3]  # doctest: +SKIP
    ['embeddings', 'transformer_layer_0', 'transformer_layer_1']
    >>> keras_transfer.build_text_classifier("bert_tiny_en_uncased", 0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid value received for argument `num_classes`. Expected an integer >= 1. Received: num_classes=0.

    Reference:
        Howard and Ruder, "Universal Language Model Fine-tuning for Text
        Classification", ACL 2018 (https://arxiv.org/abs/1801.06146), for
        gradual unfreezing and discriminative (layer-wise) learning rates.
    """
    num_classes, hidden_units, dropout = check_head(num_classes, hidden_units, dropout, activation)
    if weights not in ("pretrained", None):
        raise _checks.invalid("weights", '"pretrained" or None', weights)
    if not isinstance(freeze, (bool, list, tuple)):
        raise _checks.invalid("freeze", "True, False or a list of encoder group names", freeze, error=TypeError)
    _checks.check_choice("pooling", pooling, POOLINGS)
    _checks.check_choice("on_too_long", on_too_long, ON_TOO_LONG)
    if sequence_length is not None:
        sequence_length = _checks.check_int("sequence_length", sequence_length, minimum=2)
    if lora_rank is not None:
        lora_rank = _checks.check_int("lora_rank", lora_rank, minimum=1)
        if freeze is not True:
            raise _checks.invalid(
                "freeze", "True with `lora_rank` (LoRA trains only its low-rank factors and the head)", freeze
            )
    if name is not None and not isinstance(name, str):
        raise _checks.invalid("name", "a str", name, error=TypeError)

    resolved = resolve_backbone(preset, texts=True, argument="preset")
    backbone, preprocessor, where = presets.load(resolved.location, load_weights=weights == "pretrained")
    limit = getattr(backbone, "max_sequence_length", None)
    if sequence_length is None:
        sequence_length = int(preprocessor.sequence_length)
        if limit is not None:
            sequence_length = min(sequence_length, int(limit))
    elif limit is not None and sequence_length > int(limit):
        raise _checks.invalid(
            "sequence_length", f"at most {limit}, the backbone's max_sequence_length ({where})", sequence_length
        )
    preprocessor.sequence_length = sequence_length

    model = TextClassifier(
        backbone,
        preprocessor,
        num_classes,
        pooling=pooling,
        hidden_units=hidden_units,
        dropout=dropout,
        activation=activation,
        lora_rank=lora_rank,
        on_too_long=on_too_long,
        name=name,
    )
    if lora_rank is None:
        apply_freeze(model, freeze)
    return model


def apply_freeze(model, freeze):
    """Freezes the encoder groups `freeze` asks for; the head always trains."""
    model._set_trainable_groups(groups_to_train(freeze, model.layer_groups))
