"""LP-FT: a linear probe trained to convergence, then full fine-tuning from it."""

import dataclasses

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks
from keras_transfer.feature_extraction.fit_classifier import fit_classifier
from keras_transfer.fine_tuning.fine_tune import default_loss
from keras_transfer.fine_tuning.fine_tune import fine_tune
from keras_transfer.groups.freezing import set_trainable
from keras_transfer.groups.naming import layer_groups


@keras_transfer_export("keras_transfer.robust_fine_tuning.LPFTResult")
@dataclasses.dataclass
class LPFTResult:
    """The two stages of `lp_ft`: `probe_history`, `history` (fine-tuning), `probe_epochs` kept."""

    probe_history: object
    history: object
    probe_epochs: int


@keras_transfer_export("keras_transfer.robust_fine_tuning.lp_ft")
def lp_ft(
    model,
    x,
    y,
    *,
    validation_data,
    epochs=5,
    probe_epochs=100,
    patience=5,
    probe_lr=1e-2,
    base_lr=1e-4,
    lr_mult=1.0,
    batch_size=32,
    metrics=("accuracy",),
    callbacks=None,
    verbose=0,
    jit_compile="auto",
):
    """LP-FT (Kumar et al. 2022): linear probe until validation loss stops improving, then fine-tune everything.

    Fine-tuning from a random head distorts the pretrained features while the
    head is still wrong; training the head first, to convergence, and only
    then every layer keeps more of what the backbone knew (the paper's gain
    is largest out of distribution). Stage 1 freezes every group but
    `"head"` and fits it (`linear_probe`: `fit_classifier`, the frozen
    backbone runs once, with `EarlyStopping(monitor="val_loss",
    restore_best_weights=True)`): the convergence criterion, not a fixed
    epoch count. Stage 2 is
    `keras_transfer.fine_tune(..., freeze_epochs=0)`: all groups train, at
    `base_lr` (the same rate for every group unless `lr_mult > 1`).

    `fine_tune(freeze_epochs=k)` alone trains the head for a fixed `k`
    epochs inside one `fit`; it is LP-FT only when `k` happens to be the
    epoch where the probe converges.

    Args:
        model: a model with layer groups ending in `"head"` (from
            `keras_transfer.build_classifier`).
        x: training inputs (arrays).
        y: integer labels.
        validation_data: `(x_val, y_val)`, required: the probe stops on its
            loss.
        epochs: fine-tuning epochs (stage 2). Defaults to `5`.
        probe_epochs: the most epochs of the probe. Defaults to `100`.
        patience: epochs without a better validation loss before the probe
            stops. Defaults to `5`.
        probe_lr: Adam's rate for the probe. Defaults to `1e-2`.
        base_lr: Adam's rate for fine-tuning. Defaults to `1e-4`.
        lr_mult: ratio between the head's rate and the first group's in
            stage 2 (`1.0`: one rate, as in the paper). Defaults to `1.0`.
        batch_size: batch size of both stages. Defaults to `32`.
        metrics: compiled metrics. Defaults to `("accuracy",)`.
        callbacks: extra callbacks of stage 2.
        verbose: `fit`'s verbosity. Defaults to `0`.
        jit_compile: for `compile`. Defaults to `"auto"`.

    Returns:
        An `LPFTResult`; the model is trained in place.

    Example:

    >>> import numpy as np, keras_transfer
    >>> model = keras_transfer.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3))
    >>> x, y = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)), np.arange(8) % 2
    >>> result = keras_transfer.robust_fine_tuning.lp_ft(
    ...     model, x, y, validation_data=(x, y), epochs=1, probe_epochs=3, patience=1)
    >>> 1 <= result.probe_epochs <= 3, len(result.history.history["loss"])
    (True, 1)
    """
    check_options(epochs=epochs, probe_epochs=probe_epochs, patience=patience, probe_lr=probe_lr, base_lr=base_lr,
                  lr_mult=lr_mult)  # all of them before the probe trains
    probe = linear_probe(
        model, x, y, validation_data=validation_data, epochs=probe_epochs, patience=patience, learning_rate=probe_lr,
        batch_size=batch_size, metrics=metrics, verbose=verbose, jit_compile=jit_compile,
    )
    history = fine_tune_all(
        model, x, y, validation_data=validation_data, epochs=epochs, base_lr=base_lr, lr_mult=lr_mult,
        batch_size=batch_size, metrics=metrics, callbacks=callbacks, verbose=verbose, jit_compile=jit_compile,
    )
    return LPFTResult(probe, history, probe.best_epoch + 1)


