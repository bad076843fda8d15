"""`MarginDisparityHead`: MDD's auxiliary classifier behind gradient reversal, and its margin disparity loss."""

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
from keras_transfer.models import _replicas

# `-log(1 - p + EPSILON)` on the target, as ADAPT and TLlib shift the log (float32 machine epsilon).
EPSILON = 1.1920929e-07


@keras_transfer_export("keras_transfer.layers.MarginDisparityHead")
class MarginDisparityHead(keras.layers.Layer):
    """MDD's auxiliary (adversarial) classifier, behind a gradient reversal layer.

    Margin disparity discrepancy measures how far an auxiliary classifier
    `f'` can disagree with the main classifier `f` on the target while
    agreeing with it, by a margin, on the source. Given to
    `keras_transfer.models.DomainAdaptationModel(..., alignment=head)`,
    the head takes `[features, predictions]` and returns `f'`'s class logits
    (float32); the model's alignment loss is

    `margin * mean_source(-log p'(y_hat)) + mean_target(-log(1 - p'(y_hat) + eps))`

    with `p' = softmax(f')`, `y_hat = argmax f` (no gradient through it) and
    `eps` the float32 machine epsilon. `f'` minimises it (it learns to agree
    with `f` on the source and to disagree on the target); the feature
    extractor receives the reversed gradient, scaled by `lambda_`, and
    minimises the disparity. The main classifier gets no gradient from it.
    With `alignment_weight=1` and `lambda_` the paper's trade-off (0.1 in
    ADAPT and TLlib, where TLlib ramps it up), the update is the one of
    ADAPT's `MDD`.

    Args:
        hidden_units: int or list of ints, sizes of the hidden layers of
            `f'` before its `Dense(num_classes)` logits; `()` for a linear
            `f'`. Defaults to `(256,)`.
        dropout: float in [0, 1), dropout after each hidden layer. Defaults
            to `0.0`.
        lambda_: float >= 0, the initial factor of the reversed gradient
            (ramp it with `keras_transfer.callbacks.GradientReversalSchedule`).
            Defaults to `1.0`.
        margin: float >= 0, the margin factor `gamma` weighting the source
            term. Defaults to `4.0` (the paper's and ADAPT's).

    Call arguments:
        inputs: `[features (batch, d), predictions (batch, num_classes)]`;
            the predictions give the number of classes.
        training: bool, whether dropout is active.

    Example:

    >>> import numpy as np, keras_transfer
    >>> head = keras_transfer.layers.MarginDisparityHead(hidden_units=(16,), margin=2.0)
    >>> features, probabilities = np.ones((4, 8), "float32"), np.full((4, 3), 1 / 3, "float32")
    >>> head([features, probabilities]).shape
    TensorShape([4, 3])

    Reference:
        Zhang et al., "Bridging Theory and Algorithm for Domain Adaptation",
        ICML 2019 (https://arxiv.org/abs/1904.05801).
    """

    def __init__(self, hidden_units=(256,), dropout=0.0, lambda_=1.0, margin=4.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units, self.dropout, self.lambda_ = check_head_arguments(hidden_units, dropout, lambda_)
        self.margin = _checks.check_float("margin", margin, minimum=0.0)
        self.gradient_reversal = GradientReversal(self.lambda_, name="gradient_reversal")
        self._mlp, _ = build_mlp(self, self.hidden_units, self.dropout)
        self.class_logits = None  # Dense(num_classes), made when the class count is known

    def build(self, input_shape):
        if not (isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
                and all(isinstance(s, (list, tuple)) and len(s) == 2 for s in input_shape)):
            raise _checks.invalid(
                "inputs", "a list [features (batch, d), predictions (batch, num_classes)]", input_shape)
        (_, d), (_, c) = input_shape
        if d is None or c is None or c < 2:
            raise _checks.invalid("inputs", "known feature and class dimensions, at least 2 classes", input_shape)
        self.class_logits = keras.layers.Dense(int(c), name="class_logits", dtype="float32")
        build_mlp_layers(self._mlp, self.class_logits, (None, int(d)))
        self.built = True

    def call(self, inputs, training=None):
        features, _ = inputs
        return run_mlp(self._mlp, self.class_logits, self.gradient_reversal(features), training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[1][1])

    def disparities(self, predictions, logits):
        """Per example `(-log p'(y_hat), -log(1 - p'(y_hat) + eps))`, float32; `y_hat = argmax predictions`."""
        logits = ops.cast(logits, "float32")
        chosen = ops.one_hot(ops.argmax(ops.stop_gradient(predictions), axis=-1), ops.shape(logits)[-1]) > 0.5
        log_total = ops.logsumexp(logits, axis=-1)
        log_p = ops.sum(ops.where(chosen, logits, 0.0), axis=-1) - log_total
        log_rest = ops.logsumexp(ops.where(chosen, -1e30, logits), axis=-1) - log_total  # log(1 - p'(y_hat))
        return -log_p, -ops.logaddexp(log_rest, math.log(EPSILON))

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "dropout": self.dropout,
            "lambda_": self.lambda_,
            "margin": self.margin,
        }


def margin_disparity_loss(head, features, predictions, n_source, training, context):
    """`margin * mean_source(agreement loss) + mean_target(disagreement loss)` (see `MarginDisparityHead`).

    `context` is the replica context while several replicas train in sync:
    the means are then those of the global batch (each replica holds its
    share times the replica count, as the package's other per-replica losses).
    """
    logits = head([features, predictions], training=training)
    agree, disagree = head.disparities(predictions, logits)
    if context is None:
        return head.margin * ops.mean(agree[:n_source]) + ops.mean(disagree[n_source:]), None
    counts = [ops.cast(n_source, "float32"), ops.cast(ops.shape(logits)[0] - n_source, "float32")]
    counts = context.all_reduce("sum", counts)
    factor = float(_replicas.num_replicas())
    loss = head.margin * ops.sum(agree[:n_source]) / counts[0] + ops.sum(disagree[n_source:]) / counts[1]
    return factor * loss, None
