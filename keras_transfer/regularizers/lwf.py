"""`LwFModel`: learning without forgetting (the source head keeps answering as before)."""

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models import _outputs
from keras_transfer.regularizers.penalty_model import PenaltyModel
from keras_transfer.regularizers.penalty_model import copy_head
from keras_transfer.regularizers.penalty_model import feature_tensor
from keras_transfer.regularizers.penalty_model import frozen_copy
from keras_transfer.regularizers.penalty_model import weighted_mean


@keras_transfer_export("keras_transfer.models.LwFModel")
class LwFModel(PenaltyModel):
    """Learning without forgetting: fine-tune while the old head keeps its answers.

    `model` is the target classifier (the source trunk with a new head);
    `source_model` the source classifier it started from (the same trunk with
    its classifier head). A trainable copy of the source head (`source_head`)
    sits on `model`'s features (the input of its last layer, or
    `feature_layer`'s output). Each step minimises the compiled loss of the new
    head plus `alpha * KL(softmax(s0 / T) || softmax(s / T))`: `s0` are the
    outputs of the frozen `source_model` on the batch (the paper's recorded
    responses, computed on the fly so augmented inputs work), `s` those of
    `source_head` on the shared trunk, `T` the `temperature`. The trunk thus
    learns the target task without forgetting the source one. The KL equals
    the paper's cross-entropy up to a constant (the same gradients) and is 0
    when nothing moved; its value is logged as `lwf_loss`.

    Args:
        model: the target classifier, functional, whose trunk is the source
            model's (e.g. `build_classifier(source_model.backbone, ...)`, or
            the source model with its head replaced).
        source_model: the trained source classifier, functional, whose last
            layer is its head (softmax probabilities or logits). Copied and
            frozen: it never trains.
        alpha: weight of the old-task term (>= 0). Defaults to `1.0` (the
            paper's `lambda_o`).
        temperature: float > 0. Defaults to `2.0` (the paper's).
        feature_layer: the layer of `model` whose output feeds the source
            head. Defaults to the input of `model`'s last layer.
        **kwargs: `name`, `trainable`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> trunk = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
    >>> source = keras.Sequential([trunk, keras.layers.Dense(5, activation="softmax")])
    >>> target = keras.Sequential([trunk, keras.layers.Dense(3, activation="softmax")])
    >>> model = keras_transfer.models.LwFModel(target, source)
    >>> model.compile(optimizer="adam", metrics=["accuracy"])
    >>> x, y = np.random.default_rng(0).normal(size=(8, 4)).astype("float32"), np.arange(8) % 3
    >>> model.penalty(x) < 1e-6   # the old head answers as the source model
    True
    >>> sorted(model.fit(x, y, epochs=1, verbose=0).history)
    ['accuracy', 'loss', 'lwf_loss']

    Reference:
        Li & Hoiem, "Learning without Forgetting", ECCV 2016 (TPAMI 2017).
    """

    _trained_attributes = ("model", "source_head")
    _nested_config = ("model", "source_model")
    _penalty_name = "lwf_loss"

    def __init__(self, model, source_model, *, alpha=1.0, temperature=2.0, feature_layer=None, **kwargs):
        super().__init__(model, feature_layer=feature_layer, **kwargs)
        self.alpha = _checks.check_float("alpha", alpha, minimum=0.0)
        self.temperature = _checks.check_float("temperature", temperature, minimum=0.0, exclusive_minimum=True)
        self.source_model = frozen_copy("source_model", source_model)
        self._source_from_logits = _outputs.detect_from_logits("source_model", self.source_model)
        source_features = feature_tensor(self.source_model, None, "source_model")
        self.source_head = copy_head(self.source_model.layers[-1], "source_model", tuple(self._features.shape),
                                     tuple(source_features.shape))

    def source_outputs(self, x, training=False):
        """The trained source head's outputs on `model`'s trunk for inputs `x`."""
        _, features = self._view(x, training=training)
        return self.source_head(features, training=training)

    def _references(self, x, y):
        outputs = self.source_model(x, training=False)
        return ops.stop_gradient(_outputs.probabilities(outputs, self._source_from_logits, self.temperature))

    def _penalty(self, features, y, sample_weight, references):
        outputs = self.source_head(features, training=True)
        logp = _outputs.log_probabilities(outputs, self._source_from_logits) / self.temperature
        student = ops.log_softmax(logp, axis=-1)
        teacher = ops.log(ops.clip(references, 1e-7, 1.0))
        kl = ops.sum(references * (teacher - student), axis=-1)
        return self.alpha * weighted_mean(kl, sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update({
            "source_model": keras.saving.serialize_keras_object(self.source_model),
            "alpha": self.alpha,
            "temperature": self.temperature,
        })
        return config
