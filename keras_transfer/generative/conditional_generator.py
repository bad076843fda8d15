"""`ConditionalVAE`: a reference conditional generator `(z, y_soft) -> x`."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_transfer.models import _inputs
from keras_transfer import _checks
from keras_transfer.models import _replicas
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.data.pipeline import available_memory_bytes
from keras_transfer.feature_extraction.transfer_classifier import _head_dtype
from keras_transfer.data import checks


def one_hot_labels(labels, num_classes):
    """Integer labels `(n,)` / `(n, 1)` to one-hot float32; soft labels pass through."""
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == 2 and labels.shape[-1] == num_classes and num_classes != 1:
        return ops.cast(labels, "float32")
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    return ops.one_hot(labels, num_classes, dtype="float32")


@keras_transfer_export("keras_transfer.generative.ConditionalVAE")
class ConditionalVAE(TransferModel, keras.Model):
    """A small convolutional conditional VAE: train it on a source set, sample `G(z, y)`.

    The reference generator for generative transfer when you have none. Called
    on `[z, y_soft]` it decodes latent vectors `z` (`(batch, latent_dim)`) and
    class probability vectors `y_soft` (`(batch, num_classes)`) into images
    in `value_range`, so it *is* the generator that
    `keras_transfer.layers.PseudoSSLGenerator` and
    `keras_transfer.generative.PseudoPretrainer` expect.

    The class embedding is linear and has no bias (`label_embedding`, a
    `Dense(use_bias=False)`): the embedding of a soft label is the mixture of
    the class embeddings, `E(sum_k p_k e_k) = sum_k p_k E(e_k)`, and a one-hot
    soft label gives exactly the sample of its hard label. This is what
    pseudo conditional sampling with soft labels relies on.

    `fit(x, y)` trains the encoder and decoder on images and integer (or
    one-hot) labels by maximising the evidence lower bound: per-pixel binary
    cross-entropy on images scaled to [0, 1] plus `beta` times the KL
    divergence to `N(0, I)`. `validation_data` reports the same losses.

    Bring your own generator: any Keras model (or layer) called as
    `generator([z, y_soft])` with `z` of shape `(batch, latent_dim)` and
    `y_soft` of shape `(batch, num_classes)` (rows sum to one), returning
    images `(batch, height, width, channels)` or flat vectors. Its first input
    gives `latent_dim` (or pass `latent_dim=` to the consumer, or give the
    object a `latent_dim` attribute). A GAN generator whose label embedding is
    an `Embedding` lookup does not take soft labels: replace the lookup by a
    `Dense(use_bias=False)` on the one-hot vector (same weights, transposed
    view) so it does.

    Args:
        image_shape: `(height, width, channels)` of the images; height and
            width must be divisible by 4.
        num_classes: int, number of source classes.
        latent_dim: int, size of `z`. Defaults to `16`.
        filters: `(f1, f2)`, filters of the two stride-2 convolutions of the
            encoder (mirrored in the decoder). Defaults to `(32, 64)`.
        embedding_dim: int, size of the linear label embedding. Defaults to
            `num_classes * 4`.
        hidden_units: int, size of the encoder's dense layer. Defaults to
            `256`.
        value_range: `(low, high)` of the images. Defaults to `(0, 255)`
            (the package's raw-image convention).
        beta: float > 0, weight of the KL term. Defaults to `1.0`.
        seed: int or `None`, seed of the reparameterisation noise (its state
            is saved with the model).

    Call arguments:
        inputs: `[z, y_soft]`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> cvae = keras_transfer.generative.ConditionalVAE((8, 8, 1), num_classes=3, latent_dim=4, seed=0)
    >>> cvae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).uniform(0, 255, (12, 8, 8, 1)).astype("float32")
    >>> history = cvae.fit(x, np.arange(12) % 3, epochs=1, verbose=0)
    >>> cvae.generate([0, 2], seed=1).shape
    (2, 8, 8, 1)
    >>> z = np.zeros((1, 4), "float32")
    >>> hard = cvae.generate([1], z=z)
    >>> soft = cvae.predict([z, np.array([[0.0, 1.0, 0.0]], "float32")], verbose=0)
    >>> bool(np.allclose(hard, soft))
    True

    Reference:
        Sohn et al., "Learning Structured Output Representation using Deep
        Conditional Generative Models", NeurIPS 2015. Yamaguchi et al.,
        "Transfer Learning with Pre-trained Conditional Generative Models",
        Machine Learning 2025 (arXiv:2204.12833).
    """

    def __init__(
        self,
        image_shape,
        num_classes,
        *,
        latent_dim=16,
        filters=(32, 64),
        embedding_dim=None,
        hidden_units=256,
        value_range=(0, 255),
        beta=1.0,
        seed=None,
        **kwargs,
    ):
        image_shape = _check_image_shape(image_shape)
        num_classes = _checks.check_int("num_classes", num_classes, minimum=2)
        latent_dim = _checks.check_int("latent_dim", latent_dim, minimum=1)
        if not isinstance(filters, (tuple, list)) or len(filters) != 2:
            raise _checks.invalid("filters", "a pair of positive ints (f1, f2)", filters, error=TypeError)
        filters = tuple(_checks.check_int("filters", f, minimum=1) for f in filters)
        embedding_dim = num_classes * 4 if embedding_dim is None else embedding_dim
        embedding_dim = _checks.check_int("embedding_dim", embedding_dim, minimum=1)
        hidden_units = _checks.check_int("hidden_units", hidden_units, minimum=1)
        low, high = _inputs.check_value_range("value_range", value_range)
        beta = _checks.check_float("beta", beta, minimum=0.0, exclusive_minimum=True)
        if seed is not None:
            seed = _checks.check_int("seed", seed, minimum=0)
        height, width, channels = image_shape
        out_dtype = _head_dtype()

        # === Layers ===
        label_embedding = keras.layers.Dense(embedding_dim, use_bias=False, name="label_embedding")
        decoder_layers = [
            keras.layers.Dense(height // 4 * width // 4 * filters[1], activation="relu", name="decoder_dense"),
            keras.layers.Reshape((height // 4, width // 4, filters[1]), name="decoder_reshape"),
            keras.layers.Conv2DTranspose(
                filters[1], 3, strides=2, padding="same", activation="relu", name="decoder_up_1"
            ),
            keras.layers.Conv2DTranspose(
                filters[0], 3, strides=2, padding="same", activation="relu", name="decoder_up_2"
            ),
            keras.layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name="decoder_out", dtype=out_dtype),
            keras.layers.Rescaling(high - low, offset=low, name="to_value_range", dtype=out_dtype),
        ]

        # === Functional Model ===
        z_input = keras.Input(shape=(latent_dim,), name="z")
        y_input = keras.Input(shape=(num_classes,), name="y_soft")
        h = keras.layers.Concatenate(name="decoder_condition")([z_input, label_embedding(y_input)])
        for layer in decoder_layers:
            h = layer(h)
        super().__init__(inputs=[z_input, y_input], outputs=h, **kwargs)

        # The encoder q(z | x, y) is only needed for training.
        x_input = keras.Input(shape=image_shape, name="images")
        y_onehot = keras.Input(shape=(num_classes,), name="labels")
        e = keras.layers.Rescaling(1.0 / (high - low), offset=-low / (high - low), name="to_unit")(x_input)
        e = keras.layers.Conv2D(filters[0], 3, strides=2, padding="same", activation="relu", name="encoder_conv_1")(e)
        e = keras.layers.Conv2D(filters[1], 3, strides=2, padding="same", activation="relu", name="encoder_conv_2")(e)
        e = keras.layers.Flatten(name="encoder_flatten")(e)
        e = keras.layers.Concatenate(name="encoder_condition")([e, y_onehot])
        e = keras.layers.Dense(hidden_units, activation="relu", name="encoder_dense")(e)
        mean = keras.layers.Dense(latent_dim, name="z_mean", dtype=out_dtype)(e)
        log_var = keras.layers.Dense(latent_dim, name="z_log_var", dtype=out_dtype)(e)
        self.encoder = keras.Model([x_input, y_onehot], [mean, log_var], name="encoder")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

        # === Config ===
        self.image_shape = image_shape
        self.num_classes = num_classes
        self.latent_dim = latent_dim
        self.filters = filters
        self.embedding_dim = embedding_dim
        self.hidden_units = hidden_units
        self.value_range = (low, high)
        self.beta = beta
        self.seed = seed

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def _elbo(self, data, training):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError(
                "ConditionalVAE.fit needs labels: call `fit(images, labels)` (integer or one-hot labels)."
            )
        y = one_hot_labels(y, self.num_classes)
        low, high = self.value_range
        mean, log_var = self.encoder([x, y], training=training)
        mean, log_var = ops.cast(mean, "float32"), ops.cast(log_var, "float32")
        eps = _replicas.normal(ops.shape(mean), self.seed_generator)
        z = mean + ops.exp(0.5 * log_var) * eps
        recon = ops.cast(self([z, y], training=training), "float32")
        target = (ops.cast(x, "float32") - low) / (high - low)
        recon = ops.clip((recon - low) / (high - low), 1e-6, 1.0 - 1e-6)
        bce = -(target * ops.log(recon) + (1.0 - target) * ops.log(1.0 - recon))
        reconstruction = ops.sum(ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=-1)
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
        per_example = reconstruction + self.beta * kl
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            per_example = per_example * weight
            reconstruction, kl = reconstruction * weight, kl * weight
        return ops.mean(per_example), ops.mean(reconstruction), ops.mean(kl)

    def _update_trackers(self, loss, reconstruction, kl):
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss, reconstruction, kl = self._elbo(data, training=True)
            if self.losses:
                loss = loss + ops.sum(self.losses)
            scaled = self.optimizer.scale_loss(self._replica_loss(loss))
        self._apply_gradients(tape, scaled, self.trainable_variables)
        return self._update_trackers(loss, reconstruction, kl)

    def test_step(self, data):
        return self._update_trackers(*self._elbo(data, training=False))

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit(images, labels)`; numpy inputs are checked first."""
        checks.check_dataset_not_empty("x", x)
        checks.check_examples("x", x, example_shape=self.image_shape)
        if isinstance(y, (np.ndarray, list)):
            checks.check_labels("y", y, num_classes=self.num_classes, kind=_label_kind(np.asarray(y), self.num_classes),
                                 count=len(x) if isinstance(x, np.ndarray) else None)
        return super().fit(x, y, *args, **kwargs)

    def generate(self, labels, *, z=None, seed=None, noise_scale=1.0, batch_size=256):
        """Samples images for `labels` (ints or probability rows), as a NumPy array.

        `z` defaults to `noise_scale * N(0, I)` drawn with NumPy from `seed`.
        The images are returned in memory: a request larger than half the
        available memory raises a `MemoryError` (generate in slices, or
        stream samples during training with `PseudoPretrainer`).
        """
        labels = np.asarray(labels)
        checks.check_labels("labels", labels, num_classes=self.num_classes, kind=_label_kind(labels, self.num_classes))
        count = len(labels) if labels.ndim else 0
        _check_generation_memory(count, self.image_shape)
        y = ops.convert_to_numpy(one_hot_labels(labels, self.num_classes))
        if z is None:
            rng = np.random.default_rng(seed)
            z = rng.standard_normal((len(y), self.latent_dim)).astype("float32") * noise_scale
        elif np.shape(z) != (len(y), self.latent_dim):
            raise _checks.invalid("z", f"an array of shape ({len(y)}, {self.latent_dim})", f"shape {np.shape(z)}")
        return self.predict([np.asarray(z, "float32"), y], batch_size=batch_size, verbose=0)

    def get_config(self):
        config = super().get_config()
        config.update({
            "image_shape": self.image_shape,
            "num_classes": self.num_classes,
            "latent_dim": self.latent_dim,
            "filters": self.filters,
            "embedding_dim": self.embedding_dim,
            "hidden_units": self.hidden_units,
            "value_range": self.value_range,
            "beta": self.beta,
            "seed": self.seed,
        })
        return config


