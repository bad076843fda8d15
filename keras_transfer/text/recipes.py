"""The `"text"` strategy: a pretrained keras-hub encoder and a new head, on raw strings."""

from keras_transfer import _checks
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy
from keras_transfer.text.build_text_classifier import build_text_classifier
from keras_transfer.text.text_classifier import TextClassifier


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


register_strategy(Strategy(
    "text", text, inputs="texts", learning_rate=5e-4,
    paper='Devlin et al., "BERT", NAACL 2019; Reimers & Gurevych, "Sentence-BERT", EMNLP 2019',
    when="Short texts with few labels: a pretrained keras-hub encoder (backbone = preset) and a new head, raw strings in.",
    options={"freeze": False, "pooling": "mean", "sequence_length": None, "lora_rank": None}, page="text_transfer.md",
    builds=(TextClassifier,),
))
