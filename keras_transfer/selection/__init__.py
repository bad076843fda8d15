"""Choosing a backbone: transferability scores that rank candidates from one forward pass.

`score(features, labels, metric=...)` takes numpy arrays and returns a float,
higher = better: LogME, H-score, TransRate and kNN / linear-probe accuracy
read a candidate's features; LEEP and NCE read its source head's class
probabilities.
"""

from keras_transfer.selection.hscore import hscore
from keras_transfer.selection.leep import leep, nce
from keras_transfer.selection.logme import logme
from keras_transfer.selection.proxies import knn_accuracy, linear_probe_accuracy
from keras_transfer.selection.ranking import Ranking, rank_backbones
from keras_transfer.selection.score import available_metrics, score
from keras_transfer.selection.transrate import transrate

__all__ = [
    "Ranking",
    "available_metrics",
    "hscore",
    "knn_accuracy",
    "leep",
    "linear_probe_accuracy",
    "logme",
    "nce",
    "rank_backbones",
    "score",
    "transrate",
]
