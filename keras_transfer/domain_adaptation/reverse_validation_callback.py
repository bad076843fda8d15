"""`ReverseValidation`: the reverse-validation score of the model at each epoch end, for `EarlyStopping` and `ModelCheckpoint`."""

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation.reverse_validation import METRICS
from keras_transfer.domain_adaptation.reverse_validation import check_arguments
from keras_transfer.domain_adaptation.reverse_validation import pseudo_labels
from keras_transfer.domain_adaptation.reverse_validation import score
from keras_transfer.domain_adaptation.reverse_validation import train_reverse


@keras_transfer_export("keras_transfer.callbacks.ReverseValidation")
class ReverseValidation(keras.callbacks.Callback):
    """Logs the reverse-validation score of the model being trained, every `frequency` epochs.

    At the end of an epoch the model labels the target inputs, a reverse
    model is trained with `train` on those pseudo-labels (the source inputs as
    its unlabelled domain) and scored on held-out labelled source examples:
    `keras_transfer.domain_adaptation.reverse_validation`, which describes the
    arguments. The score is written into the epoch's logs under `name`, so
    `keras.callbacks.ModelCheckpoint(monitor=name, mode="max",
    save_best_only=True)` and `EarlyStopping(monitor=name, mode="max")` choose
    epochs on it without target labels (give `mode`: Keras infers the
    direction of its own metrics only; `"min"` for the loss). Put this
    callback *before* them in the `callbacks` list.

    Each logged epoch trains one more model: set `frequency` so that the
    total cost is acceptable (on skipped epochs nothing is logged, and
    `ModelCheckpoint` warns and skips them). Training the reverse model draws
    from Keras's global random state, so a run with this callback draws other
    initial weights for later models than one without.

    Args:
        train: a function `train(source, target) -> model` or a registered
            domain adaptation strategy name, as for `reverse_validation`.
        source: the source inputs the model trains on (`x_s` or `(x_s, y_s)`).
        target: the unlabelled target inputs.
        validation_data: `(x_val, y_val)` held-out labelled source examples.
        backbone: with a strategy name, the backbone of the reverse model.
        metric: `"accuracy"` (default) or `"sparse_categorical_crossentropy"`.
        name: the log key. Defaults to `"val_reverse_accuracy"` (or
            `"val_reverse_loss"`).
        frequency: score every `frequency` epochs (the last of each block:
            epochs `frequency`, `2 * frequency`, ...). Defaults to `1`.
        batch_size: batch size of `predict`. Defaults to `256`.
        **options: with a strategy name, more arguments of
            `keras_transfer.transfer` for the reverse model.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> x_s = rng.normal(size=(64, 2)).astype("float32")
    >>> y_s = (x_s[:, 1] > 0).astype("int64")
    >>> def train(source, target):
    ...     reverse = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    ...     reverse.compile("adam", "sparse_categorical_crossentropy")
    ...     reverse.fit(*source, epochs=2, verbose=0)
    ...     return reverse
    >>> model = train((x_s[:48], y_s[:48]), None)
    >>> check = keras_transfer.callbacks.ReverseValidation(
    ...     train, source=x_s[:48], target=x_s + 1.0, validation_data=(x_s[48:], y_s[48:]))
    >>> stop = keras.callbacks.EarlyStopping(monitor="val_reverse_accuracy", mode="max", patience=1)
    >>> history = model.fit(x_s[:48], y_s[:48], epochs=2, verbose=0, callbacks=[check, stop])
    >>> len(history.history["val_reverse_accuracy"])
    2

    Reference:
        Zhong et al., "Cross Validation Framework to Choose amongst Models
        and Datasets for Transfer Learning", ECML PKDD 2010; Ganin et al.,
        "Domain-Adversarial Training of Neural Networks", JMLR 2016.
    """

    def __init__(self, train, *, source, target, validation_data, backbone=None, metric="accuracy", name=None,
                 frequency=1, batch_size=256, **options):
        super().__init__()
        self.metric = _checks.check_choice("metric", metric, METRICS)
        self.batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
        self.frequency = _checks.check_int("frequency", frequency, minimum=1)
        self.train, self.x_source, self.x_target, self.x_val, self.y_val = check_arguments(
            train, source, target, validation_data, backbone, options)
        self.backbone, self.options = backbone, dict(options)
        self.name = name if name is not None else ("val_reverse_accuracy" if self.metric == "accuracy"
                                                   else "val_reverse_loss")
        if not isinstance(self.name, str) or not self.name:
            raise _checks.invalid("name", "a non-empty string (the log key)", name, error=TypeError)
        self.reverse_model = None  # the last reverse model trained

    def value(self):
        """The reverse-validation score of the model as it is now."""
        labels, num_classes = pseudo_labels(self.model, self.x_target, self.batch_size)
        self.reverse_model, _ = train_reverse(self.train, (self.x_target, labels), self.x_source, num_classes,
                                              self.backbone, self.options)
        return score(self.reverse_model, self.x_val, self.y_val, self.metric, self.batch_size)[0]

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and (epoch + 1) % self.frequency == 0:
            logs[self.name] = self.value()
