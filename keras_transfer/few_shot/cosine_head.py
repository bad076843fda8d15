"""`CosineClassifierHead`: a linear head on the unit sphere with a learnable scale."""

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.few_shot import _scoring
from keras_transfer.few_shot._head import ClassScoreHead


@keras_transfer_export("keras_transfer.few_shot.CosineClassifierHead")
class CosineClassifierHead(ClassScoreHead):
    """Scores embeddings by cosine similarity to learned class weight vectors.

    `scores = scale * cos(x, w_c)`: a `Dense` layer whose inputs and class
    weights are L2-normalised, with a scale (inverse temperature) that is
    learned by default. Normalising removes the norm differences between
    classes that a plain linear head picks up from a handful of shots.
    `imprint(embeddings, labels)` initialises each class weight to the
    normalised mean of its support embeddings (weight imprinting), a good
    start before training on the shots, or a classifier on its own.

    Args:
        num_classes: number of classes.
        scale: initial scale. Defaults to `10.0`.
        learn_scale: whether the scale trains. Defaults to `True`.
        activation: applied to the scores: `"softmax"`, `None` (logits) or
            another activation name. Defaults to `"softmax"`.
        kernel_initializer: initializer of the `(dim, num_classes)` weights.
            Defaults to `"glorot_uniform"`.
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: embeddings, `(batch, dim)`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> head = keras_transfer.few_shot.CosineClassifierHead(2, scale=5.0)
    >>> support = np.array([[1.0, 0.1], [2.0, -0.1], [0.1, 1.0], [-0.1, 3.0]])
    >>> _ = head.imprint(support, [0, 0, 1, 1])
    >>> np.argmax(head(np.array([[5.0, 1.0], [0.0, 0.5]])), axis=-1).tolist()
    [0, 1]
    >>> model = keras.Sequential([keras.Input((2,)), head])
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> _ = model.fit(support, np.array([0, 0, 1, 1]), epochs=2, verbose=0)

    Reference:
        Gidaris & Komodakis, Dynamic Few-Shot Visual Learning without
        Forgetting (CVPR 2018); Chen et al., A Closer Look at Few-shot
        Classification (ICLR 2019); Qi, Brown & Lowe, Low-Shot Learning with
        Imprinted Weights (CVPR 2018).
    """

    def __init__(
        self,
        num_classes,
        *,
        scale=10.0,
        learn_scale=True,
        activation="softmax",
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(num_classes, activation, **kwargs)
        self.scale = _checks.check_float("scale", scale, minimum=0.0, exclusive_minimum=True)
        if not isinstance(learn_scale, bool):
            raise _checks.invalid("learn_scale", "a bool", learn_scale, error=TypeError)
        self.learn_scale = learn_scale
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(self.check_input_shape(input_shape), self.num_classes), initializer=self.kernel_initializer, name="kernel"
        )
        self.scale_weight = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.scale), trainable=self.learn_scale, name="scale"
        )

    def imprint(self, embeddings, labels):
        """Sets each class weight to the normalised mean of its support embeddings.

        Args:
            embeddings: `(n, dim)` support embeddings.
            labels: `(n,)` integer class ids; every class needs an example.

        Returns:
            The head itself.
        """
        embeddings = _scoring.as_matrix("embeddings", embeddings)
        labels = _scoring.as_labels("labels", labels, len(embeddings), self.num_classes)
        if not self.built:
            self.build((None, embeddings.shape[1]))
        elif int(self.kernel.shape[0]) != embeddings.shape[1]:
            raise _checks.invalid("embeddings", f"embeddings of dimension {int(self.kernel.shape[0])}", f"dimension {embeddings.shape[1]}")
        means = _scoring.class_means(_scoring.unit_rows(embeddings), labels, self.num_classes)
        self.kernel.assign(_scoring.unit_rows(means).T.astype("float32"))
        return self

    def _scores(self, inputs):
        kernel = keras.ops.cast(self.kernel, self.compute_dtype)
        return keras.ops.cast(self.scale_weight, self.compute_dtype) * _scoring.cosine(inputs, keras.ops.transpose(kernel))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "scale": self.scale,
                "learn_scale": self.learn_scale,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
