"""The `"lp_ft"`, `"wise_ft"` and `"model_soup"` strategies: fine-tuning that keeps what the backbone knew."""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.robust_fine_tuning import _weights
from keras_transfer.robust_fine_tuning.interpolation import DEFAULT_ALPHAS
from keras_transfer.robust_fine_tuning.interpolation import WiseFTResult
from keras_transfer.robust_fine_tuning.interpolation import check_alphas
from keras_transfer.robust_fine_tuning.interpolation import wise_ft as wise_ft_sweep
from keras_transfer.robust_fine_tuning.lp_ft import LPFTResult
from keras_transfer.robust_fine_tuning.lp_ft import check_options
from keras_transfer.robust_fine_tuning.lp_ft import fine_tune_all
from keras_transfer.robust_fine_tuning.lp_ft import linear_probe
from keras_transfer.robust_fine_tuning.soups import SoupResult
from keras_transfer.robust_fine_tuning.soups import greedy_soup
from keras_transfer.robust_fine_tuning.soups import uniform_soup
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy

HELD_OUT = 0.2


def _split(context):
    """`(train, validation)`: the given `validation_data`, else a stratified fifth of `data`."""
    if context.validation_data is not None:
        return context.data, context.validation_data
    from sklearn.model_selection import train_test_split

    x, y = context.data
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=HELD_OUT, stratify=stratify, random_state=context.seed or 0)
    return (x_train, y_train), (x_val, y_val)


def _probe(context, probe_epochs, patience, probe_lr, lr_mult):
    check_options(epochs=context.epochs, probe_epochs=probe_epochs, patience=patience, probe_lr=probe_lr,
                  base_lr=context.learning_rate, lr_mult=lr_mult)
    (x, y), validation = _split(context)
    model = context.classifier(freeze=True)
    probe = linear_probe(
        model, x, y, validation_data=validation, epochs=probe_epochs, patience=patience, learning_rate=probe_lr,
        batch_size=context.batch_size, verbose=context.verbose, jit_compile=context.jit_compile,
    )
    return model, (x, y), validation, probe


def _fine_tune(context, model, data, validation, lr_mult, learning_rate=None):
    return fine_tune_all(
        model, *data, validation_data=validation, epochs=context.epochs, base_lr=learning_rate or context.learning_rate,
        lr_mult=lr_mult, batch_size=context.batch_size, callbacks=list(context.callbacks), verbose=context.verbose,
        jit_compile=context.jit_compile,
    )


def lp_ft(context, *, probe_epochs=100, patience=5, probe_lr=1e-2, lr_mult=1.0):
    """Linear probe to convergence (early stopping on validation loss), then everything at one small rate."""
    model, data, validation, probe = _probe(context, probe_epochs, patience, probe_lr, lr_mult)
    history = _fine_tune(context, model, data, validation, lr_mult)
    return model, history, {"probe_history": probe, "probe_epochs": probe.best_epoch + 1}


def wise_ft(context, *, alphas=None, probe_epochs=100, patience=5, probe_lr=1e-2, lr_mult=1.0):
    """LP-FT, then the interpolation between the probed and the fine-tuned weights chosen on validation."""
    alphas = DEFAULT_ALPHAS if alphas is None else check_alphas(alphas)  # before any training
    model, data, validation, probe = _probe(context, probe_epochs, patience, probe_lr, lr_mult)
    initial = _weights.copy_model(model)
    history = _fine_tune(context, model, data, validation, lr_mult)
    sweep = wise_ft_sweep(initial, model, validation, alphas=alphas)
    details = {"probe_history": probe, "initial": initial, "fine_tuned": model, "alpha": sweep.alpha, "scores": sweep.scores}
    return sweep.model, history, details


def model_soup(context, *, ingredients=4, rate_factors=(1.0, 0.5, 2.0, 0.25), recipe="greedy",
               probe_epochs=100, patience=5, probe_lr=1e-2, lr_mult=1.0):
    """Fine-tunes `ingredients` copies of one linear-probed model (rates x `rate_factors`, own seeds) and soups them."""
    ingredients = _checks.check_int("ingredients", ingredients, minimum=2)
    _checks.check_choice("recipe", recipe, ("greedy", "uniform"))
    factors = [_checks.check_float("rate_factors", f, minimum=0.0, exclusive_minimum=True) for f in rate_factors]
    if not factors:
        raise _checks.invalid("rate_factors", "at least one positive float", rate_factors)
    probed, data, validation, probe = _probe(context, probe_epochs, patience, probe_lr, lr_mult)
    models, histories = [], []
    for i in range(ingredients):
        keras.utils.set_random_seed((context.seed or 0) * 1000 + i)
        model = _weights.copy_model(probed)
        histories.append(_fine_tune(context, model, data, validation, lr_mult, context.learning_rate * factors[i % len(factors)]))
        models.append(model)
    if recipe == "uniform":
        return uniform_soup(models), histories[0], {"ingredients": models, "histories": histories, "probe_history": probe}
    soup = greedy_soup(models, validation)
    details = {"ingredients": models, "histories": histories, "kept": soup.ingredients,
               "score": soup.score, "ingredient_scores": soup.ingredient_scores, "probe_history": probe}
    return soup.model, histories[soup.ingredients[0]], details


KUMAR = 'Kumar et al., "Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution" (LP-FT), ICLR 2022'
PROBE_OPTIONS = {"probe_epochs": 100, "patience": 5, "probe_lr": 1e-2, "lr_mult": 1.0}

register_strategy(Strategy(
    "lp_ft", lp_ft, paper=KUMAR,
    when="A good pretrained backbone and a target that may shift: converge the head first so fine-tuning distorts less.",
    options=PROBE_OPTIONS, learning_rate=1e-4, page="robust_fine_tuning.md", section="lp_ft", builds=(LPFTResult,),
))
register_strategy(Strategy(
    "wise_ft", wise_ft,
    paper='Wortsman et al., "Robust fine-tuning of zero-shot models" (WiSE-FT), CVPR 2022',
    when="Fine-tuning that loses robustness to shift: keep a point between the probed and the fine-tuned weights.",
    options={"alphas": None, **PROBE_OPTIONS}, learning_rate=1e-4, page="robust_fine_tuning.md", section="wise_ft", builds=(WiseFTResult,),
))
register_strategy(Strategy(
    "model_soup", model_soup,
    paper='Wortsman et al., "Model soups: averaging weights of multiple fine-tuned models improves accuracy '
          'without increasing inference time", ICML 2022',
    when="Time for several fine-tuning runs: average their weights (greedy on validation) for one model at no inference cost.",
    options={"ingredients": 4, "rate_factors": (1.0, 0.5, 2.0, 0.25), "recipe": "greedy", **PROBE_OPTIONS},
    learning_rate=1e-4, page="robust_fine_tuning.md", section="model_soup", builds=(SoupResult,),
))
