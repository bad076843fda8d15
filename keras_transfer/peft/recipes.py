"""The parameter-efficient strategies: frozen pretrained weights, a few new ones trained."""

import math

import keras

from keras_transfer.fine_tuning.recipes import MAX_AUTO_EPOCHS
from keras_transfer.fine_tuning.recipes import MIN_STEPS
from keras_transfer.fine_tuning.recipes import PATIENCE
from keras_transfer.peft.adapter import BottleneckAdapter
from keras_transfer.peft.adapters import add_adapters
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


# === Adapters (Houlsby et al. 2019) ===
def adapters(context, *, reduction_factor=16, where="auto", activation="relu"):
    """Bottleneck adapters after each backbone stage (`add_adapters`); they and the head train.

    Without `epochs`, as `fine_tune`: at least `MIN_STEPS` steps on small data
    and, with `validation_data`, early stopping on the validation loss.
    """
    model = add_adapters(
        context.classifier(freeze=True), reduction_factor=reduction_factor, where=where, activation=activation
    )
    context.compile(model, loss="sparse_categorical_crossentropy")
    x, y = context.data
    kwargs = context.fit_kwargs()
    if not context.epochs_given:
        kwargs["epochs"] = max(context.epochs, min(MAX_AUTO_EPOCHS, math.ceil(MIN_STEPS / math.ceil(len(x) / context.batch_size))))
        if context.validation_data is not None:
            kwargs["callbacks"].append(
                keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
            )
    history = model.fit(x, y, **kwargs)
    return model, history, {}


register_strategy(Strategy(
    "adapters", adapters, learning_rate=1e-2,
    paper='Houlsby et al., "Parameter-Efficient Transfer Learning for NLP", ICML 2019',
    when="A pretrained backbone kept frozen and shared between tasks: train small bottleneck layers inside it and a "
    "head (a few % of the weights); more than a head alone can learn, at a fraction of fine-tuning's memory.",
    options={"reduction_factor": 16, "where": "auto", "activation": "relu"}, page="peft.md", section="adapters",
    builds=(BottleneckAdapter,),
))
