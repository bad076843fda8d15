"""LEEP and NCE: transferability from the source head's predictions on the target samples."""

import numpy as np

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.selection import _inputs


def joint_distribution(probabilities, codes):
    """`P(y, z)` `(classes, source_classes)`: `1/n sum_{i: y_i = y} theta(x_i)_z`."""
    return _inputs.one_hot(codes).T @ probabilities / len(codes)


def conditional(joint):
    """`P(y | z) = P(y, z) / P(z)`; a source class no sample gives mass to has a zero column."""
    marginal = joint.sum(axis=0)
    return np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)


def leep_of(probabilities, codes):
    """LEEP of checked float64 `probabilities` `(n, Z)` and class codes `(n,)`."""
    expected = conditional(joint_distribution(probabilities, codes))
    # EEP of sample i: sum_z P(y_i | z) theta(x_i)_z, > 0 (each z with theta_z > 0 has P(y_i, z) >= theta_z / n).
    eep = np.sum(expected[codes] * probabilities, axis=1)
    return float(np.mean(np.log(eep)))


def nce_of(probabilities, codes):
    """NCE of checked float64 `probabilities` `(n, Z)` and class codes `(n,)`: `-H(Y | argmax theta)`."""
    hard = np.eye(probabilities.shape[1])[np.argmax(probabilities, axis=1)]
    joint = joint_distribution(hard, codes)
    given = conditional(joint)
    terms = np.where(joint > 0, joint * np.log(np.where(joint > 0, given, 1.0)), 0.0)
    return float(np.sum(terms))


@keras_transfer_export("keras_transfer.selection.leep")
def leep(source_probabilities, labels):
    """LEEP: log expected empirical prediction of the source head on the target labels; higher = better.

    With `theta(x)` the source head's class probabilities, the empirical
    joint `P(y, z) = 1/n sum_{i: y_i = y} theta(x_i)_z` over target labels
    `y` and source classes `z` gives the conditional `P(y | z)`, and LEEP is
    the average log-likelihood of the "expected empirical predictor" that
    maps a sample's source probabilities to target labels through it:
    `1/n sum_i log sum_z P(y_i | z) theta(x_i)_z`. At most 0 (a source head
    whose predictions determine the target label); uniform probabilities
    give `-H(Y)`, the entropy of the label frequencies. Needs a candidate
    with a source classifier: score trunks and random initialisations with
    `logme`, `hscore`, `transrate`, `knn_accuracy` or
    `linear_probe_accuracy`.

    Args:
        source_probabilities: `(n, source_classes)` softmax outputs of the
            candidate's source head on the target samples (rows sum to 1).
        labels: `(n,)` integer class ids or `(n, classes)` one-hot rows;
            at least 2 classes with 2 samples each.

    Returns:
        The LEEP score, a Python float <= 0; higher = better.

    Example:

    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1])
    >>> predictive = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8]])
    >>> uniform = np.full((4, 2), 0.5)
    >>> round(leep(uniform, labels), 4)  # -log 2
    -0.6931
    >>> leep(predictive, labels) > leep(uniform, labels)
    True

    Reference:
        Nguyen, Hassner, Seeger and Archambeau, "LEEP: A New Measure to
        Evaluate Transferability of Learned Representations", ICML 2020,
        https://arxiv.org/abs/2002.12462
    """
    codes = _inputs.check_labels(labels)
    probabilities = _inputs.check_probabilities(source_probabilities, len(codes))
    return leep_of(probabilities, codes)


@keras_transfer_export("keras_transfer.selection.nce")
def nce(source_probabilities, labels):
    """NCE: negative conditional entropy of the target labels given the source head's labels; higher = better.

    Each target sample gets the source class `z = argmax theta(x)` its
    source head predicts; from the empirical joint `P(y, z)` of target
    labels and these source labels, `NCE = -H(Y | Z) = sum_{y, z} P(y, z)
    log P(y | z)`. At most 0 (the source label determines the target
    label), at least `-H(Y)` (no information). Ties in the argmax go to the
    first source class. Needs a candidate with a source classifier (see
    `leep`).

    Args:
        source_probabilities: `(n, source_classes)` softmax outputs of the
            candidate's source head on the target samples (rows sum to 1).
        labels: `(n,)` integer class ids or `(n, classes)` one-hot rows;
            at least 2 classes with 2 samples each.

    Returns:
        The NCE score, a Python float <= 0, in nats; higher = better.

    Example:

    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1])
    >>> # Source labels 0, 0, 1, 2: source class 1 and 2 each name class 1, 0 names class 0.
    >>> probabilities = np.eye(3)[[0, 0, 1, 2]] * 0.7 + 0.1
    >>> nce(probabilities, labels)
    0.0
    >>> round(nce(np.eye(3)[[0, 1, 0, 1]] * 0.7 + 0.1, labels), 4)  # independent: -log 2
    -0.6931

    Reference:
        Tran, Nguyen and Hassner, "Transferability and Hardness of
        Supervised Classification Tasks", ICCV 2019,
        https://arxiv.org/abs/1908.08142
    """
    codes = _inputs.check_labels(labels)
    probabilities = _inputs.check_probabilities(source_probabilities, len(codes))
    return nce_of(probabilities, codes)
