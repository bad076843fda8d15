"""`fine_tune`: the one-call recipe (head first, then everything, with discriminative rates)."""

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.fine_tuning.discriminative_lr import DiscriminativeLR
from keras_transfer.fine_tuning.freeze_schedule import FreezeSchedule
from keras_transfer.data import checks


def default_loss(model):
    """A classification loss that matches the model's output activation."""
    layer = model.layers[-1]
    activation = getattr(layer, "activation", None)
    units = model.output_shape[-1]
    if activation is keras.activations.sigmoid or units == 1:
        return keras.losses.BinaryCrossentropy(from_logits=activation is not keras.activations.sigmoid)
    from_logits = activation is not keras.activations.softmax
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)


@keras_transfer_export("keras_transfer.fine_tune")
def fine_tune(
    model,
    x,
    y=None,
    *,
    epochs=4,
    freeze_epochs=1,
    base_lr=2e-3,
    lr_mult=100.0,
    gradual=False,
    train_batchnorm=False,
    optimizer=None,
    loss=None,
    metrics=("accuracy",),
    jit_compile="auto",
    callbacks=None,
    **fit_kwargs,
):
    """Fine-tunes a transfer model in one call, like fastai's `fine_tune`.

    Trains the head alone for `freeze_epochs` epochs, then unfreezes the whole
    backbone (or one group per epoch with `gradual=True`) and trains `epochs`
    more epochs with discriminative learning rates spread from
    `base_lr / lr_mult` (first group) to `base_lr` (head). It is one
    `model.fit` with a `FreezeSchedule` and a `DiscriminativeLR`.

    Args:
        model: a model with layer groups (e.g. from `build_classifier`).
        x: training data, as for `model.fit`.
        y: targets, as for `model.fit` (`None` for a dataset).
        epochs: epochs after unfreezing. Defaults to 4.
        freeze_epochs: epochs of head-only training first. Defaults to 1.
        base_lr: the head's learning rate. Defaults to 2e-3.
        lr_mult: ratio between the head's rate and the first group's.
        gradual: unfreeze one group per epoch from the head down instead of
            all at once.
        train_batchnorm: let BatchNorm of unfrozen groups train.
        optimizer: optimizer for `compile` (default: Adam). The model is
            (re)compiled when this is given or the model is not compiled yet.
        loss: loss for `compile` (default: sparse categorical cross-entropy,
            or binary for a one-unit output, `from_logits` from the output).
        metrics: metrics for `compile`. Defaults to `("accuracy",)`.
        jit_compile: for `compile`. Defaults to `"auto"`.
        callbacks: extra callbacks.
        **fit_kwargs: passed to `model.fit` (`batch_size`, `validation_data`...).

    Returns:
        The `keras.callbacks.History` of the single `fit`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 2, weights=None, input_shape=(32, 32, 3))
    >>> history = keras_transfer.fine_tune(
    ...     model, np.zeros((4, 32, 32, 3)), np.array([0, 1, 0, 1]),
    ...     epochs=1, freeze_epochs=1, verbose=0)
    >>> history.history["freeze_stage"]
    [0.0, 1.0]
    """
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model", model, error=TypeError)
    epochs = _checks.check_int("epochs", epochs, minimum=1)
    freeze_epochs = _checks.check_int("freeze_epochs", freeze_epochs, minimum=0)
    base_lr = _checks.check_float("base_lr", base_lr, minimum=0.0, exclusive_minimum=True)
    lr_mult = _checks.check_float("lr_mult", lr_mult, minimum=1.0)
    if "epochs" in fit_kwargs or "initial_epoch" in fit_kwargs and fit_kwargs["initial_epoch"] < 0:
        raise ValueError("Pass `epochs` (after unfreezing) and `freeze_epochs` to fine_tune, not to fit.")
    if not isinstance(gradual, bool):
        raise _checks.invalid("gradual", "a bool", gradual, error=TypeError)
    checks.check_dataset_not_empty("x", x)
    recompile = optimizer is not None or not getattr(model, "compiled", False)
    chosen_loss = loss if loss is not None else (default_loss(model) if recompile else model.loss)
    checks.check_training_arrays(model, x, y, kind=checks.loss_label_kind(chosen_loss))
    checks.check_validation_data(model, fit_kwargs.get("validation_data"), kind=checks.loss_label_kind(chosen_loss))
    if recompile:
        model.compile(
            optimizer=optimizer if optimizer is not None else keras.optimizers.Adam(base_lr),
            loss=chosen_loss,
            metrics=list(metrics) if metrics else None,
            jit_compile=jit_compile,
        )
    if gradual:
        schedule = FreezeSchedule.gradual(every=1, start=freeze_epochs, train_batchnorm=train_batchnorm)
    else:
        schedule = FreezeSchedule({freeze_epochs: "all"}, train_batchnorm=train_batchnorm)
    rates = DiscriminativeLR(lr_range=(base_lr / lr_mult, base_lr))
    return model.fit(
        x,
        y,
        epochs=freeze_epochs + epochs,
        callbacks=[schedule, rates, *(callbacks or [])],
        **fit_kwargs,
    )
