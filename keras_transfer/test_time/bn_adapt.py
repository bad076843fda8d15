"""`BNAdapt`: predict with the BatchNormalization statistics of each test batch."""

import keras

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.test_time import batch_statistics


@keras_transfer_export("keras_transfer.test_time.BNAdapt")
class BNAdapt(TransferModel, keras.Model):
    """A trained classifier predicting with test-batch normalization statistics.

    Under a covariate shift (noise, blur, another camera) the source
    statistics of the BatchNormalization layers no longer centre and scale
    the target features. BNAdapt replaces them, for each batch it predicts,
    by `prior * source + (1 - prior) * batch` statistics (Schneider et al.
    2020 use `prior = N / (N + n)` for a source "pseudo sample size" `N` and
    a batch of `n`). No gradient step, no labels, no source data.

    It works on a copy: the given model, its class, weights and moving
    statistics stay as they were. Predict with batches of the target domain
    only, and large enough: each batch's statistics replace the source
    ones (see the docs page for the batch sizes that help and hurt). A batch
    with a single value per channel keeps the source statistics.

    Args:
        model: a trained Keras classifier with BatchNormalization layers.
        prior: float in [0, 1], weight of the source statistics. `0.0`
            (the default) uses the test-batch statistics alone; `1.0` is the
            source model.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...                           keras.layers.BatchNormalization(), keras.layers.Dense(3, activation="softmax")])
    >>> adapted = keras_transfer.test_time.BNAdapt(model, prior=0.2)
    >>> adapted.predict(np.ones((16, 4), "float32"), verbose=0).shape
    (16, 3)

    Reference:
        Schneider et al., "Improving robustness against common corruptions
        by covariate shift adaptation", NeurIPS 2020. Nado et al.,
        "Evaluating Prediction-Time Batch Normalization for Robustness under
        Covariate Shift", 2020.
    """

    _nested_config = ("model",)

    def __init__(self, model, prior=0.0, **kwargs):
        super().__init__(**kwargs)
        self.prior = batch_statistics.check_prior(prior)
        if isinstance(model, keras.Model) and not batch_statistics.batch_normalizations(model):
            raise batch_statistics.no_normalization_error(
                "model", model, "BNAdapt replaces the statistics of BatchNormalization layers"
            )
        self.adapted = batch_statistics.adapted_copy(model, self.prior)
        self.built = True

    def call(self, inputs, training=False):
        return self.adapted(inputs, training=False)

    def get_config(self):
        config = super().get_config()
        config.update({"model": keras.saving.serialize_keras_object(self.adapted), "prior": self.prior})
        return config
