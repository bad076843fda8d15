"""Accuracy proxies: leave-one-out k-nearest-neighbour and cross-validated logistic-regression accuracy."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.selection import _inputs

# Query rows per block of the similarity matrix (block of 64 MiB at most).
_BLOCK_BYTES = 64 << 20


def knn_of(features, codes, k):
    """Leave-one-out accuracy of a `k`-nearest-neighbour vote, cosine similarity, checked inputs.

    Each sample's `k` most similar other samples vote with their labels; a
    tie in votes goes to the class of larger summed similarity among the
    tied ones. The similarity matrix is computed block by block.
    """
    n = len(features)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = features / np.where(norms > 0, norms, 1.0)
    classes = int(codes.max()) + 1
    correct = 0
    step = max(1, _BLOCK_BYTES // (8 * n))
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        similarity = unit[rows] @ unit.T
        similarity[np.arange(len(rows)), rows] = -np.inf  # leave the sample itself out
        neighbours = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        nearest = np.take_along_axis(similarity, neighbours, axis=1)
        votes = np.zeros((len(rows), classes))
        closeness = np.zeros((len(rows), classes))
        index = np.repeat(np.arange(len(rows)), k)
        np.add.at(votes, (index, codes[neighbours].ravel()), 1.0)
        np.add.at(closeness, (index, codes[neighbours].ravel()), nearest.ravel())
        # Votes first, summed similarity (in [-k, k]) to break ties.
        predicted = np.argmax(votes * (2 * k + 2) + closeness, axis=1)
        correct += int(np.sum(predicted == codes[rows]))
    return correct / n


@keras_transfer_export("keras_transfer.selection.knn_accuracy")
def knn_accuracy(features, labels, k=5):
    """Leave-one-out k-nearest-neighbour accuracy of the features (cosine); higher = better.

    A cheap proxy of how well a head on frozen features will classify: each
    sample is classified by a majority vote of its `k` most cosine-similar
    other samples (ties in the vote go to the class of larger summed
    similarity), and the score is the fraction classified right. In
    `[0, 1]`; invariant to scaling the features, to rotating them, and to
    relabelling the classes. Not invariant to translating them (cosine
    similarity is measured from the origin): centre features of a backbone
    whose outputs share a large offset.

    Args:
        features: `(n, dim)` features of the target samples from one
            candidate.
        labels: `(n,)` integer class ids or `(n, classes)` one-hot rows;
            at least 2 classes with 2 samples each.
        k: the number of neighbours that vote, `1 <= k < n` (default 5).

    Returns:
        The leave-one-out accuracy, a Python float in `[0, 1]`; higher = better.

    Example:

    >>> import numpy as np
    >>> labels = np.array([0, 0, 0, 1, 1, 1])
    >>> features = np.array([[1, 0.1], [1, 0.2], [1, 0.0], [0.1, 1], [0.0, 1], [0.2, 1]])
    >>> knn_accuracy(features, labels, k=1)
    1.0

    Reference:
        Cover and Hart, "Nearest Neighbor Pattern Classification", IEEE
        Transactions on Information Theory 13(1), 1967,
        https://doi.org/10.1109/TIT.1967.1053964
    """
    codes = _inputs.check_labels(labels)
    features = _inputs.check_features(features, len(codes))
    k = _checks.check_int("k", k, minimum=1, maximum=len(codes) - 1)
    return float(knn_of(features, codes, k))


def linear_probe_of(features, codes, folds, c, seed):
    """Mean held-out accuracy of standardised-feature logistic regression over stratified folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    splits = min(folds, int(np.bincount(codes).min()))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    cv = StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(model, features, codes, cv=cv)))


@keras_transfer_export("keras_transfer.selection.linear_probe_accuracy")
def linear_probe_accuracy(features, labels, folds=5, C=1.0, seed=0):
    """Cross-validated accuracy of a logistic regression on the features; higher = better.

    The linear probe itself, measured without a forward pass more: features
    are standardised (on each training fold), an L2-regularised
    multinomial logistic regression (scikit-learn, `C`) is fitted, and the
    accuracy on the held-out folds of a stratified `folds`-fold split is
    averaged. The closest proxy of feature-extraction accuracy here, and
    the slowest score (it trains `folds` models). The folds are shuffled
    with `seed`: a permutation of the samples changes the split, so the
    value moves within the split-to-split spread.

    Args:
        features: `(n, dim)` features of the target samples from one
            candidate.
        labels: `(n,)` integer class ids or `(n, classes)` one-hot rows;
            at least 2 classes with 2 samples each.
        folds: the number of folds, `>= 2` (default 5); lowered to the size
            of the smallest class when that is smaller, since each fold
            holds every class.
        C: the inverse L2 regularisation strength of the logistic
            regression, `> 0` (default 1.0, on standardised features).
        seed: the seed of the fold split (default 0).

    Returns:
        The mean held-out accuracy, a Python float in `[0, 1]`; higher = better.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1], 20)
    >>> features = rng.normal(size=(40, 3)) + 5.0 * labels[:, None]
    >>> linear_probe_accuracy(features, labels)
    1.0

    Reference:
        Kornblith, Shlens and Le, "Do Better ImageNet Models Transfer
        Better?", CVPR 2019 (logistic regression on fixed features as the
        transfer measure), https://arxiv.org/abs/1805.08974
    """
    codes = _inputs.check_labels(labels)
    features = _inputs.check_features(features, len(codes))
    folds = _checks.check_int("folds", folds, minimum=2)
    C = _checks.check_float("C", C, minimum=0.0, exclusive_minimum=True)
    seed = _checks.check_int("seed", seed, minimum=0)
    return linear_probe_of(features, codes, folds, C, seed)
