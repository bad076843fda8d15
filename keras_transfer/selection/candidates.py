"""What `rank_backbones` scores: a candidate turned into its features (and source probabilities).

A candidate is anything `build_classifier` takes as a backbone (a registered
name, a keras-hub preset, a `.keras` file, a `keras.Model`), optionally with
its weights as `(backbone, weights)`. A candidate that is a classifier (a
`TransferClassifier`, or a model whose last layer is a softmax `Dense`) also
gives its source-class probabilities, which LEEP and NCE need; its features are
the input of that last layer.
"""

import dataclasses
import os

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.models import _inputs


@dataclasses.dataclass
class Candidate:
    """One candidate of a ranking: its label, the features model and the source classifier, if any."""

    label: str
    features: keras.Model
    classifier: keras.Model = None  # outputs source-class probabilities
    adapt_to: tuple = None  # the input shape the data is resized to first, when it differs


def label_of(spec):
    """A readable label for a candidate given without one."""
    if isinstance(spec, keras.Model):
        return spec.name
    if isinstance(spec, tuple):
        backbone, weights = spec
        if weights is None:
            weights = "random"
        elif isinstance(weights, keras.Model):
            weights = weights.name
        elif isinstance(weights, (str, os.PathLike)):
            weights = os.path.basename(os.fspath(weights))
        return f"{label_of(backbone)} ({weights})"
    return os.path.basename(os.fspath(spec)) if isinstance(spec, (str, os.PathLike)) else repr(spec)


def normalize(candidates):
    """`[(label, spec), ...]` from a dict `{label: spec}` or a list of specs; labels unique."""
    if isinstance(candidates, dict):
        pairs = [(str(label), spec) for label, spec in candidates.items()]
    elif isinstance(candidates, list) or (isinstance(candidates, tuple) and not _is_one_pair(candidates)):
        pairs = [(label_of(spec), spec) for spec in candidates]
    else:
        raise _checks.invalid(
            "candidates", "a list of backbones (names, .keras files, keras.Models or (backbone, weights) pairs) "
            "or a dict {label: backbone}", candidates, error=TypeError,
        )
    if not pairs:
        raise _checks.invalid("candidates", "at least one candidate", candidates)
    labels = [label for label, _ in pairs]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise _checks.invalid("candidates", "distinct candidates (or a dict to label them)", repeated,
                              hint="Pass a dict {label: backbone} to label candidates that share a name.")
    return pairs


def _is_one_pair(candidates):
    # `rank_backbones(("vgg16", None), ...)`: one (backbone, weights) pair where a list is expected.
    if len(candidates) != 2:
        return False
    weights = candidates[1]
    return weights is None or (isinstance(weights, str) and (weights == "imagenet" or weights.endswith(".h5")))


def _softmax_head(model):
    """`(features model, model)` when `model` ends in a softmax classifier, else None."""
    from keras_transfer.models import TransferClassifier

    if isinstance(model, TransferClassifier):
        if model.num_classes < 2:
            return None
        probabilities = model if model.activation in ("auto", "softmax") else _with_softmax(model)
        return model.feature_extractor, probabilities
    if not model.layers or not model.inputs:
        return None
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    if isinstance(last, keras.layers.Dense) and activation == "softmax" and last.units > 1:
        return keras.Model(model.inputs, last.input, name=f"{model.name}_features"), model
    return None


def _with_softmax(model):
    return keras.Model(model.inputs, keras.layers.Softmax(dtype="float32")(model.outputs[0]), name=f"{model.name}_probabilities")


def build(label, spec, input_shape):
    """The `Candidate` for `spec`, whose features take images of `input_shape` (raw, in [0, 255])."""
    from keras_transfer.feature_extraction.build_classifier import build_classifier

    backbone, weights = spec if isinstance(spec, tuple) else (spec, "imagenet")
    if isinstance(backbone, (str, os.PathLike)) and os.fspath(backbone).endswith(".keras") and os.path.isfile(backbone):
        backbone = keras.models.load_model(backbone)
    if isinstance(backbone, keras.Model) and weights == "imagenet":
        head = _softmax_head(backbone)
        if head is not None:
            features, classifier = head
            expected = tuple(features.input_shape[1:])
            if len(expected) == len(input_shape) and all(e in (None, d) for e, d in zip(expected, input_shape)):
                return Candidate(label, features, classifier)
            # A source classifier made for other images (e.g. 28x28 sources, 8x8 targets): the data is
            # resized and its channels matched to what the classifier takes, as `adapt_input` does.
            _inputs.check_adaptable(input_shape, expected, argument="candidates",
                                    what_from=f"the data's images, for candidate {label!r},",
                                    what_to="the classifier's inputs")
            return Candidate(label, features, classifier, adapt_to=expected)
    model = build_classifier(backbone, 2, weights=weights, input_shape=tuple(input_shape), adapt_input=True, freeze=True)
    return Candidate(label, model.feature_extractor)


# Up to this many batches, the pass runs eagerly: tracing `predict` for each new
# candidate costs more than it saves on a few labelled batches (0.3-1.5 s per candidate).
EAGER_BATCHES = 4


def _forward(model, x, batch_size):
    if len(x) > EAGER_BATCHES * batch_size:
        return model.predict(x, batch_size=batch_size, verbose=0)
    batches = [model([x[i: i + batch_size]], training=False) for i in range(0, len(x), batch_size)]
    if isinstance(batches[0], (list, tuple)):
        return [np.concatenate([keras.ops.convert_to_numpy(b[j]) for b in batches]) for j in range(len(batches[0]))]
    return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches])


def extract(candidate, x, batch_size):
    """`(features (n, d) float64, source probabilities (n, k) or None)`: one pass over `x`."""
    if candidate.adapt_to is not None:
        x = keras.ops.convert_to_numpy(_inputs.adapt(x, x.shape[1:], candidate.adapt_to, (0, 255), (0, 255)))
    if candidate.classifier is None:
        return _flat(_forward(candidate.features, x, batch_size)), None
    both = keras.Model(candidate.features.inputs, [candidate.features.outputs[0], candidate.classifier.outputs[0]])
    features, probabilities = _forward(both, x, batch_size)
    return _flat(features), np.asarray(probabilities, dtype="float64")


def _flat(features):
    features = np.asarray(features, dtype="float64")
    return features.reshape(len(features), -1)
