"""`TextEncoder`: raw strings to one pooled feature vector per text."""

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.backbones.freezable_dropout import make_dropout_freezable_in_place
from keras_transfer.groups import transformer
from keras_transfer.peft import _hub as peft_hub
from keras_transfer.peft import _spec as peft_spec
from keras_transfer.text.pipeline import ON_TOO_LONG, TextPipelineModel
from keras_transfer.text.pooling import TextPooling

POOLINGS = ("mean", "cls", "pooler")


def check_pooling(pooling, backbone):
    _checks.check_choice("pooling", pooling, POOLINGS)
    if pooling == "pooler" and "pooled_output" not in _output_names(backbone):
        raise _checks.invalid(
            "pooling",
            f"'mean' or 'cls': backbone {backbone.__class__.__name__} has no pooled output",
            pooling,
        )
    return pooling


def _output_names(backbone):
    output = backbone.output
    return list(output) if isinstance(output, dict) else []


def check_backbone(backbone, preprocessor):
    if not isinstance(backbone, keras.Model) or not isinstance(getattr(backbone, "input", None), dict):
        raise _checks.invalid(
            "backbone", "a keras-hub text backbone (a keras.Model with a dict of token inputs)", backbone, error=TypeError
        )
    if "padding_mask" not in backbone.input:
        raise _checks.invalid(
            "backbone", "a text backbone with a `padding_mask` input", f"inputs {sorted(backbone.input)}"
        )
    if not isinstance(preprocessor, keras.layers.Layer) or not hasattr(preprocessor, "tokenizer"):
        raise _checks.invalid(
            "preprocessor",
            "a keras-hub text preprocessor (e.g. keras_hub.models.BertTextClassifierPreprocessor)",
            preprocessor,
            error=TypeError,
        )
    if getattr(preprocessor, "sequence_length", None) is None:
        raise _checks.invalid("preprocessor", "a preprocessor with a `sequence_length`", preprocessor)


def encode(backbone, inputs, pooling):
    """The pooled features tensor of `backbone` on symbolic `inputs`."""
    outputs = backbone(inputs)
    if pooling == "pooler":
        return outputs["pooled_output"]
    sequence = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
    return TextPooling(pooling, name="text_pooling")([sequence, inputs["padding_mask"]])


def check_peft(peft):
    """The checked PEFT spec of a text model (`None`: none), as `keras_transfer.peft` records it."""
    if peft is None:
        return None
    if not isinstance(peft, dict):
        raise _checks.invalid("peft", 'None or a dict {"method", "rank", "alpha", "targets"}', peft, error=TypeError)
    return peft_spec.check_spec(**peft)


def prepare_backbone(backbone, pooling):
    """Dropout that respects freezing, and an unused pooler kept frozen."""
    make_dropout_freezable_in_place(backbone)
    for layer in transformer.unused_pooler_layers(backbone, use_pooler=pooling == "pooler"):
        layer.trainable = False


@keras_transfer_export("keras_transfer.models.TextEncoder")
class TextEncoder(TextPipelineModel):
    """A keras-hub text backbone with its preprocessor and a pooling layer.

    Maps raw strings to one feature vector per text. This is the feature
    extractor of a `keras_transfer.models.TextClassifier`
    (`classifier.feature_extractor`); use it wherever a strategy expects a
    feature extractor model (domain adaptation, distillation, cached
    features). Its Keras graph takes the preprocessor's token dict; `predict`,
    `fit` and `evaluate` also take raw strings (tokenized in the `tf.data`
    pipeline), and so does calling it outside a compiled step.

    Args:
        backbone: a keras-hub text backbone (e.g. `keras_hub.models.BertBackbone`).
        preprocessor: its text preprocessor (tokenizer + packer), e.g.
            `keras_hub.models.BertTextClassifierPreprocessor`.
        pooling: `"mean"` (masked mean over the real tokens), `"cls"` (first
            token) or `"pooler"` (the backbone's own pooled output, BERT's
            tanh layer on `[CLS]`). Defaults to `"mean"`.
        on_too_long: `"truncate"` or `"error"`: what happens to texts longer
            than the preprocessor's `sequence_length` (see
            `keras_transfer.text.pipeline`). Defaults to `"truncate"`.
        trainable_groups: names of the groups that train, every other group
            frozen; `None` leaves the layers as they are. `get_config` records
            the groups training at save time, so a loaded model trains the
            same groups. Defaults to `None`.
        peft: `None`, or the PEFT spec the backbone is adapted with (that of
            the `TextClassifier` it comes from, see
            `keras_transfer.models.TextClassifier`). Defaults to `None`.

    Call arguments:
        inputs: the preprocessor's output dict (`token_ids`, `padding_mask`,
            ...), or a batch of raw strings.

    Example:

    >>> import keras_transfer
    >>> encoder = keras_transfer.models.TextEncoder(backbone, preprocessor)  # doctest: +SKIP
    >>> encoder.predict(["a text", "another one"]).shape  # doctest: +SKIP
    (2, 384)

    Reference:
        Reimers and Gurevych, "Sentence-BERT: Sentence Embeddings using
        Siamese BERT-Networks", EMNLP 2019 (https://arxiv.org/abs/1908.10084).
    """

    def __init__(
        self, backbone, preprocessor, *, pooling="mean", on_too_long="truncate", trainable_groups=None, peft=None,
        **kwargs,
    ):
        check_backbone(backbone, preprocessor)
        check_pooling(pooling, backbone)
        _checks.check_choice("on_too_long", on_too_long, ON_TOO_LONG)
        spec = check_peft(peft)
        # === Layers ===
        prepare_backbone(backbone, pooling)
        if spec is not None:
            peft_hub.adapt_backbone(backbone, spec)

        # === Functional Model ===
        inputs = backbone.input
        features = encode(backbone, inputs, pooling)
        super().__init__(inputs=inputs, outputs=features, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.pooling = pooling
        self.on_too_long = on_too_long
        self.peft = spec
        self._set_trainable_groups(trainable_groups)

    @property
    def layer_groups(self):
        """Ordered `{group: [layers]}`: `"embeddings"`, `"transformer_layer_<i>"`, ..."""
        return transformer.encoder_groups(self.backbone, use_pooler=self.pooling == "pooler")

    def get_config(self):
        config = super().get_config()
        config.update({"pooling": self.pooling, "on_too_long": self.on_too_long, "peft": self.peft})
        return config
