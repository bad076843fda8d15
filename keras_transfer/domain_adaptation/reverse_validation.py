"""`reverse_validation`: score an adapted classifier without target labels by training the way back (Zhong et al. 2010)."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks
from keras_transfer.domain_adaptation.importance_weighted_validation import per_example
from keras_transfer.domain_adaptation.importance_weighted_validation import probabilities

METRICS = ("accuracy", "sparse_categorical_crossentropy")


def _inputs(name, value, expected):
    x = checks.as_array(name, value, expected, lists=False)
    if x.ndim < 2 or len(x) == 0:
        raise _checks.invalid(name, expected, f"an array of shape {x.shape}")
    return checks.check_finite(name, x)


def check_arguments(train, source, target, validation_data, backbone, options):
    """The checked `(train, x_source, x_target, x_val, y_val)` of `reverse_validation` (and its callback)."""
    if isinstance(train, str):
        from keras_transfer.strategies.registry import get_strategy

        strategy = get_strategy(train)  # an unknown name fails here, with suggestions
        if not {"source", "target"} <= set(strategy.accepts) or "data" in strategy.requires:
            raise _checks.invalid("train", "a domain adaptation strategy (one that takes `source=` and `target=`) "
                                  "or a function train(source, target) -> model", train)
        if backbone is None:
            raise _checks.invalid("backbone", f"the backbone the reverse model of strategy {train!r} is built on", None)
    elif callable(train):
        for name, value in (("backbone", backbone), *options.items()):
            if value is not None:
                raise _checks.invalid(name, "None: `train` is a function (only a strategy name takes the "
                                      "arguments of keras_transfer.transfer)", value)
    else:
        raise _checks.invalid("train", "a registered strategy name or a function train(source, target) -> model",
                              train, error=TypeError)
    if isinstance(source, (tuple, list)) and len(source) == 2:
        source = source[0]  # `(x_s, y_s)`: the reverse model never sees the source labels
    x_source = _inputs("source", source, "the source inputs, an array (n, ...) or a pair (x_s, y_s)")
    x_target = _inputs("target", target, "the unlabelled target inputs, an array (n, ...)")
    if x_target.shape[1:] != x_source.shape[1:]:
        raise _checks.invalid("target", f"inputs of shape {x_source.shape[1:]} (as the source inputs)",
                              f"inputs of shape {x_target.shape[1:]}")
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise _checks.invalid("validation_data", "a pair (x_val, y_val) of held-out labelled source examples",
                              type(validation_data).__name__, error=TypeError)
    x_val = _inputs("validation_data", validation_data[0], "held-out source inputs, an array (n, ...)")
    if x_val.shape[1:] != x_source.shape[1:]:
        raise _checks.invalid("validation_data", f"inputs of shape {x_source.shape[1:]} (as the source inputs)",
                              f"inputs of shape {x_val.shape[1:]}")
    y_val = checks.check_labels("validation_data", np.asarray(validation_data[1]), num_classes=None, count=len(x_val),
                                noun="input").astype("int64")
    return train, x_source, x_target, x_val, y_val


def pseudo_labels(model, x, batch_size):
    """`model`'s class ids for `x` (argmax of its outputs) and the number of classes it predicts."""
    scores = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise _checks.invalid("model", "a classifier whose outputs are class scores (n, num_classes >= 2)",
                              f"outputs of shape {scores.shape}")
    return scores.argmax(axis=-1).astype("int64"), scores.shape[1]


def train_reverse(train, reversed_source, reversed_target, num_classes, backbone, options):
    """The reverse model, trained by `train` (a function or a strategy name) on the swapped domains."""
    result = None
    if isinstance(train, str):
        from keras_transfer.strategies.runner import transfer

        result = transfer(train, backbone, source=reversed_source, target=reversed_target, num_classes=num_classes,
                          **options)
        reverse = result.model
    else:
        reverse = train(source=reversed_source, target=reversed_target)
        if hasattr(reverse, "details") and hasattr(reverse, "strategy"):  # a `TransferResult`
            result, reverse = reverse, reverse.model
    if not callable(getattr(reverse, "predict", None)):
        raise _checks.invalid("train", "a function returning the trained reverse model (a Keras model, or the "
                              "result of keras_transfer.transfer)", type(reverse).__name__, error=TypeError)
    return reverse, result


def score(reverse, x_val, y_val, metric, batch_size):
    """`(metric value, {"accuracy", "loss"})` of the reverse model on the held-out source examples."""
    predictions = probabilities(reverse.predict(x_val, batch_size=batch_size, verbose=0))
    if predictions.ndim != 2 or y_val.max() >= predictions.shape[1]:
        raise _checks.invalid("validation_data", f"class ids below the reverse model's {predictions.shape[-1]} outputs",
                              f"labels up to {y_val.max()}")
    values = {"accuracy": float(1.0 - per_example("error", y_val, predictions).mean()),
              "loss": float(per_example("sparse_categorical_crossentropy", y_val, predictions).mean())}
    return values["accuracy" if metric == "accuracy" else "loss"], values


