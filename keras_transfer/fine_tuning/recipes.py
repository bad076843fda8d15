"""The `"fine_tune"` and `"gradual"` strategies: head first, then the backbone with discriminative rates."""

import math

import keras

from keras_transfer import _checks
from keras_transfer.fine_tuning.discriminative_lr import DiscriminativeLR
from keras_transfer.fine_tuning.fine_tune import fine_tune as fine_tune_recipe
from keras_transfer.fine_tuning.freeze_schedule import FreezeSchedule
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


# Without `epochs`, small datasets get at least MIN_STEPS optimizer steps (at most MAX_AUTO_EPOCHS
# epochs) and early stopping on the validation loss with the best weights restored.
MIN_STEPS = 150
MAX_AUTO_EPOCHS = 60
PATIENCE = 5


def _unfreezing(context, gradual, freeze_epochs, lr_mult, train_batchnorm):
    freeze_epochs = _checks.check_int("freeze_epochs", freeze_epochs, minimum=0)
    if context.epochs <= freeze_epochs:
        raise _checks.invalid(
            "epochs", f"more than freeze_epochs={freeze_epochs} (head-only epochs come first, then unfrozen ones)", context.epochs
        )
    model = context.classifier(freeze=True)
    x, y = context.data
    kwargs = context.fit_kwargs()
    kwargs.pop("epochs")
    epochs = context.epochs
    if not context.epochs_given:  # the default: enough steps for small data, stopped by validation loss
        epochs = max(epochs, min(MAX_AUTO_EPOCHS, freeze_epochs + math.ceil(MIN_STEPS / math.ceil(len(x) / context.batch_size))))
        if context.validation_data is not None:
            kwargs["callbacks"] = [*kwargs["callbacks"], keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=PATIENCE, restore_best_weights=True, start_from_epoch=freeze_epochs)]
    history = fine_tune_recipe(
        model, x, y,
        epochs=epochs - freeze_epochs, freeze_epochs=freeze_epochs, base_lr=context.learning_rate,
        lr_mult=lr_mult, gradual=gradual, train_batchnorm=train_batchnorm, jit_compile=context.jit_compile, **kwargs,
    )
    return model, history, {}


def fine_tune(context, *, freeze_epochs=1, lr_mult=100.0, train_batchnorm=False):
    """Head first, then everything with discriminative learning rates (`fine_tune`)."""
    return _unfreezing(context, False, freeze_epochs, lr_mult, train_batchnorm)


def gradual(context, *, freeze_epochs=1, lr_mult=100.0, train_batchnorm=False):
    """Head first, then one more group per epoch from the top (`FreezeSchedule.gradual`)."""
    return _unfreezing(context, True, freeze_epochs, lr_mult, train_batchnorm)


ULMFIT = 'Howard & Ruder, "Universal Language Model Fine-tuning" (ULMFiT), ACL 2018'
UNFREEZING_OPTIONS = {"freeze_epochs": 1, "lr_mult": 100.0, "train_batchnorm": False}

register_strategy(Strategy(
    "fine_tune", fine_tune, paper=ULMFIT,
    when="Hundreds of labels or more: head first, then every layer with smaller rates for deeper groups.",
    options=UNFREEZING_OPTIONS, page="fine_tuning.md", section="fine_tune", builds=(FreezeSchedule, DiscriminativeLR),
))
register_strategy(Strategy(
    "gradual", gradual, paper=ULMFIT,
    when="Fine-tuning that forgets the pretraining too fast: unfreeze one layer group per epoch from the top.",
    options=UNFREEZING_OPTIONS, page="fine_tuning.md", section="gradual", builds=(FreezeSchedule, DiscriminativeLR),
))
