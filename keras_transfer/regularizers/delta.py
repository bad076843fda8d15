"""`DELTAModel` and `delta_attention`: feature maps kept near the pretrained ones, weighted by channel attention."""

import keras
import numpy as np
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks
from keras_transfer.models import _outputs
from keras_transfer.regularizers.penalty_model import PenaltyModel
from keras_transfer.regularizers.penalty_model import feature_tensor
from keras_transfer.regularizers.penalty_model import frozen_copy
from keras_transfer.regularizers.penalty_model import functional
from keras_transfer.regularizers.penalty_model import weighted_mean


def _inputs_of(model):
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


@keras_transfer_export("keras_transfer.regularizers.delta_attention")
def delta_attention(model, x, y, *, feature_layer=None, batch_size=32):
    """DELTA's supervised channel attention, from the pretrained model and target labels.

    For each example and each channel `j` of the feature map (the input of
    `model`'s last layer, or `feature_layer`'s output; channels last), the
    increase of the example's loss when channel `j` is set to zero, turned
    into weights by a softmax over the channels; the weights are averaged
    over the examples (the paper keeps one vector per example: one for the
    whole data set is the simplification used here). Channels the classifier
    relies on get large weights. `model`'s head should already classify the
    target labels (train it on frozen features first: `transfer("delta")`
    does a linear probe), otherwise the weights measure a random head.

    Args:
        model: the pretrained classifier, functional (softmax or logits).
        x: target inputs, an array.
        y: their integer labels.
        feature_layer: the layer whose output is the feature map. Defaults
            to the input of `model`'s last layer.
        batch_size: examples per prediction batch. Defaults to `32`.

    Returns:
        A float32 array `(channels,)`, non-negative, summing to 1.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> inputs = keras.Input((2,))
    >>> features = keras.layers.Identity()(inputs)
    >>> head = keras.layers.Dense(2, activation="softmax", use_bias=False)
    >>> model = keras.Model(inputs, head(features))
    >>> head.set_weights([np.array([[4.0, -4.0], [0.0, 0.0]], "float32")])  # channel 1 unused
    >>> w = keras_transfer.regularizers.delta_attention(model, np.ones((4, 2)), np.zeros(4, "int64"))
    >>> bool(w[0] > w[1]), round(float(w.sum()), 6)
    (True, 1.0)

    Reference:
        Li et al., "DELTA: DEep Learning Transfer using Feature Map with
        Attention for Convolutional Networks", ICLR 2019.
    """
    functional("model", model)
    batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
    features = feature_tensor(model, feature_layer)
    x = checks.as_array("x", x, "an array of inputs", lists=False)
    y = checks.check_labels("y", np.asarray(y), num_classes=int(model.output_shape[-1]), count=len(x), noun="input")
    extractor = keras.Model(_inputs_of(model), features)
    head = keras.Model(features, model.outputs[0])
    from_logits = _outputs.detect_from_logits("model", model)
    maps = extractor.predict(x, batch_size=batch_size, verbose=0)

    def losses(values):
        outputs = head.predict(values, batch_size=batch_size, verbose=0)
        logp = keras.ops.convert_to_numpy(_outputs.log_probabilities(outputs, from_logits))
        return -np.take_along_axis(logp, np.asarray(y, "int64")[:, None], axis=1)[:, 0]

    base = losses(maps)
    increases = []
    for channel in range(maps.shape[-1]):
        masked = maps.copy()
        masked[..., channel] = 0.0
        increases.append(losses(masked) - base)
    increases = np.stack(increases, axis=1)  # (examples, channels)
    weights = np.exp(increases - increases.max(axis=1, keepdims=True))
    weights = weights / weights.sum(axis=1, keepdims=True)
    return weights.mean(axis=0).astype("float32")