@keras_transfer_export("keras_transfer.domain_adaptation.reverse_validation")
def reverse_validation(model, train, *, source, target, validation_data, backbone=None,
                       metric="accuracy", batch_size=256, return_details=False, **options):
    """Scores an adapted classifier without target labels: how well the way back works.

    Reverse validation (Zhong et al. 2010; the model selection of DANN,
    Ganin et al. 2016): `model`, trained on labelled source and unlabelled
    target data, labels the target inputs; a *reverse* model is trained with
    the same method the other way round, on those pseudo-labelled target
    inputs as its labelled domain and the source inputs as its unlabelled
    one; its accuracy on held-out labelled *source* examples is the score.
    A model whose target labels are wrong teaches the reverse model a wrong
    boundary, which shows on the source. Higher is better; compare the scores
    of candidates (alignment weights, epochs) of one method on the same data.

    More expensive than `keras_transfer.callbacks.ImportanceWeightedValidation`
    (one more training per candidate), and it needs no density ratio. Keep
    `validation_data` out of the training of `model` and of the reverse model.

    Args:
        model: the adapted classifier (a Keras model, or anything with
            `predict`) mapping inputs to class scores `(n, num_classes)`.
        train: how the method trains: a function `train(source, target)`
            called with `source=(x_target, pseudo_labels)` and
            `target=x_source`, returning the trained reverse model (or the
            `TransferResult` of `keras_transfer.transfer`); or the name of a
            registered domain adaptation strategy (e.g. `"dann"`), trained by
            `keras_transfer.transfer(train, backbone, source=..., target=...,
            num_classes=..., **options)`.
        source: the source inputs `model` trained on (`x_s`, or `(x_s, y_s)`:
            the labels are not used), the reverse model's unlabelled domain.
        target: the unlabelled target inputs, labelled by `model`.
        validation_data: `(x_val, y_val)`: held-out labelled source examples,
            `y_val` class ids; where the reverse model is scored.
        backbone: with a strategy name, the backbone of the reverse model
            (as for `keras_transfer.transfer`). Defaults to `None`.
        metric: `"accuracy"` (default, higher is better) or
            `"sparse_categorical_crossentropy"` (lower is better).
        batch_size: batch size of `predict`. Defaults to `256`.
        return_details: also return a dict with the `"reverse_model"`, the
            `"pseudo_labels"`, its `"accuracy"` and `"loss"`, and the
            `"result"` of `keras_transfer.transfer` (or `None`).
        **options: with a strategy name, more arguments of
            `keras_transfer.transfer` (`epochs`, `batch_size`, `seed`, the
            strategy's options such as `alignment_weight`).

    Returns:
        The score, a float (and the details dict when `return_details`).

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> x_s = rng.normal(size=(64, 2)).astype("float32")
    >>> y_s = (x_s[:, 1] > 0).astype("int64")
    >>> x_t = x_s + np.float32([2.0, 0.0])
    >>> def train(source, target):  # the method: here, a plain fit on the labelled domain
    ...     keras.utils.set_random_seed(0)
    ...     reverse = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    ...     reverse.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    ...     reverse.fit(*source, epochs=20, verbose=0)
    ...     return reverse
    >>> adapted = train((x_t, y_s), None)  # a classifier right on the target
    >>> wrong = train((x_t, (x_t[:, 0] > 2).astype("int64")), None)  # one wrong on the target
    >>> good = keras_transfer.domain_adaptation.reverse_validation(
    ...     adapted, train, source=x_s[:48], target=x_t, validation_data=(x_s[48:], y_s[48:]))
    >>> bad = keras_transfer.domain_adaptation.reverse_validation(
    ...     wrong, train, source=x_s[:48], target=x_t, validation_data=(x_s[48:], y_s[48:]))
    >>> good > bad
    True

    Reference:
        Zhong et al., "Cross Validation Framework to Choose amongst Models
        and Datasets for Transfer Learning", ECML PKDD 2010; Ganin et al.,
        "Domain-Adversarial Training of Neural Networks", JMLR 2016 (§5.1.2).
    """
    if not callable(getattr(model, "predict", None)):
        raise _checks.invalid("model", "a trained classifier with `predict` (a Keras model)", model, error=TypeError)
    metric = _checks.check_choice("metric", metric, METRICS)
    batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
    train, x_source, x_target, x_val, y_val = check_arguments(train, source, target, validation_data, backbone, options)
    labels, num_classes = pseudo_labels(model, x_target, batch_size)
    reverse, result = train_reverse(train, (x_target, labels), x_source, num_classes, backbone, options)
    value, values = score(reverse, x_val, y_val, metric, batch_size)
    if not return_details:
        return value
    return value, {"reverse_model": reverse, "pseudo_labels": labels, "result": result, **values}
