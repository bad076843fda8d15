"""`HeadClassifier`: a frozen embedder and a few-shot head as one model that saves like the others."""

import keras

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models.transfer_model import TransferModel


@keras_transfer_export("keras_transfer.few_shot.HeadClassifier")
class HeadClassifier(TransferModel, keras.Model):
    """An embedding model followed by a head (`PrototypeHead`, `CosineClassifierHead`, `ZeroShotHead`).

    The `prototype` strategy returns one. It is a functional model taking
    the embedder's raw inputs, saved and loaded by `keras.models.load_model`
    with its head's state, and, as every model of the package, it carries
    `class_names` in its config.

    Args:
        embedder: a Keras model from inputs to embeddings `(batch, dim)`.
        head: the layer mapping embeddings to class scores.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> embedder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> head = keras_transfer.few_shot.PrototypeHead(2)
    >>> _ = head.fit_prototypes(embedder.predict(np.eye(4), verbose=0), np.array([0, 0, 1, 1]))
    >>> model = keras_transfer.few_shot.HeadClassifier(embedder, head)
    >>> model.class_names = ["left", "right"]
    >>> model.predict(np.eye(4), verbose=0).shape
    (4, 2)
    """

    _nested_config = ("embedder", "head")

    def __init__(self, embedder, head, **kwargs):
        inputs = keras.Input(shape=tuple(embedder.input_shape[1:]), name="inputs")
        super().__init__(inputs=inputs, outputs=head(embedder(inputs)), **kwargs)
        self.embedder = embedder
        self.scores_head = head

    def get_config(self):
        config = super().get_config()
        config.update({
            "embedder": keras.saving.serialize_keras_object(self.embedder),
            "head": keras.saving.serialize_keras_object(self.scores_head),
        })
        return config
