"""What makes a model a text model for the strategies that wrap one.

A text model has a keras-hub `preprocessor` (raw strings to a token dict)
and takes that dict as input: the package's `TextClassifier` and
`TextEncoder`, or a keras-hub task such as `keras_hub.models.BertTextClassifier`.
Wrappers that run two text models on the same texts (a distiller's teacher
and student) tokenize once per distinct tokenization.
"""

from keras_transfer.text.inputs import tokenize
from keras_transfer.text.pipeline import TextPipelineModel


def is_text_model(model):
    """Whether `model` takes token dicts made by its own `preprocessor` from raw strings."""
    if isinstance(model, TextPipelineModel):
        return True
    if not callable(getattr(model, "preprocessor", None)):
        return False
    try:
        return isinstance(model.input, dict)
    except (AttributeError, ValueError):
        return False


def tokenize_for(model, texts):
    """`model`'s token dict for a string tensor (the model's own length policy applies)."""
    if isinstance(model, TextPipelineModel):
        return model._tokenize(texts)
    return tokenize(model.preprocessor, texts)


def check_lengths_for(model, texts, argument):
    """Eager length checks of in-memory `texts` (warn or refuse, as `model` was built)."""
    if isinstance(model, TextPipelineModel):
        model._check_lengths(texts, argument)


def same_tokenization(first, second):
    """Whether two text models turn any text into the same token dict."""
    a, b = first.preprocessor, second.preprocessor
    if a is b:
        return True
    try:
        return (
            type(a) is type(b)
            and a.get_config() == b.get_config()
            and a.tokenizer.get_vocabulary() == b.tokenizer.get_vocabulary()
            and getattr(first, "on_too_long", None) == getattr(second, "on_too_long", None)
        )
    except (AttributeError, TypeError, ValueError):
        return False
