"""Instance-based twins: importance weights from each library, then the same weighted fit.

`ours(problem, seed, method)` computes `kt.domain_adaptation.importance_weights`
(its own selection of the kernel width / ridge / C); `adapt(problem, seed,
method)` runs ADAPT's estimator with *its* own selection, through
`benchmarks.importance_weights.adapt_weights` (float64, KMM in our chunks
of 1,000, see that module for the settings), on the inputs standardised the
way ours does. Both weight vectors (mean 1) go to the same downstream fit:
`deep.source_only` with `sample_weight`, from the same initial weights. The
ADAPT side also reports the accuracy with ADAPT's weights at *our* chosen
settings (`acc_same_settings`), computed outside its timing. Each returns
`(predict, extras)`; `extras["weight_seconds"]` (and `weight_cpu_seconds`) time the weighting alone.
"""

import time

import numpy as np

from benchmarks import importance_weights as iw
from benchmarks.parity import deep
from keras_transfer.domain_adaptation import importance_weights

METHODS = iw.METHODS


def _flat(x):
    return np.asarray(x, "float64").reshape(len(x), -1)


def _fit(problem, seed, weights):
    return deep.source_only(problem, seed, sample_weight=iw.mean_one(weights).astype("float32"))


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, {"weight_seconds": time.perf_counter() - wall, "weight_cpu_seconds": time.process_time() - cpu}


def ours(problem, seed, method):
    weights, times = _timed(lambda: importance_weights(_flat(problem.x_source), _flat(problem.x_target), method,
                                                       seed=seed))
    return _fit(problem, seed, weights), times


def adapt(problem, seed, method):
    source, target = iw.standardise(_flat(problem.x_source), _flat(problem.x_target))
    (weights, settings, _), times = _timed(lambda: iw.adapt_weights(method, source, target, {}, seed, own=True))
    # Like for like: ADAPT given the settings our selection chose (untimed, evaluated here).
    _, details = importance_weights(_flat(problem.x_source), _flat(problem.x_target), method, seed=seed,
                                    return_details=True)
    same, same_settings, _ = iw.adapt_weights(method, source, target, details, seed, own=False)
    same_predict = _fit(problem, seed, same)
    accuracy = float(np.mean(same_predict(problem.x_test).argmax(-1) == problem.y_test))
    extras = {**times, "settings": settings, "acc_same_settings": accuracy,
              "same_settings": same_settings}
    return _fit(problem, seed, weights), extras
