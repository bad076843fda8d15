"""User callbacks set on a full model, seeing its events while only its head trains."""

import keras

_BATCH_HOOKS = (
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_batch_end",
    "on_batch_begin",
)


def acts_on_batches(callbacks):
    return any(
        not getattr(getattr(callback, hook), "_is_default", False) for callback in callbacks or () for hook in _BATCH_HOOKS
    )


def forwarded(callbacks, model):
    """User callbacks, seeing the full `model` while the head trains."""
    if not callbacks:
        return callbacks
    callbacks = list(callbacks)
    cls = _BatchForwarder if acts_on_batches(callbacks) else _EpochForwarder
    return [cls(callbacks, model)]


class _EpochForwarder(keras.callbacks.Callback):
    """Passes the head's `fit` events to callbacks set on the full model."""

    def __init__(self, callbacks, model):
        super().__init__()
        self._full = model
        self._list = keras.callbacks.CallbackList(callbacks, model=model)

    def set_params(self, params):
        super().set_params(params)
        self._list.set_params(params)

    def _after(self):
        if self._full.stop_training and self.model is not None:
            self.model.stop_training = True

    def on_train_begin(self, logs=None):
        self._full.stop_training = False
        self._list.on_train_begin(logs)
        self._after()

    def on_train_end(self, logs=None):
        self._list.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._list.on_epoch_begin(epoch, logs)
        self._after()

    def on_epoch_end(self, epoch, logs=None):
        self._list.on_epoch_end(epoch, logs)
        self._after()

    def on_test_begin(self, logs=None):
        self._list.on_test_begin(logs)

    def on_test_end(self, logs=None):
        self._list.on_test_end(logs)


class _BatchForwarder(_EpochForwarder):
    def on_train_batch_begin(self, batch, logs=None):
        self._list.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._list.on_train_batch_end(batch, logs)
        self._after()

    def on_test_batch_begin(self, batch, logs=None):
        self._list.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._list.on_test_batch_end(batch, logs)
