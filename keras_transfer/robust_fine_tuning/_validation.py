"""Scoring a model on a labelled validation set: what WiSE-FT and greedy soups choose by."""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.data import checks


def check_validation(name, data):
    """`(x, y)` with as many labels as inputs; labels integer classes (or one-hot)."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise _checks.invalid(name, "a pair (x_val, y_val) of arrays", data, error=TypeError)
    x, y = data
    y = np.asarray(y)
    count = len(x) if hasattr(x, "__len__") else None
    if count is None or count == 0 or len(y) != count:
        raise _checks.invalid(name, "as many labels as inputs, at least one", f"{count} inputs and {len(y)} labels")
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    y = checks.check_labels(name, y.reshape(-1), num_classes=None, count=count, noun="input")
    return x, y.astype("int64")


def accuracy(model, data, batch_size=256):
    """The fraction of `data`'s labels the model predicts (argmax; a one-unit output is thresholded at 0.5 after a sigmoid, else at 0)."""
    x, y = data
    outputs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        predicted = outputs.argmax(axis=1)
    else:
        sigmoid = getattr(model.layers[-1], "activation", None) is keras.activations.sigmoid
        predicted = (outputs.reshape(-1) > (0.5 if sigmoid else 0.0)).astype("int64")
    return float(np.mean(predicted == y))
