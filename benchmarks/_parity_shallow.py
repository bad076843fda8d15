"""The shallow transforms of `benchmarks/parity_ccsa_shallow.py`: CORAL, SA, TCA, FA, ours and ADAPT's, same settings.

Each transform is fitted on the source inputs and the unlabelled target
inputs (FA: the labelled target examples), the same scikit-learn classifier
is trained on the transformed source features (FA: plus the labelled target
examples) and scored on the transformed target test inputs. Timed: the
transform's fit and the transforms of the training and test inputs, not the
classifier. Agreement: how close our transformed features are to ADAPT's.
"""

import time

import numpy as np
from scipy.linalg import subspace_angles

import keras_transfer as kt


def classifier(problem, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    if problem == "moons":
        return SVC(kernel="rbf", C=1.0, gamma="scale", random_state=seed)
    return LogisticRegression(C=1.0, max_iter=3000)


def _score(problem, seed, x_train, y_train, x_test, y_test):
    return float(classifier(problem, seed).fit(x_train, y_train).score(x_test, y_test))


def _relative_difference(ours, theirs):
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-12))


def _sign_aligned_difference(ours, theirs):
    signs = np.sign(np.sum(ours * theirs, axis=0, keepdims=True))
    return _relative_difference(ours * signs, theirs)


def _subspace_cosine(ours, theirs):
    """The mean cosine of the principal angles between the column spaces of two embeddings (1: the same span)."""
    return float(np.mean(np.cos(subspace_angles(ours, theirs))))


def _flat(data, key):
    x = data[key]
    return x.reshape(len(x), -1).astype("float64")


def _ours(make, source, target, test):
    start = time.perf_counter()
    transform = make().fit(source, target)
    out = transform.transform(source, "source"), transform.transform(test, "target")
    return out, time.perf_counter() - start


def _theirs(make, source, target, test):
    start = time.perf_counter()
    transform = make()
    transformed_source = transform.fit_transform(source, target)
    out = transformed_source, transform.transform(test, domain="tgt")
    return out, time.perf_counter() - start


def unsupervised_rows(problem, data, seed, settings):
    """CORAL, SA, TCA: `[(method, variant, accuracy, seconds, agreement, agreement measure)]`."""
    import sklearn.decomposition  # noqa: F401 - imported before any timing (ADAPT imports them on import)
    import sklearn.metrics.pairwise  # noqa: F401
    from adapt.feature_based import CORAL, SA, TCA

    source, target, test = _flat(data, "x_source"), _flat(data, "x_target"), _flat(data, "x_test")
    y_source, y_test = data["y_source"], data["y_test"]
    rows = [("none", "raw features", _score(problem, seed, source, y_source, test, y_test), 0.0, None, "")]
    k_sa = settings["sa_components"]
    # TCA holds (n_s + n_t)² kernels: at most `tca_samples` of each domain, the same ones for both libraries.
    pick = np.random.default_rng(seed).permutation
    tca_s, tca_t = pick(len(source))[:settings["tca_samples"]], pick(len(target))[:settings["tca_samples"]]
    cases = [
        ("coral", "regularization 1e-5 (ADAPT's lambda_)", lambda: kt.domain_adaptation.CORALTransform(1e-5),
         lambda: CORAL(lambda_=1e-5, verbose=0, random_state=seed), None, _relative_difference),
        ("sa", f"n_components={k_sa}", lambda: kt.domain_adaptation.SubspaceAlignment(k_sa),
         lambda: SA(n_components=k_sa, verbose=0, random_state=seed), None, _sign_aligned_difference),
        ("tca", "20 components, rbf, ours mu=10 = ADAPT mu=0.1",
         lambda: kt.domain_adaptation.TCA(20, mu=10.0), lambda: TCA(n_components=20, mu=0.1, verbose=0,
                                                                      random_state=seed),
         (tca_s, tca_t), _subspace_cosine),
    ]
    measures = {_relative_difference: "max |ours - ADAPT| / max |ADAPT|",
                _sign_aligned_difference: "max |ours - ADAPT| / max |ADAPT|, column signs aligned",
                _subspace_cosine: "mean cosine of the principal angles between the embeddings"}
    for method, variant, ours, theirs, subset, agreement in cases:
        s, t = (source, target) if subset is None else (source[subset[0]], target[subset[1]])
        ys = y_source if subset is None else y_source[subset[0]]
        order = [("ours", ours, _ours), ("adapt", theirs, _theirs)]
        results = {}
        for side, make, run in order if seed % 2 == 0 else order[::-1]:  # alternate who goes first
            (train, scored), seconds = run(make, s, t, test)
            results[side] = (train, scored, seconds)
        value = agreement(np.concatenate([results["ours"][0], results["ours"][1]]),
                          np.concatenate([results["adapt"][0], results["adapt"][1]]))
        for side in ("adapt", "ours"):
            train, scored, seconds = results[side]
            rows.append((method, f"{side}: {variant}", _score(problem, seed, train, ys, scored, y_test), seconds,
                         value, measures[agreement]))
    # Our default regularisation, for the docs' choice of default.
    (train, scored), seconds = _ours(lambda: kt.domain_adaptation.CORALTransform(), source, target, test)
    rows.append(("coral", "ours: regularization 1.0 (our default)",
                 _score(problem, seed, train, y_source, scored, y_test), seconds, None, ""))
    return rows


def feature_augmentation_rows(problem, data, seed):
    """FA with the labelled target examples: ours against ADAPT's `FA`, and source + target labels on raw features."""
    from adapt.feature_based import FA

    source, labelled, test = _flat(data, "x_source"), _flat(data, "x_labelled"), _flat(data, "x_test")
    y_source, y_labelled, y_test = data["y_source"], data["y_labelled"], data["y_test"]
    x_union, y_union = np.concatenate([source, labelled]), np.concatenate([y_source, y_labelled])
    rows = [("fa", "baseline: source + labelled target, raw features",
             _score(problem, seed, x_union, y_union, test, y_test), 0.0, None, "")]
    results = {}
    for side in ("ours", "adapt") if seed % 2 == 0 else ("adapt", "ours"):
        start = time.perf_counter()
        if side == "ours":
            fa = kt.domain_adaptation.FeatureAugmentation().fit(source, labelled)
            train = np.concatenate([fa.transform(source, "source"), fa.transform(labelled, "target")])
            scored = fa.transform(test, "target")
        else:
            fa = FA(verbose=0, random_state=seed)
            train, _ = fa.fit_transform(source, labelled, y_source, y_labelled)
            scored = fa.transform(test, domain="tgt")
        results[side] = (train, scored, time.perf_counter() - start)
    d = source.shape[1]
    # ADAPT's blocks are [source-only, target-only, general], ours [general, source-only, target-only].
    reorder = lambda x: np.concatenate([x[:, 2 * d:], x[:, :2 * d]], axis=1)  # noqa: E731
    value = _relative_difference(np.concatenate(results["ours"][:2]), reorder(np.concatenate(results["adapt"][:2])))
    for side in ("adapt", "ours"):
        train, scored, seconds = results[side]
        rows.append(("fa", side, _score(problem, seed, train, y_union, scored, y_test), seconds, value,
                     "max |ours - ADAPT| / max |ADAPT|, blocks reordered"))
    return rows
