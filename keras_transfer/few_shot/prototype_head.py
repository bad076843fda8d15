"""`PrototypeHead`: nearest-class-mean classification on frozen embeddings."""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.few_shot import _scoring
from keras_transfer.few_shot._head import ClassScoreHead


@keras_transfer_export("keras_transfer.few_shot.PrototypeHead")
class PrototypeHead(ClassScoreHead):
    """Classifies embeddings by their distance to one prototype per class.

    A prototype is the mean embedding of a class's support examples
    (prototypical networks). Prototypes are non-trainable state, set from
    labelled embeddings with `fit_prototypes` (closed form, no gradient
    steps), saved with the model and restored by `keras.models.load_model`.
    Put the head after a frozen embedding model: `keras.Sequential([embedder,
    head])`; any number of new classes works without training the embedder.

    Scores are `-scale * ||x - p_c||^2` (`metric="euclidean"`, as in the
    paper) or `scale * cos(x, p_c)` (`metric="cosine"`), followed by
    `activation`. The head computes in float32 under mixed precision.

    Args:
        num_classes: number of classes (prototypes).
        metric: `"euclidean"` (squared distance) or `"cosine"`. Defaults to
            `"euclidean"`.
        scale: positive factor on the scores (an inverse temperature).
            Defaults to `1.0`.
        activation: applied to the scores: `"softmax"` (probabilities),
            `None` (logits) or another activation name. Defaults to
            `"softmax"`.
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: embeddings, `(batch, dim)`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> head = keras_transfer.few_shot.PrototypeHead(2)
    >>> support = np.array([[0.0, 0.0], [0.0, 2.0], [4.0, 0.0], [4.0, 2.0]])
    >>> _ = head.fit_prototypes(support, [0, 0, 1, 1])
    >>> head.prototypes.numpy().tolist()
    [[0.0, 1.0], [4.0, 1.0]]
    >>> np.argmax(head(np.array([[1.0, 1.0], [3.5, 0.0]])), axis=-1).tolist()
    [0, 1]

    Reference:
        Snell, Swersky & Zemel, Prototypical Networks for Few-shot Learning
        (NeurIPS 2017).
    """

    def __init__(self, num_classes, *, metric="euclidean", scale=1.0, activation="softmax", **kwargs):
        super().__init__(num_classes, activation, **kwargs)
        self.metric = _checks.check_choice("metric", metric, _scoring.METRICS)
        self.scale = _checks.check_float("scale", scale, minimum=0.0, exclusive_minimum=True)
        self._fitted = False

    def build(self, input_shape):
        dim = self.check_input_shape(input_shape)
        self.prototypes = self.add_weight(
            shape=(self.num_classes, dim), initializer="zeros", trainable=False, name="prototypes"
        )
        self.counts = self.add_weight(shape=(self.num_classes,), initializer="zeros", trainable=False, name="counts")

    @property
    def fitted(self):
        """Whether prototypes were set (by `fit_prototypes`, `set_prototypes` or loading)."""
        return self._fitted

    def fit_prototypes(self, embeddings, labels):
        """Sets each class's prototype to the mean of its support embeddings.

        Args:
            embeddings: `(n, dim)` array of support embeddings.
            labels: `(n,)` integer class ids in `[0, num_classes)`; every class
                needs at least one example.

        Returns:
            The head itself.
        """
        embeddings = _scoring.as_matrix("embeddings", embeddings)
        labels = _scoring.as_labels("labels", labels, len(embeddings), self.num_classes)
        self._ensure_built(embeddings.shape[1], "embeddings")
        self.prototypes.assign(_scoring.class_means(embeddings, labels, self.num_classes).astype("float32"))
        self.counts.assign(np.bincount(labels, minlength=self.num_classes).astype("float32"))
        self._fitted = True
        return self

    def set_prototypes(self, prototypes):
        """Sets the prototypes directly, from a `(num_classes, dim)` array."""
        prototypes = _scoring.as_matrix("prototypes", prototypes)
        if prototypes.shape[0] != self.num_classes:
            raise _checks.invalid("prototypes", f"{self.num_classes} rows (one per class)", f"array of shape {prototypes.shape}")
        self._ensure_built(prototypes.shape[1], "prototypes")
        self.prototypes.assign(prototypes.astype("float32"))
        self.counts.assign(np.ones(self.num_classes, "float32"))
        self._fitted = True
        return self

    def _ensure_built(self, dim, argument):
        if not self.built:
            self.build((None, dim))
        elif int(self.prototypes.shape[1]) != dim:
            raise _checks.invalid(argument, f"embeddings of dimension {int(self.prototypes.shape[1])}", f"dimension {dim}")

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._fitted = bool(np.asarray(self.counts.numpy()).sum() > 0)

    def _scores(self, inputs):
        if not self._fitted:
            raise ValueError(
                f"PrototypeHead {self.name!r} has no prototypes yet. Call "
                "`head.fit_prototypes(support_embeddings, support_labels)` first."
            )
        prototypes = keras.ops.cast(self.prototypes, self.compute_dtype)
        if self.metric == "euclidean":
            return -self.scale * _scoring.squared_euclidean(inputs, prototypes)
        return self.scale * _scoring.cosine(inputs, prototypes)

    def get_config(self):
        config = super().get_config()
        config.update({"metric": self.metric, "scale": self.scale})
        return config
