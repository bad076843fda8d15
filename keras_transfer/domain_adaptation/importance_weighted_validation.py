"""`ImportanceWeightedValidation`: a target-loss estimate from weighted source validation data (IWCV, DEV)."""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export

METHODS = ("dev", "iwcv")
LOSSES = ("sparse_categorical_crossentropy", "error")


def per_example(loss, y_true, y_pred):
    """The per-example loss (`"error"`: 1 for a wrong argmax) of class-id labels and class probabilities."""
    y_pred = np.asarray(y_pred, "float64")
    y_true = np.asarray(y_true).reshape(-1).astype("int64")
    if loss == "error":
        return (np.argmax(y_pred, axis=-1) != y_true).astype("float64")
    picked = y_pred[np.arange(len(y_true)), y_true]
    return -np.log(np.clip(picked, 1e-7, 1.0))


def probabilities(predictions):
    """A model's outputs as class probabilities: as given when rows are non-negative and sum to 1, else a softmax."""
    predictions = np.asarray(predictions, "float64")
    if not np.allclose(predictions.sum(axis=-1), 1.0, atol=1e-3) or predictions.min() < 0:
        shifted = np.exp(predictions - predictions.max(axis=-1, keepdims=True))
        predictions = shifted / shifted.sum(axis=-1, keepdims=True)
    return predictions


def estimate(losses, weights, method):
    """IWCV: `mean(w * l)`; DEV: the same with `w` as control variate (You et al. 2019).

    DEV = `mean(w l) + eta * mean(w) - eta` with `eta = -Cov(w l, w) / Var(w)`:
    unbiased as IWCV (`E[w] = 1`), with a lower variance when `w l` and `w`
    are correlated. With constant weights (`Var(w) = 0`) DEV is IWCV.
    """
    weighted = weights * losses
    if method == "iwcv":
        return float(weighted.mean())
    variance = weights.var(ddof=1) if len(weights) > 1 else 0.0
    if variance <= 1e-12:
        return float(weighted.mean())
    eta = -np.cov(weighted, weights, ddof=1)[0, 1] / variance
    return float(weighted.mean() + eta * weights.mean() - eta)


@keras_transfer_export("keras_transfer.callbacks.ImportanceWeightedValidation")
class ImportanceWeightedValidation(keras.callbacks.Callback):
    """Logs an estimate of the *target* loss at each epoch end, without target labels.

    Under covariate shift, the loss on held-out labelled *source* examples,
    each weighted by its importance weight `w(x) = p_target(x) / p_source(x)`,
    estimates the loss on the target domain (IWCV, Sugiyama et al. 2007).
    DEV (You et al. 2019) adds the weights as a control variate, which lowers
    the variance of that estimate. The value is written into the epoch's
    logs under `name`, so `keras.callbacks.EarlyStopping(monitor=name,
    mode="min")` and `ModelCheckpoint(monitor=name, mode="min")` select epochs
    on it (Keras infers the direction of `"loss"` alone: give `mode="min"`).
    Put this callback *before* them in the `callbacks` list (Keras passes one
    logs dict along the list).

    Get the weights from `keras_transfer.domain_adaptation.importance_weights(
    x_val, x_target, ...)` (on the validation examples, not the training
    ones; ideally in a trained feature space, e.g. of a source-only model).
    The model's outputs are read as class probabilities (a softmax is applied
    when its rows do not sum to 1).

    Args:
        validation_data: `(x_val, y_val)`: labelled source examples not used
            for training, `y_val` class ids.
        weights: array `(len(x_val),)` of non-negative importance weights;
            normalised here to a mean of 1.
        method: `"dev"` (default) or `"iwcv"`.
        loss: `"sparse_categorical_crossentropy"` (default) or `"error"`
            (the weighted misclassification rate).
        name: the log key. Defaults to `"val_{method}_loss"` (or
            `"val_{method}_error"`).
        batch_size: batch size of `predict`. Defaults to `256`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 3)).astype("float32"), rng.integers(0, 2, 64)
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> iwcv = keras_transfer.callbacks.ImportanceWeightedValidation((x[:16], y[:16]), np.ones(16), method="iwcv")
    >>> stop = keras.callbacks.EarlyStopping(monitor="val_iwcv_loss", mode="min", patience=2)
    >>> history = model.fit(x[16:], y[16:], epochs=2, verbose=0, callbacks=[iwcv, stop])
    >>> round(history.history["val_iwcv_loss"][-1] - model.evaluate(x[:16], y[:16], verbose=0), 4)
    0.0

    Reference:
        Sugiyama et al., "Covariate Shift Adaptation by Importance Weighted
        Cross Validation", JMLR 2007; You et al., "Towards Accurate Model
        Selection in Deep Unsupervised Domain Adaptation", ICML 2019.
    """

    def __init__(self, validation_data, weights, method="dev", loss="sparse_categorical_crossentropy", name=None,
                 batch_size=256):
        super().__init__()
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise _checks.invalid("validation_data", "a pair (x_val, y_val) of labelled source examples",
                                  type(validation_data).__name__, error=TypeError)
        self.x, self.y = validation_data
        n = len(self.y)
        if len(self.x) != n or n == 0:
            raise _checks.invalid("validation_data", "x_val and y_val of the same, non-zero length",
                                  f"{len(self.x)} inputs and {n} labels")
        labels = np.asarray(self.y).reshape(-1)
        if labels.size != n or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise _checks.invalid("validation_data", "y_val of non-negative integer class ids, one per example",
                                  f"labels of dtype {labels.dtype} and shape {np.shape(self.y)}")
        self.y = labels
        weights = np.asarray(weights, "float64").reshape(-1)
        if weights.shape != (n,):
            raise _checks.invalid("weights", f"one weight per validation example ({n})", f"{weights.size} weights")
        if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
            raise _checks.invalid("weights", "finite, non-negative weights, not all zero",
                                  f"weights from {weights.min():g} to {weights.max():g}")
        self.weights = weights / weights.mean()
        self.method = _checks.check_choice("method", method, METHODS)
        self.loss = _checks.check_choice("loss", loss, LOSSES)
        suffix = "error" if self.loss == "error" else "loss"
        self.name = name if name is not None else f"val_{self.method}_{suffix}"
        if not isinstance(self.name, str) or not self.name:
            raise _checks.invalid("name", "a non-empty string (the log key)", name, error=TypeError)
        self.batch_size = _checks.check_int("batch_size", batch_size, minimum=1)

    def value(self):
        """The estimate for the model as it is now."""
        predictions = probabilities(self.model.predict(self.x, batch_size=self.batch_size, verbose=0))
        if self.y.max() >= predictions.shape[-1]:
            raise _checks.invalid("validation_data", f"class ids below {predictions.shape[-1]} (the model's outputs)",
                                  f"labels up to {self.y.max()}")
        return estimate(per_example(self.loss, self.y, predictions), self.weights, self.method)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[self.name] = self.value()
