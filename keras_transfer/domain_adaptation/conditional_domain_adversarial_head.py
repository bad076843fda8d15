"""`ConditionalDomainAdversarialHead`: CDAN's domain classifier on features x predictions."""

import math

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation._mlp import build_mlp
from keras_transfer.domain_adaptation._mlp import build_mlp_layers
from keras_transfer.domain_adaptation._mlp import check_head_arguments
from keras_transfer.domain_adaptation._mlp import run_mlp
from keras_transfer.domain_adaptation.gradient_reversal import GradientReversal


@keras_transfer_export("keras_transfer.layers.ConditionalDomainAdversarialHead")
class ConditionalDomainAdversarialHead(keras.layers.Layer):
    """CDAN's domain classifier: conditioned on the class predictions.

    Takes `[features, predictions]` and classifies the domain of their
    multilinear map `features (x) predictions` (the flattened outer product,
    `(batch, d * num_classes)`), behind a `GradientReversal` layer, with an
    MLP as `DomainAdversarialHead`. Aligning the joint distribution of
    features and predictions, instead of the features alone, keeps the classes
    apart while the domains are pulled together. When `d * num_classes` is
    large, `multilinear_dim=k` uses the randomized multilinear map
    `(features @ R_f) * (predictions @ R_g) / sqrt(k)` with fixed Gaussian
    matrices (saved with the layer).

    With `entropy_conditioning=True` (CDAN+E), `DomainAdaptationModel`
    weights each sample's domain loss by `1 + exp(-H(p))` (normalised within
    each domain), so confident predictions count more
    (`entropy_weights(predictions)` computes them). By default the
    predictions are not trained by the domain loss (their gradient is
    stopped), as in the paper's code and TLlib; only the features receive the
    reversed gradient. `prediction_gradient=True` also sends the reversed
    gradient through the predictions into the classifier (and, through it,
    the features), as ADAPT's `CDAN` does.

    Args:
        hidden_units: int or list of ints, sizes of the hidden layers.
            Defaults to `(256, 256)`.
        dropout: float in [0, 1), dropout after each hidden layer. Defaults
            to `0.0`.
        lambda_: float >= 0, the initial factor of the reversed gradient.
            Defaults to `1.0`.
        entropy_conditioning: bool, CDAN+E sample weights. Defaults to `True`.
        multilinear_dim: `None` for the exact outer product, or an int: the
            size of the randomized multilinear map. Defaults to `None`.
        from_logits: bool, whether the predictions are logits (a softmax is
            applied) rather than probabilities. Defaults to `False`.
        seed: int, seed of the random matrices of the randomized map.
            Defaults to `0`.
        prediction_gradient: bool, whether the reversed domain gradient
            also flows through the predictions. Defaults to `False`.

    Call arguments:
        inputs: `[features (batch, d), predictions (batch, num_classes)]`.
        training: bool, whether dropout is active.

    Example:

    >>> import numpy as np, keras_transfer
    >>> head = keras_transfer.layers.ConditionalDomainAdversarialHead(hidden_units=(16,))
    >>> features, probabilities = np.ones((4, 8), "float32"), np.full((4, 3), 1 / 3, "float32")
    >>> head([features, probabilities]).shape
    TensorShape([4, 1])
    >>> np.round(np.asarray(head.entropy_weights(np.array([[1.0, 0.0, 0.0]], "float32"))), 3).tolist()
    [2.0]

    Reference:
        Long et al., "Conditional Adversarial Domain Adaptation", NeurIPS 2018
        (https://arxiv.org/abs/1705.10667).
    """

    def __init__(
        self,
        hidden_units=(256, 256),
        dropout=0.0,
        lambda_=1.0,
        entropy_conditioning=True,
        multilinear_dim=None,
        from_logits=False,
        seed=0,
        prediction_gradient=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_units, self.dropout, self.lambda_ = check_head_arguments(hidden_units, dropout, lambda_)
        if not isinstance(entropy_conditioning, bool):
            raise _checks.invalid("entropy_conditioning", "a bool", entropy_conditioning, error=TypeError)
        self.entropy_conditioning = entropy_conditioning
        self.multilinear_dim = (
            None if multilinear_dim is None else _checks.check_int("multilinear_dim", multilinear_dim, minimum=1)
        )
        if not isinstance(from_logits, bool):
            raise _checks.invalid("from_logits", "a bool", from_logits, error=TypeError)
        self.from_logits = from_logits
        self.seed = _checks.check_int("seed", seed)
        if not isinstance(prediction_gradient, bool):
            raise _checks.invalid("prediction_gradient", "a bool", prediction_gradient, error=TypeError)
        self.prediction_gradient = prediction_gradient
        self.gradient_reversal = GradientReversal(self.lambda_, name="gradient_reversal")
        self._mlp, self.domain_logit = build_mlp(self, self.hidden_units, self.dropout)

    def _check_input_shape(self, input_shape):
        if not (isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
                and all(isinstance(s, (list, tuple)) and len(s) == 2 for s in input_shape)):
            raise _checks.invalid(
                "inputs", "a list [features (batch, d), predictions (batch, num_classes)]", input_shape
            )
        (_, d), (_, c) = input_shape
        if d is None or c is None:
            raise _checks.invalid("inputs", "known feature and class dimensions", input_shape)
        return int(d), int(c)

    def build(self, input_shape):
        d, c = self._check_input_shape(input_shape)
        if self.multilinear_dim is None:
            mapped = d * c
        else:
            mapped = self.multilinear_dim
            self.random_features = self.add_weight(
                shape=(d, mapped), name="random_features", trainable=False, dtype="float32",
                initializer=keras.initializers.RandomNormal(seed=self.seed),
            )
            self.random_predictions = self.add_weight(
                shape=(c, mapped), name="random_predictions", trainable=False, dtype="float32",
                initializer=keras.initializers.RandomNormal(seed=self.seed + 1),
            )
        build_mlp_layers(self._mlp, self.domain_logit, (None, mapped))
        self.built = True

    def _probabilities(self, predictions):
        predictions = ops.cast(predictions, "float32")
        return ops.softmax(predictions, axis=-1) if self.from_logits else predictions

    def entropy_weights(self, predictions):
        """`1 + exp(-entropy)` of each prediction, `(batch,)`, float32, no gradient."""
        p = ops.stop_gradient(self._probabilities(predictions))
        entropy = -ops.sum(p * ops.log(ops.clip(p, 1e-7, 1.0)), axis=-1)
        return 1.0 + ops.exp(-entropy)

    def multilinear_map(self, features, predictions):
        """The map `features (x) predictions` fed to the domain classifier."""
        p = self._probabilities(predictions)
        p = p if self.prediction_gradient else ops.stop_gradient(p)
        f = ops.cast(features, "float32")
        if self.multilinear_dim is None:
            outer = ops.expand_dims(f, 2) * ops.expand_dims(p, 1)
            return ops.reshape(outer, (-1, f.shape[-1] * p.shape[-1]))
        scale = 1.0 / math.sqrt(self.multilinear_dim)
        return ops.matmul(f, self.random_features) * ops.matmul(p, self.random_predictions) * scale

    def call(self, inputs, training=None):
        features, predictions = inputs
        mapped = ops.cast(self.multilinear_map(features, predictions), self.compute_dtype)
        return run_mlp(self._mlp, self.domain_logit, self.gradient_reversal(mapped), training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "dropout": self.dropout,
            "lambda_": self.lambda_,
            "entropy_conditioning": self.entropy_conditioning,
            "multilinear_dim": self.multilinear_dim,
            "from_logits": self.from_logits,
            "seed": self.seed,
            "prediction_gradient": self.prediction_gradient,
        }
