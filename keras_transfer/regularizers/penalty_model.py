"""`PenaltyModel`: fine-tuning a classifier on its loss plus one regulariser term.

The base of the fine-tuning regularisers that read more than the weights
(LwF, BSS, DELTA, Co-Tuning): the wrapped `model` trains on the compiled loss
plus `penalty(...)`, a term a subclass computes from the model's features
(the input of its last layer, or the output of `feature_layer`), the inputs,
the labels, and what frozen references (a source model, a pretrained copy)
give for the batch. L2-SP needs none of this: its penalty is a weight
regulariser (`l2sp_model.py`).
"""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer import _checks
from keras_transfer.data import checks
from keras_transfer.groups.naming import layer_groups
from keras_transfer.models import _outputs
from keras_transfer.models.transfer_model import TransferModel


def feature_tensor(model, feature_layer, argument="model"):
    """The symbolic features of a functional `model`: the input of its last layer, or `feature_layer`'s output."""
    if feature_layer is None:
        last = model.layers[-1]
        try:
            return last.input
        except (AttributeError, ValueError):
            raise _checks.invalid(
                argument, "a functional Keras classifier whose last layer (the head) reads one tensor", model,
                hint="Pass `feature_layer=` (the layer whose output the regulariser reads).", error=TypeError,
            ) from None
    if not isinstance(feature_layer, str):
        raise _checks.invalid("feature_layer", "None or a layer name", feature_layer, error=TypeError)
    names = [layer.name for layer in model.layers]
    if feature_layer not in names:
        raise _checks.invalid("feature_layer", f"the name of a top-level layer of `{argument}`", feature_layer,
                              _checks.suggest(feature_layer, names))
    return _output_in(model, model.get_layer(feature_layer))


def _output_in(model, layer):
    """`layer`'s output in `model`'s own graph: for a nested model (a `build_classifier` backbone), the tensor
    it produces when called inside `model`, not the nested model's inner output."""
    graph = getattr(model, "_nodes", None) or ()  # Keras's node keys: f"{id(operation)}_ib-{index}"
    for index, node in enumerate(getattr(layer, "_inbound_nodes", ())):
        if f"{id(layer)}_ib-{index}" in graph and len(node.output_tensors) == 1:
            return node.output_tensors[0]
    return layer.output


def functional(argument, model):
    """`model` if it is a functional (or Sequential) `keras.Model` with one output, else a `TypeError`."""
    if not isinstance(model, keras.Model) or getattr(model, "_inputs_struct", None) is None and not isinstance(
            model, keras.Sequential):
        raise _checks.invalid(argument, "a functional or Sequential keras.Model (a classifier)", model, error=TypeError)
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        outputs = None
    if not outputs or len(outputs) != 1:
        raise _checks.invalid(argument, "a classifier with one output (class probabilities or logits)", model,
                              error=TypeError)
    return model


def frozen_copy(argument, model):
    """A frozen copy (same weights) of the functional `model`: a reference that never moves."""
    functional(argument, model)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.trainable = False
    return copy


class PenaltyModel(TransferModel, keras.Model):
    """Trains `model` on the compiled loss plus `penalty_weight * penalty(...)`.

    Subclasses set `_penalty_name` (the log of the term) and implement
    `_references(x, y)` (values from frozen models, computed outside the
    gradient) and `_penalty(features, y, sample_weight, references)` (a float32
    scalar averaged over the batch). `predict`, `evaluate` and
    `validation_data` use `model` alone (`val_loss` is the compiled loss).
    """

    _trained_attributes = ("model",)
    _auto_loss = True
    _nested_config = ("model",)
    _penalty_name = "penalty"

    def __init__(self, model, *, feature_layer=None, **kwargs):
        super().__init__(**kwargs)
        self.model = functional("model", model)
        self.feature_layer = feature_layer
        self._features = feature_tensor(model, feature_layer)
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        self._view = keras.Model(inputs, [model.outputs[0], self._features], name="features_view")
        self._loss_from_logits = _outputs.detect_from_logits("model", model)
        self.penalty_tracker = keras.metrics.Mean(name=self._penalty_name)
        self.built = True

    def call(self, inputs, training=False):
        return self.model(inputs, training=training)

    @property
    def layer_groups(self):
        """The wrapped model's groups, so `FreezeSchedule` and `DiscriminativeLR` address its stages.

        Without it the wrapper's own graph would be one group holding every
        weight (the new head included) and a second, empty `"head"`.
        """
        return layer_groups(self.model)

    # === The step ===

    def _references(self, x, y):
        return None

    def _penalty(self, features, y, sample_weight, references):
        raise NotImplementedError

    def _weighted(self, penalty):
        """The term added to the loss, from the logged `penalty`."""
        return penalty

    def penalty(self, x, y=None):
        """The regulariser term on a batch `(x, y)`, without training (a float)."""
        _, features = self._view(x, training=False)
        value = self._penalty(features, y, None, self._references(x, y))
        return float(ops.convert_to_numpy(value))

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        references = self._references(x, y)
        with tf.GradientTape() as tape:
            y_pred, features = self._view(x, training=True)
            supervised = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            penalty = self._penalty(features, y, sample_weight, references)
            loss = supervised + self._replica_loss(self._weighted(penalty))
            self._track_loss(loss, ops.shape(y_pred)[0])
            scaled = self.optimizer.scale_loss(loss)
        self._apply_gradients(tape, scaled, self.trainable_variables)
        self.penalty_tracker.update_state(penalty)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        logs = super().test_step(data)
        return {name: value for name, value in logs.items() if name != self._penalty_name}

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; in-memory inputs and labels are checked against `model` first."""
        checks.check_dataset_not_empty("x", x)
        kind = checks.label_kind(self)
        checks.check_training_arrays(self.model, x, y, kind=kind)
        checks.check_validation_data(self.model, kwargs.get("validation_data"), kind=kind)
        return super().fit(x, y, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"model": keras.saving.serialize_keras_object(self.model), "feature_layer": self.feature_layer})
        return config


def weighted_mean(values, sample_weight):
    """The mean over the batch of per-example float32 `values`, weighted by `sample_weight` when given."""
    values = ops.cast(values, "float32")
    if sample_weight is not None:
        values = values * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    return ops.mean(values)


def copy_head(head, argument, features_shape, source_shape=None):
    """A trainable copy named `source_head` of the source classifier's `head` layer, built for `features_shape`.

    `source_shape`: the feature shape the head reads in its source model (checked against `features_shape`).
    A head that is not built (revived from a config) is built and used as is: its weights come from the file.
    """
    if source_shape is not None and tuple(source_shape[1:]) != tuple(features_shape[1:]):
        raise _checks.invalid(
            argument, f"a source classifier whose head reads features of shape {tuple(features_shape[1:])} "
            "(those of `model`: the same trunk)", f"a head reading features of shape {tuple(source_shape[1:])}",
        )
    if not head.built:
        head.build(tuple(features_shape))
        return head
    if isinstance(head, keras.Model):
        copy = keras.models.clone_model(head)
    else:
        config = head.get_config()
        config["name"] = "source_head"
        copy = head.__class__.from_config(config)
    copy.build(tuple(features_shape))
    copy.set_weights(head.get_weights())
    copy.trainable = True
    return copy
