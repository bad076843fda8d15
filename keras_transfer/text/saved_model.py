"""SavedModels of text models that take raw strings.

The exported graph tokenizes with TensorFlow Text ops (WordPiece, regex
split, Unicode normalisation). Those ops are registered with TensorFlow only
once `tensorflow_text` is imported, so a process that loads such a SavedModel
must `import tensorflow_text` first (`load_saved_model` does it), and TF
Serving needs a build that includes the TensorFlow Text ops. Without it,
loading fails with `Op type not registered 'FastWordpieceTokenizeWithOffsets'`
(or a similar op name).
"""

import keras
import tensorflow as tf

from keras_transfer.api_export import keras_transfer_export


def text_input_signature(model):
    return [model.raw_input_spec]


def add_text_endpoint(archive, model, name="serve"):
    """Adds to `archive` an endpoint `name` taking a batch of raw strings.

    `archive` is a `keras.export.ExportArchive`; `model` a text model of this
    package (it has a `preprocessor`). The endpoint tokenizes then runs the
    model in inference mode. Returns the endpoint's `tf.function`.
    """
    if not model.preprocessor.built:
        model.preprocessor(tf.constant([""]))  # builds the packer
    archive.track(model)
    archive.track(model.preprocessor)

    def serve(texts):
        return model(model.preprocessor(texts), training=False)

    return archive.add_endpoint(name, serve, input_signature=text_input_signature(model))


def export_text_saved_model(model, filepath, *, verbose=None):
    """Writes a SavedModel whose `serve`/`serving_default` endpoint takes raw strings."""
    archive = keras.export.ExportArchive()
    add_text_endpoint(archive, model, "serve")
    archive.write_out(filepath, verbose=bool(verbose))
    return filepath


@keras_transfer_export("keras_transfer.text.load_saved_model")
def load_saved_model(path):
    """Loads a text SavedModel after registering the TensorFlow Text ops it needs.

    Equivalent to `import tensorflow_text; tf.saved_model.load(path)`. To
    reload it in a Keras 3 model instead, `import tensorflow_text` then use
    `keras.layers.TFSMLayer(path, call_endpoint="serve")`.

    Args:
        path: a SavedModel directory written by `model.export(path)` of a
            `keras_transfer.models.TextClassifier` or `TextEncoder`.

    Returns:
        The loaded object; `loaded.serve(tf.constant([...]))` (or the
        `serving_default` signature) maps a batch of strings to outputs.

    Example:

    >>> import keras_transfer
    >>> model.export("classifier_savedmodel")  # doctest: +SKIP
    >>> loaded = keras_transfer.text.load_saved_model("classifier_savedmodel")  # doctest: +SKIP
    >>> loaded.serve(tf.constant(["a text"])).shape  # doctest: +SKIP
    TensorShape([1, 3])
    """
    try:
        import tensorflow_text  # noqa: F401  (registers the tokenizer ops)
    except ImportError as error:  # pragma: no cover - a dependency of keras-hub text models
        raise ImportError(
            "Loading a text SavedModel needs `tensorflow_text` (its tokenizer ops): "
            "`pip install tensorflow-text` matching your TensorFlow version."
        ) from error
    return tf.saved_model.load(str(path))
