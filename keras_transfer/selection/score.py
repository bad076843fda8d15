"""`score`: one entry point for every transferability score, its input checks and the list of names."""

import inspect

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.selection import _inputs
from keras_transfer.selection.hscore import hscore
from keras_transfer.selection.leep import leep, nce
from keras_transfer.selection.logme import logme
from keras_transfer.selection.proxies import knn_accuracy, linear_probe_accuracy
from keras_transfer.selection.transrate import transrate

# name -> (function, what it reads); in the order `available_metrics` lists them.
_METRICS = {
    "logme": (logme, "features"),
    "hscore": (hscore, "features"),
    "transrate": (transrate, "features"),
    "knn": (knn_accuracy, "features"),
    "linear": (linear_probe_accuracy, "features"),
    "leep": (leep, "source_probabilities"),
    "nce": (nce, "source_probabilities"),
}

_NEED_PROBABILITIES = (
    "LEEP and NCE need the source head's class probabilities; candidates without a source classifier "
    "(random initialisations, trunks) are scored by logme/hscore/transrate/knn/linear."
)


@keras_transfer_export("keras_transfer.selection.available_metrics")
def available_metrics(needs_source_probabilities=None):
    """The names `score` takes, in a fixed order.

    Args:
        needs_source_probabilities: `None` (default) for every name, `True`
            for the scores that read the source head's class probabilities
            (`"leep"`, `"nce"`: only candidates with a source classifier),
            `False` for those that read features (any candidate, trunks and
            random initialisations included).

    Returns:
        A list of metric names.

    Example:

    >>> available_metrics()
    ['logme', 'hscore', 'transrate', 'knn', 'linear', 'leep', 'nce']
    >>> available_metrics(needs_source_probabilities=True)
    ['leep', 'nce']
    """
    if needs_source_probabilities not in (None, True, False):
        raise _checks.invalid(
            "needs_source_probabilities", "None, True or False", needs_source_probabilities, error=TypeError
        )
    if needs_source_probabilities is None:
        return list(_METRICS)
    wanted = "source_probabilities" if needs_source_probabilities else "features"
    return [name for name, (_, reads) in _METRICS.items() if reads == wanted]


def check_metric(metric):
    """`metric` if it is one of `available_metrics()`, else a ValueError that lists them (and a close match)."""
    return _checks.check_choice("metric", metric, list(_METRICS))


def _check_options(metric, function, options):
    accepted = [p for p in inspect.signature(function).parameters if p not in ("features", "labels", "source_probabilities")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = f"the options of {metric!r}: {', '.join(accepted)}" if accepted else f"no options for {metric!r}"
        raise _checks.invalid(unknown[0], takes, options[unknown[0]], error=TypeError)


@keras_transfer_export("keras_transfer.selection.score")
def score(features, labels, metric="logme", source_probabilities=None, **options):
    """Transferability of one candidate to a labelled target set, from one forward pass; higher = better.

    Rank candidate backbones by computing their features (or their source
    head's probabilities) on the same target samples and comparing scores:
    higher means the candidate is expected to transfer better. Values of
    different metrics are not comparable with each other, and values of
    one metric only on the same labels.

    | metric | reads | value |
    |---|---|---|
    | `"logme"` (default) | features | log evidence per sample (`logme`) |
    | `"hscore"` | features | `[0, classes - 1]`, Ledoit-Wolf regularised (`hscore`) |
    | `"transrate"` | features | nats, >= 0 (`transrate`) |
    | `"knn"` | features | leave-one-out kNN accuracy (`knn_accuracy`) |
    | `"linear"` | features | cross-validated linear-probe accuracy (`linear_probe_accuracy`) |
    | `"leep"` | source probabilities | <= 0 (`leep`) |
    | `"nce"` | source probabilities | <= 0 (`nce`) |

    LEEP and NCE need a candidate with a source classifier; random
    initialisations and trunks are scored by the feature metrics.

    Args:
        features: `(n, dim)` features of the target samples (e.g. a frozen
            backbone's pooled outputs). Required by the feature metrics;
            LEEP and NCE do not read them (pass `None`, or the features,
            which are then checked).
        labels: `(n,)` integer class ids or `(n, classes)` one-hot rows;
            at least 2 classes with 2 samples each.
        metric: one of `available_metrics()`.
        source_probabilities: `(n, source_classes)` softmax outputs of the
            candidate's source head on the same samples; required by
            `"leep"` and `"nce"`, checked when given to another metric,
            read by LEEP and NCE only.
        **options: the metric's own options (`shrinkage` for `"hscore"`,
            `eps` for `"transrate"`, `k` for `"knn"`, `folds`, `C`, `seed`
            for `"linear"`).

    Returns:
        The score, a Python float; higher = better.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 20)
    >>> good = rng.normal(size=(60, 5)) + 3.0 * np.eye(3, 5)[labels]
    >>> bad = rng.normal(size=(60, 5))
    >>> all(score(good, labels, m) > score(bad, labels, m) for m in ("logme", "hscore", "knn"))
    True
    >>> probabilities = np.full((60, 4), 0.25)
    >>> round(score(None, labels, "leep", source_probabilities=probabilities), 4)  # -log 3
    -1.0986

    Reference:
        The metrics' own pages: You et al. 2021 (LogME,
        https://arxiv.org/abs/2102.11005), Bao et al. 2019 and Ibrahim et
        al. 2022 (H-score, https://arxiv.org/abs/2110.06893), Huang et al.
        2022 (TransRate, https://arxiv.org/abs/2106.09362), Nguyen et al.
        2020 (LEEP, https://arxiv.org/abs/2002.12462), Tran et al. 2019
        (NCE, https://arxiv.org/abs/1908.08142).
    """
    metric = check_metric(metric)
    function, reads = _METRICS[metric]
    _check_options(metric, function, options)
    codes = _inputs.check_labels(labels)
    if reads == "source_probabilities" and source_probabilities is None:
        raise _checks.invalid(
            "source_probabilities", f"the source head's class probabilities for metric={metric!r}", None,
            hint=_NEED_PROBABILITIES,
        )
    if reads == "features" and features is None:
        raise _checks.invalid("features", f"a 2-D array of features for metric={metric!r}", None)
    if features is not None:
        features = _inputs.check_features(features, len(codes))
    if source_probabilities is not None:
        source_probabilities = _inputs.check_probabilities(source_probabilities, len(codes))
    data = features if reads == "features" else source_probabilities
    return function(data, codes, **options)
