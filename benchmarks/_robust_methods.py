"""Methods and test sets of `benchmarks/robust_fine_tuning.py` (LP-FT, WiSE-FT, soups, EMA vs plain fine-tuning).

Every method starts from the same target classifier (the seed's source trunk
+ a new 5-way head, `keras.utils.set_random_seed(seed)` before building it,
so the initial head is the same for every method of a seed) and fine-tunes
every layer with Adam at one rate (`lr_mult=1`) for `epochs` epochs of batch
32 after its head stage.
"""

import os
import time

import numpy as np

SOUP_FACTORS = (1.0, 0.5, 2.0, 0.25)
CORRUPTIONS = ("gaussian_noise", "defocus_blur", "fog", "pixelate")


def test_sets(x_test, y_test, *, corruptions=CORRUPTIONS, severity=3, limit=None):
    """`{name: (x, y)}`: target classes 5-9 of the test split (relabelled 0-4), clean, Fashion-MNIST-M, corrupted.

    The same images (the first `limit` target test images in the split's
    order, or all 5,000) for every set, seed and method. Fashion-MNIST-M
    (RGB, 28x28x3) is taken to grayscale by the channel mean, since the
    pretrained trunk reads one channel.
    """
    import keras_transfer as kt

    index = np.flatnonzero(y_test >= 5)[:limit]
    y = y_test[index] - 5
    sets = {"id": (x_test[index], y)}
    cache = os.path.join(os.path.expanduser("~"), ".cache", "keras_transfer")
    _, (xm, ym) = kt.data.load_fashion_mnist_m(seed=0, cache_dir=cache)
    assert np.array_equal(ym[index].astype("int64") - 5, y)
    sets["fmnist_m"] = (xm[index].astype("float32").mean(axis=-1, keepdims=True), y)
    clean = x_test[index, :, :, 0].astype("uint8")
    for name in corruptions:
        sets[name] = (kt.data.corrupt(clean, name, severity, seed=0)[..., None].astype("float32"), y)
    return sets


class Evaluator:
    """Accuracy on every test set, through one model object (weights copied in: one traced predict)."""

    def __init__(self, template, sets, validation):
        from keras_transfer.robust_fine_tuning._weights import copy_model

        self.model = copy_model(template)
        self.names = list(sets)
        self.x = np.concatenate([sets[n][0] for n in self.names] + [validation[0]])
        self.y = np.concatenate([sets[n][1] for n in self.names] + [validation[1]])
        self.sizes = [len(sets[n][1]) for n in self.names] + [len(validation[1])]

    def __call__(self, model):
        self.model.set_weights(model.get_weights())
        hit = self.model.predict(self.x, batch_size=1000, verbose=0).argmax(axis=1) == self.y
        parts = np.split(hit, np.cumsum(self.sizes)[:-1])
        scores = {name: float(part.mean()) for name, part in zip(self.names + ["val"], parts)}
        shifted = [n for n in self.names if n not in ("id", "fmnist_m")]
        scores["corrupted_mean"] = float(np.mean([scores[n] for n in shifted]))
        return scores


def new_classifier(source, seed):
    import keras

    import keras_transfer as kt
    from keras_transfer.cli.demo import small_cnn

    keras.utils.set_random_seed(seed)
    return kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit",
                               weights=source.backbone, freeze=True)


