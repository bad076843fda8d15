"""WiSE-FT: weight-space interpolation between the model before fine-tuning and after it."""

import dataclasses

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.robust_fine_tuning import _validation
from keras_transfer.robust_fine_tuning import _weights

DEFAULT_ALPHAS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())


def _check_alpha(name, alpha):
    return _checks.check_float(name, alpha, minimum=0.0, maximum=1.0)


def check_alphas(alphas):
    """`alphas` as a sorted list of distinct floats in [0, 1] (at least one)."""
    if isinstance(alphas, (str, bytes)) or not hasattr(alphas, "__iter__"):
        raise _checks.invalid("alphas", "a list of floats in [0, 1]", alphas, error=TypeError)
    alphas = sorted({_check_alpha("alphas", float(a)) for a in alphas})
    if not alphas:
        raise _checks.invalid("alphas", "at least one float in [0, 1]", alphas)
    return alphas


@keras_transfer_export("keras_transfer.robust_fine_tuning.interpolate_weights")
def interpolate_weights(initial, fine_tuned, alpha):
    """A new model whose weights are `(1 - alpha) * initial + alpha * fine_tuned`.

    Every floating-point weight is interpolated (kernels, biases, BatchNorm
    statistics); other weights (integer counters, seeds) are the fine-tuned
    model's. The formula is exact at both ends: `alpha=0` gives the initial
    weights bit for bit and `alpha=1` the fine-tuned ones. Neither input
    model is changed; the result is a copy of `fine_tuned` (same class and
    configuration, compiled like it).

    Args:
        initial: the model before fine-tuning (for WiSE-FT: the pretrained
            backbone with the linear probe's head).
        fine_tuned: the same architecture after fine-tuning from `initial`.
        alpha: float in [0, 1], the weight of `fine_tuned`.

    Returns:
        A new `keras.Model`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> def dense(value):
    ...     model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    ...     model.set_weights([np.full((1, 1), value, "float32")])
    ...     return model
    >>> mixed = keras_transfer.robust_fine_tuning.interpolate_weights(dense(1.0), dense(3.0), 0.25)
    >>> float(mixed.get_weights()[0][0, 0])
    1.5
    """
    initial, fine_tuned = _weights.check_models("models", [initial, fine_tuned], minimum=2)
    alpha = _check_alpha("alpha", alpha)
    return _weights.combine([initial, fine_tuned], (1.0 - alpha, alpha))


@keras_transfer_export("keras_transfer.robust_fine_tuning.WiseFTResult")
@dataclasses.dataclass
class WiseFTResult:
    """What `wise_ft` found: the chosen model, its `alpha`, and `{alpha: validation accuracy}`."""

    model: object
    alpha: float
    scores: dict

    def to_markdown(self):
        """The sweep as a Markdown table (alpha, validation accuracy, the chosen one marked)."""
        rows = [f"| {a:.2f} | {s:.4f} | {'chosen' if a == self.alpha else ''} |" for a, s in self.scores.items()]
        return "\n".join(["| alpha | validation accuracy | |", "|---:|---:|---|", *rows])


@keras_transfer_export("keras_transfer.robust_fine_tuning.wise_ft")
def wise_ft(initial, fine_tuned, validation_data, *, alphas=DEFAULT_ALPHAS, batch_size=256):
    """WiSE-FT: the interpolation between `initial` and `fine_tuned` that scores best on validation.

    Wortsman et al. interpolate between the zero-shot model and the
    fine-tuned one; for a backbone with a new head, the initial model is the
    pretrained backbone with the head of a linear probe (as in LP-FT), the
    fine-tuned one the same model after full fine-tuning. Each `alpha` of
    the sweep is scored by accuracy on `validation_data`; ties go to the
    smaller `alpha` (closer to what the model knew).

    Args:
        initial: the model before fine-tuning.
        fine_tuned: the same architecture after fine-tuning from `initial`.
        validation_data: `(x_val, y_val)`, integer (or one-hot) labels.
        alphas: the values of `alpha` in [0, 1] to try. Defaults to
            `0.0, 0.1, ..., 1.0`.
        batch_size: batch size of the predictions. Defaults to `256`.

    Returns:
        A `WiseFTResult` with `model` (a new model at the chosen `alpha`),
        `alpha` and `scores`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> def dense(value):
    ...     model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, use_bias=False)])
    ...     model.set_weights([np.array([[value, -value]], "float32")])
    ...     return model
    >>> x, y = np.array([[1.0], [-1.0]]), np.array([0, 1])
    >>> result = keras_transfer.robust_fine_tuning.wise_ft(dense(-1.0), dense(1.0), (x, y), alphas=[0.0, 1.0])
    >>> result.alpha, result.scores
    (1.0, {0.0: 0.0, 1.0: 1.0})
    """
    initial, fine_tuned = _weights.check_models("models", [initial, fine_tuned], minimum=2)
    validation_data = _validation.check_validation("validation_data", validation_data)
    alphas = check_alphas(alphas)
    _checks.check_int("batch_size", batch_size, minimum=1)
    scores, best, model = {}, None, None
    for alpha in alphas:
        model = _weights.combine([initial, fine_tuned], (1.0 - alpha, alpha), into=model)
        scores[alpha] = _validation.accuracy(model, validation_data, batch_size)
        if best is None or scores[alpha] > scores[best]:
            best = alpha
    chosen = _weights.combine([initial, fine_tuned], (1.0 - best, best), into=model)
    return WiseFTResult(chosen, best, scores)
