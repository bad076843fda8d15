"""`DomainRegularizer`: an add-on term of a domain-adaptation loss, from both domains' features and logits."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export


def _flat(features):
    if features is None:
        return None
    features = ops.cast(features, "float32")
    return ops.reshape(features, (ops.shape(features)[0], -1))


def _float(logits):
    return None if logits is None else ops.cast(logits, "float32")


@keras_transfer_export("keras_transfer.losses.DomainRegularizer")
class DomainRegularizer:
    """Base of the terms given to `DomainAdaptationModel(regularizers=[...])`.

    A term sees the batch's source and target features (flattened to
    `(b, d)`, float32) and the classifier's logits for both (when the
    classifier outputs probabilities, their log: the same softmax), and
    returns a float32 scalar; the model adds `weight * term` to its loss and
    logs the term as `"{name}_loss"`. Under `tf.distribute` the term is
    computed on the global batch (the features and logits of every replica,
    gathered), so training matches one device. Write a new term by
    subclassing and implementing `call(source_features, target_features,
    source_logits, target_logits)`; keep `get_config` in step with
    `__init__`'s arguments.

    Args:
        weight: float >= 0, the factor of the term in the loss. Defaults to
            the class's `default_weight`.
        name: the term's name in the logs. Defaults to the class's
            `default_name`.
    """

    default_weight = 1.0
    default_name = "regularizer"

    def __init__(self, weight=None, name=None):
        self.weight = _checks.check_float("weight", self.default_weight if weight is None else weight, minimum=0.0)
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise _checks.invalid("name", "a Python identifier (it names a log key)", name)
        self.name = name or self.default_name

    def __call__(self, source_features, target_features, source_logits, target_logits):
        return ops.cast(self.call(_flat(source_features), _flat(target_features), _float(source_logits),
                                  _float(target_logits)), "float32")

    def call(self, source_features, target_features, source_logits, target_logits):
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def get_config(self):
        return {"weight": self.weight, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        options = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({options})"
