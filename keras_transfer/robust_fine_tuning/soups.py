"""Model soups: averaging the weights of models fine-tuned from one initialisation."""

import dataclasses

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.robust_fine_tuning import _validation
from keras_transfer.robust_fine_tuning import _weights


@keras_transfer_export("keras_transfer.robust_fine_tuning.uniform_soup")
def uniform_soup(models):
    """A new model whose weights are the mean of `models`' weights (the uniform soup).

    The models must share an architecture and, for the average to mean
    anything, an initialisation (fine-tuned from the same pretrained model
    with different hyperparameters or seeds). Floating-point weights are
    averaged in float64; other weights are the last model's.

    Args:
        models: a list of Keras models with the same weights.

    Returns:
        A new `keras.Model` (a copy of the last one with averaged weights).

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> models = [keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)]) for _ in range(3)]
    >>> for model, value in zip(models, (1.0, 2.0, 6.0)):
    ...     model.set_weights([np.full((1, 1), value, "float32")])
    >>> soup = keras_transfer.robust_fine_tuning.uniform_soup(models)
    >>> float(soup.get_weights()[0][0, 0])
    3.0
    """
    models = _weights.check_models("models", models)
    return _weights.combine(models, [1.0 / len(models)] * len(models))


@keras_transfer_export("keras_transfer.robust_fine_tuning.SoupResult")
@dataclasses.dataclass
class SoupResult:
    """What `greedy_soup` made: the soup, the ingredients kept (indices into `models`), scores on validation."""

    model: object
    ingredients: list
    score: float
    ingredient_scores: list


@keras_transfer_export("keras_transfer.robust_fine_tuning.greedy_soup")
def greedy_soup(models, validation_data, *, batch_size=256):
    """The greedy soup of Wortsman et al. 2022: add an ingredient only if validation accuracy does not drop.

    The models are sorted by their own validation accuracy; the soup starts
    as the best one, and each next model joins (the soup becomes the uniform
    average of its ingredients) when the soup's accuracy with it is at least
    the accuracy without it. By construction the soup is never worse on
    `validation_data` than its best ingredient (report test accuracy on
    other data).

    Args:
        models: a list of Keras models fine-tuned from one initialisation.
        validation_data: `(x_val, y_val)`, integer (or one-hot) labels.
        batch_size: batch size of the predictions. Defaults to `256`.

    Returns:
        A `SoupResult`: `model` (new), `ingredients` (indices into `models`,
        in the order they joined), `score` (the soup's validation accuracy),
        `ingredient_scores` (each model's own).

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> models = [keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, use_bias=False)]) for _ in range(3)]
    >>> for model, value in zip(models, (-3.0, 1.0, 2.0)):
    ...     model.set_weights([np.array([[value, -value]], "float32")])
    >>> x, y = np.array([[1.0], [-1.0]]), np.array([0, 1])
    >>> soup = keras_transfer.robust_fine_tuning.greedy_soup(models, (x, y))
    >>> soup.ingredients, soup.score
    ([1, 2], 1.0)
    """
    models = _weights.check_models("models", models)
    validation_data = _validation.check_validation("validation_data", validation_data)
    _checks.check_int("batch_size", batch_size, minimum=1)
    own = [_validation.accuracy(model, validation_data, batch_size) for model in models]
    order = sorted(range(len(models)), key=lambda i: (-own[i], i))
    ingredients, score = [order[0]], own[order[0]]
    soup = _weights.copy_model(models[order[0]])
    trial = None
    for index in order[1:]:
        candidate = ingredients + [index]
        trial = _weights.combine([models[i] for i in candidate], [1.0 / len(candidate)] * len(candidate), into=trial)
        trial_score = _validation.accuracy(trial, validation_data, batch_size)
        if trial_score >= score:
            ingredients, score = candidate, trial_score
            soup, trial = trial, soup
    return SoupResult(soup, ingredients, score, own)
