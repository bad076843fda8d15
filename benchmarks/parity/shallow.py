"""Shallow twins: each library's feature transform, then the same scikit-learn classifier.

`ours(problem, seed, method)` and `adapt(problem, seed, method)` fit the
transform on the flattened source and unlabelled target inputs (FA: on the
source and the labelled target examples of `few_labels.labelled`), train the
same classifier on the transformed source (FA: plus the labelled target
examples) and predict on the transformed target inputs. The moons use an RBF
SVM, the digits a multinomial logistic regression. `extras["transform_seconds"]`
is the transform alone (fit and the transforms of the training and test
inputs); ADAPT's side also reports the `agreement` of our transformed
features with its own, computed outside its timing (see `AGREEMENT`). Settings: CORAL regularisation
1e-5 (ADAPT's `lambda_`), SA with 2 (moons) or 20 (digits) components, TCA
with 20 rbf components and ADAPT's `mu=0.1`, our `mu=10` (the same problem),
on at most 1,000 examples of each domain (the same ones for both).
"""

import time

import numpy as np
import sklearn.decomposition  # noqa: F401 - imported before any timing, as ADAPT's modules import it
from scipy.linalg import subspace_angles

import keras_transfer as kt
from benchmarks.parity import few_labels

TCA_SAMPLES = 1000
AGREEMENT = {
    "coral_transform": "max |ours - ADAPT| / max |ADAPT| of the transformed features",
    "sa": "max |ours - ADAPT| / max |ADAPT|, each column's sign aligned",
    "tca": "mean cosine of the principal angles between the two embeddings' column spaces",
    "fa": "max |ours - ADAPT| / max |ADAPT|, ADAPT's blocks put in our order",
}


def _flat(x):
    return np.asarray(x, "float64").reshape(len(x), -1)


def _classifier(problem, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    if problem.name == "moons":
        return SVC(kernel="rbf", C=1.0, gamma="scale", random_state=seed)
    return LogisticRegression(C=1.0, max_iter=3000)


def _inputs(problem, seed, method):
    """`(x_fit_source, x_fit_target, x_train, y_train)` of one method (flattened)."""
    source, target, y = _flat(problem.x_source), _flat(problem.x_target), problem.y_source
    if method == "fa":
        x_l, y_l = few_labels.labelled(problem, seed)
        return source, _flat(x_l), y, y_l
    if method == "tca":
        rng = np.random.default_rng(seed)
        s, t = rng.permutation(len(source))[:TCA_SAMPLES], rng.permutation(len(target))[:TCA_SAMPLES]
        return source[s], target[t], y[s], None
    return source, target, y, None


def _ours_transform(problem, method):
    da = kt.domain_adaptation
    return {"coral_transform": lambda: da.CORALTransform(regularization=1e-5),
            "sa": lambda: da.SubspaceAlignment(2 if problem.name == "moons" else 20),
            "tca": lambda: da.TCA(20, mu=10.0), "fa": da.FeatureAugmentation}[method]()


def _adapt_transform(problem, seed, method):
    from adapt.feature_based import CORAL, FA, SA, TCA

    kwargs = dict(verbose=0, random_state=seed)
    return {"coral_transform": lambda: CORAL(lambda_=1e-5, **kwargs),
            "sa": lambda: SA(n_components=2 if problem.name == "moons" else 20, **kwargs),
            "tca": lambda: TCA(n_components=20, mu=0.1, **kwargs), "fa": lambda: FA(**kwargs)}[method]()


def _apply(library, problem, seed, method):
    """`(transform of the training inputs, y_train, transform of a new target input batch, seconds)`."""
    source, target, y, y_l = _inputs(problem, seed, method)
    start = time.perf_counter()
    if library == "ours":
        transform = _ours_transform(problem, method).fit(source, target)
        train = transform.transform(source, "source")
        if method == "fa":
            train = np.concatenate([train, transform.transform(target, "target")])
        test = transform.transform(_flat(problem.x_test), "target")
        apply = lambda x: transform.transform(_flat(x), "target")  # noqa: E731
    else:
        transform = _adapt_transform(problem, seed, method)
        train = transform.fit_transform(source, target, y, y_l)[0] if method == "fa" else transform.fit_transform(
            source, target)
        test = transform.transform(_flat(problem.x_test), domain="tgt")
        apply = lambda x: transform.transform(_flat(x), domain="tgt")  # noqa: E731
    seconds = time.perf_counter() - start
    y_train = y if y_l is None else np.concatenate([y, y_l])
    return train, y_train, test, apply, seconds


def _agreement(method, ours, theirs, n_features):
    if method == "tca":
        return float(np.mean(np.cos(subspace_angles(ours, theirs))))
    if method == "fa":  # ADAPT: [source-only, target-only, general]; ours: [general, source-only, target-only]
        theirs = np.concatenate([theirs[:, 2 * n_features:], theirs[:, :2 * n_features]], axis=1)
    if method == "sa":
        ours = ours * np.sign(np.sum(ours * theirs, axis=0, keepdims=True))
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-12))


def _predict(problem, seed, train, y_train, apply):
    classifier = _classifier(problem, seed).fit(train, y_train)
    return lambda x: np.eye(problem.num_classes)[classifier.predict(apply(x))]


def ours(problem, seed, method):
    train, y_train, _, apply, seconds = _apply("ours", problem, seed, method)
    return _predict(problem, seed, train, y_train, apply), {"transform_seconds": seconds}


def adapt(problem, seed, method):
    train, y_train, test, apply, seconds = _apply("adapt", problem, seed, method)
    ours_train, _, ours_test, _, _ = _apply("ours", problem, seed, method)  # untimed (ours is the cheaper twin)
    agreement = _agreement(method, np.concatenate([ours_train, ours_test]), np.concatenate([train, test]),
                           _flat(problem.x_source[:1]).shape[1])
    return _predict(problem, seed, train, y_train, apply), {"transform_seconds": seconds, "agreement": agreement}


def none(problem, seed, labels=False):
    """The same classifier on the raw features (`labels=True`: plus the labelled target examples)."""
    x, y = _flat(problem.x_source), problem.y_source
    if labels:
        x_l, y_l = few_labels.labelled(problem, seed)
        x, y = np.concatenate([x, _flat(x_l)]), np.concatenate([y, y_l])
    return _predict(problem, seed, x, y, _flat)
