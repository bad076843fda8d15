"""`CoTuningModel` and `category_relationship`: target labels translated into source labels."""

import keras
import numpy as np
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks
from keras_transfer.models import _outputs
from keras_transfer.regularizers.penalty_model import PenaltyModel
from keras_transfer.regularizers.penalty_model import copy_head
from keras_transfer.regularizers.penalty_model import functional
from keras_transfer.regularizers.penalty_model import weighted_mean


@keras_transfer_export("keras_transfer.regularizers.category_relationship")
def category_relationship(source_model, x, y, *, num_classes=None, batch_size=32):
    """`p(y_s | y_t)`: the source classes the source model sees in each target class.

    Co-Tuning's direct approach: row `t` is the mean of the source model's
    class probabilities over the target examples labelled `t`, so each row
    is a distribution over the source classes (it sums to 1).

    Args:
        source_model: the trained source classifier (softmax probabilities
            or logits).
        x: target inputs, an array.
        y: their integer labels; every class `0..num_classes-1` must occur.
        num_classes: number of target classes. Defaults to `max(y) + 1`.
        batch_size: examples per prediction batch. Defaults to `32`.

    Returns:
        A float32 array `(num_classes, source classes)`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> source = keras.Sequential([keras.Input((2,)), keras.layers.Softmax()])
    >>> x = np.log(np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]], "float32"))
    >>> keras_transfer.regularizers.category_relationship(source, x, np.array([0, 0, 1])).astype(float).round(2).tolist()
    [[0.7, 0.3], [0.2, 0.8]]

    Reference:
        You et al., "Co-Tuning for Transfer Learning", NeurIPS 2020.
    """
    functional("source_model", source_model)
    batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
    x = checks.as_array("x", x, "an array of inputs", lists=False)
    y = np.asarray(checks.check_labels("y", np.asarray(y), num_classes=num_classes, count=len(x), noun="input"), "int64")
    num_classes = int(y.max()) + 1 if num_classes is None else _checks.check_int("num_classes", num_classes, minimum=1)
    missing = sorted(set(range(num_classes)) - set(y.tolist()))
    if missing:
        raise _checks.invalid("y", f"labels with an example of every class 0..{num_classes - 1}",
                              f"labels without classes {missing}")
    from_logits = _outputs.detect_from_logits("source_model", source_model)
    outputs = source_model.predict(x, batch_size=batch_size, verbose=0)
    probabilities = keras.ops.convert_to_numpy(_outputs.probabilities(outputs, from_logits))
    return np.stack([probabilities[y == t].mean(axis=0) for t in range(num_classes)]).astype("float32")


