"""`DomainAdversarialHead`: gradient reversal, an MLP and one domain logit (DANN)."""

import keras

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation._mlp import build_mlp
from keras_transfer.domain_adaptation._mlp import build_mlp_layers
from keras_transfer.domain_adaptation._mlp import check_head_arguments
from keras_transfer.domain_adaptation._mlp import run_mlp
from keras_transfer.domain_adaptation.gradient_reversal import GradientReversal


@keras_transfer_export("keras_transfer.layers.DomainAdversarialHead")
class DomainAdversarialHead(keras.layers.Layer):
    """The domain classifier of DANN, behind a gradient reversal layer.

    Maps features `(batch, d)` to one domain logit `(batch, 1)` (float32, also
    under mixed precision): `GradientReversal` -> `Dense(relu)` (+ `Dropout`)
    per entry of `hidden_units` -> `Dense(1)`. Trained to tell source features
    from target features, it sends the feature extractor the reversed
    gradient, which pushes both domains' features together. Give it to
    `keras_transfer.models.DomainAdaptationModel(..., alignment=head)`; the
    model labels source samples 1 and target samples 0 and logs the domain
    accuracy.

    Args:
        hidden_units: int or list of ints, sizes of the hidden layers.
            Defaults to `(256, 256)`.
        dropout: float in [0, 1), dropout after each hidden layer. Defaults
            to `0.0`.
        lambda_: float >= 0, the initial factor of the reversed gradient
            (change it during `fit` with
            `keras_transfer.callbacks.GradientReversalSchedule`). Defaults to
            `1.0`.

    Call arguments:
        inputs: features, `(batch, d)`.
        training: bool, whether dropout is active.

    Example:

    >>> import numpy as np, keras_transfer
    >>> head = keras_transfer.layers.DomainAdversarialHead(hidden_units=(16,), dropout=0.1)
    >>> head(np.zeros((4, 8), "float32")).shape
    TensorShape([4, 1])
    >>> float(head.gradient_reversal.lambda_var.numpy())
    1.0

    Reference:
        Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR
        2016 (https://arxiv.org/abs/1505.07818).
    """

    def __init__(self, hidden_units=(256, 256), dropout=0.0, lambda_=1.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units, self.dropout, self.lambda_ = check_head_arguments(hidden_units, dropout, lambda_)
        self.gradient_reversal = GradientReversal(self.lambda_, name="gradient_reversal")
        self._mlp, self.domain_logit = build_mlp(self, self.hidden_units, self.dropout)

    def build(self, input_shape):
        build_mlp_layers(self._mlp, self.domain_logit, input_shape)
        self.built = True

    def call(self, inputs, training=None):
        return run_mlp(self._mlp, self.domain_logit, self.gradient_reversal(inputs), training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "dropout": self.dropout,
            "lambda_": self.lambda_,
        }
