"""`TextClassifier`: a keras-hub text encoder, its tokenizer and a new head."""

import collections

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.feature_extraction.transfer_classifier import (
    _head_dtype,
    check_head_arguments,
)
from keras_transfer.groups import transformer
from keras_transfer.peft import _hub as peft_hub
from keras_transfer.peft import _spec as peft_spec
from keras_transfer.text.pipeline import ON_TOO_LONG, TextPipelineModel
from keras_transfer.text.text_encoder import (
    TextEncoder,
    check_backbone,
    check_peft,
    check_pooling,
    encode,
    prepare_backbone,
)


def check_head(num_classes, hidden_units, dropout, activation):
    """The head arguments, checked as `build_classifier` checks them (pooling aside)."""
    # Text pooling ("mean", "cls", "pooler") is checked by `check_pooling`; "avg"
    # only satisfies the image-pooling check of the shared helper.
    return check_head_arguments(num_classes, "avg", hidden_units, dropout, activation)


@keras_transfer_export("keras_transfer.models.TextClassifier")
class TextClassifier(TextPipelineModel):
    """A keras-hub text backbone, its preprocessor and a new classification head.

    Usually built with `keras_transfer.build_text_classifier`, which loads
    the backbone and preprocessor from a preset and freezes what should be
    frozen. `fit`, `evaluate` and `predict` take raw strings: tokenization
    runs in the `tf.data` input pipeline, so the compiled train step (also
    with `jit_compile=True`) only sees token ids. Calling the model on strings
    (eagerly or in a `tf.function`, e.g. an exported signature) tokenizes
    first; calling it on the preprocessor's token dict skips tokenization.

    Layer groups (`model.layer_groups`, what `keras_transfer.set_trainable`,
    `FreezeSchedule` and `DiscriminativeLR` address): `"embeddings"`,
    `"transformer_layer_0"` .. `"transformer_layer_{n-1}"`, `"pooler"` (only
    with `pooling="pooler"`), `"final_norm"` (pre-LayerNorm encoders), then
    `"head"`.

    The encoder and the head are also available separately, sharing weights:
    `model.feature_extractor` (a `keras_transfer.models.TextEncoder`: raw
    strings or token dicts to pooled features) and `model.head` (features to
    predictions). Dropout inside frozen encoder layers is off (the layers
    become `FreezableDropout`s), so a frozen encoder is a fixed function.

    Args:
        backbone: a keras-hub text backbone (e.g. `keras_hub.models.BertBackbone`).
        preprocessor: its text preprocessor, e.g.
            `keras_hub.models.BertTextClassifierPreprocessor`.
        num_classes: number of classes (1: binary, sigmoid output).
        pooling: `"mean"` (masked mean over real tokens), `"cls"` (first
            token's state) or `"pooler"` (the backbone's pooled output).
            Defaults to `"mean"`.
        hidden_units: sizes of hidden `Dense(relu)` layers of the head.
        dropout: dropout rate before the output layer. Defaults to `0.0`.
        activation: `"auto"` (softmax; sigmoid when `num_classes=1`), `None`
            for logits, or an activation name.
        lora_rank: `None`, or the rank of LoRA factors added to the attention
            query and value projections (`keras_transfer.peft.lora` with
            `alpha = rank`); then only the LoRA factors and the head train.
            Defaults to `None`.
        peft: `None`, or the PEFT spec the backbone is adapted with each time
            the model is built (`{"method", "rank", "alpha", "targets"}`, set
            by `keras_transfer.peft.lora`, `rslora`, `dora` and `ia3`, which
            return the adapted model). Defaults to `None`.
        on_too_long: `"truncate"` (warn with a count for in-memory inputs) or
            `"error"`: texts longer than `preprocessor.sequence_length`.
            Defaults to `"truncate"`.
        trainable_groups: names of the groups that train, every other group
            frozen; `None` leaves the layers as they are. `get_config` records
            the groups training at save time, so a loaded model trains the
            same groups. Defaults to `None`.

    Call arguments:
        inputs: the preprocessor's token dict, or a batch of raw strings.

    Example:

    >>> import keras_transfer
    >>> model = keras_transfer.build_text_classifier(  # doctest: +SKIP
    ...     "/path/to/preset", num_classes=3)
    >>> model.compile("adam", "sparse_categorical_crossentropy")  # doctest: +SKIP
    >>> model.fit(["a text", "another"], [0, 2], jit_compile=True)  # doctest: +SKIP

    Reference:
        Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers
        for Language Understanding", NAACL 2019 (https://arxiv.org/abs/1810.04805);
        Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR
        2022 (https://arxiv.org/abs/2106.09685).
    """

    def __init__(
        self,
        backbone,
        preprocessor,
        num_classes,
        *,
        pooling="mean",
        hidden_units=(),
        dropout=0.0,
        activation="auto",
        lora_rank=None,
        peft=None,
        on_too_long="truncate",
        trainable_groups=None,
        **kwargs,
    ):
        check_backbone(backbone, preprocessor)
        check_pooling(pooling, backbone)
        num_classes, hidden_units, dropout = check_head(num_classes, hidden_units, dropout, activation)
        _checks.check_choice("on_too_long", on_too_long, ON_TOO_LONG)
        if lora_rank is not None:
            lora_rank = _checks.check_int("lora_rank", lora_rank, minimum=1)
            if peft is not None:
                raise _checks.invalid("peft", "None with `lora_rank` (which is LoRA of that rank)", peft)
        spec = peft_spec.check_spec("lora", lora_rank) if lora_rank is not None else check_peft(peft)

        # === Layers ===
        prepare_backbone(backbone, pooling)
        if spec is not None:
            peft_hub.adapt_backbone(backbone, spec)
        head_activation = activation
        if activation == "auto":
            head_activation = "sigmoid" if num_classes == 1 else "softmax"
        head_layers = [
            keras.layers.Dense(units, activation="relu", name=f"head_dense_{i}")
            for i, units in enumerate(hidden_units)
        ]
        head_dropout = keras.layers.Dropout(dropout, name="head_dropout") if dropout else None
        predictions = keras.layers.Dense(
            num_classes, activation=head_activation, name="predictions", dtype=_head_dtype()
        )

        # === Functional Model ===
        inputs = backbone.input
        features = encode(backbone, inputs, pooling)
        x = features
        for layer in head_layers:
            x = layer(x)
        if head_dropout is not None:
            x = head_dropout(x)
        outputs = predictions(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.num_classes = num_classes
        self.pooling = pooling
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.activation = activation
        self.lora_rank = lora_rank
        self.peft = None if peft is None else spec
        self._peft_spec = spec
        self.on_too_long = on_too_long
        self._features_dim = int(features.shape[-1])
        self._head_layer_names = [layer.name for layer in head_layers] + ["predictions"]
        self._set_trainable_groups(trainable_groups)

    @property
    def layer_groups(self):
        """Ordered `{group: [layers]}`: the encoder's groups, then `"head"`."""
        groups = transformer.encoder_groups(self.backbone, use_pooler=self.pooling == "pooler")
        groups["head"] = [self.get_layer(name) for name in self._head_layer_names]
        return collections.OrderedDict(groups)

    @property
    def feature_extractor(self):
        """The encoder, a `TextEncoder` from strings (or token dicts) to pooled features.

        It shares the backbone (and its weights) with this model.
        """
        return TextEncoder(
            self.backbone,
            self.preprocessor,
            pooling=self.pooling,
            on_too_long=self.on_too_long,
            peft=self._peft_spec,
            name=f"{self.name}_encoder",
        )

    @property
    def head(self):
        """The head as a model from pooled features to predictions (shares weights)."""
        inputs = keras.Input(shape=(self._features_dim,), name="features")
        x = inputs
        for name in self._head_layer_names[:-1]:
            x = self.get_layer(name)(x)
        if self.dropout:
            x = self.get_layer("head_dropout")(x)
        outputs = self.get_layer("predictions")(x)
        return keras.Model(inputs, outputs, name=f"{self.name}_head")

    @property
    def lora_variables(self):
        """The LoRA factor variables of the backbone (empty without LoRA)."""
        return [v for layer in peft_hub.peft_layers(self.backbone) if layer.lora_rank for v in layer.peft_variables[:2]]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "pooling": self.pooling,
                "hidden_units": self.hidden_units,
                "dropout": self.dropout,
                "activation": self.activation,
                "lora_rank": self.lora_rank,
                "peft": self.peft,
                "on_too_long": self.on_too_long,
            }
        )
        return config