def _check_relationship(relationship, num_classes):
    try:
        matrix = np.asarray(relationship, "float32")
    except (TypeError, ValueError):
        raise _checks.invalid("relationship", "an array (target classes, source classes)", relationship,
                              error=TypeError) from None
    if matrix.ndim != 2 or matrix.shape[0] != num_classes:
        raise _checks.invalid("relationship", f"an array ({num_classes} target classes, source classes)",
                              f"an array of shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0) or not np.allclose(matrix.sum(axis=1), 1.0, atol=1e-3):
        raise _checks.invalid("relationship", "rows of probabilities (non-negative, each summing to 1)",
                              f"rows summing to {np.round(matrix.sum(axis=1), 3).tolist()}",
                              hint="Compute it with keras_transfer.regularizers.category_relationship.")
    return matrix


@keras_transfer_export("keras_transfer.models.CoTuningModel")
class CoTuningModel(PenaltyModel):
    """Co-Tuning: the target labels also train the source head, translated into source labels.

    `model` is the target classifier on the pretrained trunk. A trainable
    copy of the source classifier's head (`source_head`) sits on `model`'s
    features (the input of its last layer, or `feature_layer`'s output).
    Each step minimises the compiled loss of the new head plus `weight *
    mean_batch(-sum_s p(s | y) log q_s(x))`, where `q(x)` is the source
    head's distribution and `p(. | y)` row `y` of the `relationship`
    (`keras_transfer.regularizers.category_relationship`). The pretrained
    head is thus fine-tuned too, instead of being thrown away; its
    cross-entropy is logged as `co_tuning_loss` (before `weight`).

    Args:
        model: the target classifier, functional.
        source_head: the head of the trained source classifier (its last
            layer, e.g. `source_model.layers[-1]`), reading features of the
            shape `model`'s head reads. Copied: the given layer never
            trains.
        relationship: `p(y_s | y_t)`, an array `(target classes, source
            classes)` whose rows sum to 1.
        weight: weight of the translated source-label term (>= 0). Defaults
            to `2.3`.
        feature_layer: the layer of `model` whose output feeds the source
            head. Defaults to the input of `model`'s last layer.
        **kwargs: `name`, `trainable`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> trunk = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
    >>> source = keras.Sequential([trunk, keras.layers.Dense(5, activation="softmax")])
    >>> target = keras.Sequential([trunk, keras.layers.Dense(3, activation="softmax")])
    >>> x, y = np.random.default_rng(0).normal(size=(9, 4)).astype("float32"), np.arange(9) % 3
    >>> relationship = keras_transfer.regularizers.category_relationship(source, x, y)
    >>> model = keras_transfer.models.CoTuningModel(target, source.layers[-1], relationship)
    >>> model.compile(optimizer="adam", metrics=["accuracy"])
    >>> sorted(model.fit(x, y, epochs=1, verbose=0).history)
    ['accuracy', 'co_tuning_loss', 'loss']

    Reference:
        You et al., "Co-Tuning for Transfer Learning", NeurIPS 2020.
    """

    _trained_attributes = ("model", "source_head")
    _nested_config = ("model", "source_head")
    _penalty_name = "co_tuning_loss"

    def __init__(self, model, source_head, relationship, *, weight=2.3, feature_layer=None, **kwargs):
        super().__init__(model, feature_layer=feature_layer, **kwargs)
        if not isinstance(source_head, keras.layers.Layer) or isinstance(source_head, keras.layers.InputLayer):
            raise _checks.invalid("source_head", "the head layer of the source classifier (e.g. source_model.layers[-1])",
                                  source_head, error=TypeError)
        kind = _outputs.output_kind(source_head)
        if kind not in (_outputs.PROBABILITIES, _outputs.LOGITS):
            raise _checks.invalid("source_head", "a head ending in a softmax or a linear activation (logits)",
                                  source_head, error=TypeError)
        self._source_from_logits = kind == _outputs.LOGITS
        self.weight = _checks.check_float("weight", weight, minimum=0.0)
        num_classes = int(model.output_shape[-1])
        self._relationship = _check_relationship(relationship, num_classes)
        self.relationship = self._relationship.tolist()
        source_shape = None
        if isinstance(source_head, keras.Model) and source_head.built:
            source_shape = tuple(source_head.inputs[0].shape)
        elif source_head.built and getattr(source_head, "_inbound_nodes", None):
            source_shape = tuple(source_head._inbound_nodes[0].input_tensors[0].shape)
        self.source_head = copy_head(source_head, "source_head", tuple(self._features.shape), source_shape)
        classes = int(self.source_head.compute_output_shape(tuple(self._features.shape))[-1])
        if classes != self._relationship.shape[1]:
            raise _checks.invalid("relationship", f"an array ({num_classes}, {classes}): the source head has {classes} "
                                  "classes", f"an array of shape {self._relationship.shape}")

    def _penalty(self, features, y, sample_weight, references):
        outputs = self.source_head(features, training=True)
        logp = _outputs.log_probabilities(outputs, self._source_from_logits)
        targets = ops.take(ops.convert_to_tensor(self._relationship), ops.reshape(ops.cast(y, "int32"), (-1,)), axis=0)
        return weighted_mean(-ops.sum(targets * logp, axis=-1), sample_weight)

    def _weighted(self, penalty):
        return self.weight * penalty

    def get_config(self):
        config = super().get_config()
        config.update({
            "source_head": keras.saving.serialize_keras_object(self.source_head),
            "relationship": self.relationship,
            "weight": self.weight,
        })
        return config