def check_options(*, epochs, probe_epochs, patience, probe_lr, base_lr, lr_mult):
    """The LP-FT settings, checked under their own names (before any training)."""
    _checks.check_int("epochs", epochs, minimum=1)
    _checks.check_int("probe_epochs", probe_epochs, minimum=1)
    _checks.check_int("patience", patience, minimum=0)
    _checks.check_float("probe_lr", probe_lr, minimum=0.0, exclusive_minimum=True)
    _checks.check_float("base_lr", base_lr, minimum=0.0, exclusive_minimum=True)
    _checks.check_float("lr_mult", lr_mult, minimum=1.0)


def fine_tune_all(model, x, y, *, validation_data, epochs, base_lr, lr_mult, batch_size, metrics=("accuracy",),
                  callbacks=None, verbose=0, jit_compile="auto"):
    """Stage 2 of LP-FT: every group trains from the first epoch (`fine_tune(freeze_epochs=0)`), Adam at `base_lr`."""
    return fine_tune(
        model, x, y, epochs=epochs, freeze_epochs=0, base_lr=base_lr, lr_mult=lr_mult,
        optimizer=keras.optimizers.Adam(base_lr), loss=model.loss, metrics=metrics, jit_compile=jit_compile,
        callbacks=callbacks, batch_size=batch_size, validation_data=validation_data, verbose=verbose,
    )


@keras_transfer_export("keras_transfer.robust_fine_tuning.linear_probe")
def linear_probe(
    model, x, y, *, validation_data, epochs=100, patience=5, learning_rate=1e-2, batch_size=32,
    metrics=("accuracy",), verbose=0, jit_compile="auto",
):
    """Stage 1 of LP-FT: only the head trains, until the validation loss stops improving.

    Freezes every layer group but `"head"`, compiles Adam, and runs
    `fit_classifier` (the frozen backbone runs once, the head trains on the
    features) with `EarlyStopping(monitor="val_loss", patience=patience,
    restore_best_weights=True)`. The model keeps the head of its best epoch.

    Args:
        model: a model with layer groups ending in `"head"`.
        x: training inputs (arrays).
        y: integer labels.
        validation_data: `(x_val, y_val)`, required.
        epochs: the most epochs. Defaults to `100`.
        patience: epochs without a better validation loss before stopping.
            Defaults to `5`.
        learning_rate: Adam's rate. Defaults to `1e-2`.
        batch_size: batch size. Defaults to `32`.
        metrics: compiled metrics. Defaults to `("accuracy",)`.
        verbose: `fit`'s verbosity. Defaults to `0`.
        jit_compile: for `compile`. Defaults to `"auto"`.

    Returns:
        The `keras.callbacks.History` of the probe, with `best_epoch` (the
        index of the epoch whose head was kept) set.

    Example:

    >>> import numpy as np, keras_transfer
    >>> model = keras_transfer.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3))
    >>> x, y = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)), np.arange(8) % 2
    >>> history = keras_transfer.robust_fine_tuning.linear_probe(
    ...     model, x, y, validation_data=(x, y), epochs=2, patience=1)
    >>> history.best_epoch in (0, 1)
    True
    """
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model", model, error=TypeError)
    if "head" not in layer_groups(model):
        raise _checks.invalid("model", "a model with a 'head' layer group (from build_classifier)", model.name)
    epochs = _checks.check_int("epochs", epochs, minimum=1)
    patience = _checks.check_int("patience", patience, minimum=0)
    learning_rate = _checks.check_float("learning_rate", learning_rate, minimum=0.0, exclusive_minimum=True)
    if validation_data is None:
        raise _checks.invalid("validation_data", "(x_val, y_val): the linear probe stops when its loss stops improving", None)
    loss = default_loss(model)
    checks.check_training_arrays(model, x, y, kind=checks.loss_label_kind(loss))
    checks.check_validation_data(model, validation_data, kind=checks.loss_label_kind(loss))
    set_trainable(model, ["head"])
    model.compile(keras.optimizers.Adam(learning_rate), loss, metrics=list(metrics) or None, jit_compile=jit_compile)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = fit_classifier(
        model, x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
        callbacks=[stop], verbose=verbose,
    )
    losses = history.history["val_loss"]
    history.best_epoch = losses.index(min(losses))
    return history
