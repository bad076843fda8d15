"""`ZeroShotHead`: classify against class embeddings (e.g. from a text encoder)."""

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.few_shot import _scoring
from keras_transfer.few_shot._head import ClassScoreHead


@keras_transfer_export("keras_transfer.few_shot.ZeroShotHead")
class ZeroShotHead(ClassScoreHead):
    """Scores embeddings against a fixed matrix of class embeddings.

    Zero-shot transfer: each class is described by a vector (a text
    encoder's embedding of its name or description, attribute annotations,
    the embedding of a reference image...), and inputs are classified by
    cosine similarity to those vectors, `scale * cos(P x, e_c)`, without a
    labelled example of the class. Any `(num_classes, class_dim)` matrix
    works, whatever produced it.

    When the input embeddings live in another space than the class
    embeddings (an image model and a text encoder), `projection=True` adds a
    learned linear map `P` (`Dense(class_dim, use_bias=False)`), trained on
    *seen* classes with their class embeddings (`model.fit` as usual); then
    `with_class_embeddings(unseen)` returns a head for *unseen* classes that
    shares the learned projection and scale. The class embeddings are
    non-trainable weights, saved with the model. Same interface as the other
    heads of `keras_transfer.few_shot`: embeddings in, one score per class
    out, computed in float32 under mixed precision.

    Args:
        class_embeddings: `(num_classes, class_dim)` array. Optional when
            `num_classes` and `class_dim` are given (the matrix is then set
            later with `set_class_embeddings`, or loaded).
        num_classes: number of classes, if `class_embeddings` is not given.
        class_dim: dimension of the class embeddings, if not given.
        projection: learn a linear map from the input embeddings to the
            class-embedding space. Defaults to `False` (the inputs must have
            dimension `class_dim`).
        scale: scale on the cosine similarities (inverse temperature).
            Defaults to `10.0`.
        learn_scale: whether the scale trains. Defaults to `False`.
        activation: `"softmax"`, `None` (logits) or an activation name.
            Defaults to `"softmax"`.
        **kwargs: base layer arguments (`name`, `dtype`). `get_config`
            leaves the matrix out (it is a weight, saved with the model).

    Call arguments:
        inputs: embeddings, `(batch, dim)`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> classes = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> head = keras_transfer.few_shot.ZeroShotHead(classes)
    >>> np.argmax(head(np.array([[0.1, 0.9, 0.2], [2.0, 0.0, 0.1]])), axis=-1).tolist()
    [1, 0]
    >>> unseen = head.with_class_embeddings(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    >>> unseen.num_classes
    2

    Reference:
        Frome et al., DeViSE: A Deep Visual-Semantic Embedding Model
        (NeurIPS 2013); Radford et al., Learning Transferable Visual Models
        From Natural Language Supervision (CLIP, ICML 2021).
    """

    def __init__(
        self,
        class_embeddings=None,
        *,
        num_classes=None,
        class_dim=None,
        projection=False,
        scale=10.0,
        learn_scale=False,
        activation="softmax",
        **kwargs,
    ):
        matrix = None
        if class_embeddings is not None:
            matrix = _scoring.as_matrix("class_embeddings", class_embeddings)
            for argument, value, expected in (("num_classes", num_classes, matrix.shape[0]), ("class_dim", class_dim, matrix.shape[1])):
                if value is not None and value != expected:
                    raise _checks.invalid(argument, f"{expected}, as `class_embeddings` of shape {matrix.shape}", value)
            num_classes, class_dim = matrix.shape
        elif num_classes is None or class_dim is None:
            raise ValueError(
                "ZeroShotHead needs `class_embeddings` (a (num_classes, class_dim) array), or both "
                f"`num_classes` and `class_dim`. Received: num_classes={num_classes}, class_dim={class_dim}."
            )
        super().__init__(num_classes, activation, **kwargs)
        self.class_dim = _checks.check_int("class_dim", class_dim, minimum=1)
        for flag_name, flag in (("projection", projection), ("learn_scale", learn_scale)):
            if not isinstance(flag, bool):
                raise _checks.invalid(flag_name, "a bool", flag, error=TypeError)
        self.projection = projection
        self.scale = _checks.check_float("scale", scale, minimum=0.0, exclusive_minimum=True)
        self.learn_scale = learn_scale
        self._initial = matrix
        self.projection_layer = (
            keras.layers.Dense(self.class_dim, use_bias=False, dtype=self.dtype_policy, name="projection") if projection else None
        )

    def build(self, input_shape):
        dim = self.check_input_shape(input_shape)
        if self.projection_layer is not None:
            if not self.projection_layer.built:
                self.projection_layer.build((None, dim))
        elif dim != self.class_dim:
            raise ValueError(
                f"ZeroShotHead {self.name!r}: the input embeddings have dimension {dim} but the class embeddings "
                f"{self.class_dim}. Pass `projection=True` to learn a map between the two spaces."
            )
        initial = self._initial
        self.class_embeddings = self.add_weight(
            shape=(self.num_classes, self.class_dim),
            initializer=keras.initializers.Constant(initial.astype("float32")) if initial is not None else "zeros",
            trainable=False,
            name="class_embeddings",
        )
        self.scale_weight = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.scale), trainable=self.learn_scale, name="scale"
        )
        self._initial = None

    def set_class_embeddings(self, class_embeddings):
        """Replaces the class embeddings by another `(num_classes, class_dim)` matrix."""
        matrix = _scoring.as_matrix("class_embeddings", class_embeddings)
        if matrix.shape != (self.num_classes, self.class_dim):
            raise _checks.invalid(
                "class_embeddings", f"shape {(self.num_classes, self.class_dim)}", f"array of shape {matrix.shape}",
                hint="Use `with_class_embeddings` for another number of classes.",
            )
        if self.built:
            self.class_embeddings.assign(matrix.astype("float32"))
        else:
            self._initial = matrix
        return self

    def with_class_embeddings(self, class_embeddings, name=None):
        """A new head for other classes, with this head's projection and scale.

        Args:
            class_embeddings: `(new_num_classes, class_dim)` array.
            name: name of the new layer.

        Returns:
            A `ZeroShotHead`, built when this one is.
        """
        matrix = _scoring.as_matrix("class_embeddings", class_embeddings)
        if matrix.shape[1] != self.class_dim:
            raise _checks.invalid("class_embeddings", f"{self.class_dim} columns (class_dim)", f"array of shape {matrix.shape}")
        head = ZeroShotHead(
            matrix,
            projection=self.projection,
            scale=self.scale,
            learn_scale=self.learn_scale,
            activation=self.activation,
            dtype=self.dtype_policy,
            name=name,
        )
        if self.built:
            dim = int(self.projection_layer.kernel.shape[0]) if self.projection_layer is not None else self.class_dim
            head.build((None, dim))
            if self.projection_layer is not None:
                head.projection_layer.kernel.assign(self.projection_layer.kernel)
            head.scale_weight.assign(self.scale_weight)
        return head

    def _scores(self, inputs):
        if self.projection_layer is not None:
            inputs = self.projection_layer(inputs)
        classes = keras.ops.cast(self.class_embeddings, self.compute_dtype)
        return keras.ops.cast(self.scale_weight, self.compute_dtype) * _scoring.cosine(inputs, classes)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"class_dim": self.class_dim, "projection": self.projection, "scale": self.scale, "learn_scale": self.learn_scale}
        )
        return config