@keras_transfer_export("keras_transfer.models.DELTAModel")
class DELTAModel(PenaltyModel):
    """DELTA: fine-tuning that keeps the feature maps near the pretrained ones.

    At construction a frozen copy of `model` up to its feature map (the
    input of its last layer, or `feature_layer`'s output) is kept as
    `pretrained`. Each step minimises the compiled loss plus `alpha *
    mean_batch(sum_j W_j * ||FM_j(x) - FM0_j(x)||^2) + beta * ||w_head||^2`:
    `FM_j` is channel `j` of the fine-tuned feature map (channels last, the
    squared distance summed over positions), `FM0_j` the pretrained one,
    `W` the channel `attention` (see
    `keras_transfer.regularizers.delta_attention`; uniform when not given)
    and `w_head` the weights of `model`'s last layer, the new layer. The
    term is 0 at construction up to the head's L2, and is logged as
    `delta_penalty`.

    Args:
        model: the classifier to fine-tune, functional, with its pretrained
            weights (and its head, new).
        alpha: weight of the feature-map distance (>= 0). Defaults to
            `0.01`.
        beta: L2 weight on the head (>= 0). Defaults to `0.01`.
        attention: `None` (uniform, `1 / channels` each) or the channel
            weights, `(channels,)` non-negative numbers, e.g. from
            `delta_attention`.
        feature_layer: the layer whose output is the feature map. Defaults
            to the input of `model`'s last layer.
        pretrained: the frozen reference feature extractor. Defaults to a
            copy of `model` up to the feature map, taken now (set by
            `from_config`).
        **kwargs: `name`, `trainable`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
    ...                         keras.layers.Dense(3, activation="softmax")])
    >>> model = keras_transfer.models.DELTAModel(net, alpha=0.01, beta=0.0)
    >>> x, y = np.random.default_rng(0).normal(size=(8, 4)).astype("float32"), np.arange(8) % 3
    >>> model.penalty(x)   # nothing moved yet
    0.0
    >>> model.compile(optimizer="adam", metrics=["accuracy"])
    >>> sorted(model.fit(x, y, epochs=1, verbose=0).history)
    ['accuracy', 'delta_penalty', 'loss']

    Reference:
        Li et al., "DELTA: DEep Learning Transfer using Feature Map with
        Attention for Convolutional Networks", ICLR 2019.
    """

    _nested_config = ("model", "pretrained")
    _penalty_name = "delta_penalty"

    def __init__(self, model, *, alpha=0.01, beta=0.01, attention=None, feature_layer=None, pretrained=None, **kwargs):
        super().__init__(model, feature_layer=feature_layer, **kwargs)
        self.alpha = _checks.check_float("alpha", alpha, minimum=0.0)
        self.beta = _checks.check_float("beta", beta, minimum=0.0)
        channels = self._features.shape[-1]
        if attention is None:
            weights = np.full((channels,), 1.0 / channels, "float32")
        else:
            try:
                weights = np.asarray(attention, "float32")
            except (TypeError, ValueError):
                raise _checks.invalid("attention", "None or channel weights, an array", attention, error=TypeError) from None
            if weights.shape != (channels,) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise _checks.invalid("attention", f"None or {channels} non-negative channel weights",
                                      f"an array of shape {weights.shape}" if weights.shape != (channels,) else attention)
        self.attention = None if attention is None else [float(w) for w in weights]
        self._channel_weights = weights
        if pretrained is None:
            pretrained = frozen_copy("model", keras.Model(_inputs_of(model), self._features))
        elif not isinstance(pretrained, keras.Model):
            raise _checks.invalid("pretrained", "None or a Keras model (the frozen feature extractor)", pretrained,
                                  error=TypeError)
        pretrained.trainable = False
        self.pretrained = pretrained

    def _references(self, x, y):
        return ops.stop_gradient(ops.cast(self.pretrained(x, training=False), "float32"))

    def _penalty(self, features, y, sample_weight, references):
        difference = ops.square(ops.cast(features, "float32") - references)
        per_channel = ops.reshape(difference, (ops.shape(difference)[0], -1, difference.shape[-1]))
        per_example = ops.sum(ops.sum(per_channel, axis=1) * self._channel_weights, axis=-1)
        total = self.alpha * weighted_mean(per_example, sample_weight)
        if self.beta:
            head = [v for v in self.model.layers[-1].trainable_weights]
            total = total + self.beta * sum(ops.sum(ops.square(ops.cast(v, "float32"))) for v in head)
        return total

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha": self.alpha,
            "beta": self.beta,
            "attention": self.attention,
            "pretrained": keras.saving.serialize_keras_object(self.pretrained),
        })
        return config
