"""`BSSModel`: batch spectral shrinkage (shrink the smallest singular values of the batch features)."""

import math

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.regularizers.penalty_model import PenaltyModel


@keras_transfer_export("keras_transfer.regularizers.batch_spectral_shrinkage")
def batch_spectral_shrinkage(features, k=1):
    """`sum_{i=1..k} sigma_{-i}^2`: the squared `k` smallest singular values of a feature batch.

    `features` is a batch `(b, ...)`, flattened to the matrix `F` of shape
    `(b, d)`; its `min(b, d)` singular values are sorted and the `k`
    smallest are squared and summed (float32). Differentiable (with respect
    to `features`) and compiles with XLA.

    Args:
        features: a tensor `(b, ...)`, at least 2-D.
        k: how many of the smallest singular values (an int >= 1, at most
            `min(b, d)`). Defaults to `1`.

    Returns:
        A float32 scalar.

    Example:

    >>> import numpy as np, keras_transfer
    >>> features = np.diag([3.0, 2.0, 0.5]).astype("float32")
    >>> float(keras_transfer.regularizers.batch_spectral_shrinkage(features, k=2))
    4.25

    Reference:
        Chen et al., "Catastrophic Forgetting Meets Negative Transfer: Batch
        Spectral Shrinkage for Safe Transfer Learning", NeurIPS 2019.
    """
    k = _checks.check_int("k", k, minimum=1)
    shape = tuple(features.shape)
    if len(shape) < 2:
        raise _checks.invalid("features", "a batch of features (b, ...), at least 2-D", f"a tensor of shape {shape}")
    features = ops.cast(features, "float32")
    matrix = ops.reshape(features, (ops.shape(features)[0], -1))
    static = [d for d in (shape[0], math.prod(shape[1:]) if None not in shape[1:] else None) if d is not None]
    if static and k > min(static):
        raise _checks.invalid("k", f"an integer <= {min(static)} (the rank bound min(b, d) of the batch features)", k)
    return ops.sum(ops.square(singular_values(matrix, k, largest=False)))


def singular_values(matrix, k, largest):
    """The `k` largest (or smallest) singular values of a float32 matrix `(b, d)`, differentiable."""
    # sigma_i = u_i^T F v_i, and with u_i, v_i held fixed that expression has the
    # gradient of sigma_i itself (u_i v_i^T). TensorFlow's own SVD gradient
    # needs static matrix shapes, which a last, smaller batch does not have.
    left, _, right = ops.svd(ops.stop_gradient(matrix), full_matrices=False, compute_uv=True)
    # Singular values come in descending order.
    left, right = (left[:, :k], right[:k, :]) if largest else (left[:, -k:], right[-k:, :])
    return ops.einsum("bi,bd,id->i", ops.stop_gradient(left), matrix, ops.stop_gradient(right))


@keras_transfer_export("keras_transfer.models.BSSModel")
class BSSModel(PenaltyModel):
    """Fine-tuning with batch spectral shrinkage (BSS).

    Each step minimises the compiled loss plus `eta * sum_{i=1..k}
    sigma_{-i}^2`, the squared `k` smallest singular values of the batch
    feature matrix (the features are the input of `model`'s last layer, or
    `feature_layer`'s output; see
    `keras_transfer.regularizers.batch_spectral_shrinkage`). Small singular
    directions carry the features a small target set cannot correct (the
    paper's "negative transfer"); shrinking them keeps the transferable ones.
    The term is logged as `bss_penalty` (before `eta`).

    Args:
        model: the classifier to fine-tune, functional.
        eta: weight of the penalty (>= 0). Defaults to `0.001` (the paper's).
        k: how many of the smallest singular values. Defaults to `1` (the
            paper's).
        feature_layer: the layer whose output is the feature matrix.
            Defaults to the input of `model`'s last layer.
        **kwargs: `name`, `trainable`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
    ...                         keras.layers.Dense(3, activation="softmax")])
    >>> model = keras_transfer.models.BSSModel(net, eta=0.001, k=1)
    >>> model.compile(optimizer="adam", metrics=["accuracy"], jit_compile=True)
    >>> x, y = np.random.default_rng(0).normal(size=(8, 4)).astype("float32"), np.arange(8) % 3
    >>> sorted(model.fit(x, y, epochs=1, verbose=0).history)
    ['accuracy', 'bss_penalty', 'loss']

    Reference:
        Chen et al., "Catastrophic Forgetting Meets Negative Transfer: Batch
        Spectral Shrinkage for Safe Transfer Learning", NeurIPS 2019.
    """

    _penalty_name = "bss_penalty"

    def __init__(self, model, *, eta=0.001, k=1, feature_layer=None, **kwargs):
        super().__init__(model, feature_layer=feature_layer, **kwargs)
        self.eta = _checks.check_float("eta", eta, minimum=0.0)
        self.k = _checks.check_int("k", k, minimum=1)
        width = self._features.shape[1:]
        if None not in width and self.k > math.prod(width):
            raise _checks.invalid("k", f"an integer <= {math.prod(width)} (the feature width)", k)

    def penalty(self, x, y=None):
        """`sum_{i=1..k} sigma_{-i}^2` of the features of `x` (before `eta`), without training."""
        _, features = self._view(x, training=False)
        return float(ops.convert_to_numpy(batch_spectral_shrinkage(features, self.k)))

    def _penalty(self, features, y, sample_weight, references):
        return batch_spectral_shrinkage(features, self.k)

    def _weighted(self, penalty):
        return self.eta * penalty

    def get_config(self):
        config = super().get_config()
        config.update({"eta": self.eta, "k": self.k})
        return config