def _label_kind(labels, num_classes):
    return "one_hot" if labels.ndim == 2 and labels.shape[-1] == num_classes and num_classes != 1 else "sparse"


# `generate` refuses requests above this share of the available memory.
GENERATION_MEMORY_SHARE = 0.5


def _check_generation_memory(count, image_shape):
    needed = count * int(np.prod(image_shape)) * 4  # float32 images
    available = available_memory_bytes()
    if available is not None and needed > GENERATION_MEMORY_SHARE * available:
        raise MemoryError(
            f"ConditionalVAE.generate: {count} images of shape {tuple(image_shape)} need about "
            f"{needed / 2**20:.1f} MiB, more than half the available memory ({available / 2**20:.1f} MiB). "
            "Call `generate` on slices of `labels` and consume each slice, or stream the samples during "
            "training with keras_transfer.generative.PseudoPretrainer (nothing is materialised)."
        )


def _check_image_shape(image_shape):
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
        raise _checks.invalid("image_shape", "a tuple (height, width, channels)", image_shape, error=TypeError)
    height, width, channels = (_checks.check_int("image_shape", d, minimum=1) for d in image_shape)
    if height % 4 or width % 4:
        raise _checks.invalid(
            "image_shape", "height and width divisible by 4 (two stride-2 convolutions)", image_shape
        )
    return (height, width, channels)
