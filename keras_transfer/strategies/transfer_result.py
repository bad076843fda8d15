"""`TransferResult`: what `keras_transfer.transfer` returns."""

from keras_transfer.api_export import keras_transfer_export


@keras_transfer_export("keras_transfer.strategies.TransferResult")
class TransferResult:
    """The trained model and its history; unpacks as `model, history = result`.

    Args:
        model: the trained classifier, a plain Keras model that takes raw
            inputs (save it with `model.save`, export it with
            `keras_transfer.export.export_saved_model`).
        history: the `keras.callbacks.History` of the main training run.
        strategy: the `keras_transfer.strategies.Strategy` that ran.
        details: `{name: object}`: the intermediate objects of the strategy
            (e.g. `"teacher"`, `"pretrain_history"`, `"adaptation_model"`).

    Example:

    >>> import keras, keras_transfer
    >>> result = keras_transfer.strategies.TransferResult(
    ...     "model", keras.callbacks.History(), "fine_tune", {})
    >>> model, history = result
    >>> model
    'model'
    """

    def __init__(self, model, history, strategy, details):
        self.model = model
        self.history = history
        self.strategy = strategy
        self.details = dict(details)

    def __iter__(self):
        return iter((self.model, self.history))

    def __repr__(self):
        name = getattr(self.strategy, "name", self.strategy)
        keys = sorted(getattr(self.history, "history", {}) or {})
        return f"TransferResult(strategy={name!r}, model={getattr(self.model, 'name', self.model)!r}, history keys={keys})"