def _keep_start():
    """A callback that keeps the weights the model has when `fit` begins (in `lp_ft`'s stage 2: the probed ones)."""
    import keras

    class KeepStart(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights = self.model.get_weights()
            self.time = time.time()

    return KeepStart()


def plain(source, data, *, seed, rate, epochs, freeze_epochs, ema=None):
    """`kt.fine_tune(freeze_epochs=k)`: the head alone for k epochs at `rate`, then everything, in one fit.

    `ema`: `None`, or the momentum of `Adam(use_ema=True)` (checked against our own average of the weights).
    """
    import keras

    import keras_transfer as kt

    (x, y), validation = data
    start = time.time()
    model = new_classifier(source, seed)
    optimizer = keras.optimizers.Adam(rate, use_ema=True, ema_momentum=ema) if ema else keras.optimizers.Adam(rate)
    reference = _reference_ema(ema) if ema else None
    history = kt.fine_tune(model, x, y, epochs=epochs, freeze_epochs=freeze_epochs, base_lr=rate, lr_mult=1.0,
                           optimizer=optimizer, validation_data=validation, batch_size=32, verbose=0,
                           callbacks=[reference] if ema else None)
    seconds = time.time() - start
    info = {"head_stage_val": history.history["val_accuracy"][freeze_epochs - 1] if freeze_epochs else None}
    if ema:
        info["ema_check"] = _ema_check(model, reference)
    return model, seconds, info


def _reference_ema(momentum):
    """Our own EMA of every weight after each step (`= weights` after the first), to check the optimizer's."""
    import keras

    class ReferenceEMA(keras.callbacks.Callback):
        average = None

        def on_train_batch_end(self, batch, logs=None):
            weights = self.model.get_weights()
            if self.average is None:
                self.average = [w.astype("float64") for w in weights]
            else:
                self.average = [momentum * a + (1 - momentum) * w for a, w in zip(self.average, weights)]

    return ReferenceEMA()


def _ema_check(model, reference):
    """After fit: max |weight - the optimizer's EMA| (0: the weights became it) and max |weight - our EMA|."""
    optimizer = model.optimizer
    averages = getattr(optimizer, "_model_variables_moving_average", None) or []
    gaps = [float(np.max(np.abs(v.numpy() - a.numpy())))
            for v, a in zip(optimizer._trainable_variables, averages) if a is not None]
    ours = max(float(np.max(np.abs(w - a))) for w, a in zip(model.get_weights(), reference.average))
    scale = max(float(np.max(np.abs(a))) for a in reference.average)
    return {"averaged_variables": len(gaps), "max_gap": max(gaps) if gaps else None,
            "max_gap_reference": ours, "reference_scale": scale}


def lp_ft_family(source, data, evaluate, *, seed, rate, epochs, probe_epochs=100, patience=5):
    """LP, LP-FT, WiSE-FT (alpha on validation, and 0.5) and the soups, from one probe. `{method: (scores, seconds, info)}`."""
    import keras

    from keras_transfer import robust_fine_tuning as rft
    from keras_transfer.robust_fine_tuning._weights import copy_model

    (x, y), validation = data
    out = {}
    start = time.time()
    model = new_classifier(source, seed)
    keep = _keep_start()
    result = rft.lp_ft(model, x, y, validation_data=validation, epochs=epochs, probe_epochs=probe_epochs,
                       patience=patience, probe_lr=1e-2, base_lr=rate, lr_mult=1.0, batch_size=32, callbacks=[keep])
    lp_ft_seconds = time.time() - start
    probe_seconds = keep.time - start
    probed = copy_model(model)
    probed.set_weights(keep.weights)
    probe_info = {"probe_epochs": result.probe_epochs, "probe_epochs_run": len(result.probe_history.history["loss"]),
                  "probe_best_val_loss": float(min(result.probe_history.history["val_loss"]))}
    out["lp"] = (evaluate(probed), probe_seconds, probe_info)
    out["lp_ft"] = (evaluate(model), lp_ft_seconds, probe_info)

    start = time.time()
    sweep = rft.wise_ft(probed, model, validation)
    out["wise_ft"] = (evaluate(sweep.model), lp_ft_seconds + time.time() - start,
                      {"alpha": sweep.alpha, "sweep": {str(a): s for a, s in sweep.scores.items()}})
    start = time.time()
    half = rft.interpolate_weights(probed, model, 0.5)
    out["wise_ft_0.5"] = (evaluate(half), lp_ft_seconds + time.time() - start, {"alpha": 0.5})

    import keras_transfer as kt

    ingredients, seconds = [], []
    for i, factor in enumerate(SOUP_FACTORS):
        begin = time.time()
        keras.utils.set_random_seed(seed * 1000 + i + 1)
        ingredient = copy_model(probed)
        kt.fine_tune(ingredient, x, y, epochs=epochs, freeze_epochs=0, base_lr=rate * factor, lr_mult=1.0,
                     optimizer=keras.optimizers.Adam(rate * factor), batch_size=32, verbose=0)
        ingredients.append(ingredient)
        seconds.append(time.time() - begin)
    base = probe_seconds + sum(seconds)
    begin = time.time()
    uniform = rft.uniform_soup(ingredients)
    out["uniform_soup"] = (evaluate(uniform), base + time.time() - begin, {})
    begin = time.time()
    greedy = rft.greedy_soup(ingredients, validation)
    out["greedy_soup"] = (evaluate(greedy.model), base + time.time() - begin,
                          {"kept": greedy.ingredients, "ingredient_val": greedy.ingredient_scores})
    best = int(np.argmax(greedy.ingredient_scores))  # ties: the first, as greedy_soup orders them
    out["best_ingredient"] = (evaluate(ingredients[best]), probe_seconds + seconds[best],
                              {"index": best, "factor": SOUP_FACTORS[best]})
    return out
