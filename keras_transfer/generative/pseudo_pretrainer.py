"""`PseudoPretrainer`: pre-train a target architecture on generated source samples."""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer.models import _inputs
from keras_transfer import _checks
from keras_transfer.models import _outputs
from keras_transfer.models import _replicas
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.generative.pseudo_ssl_generator import resolve_generator


@keras_transfer_export("keras_transfer.generative.PseudoPretrainer")
class PseudoPretrainer(TransferModel, keras.Model):
    """Pseudo pre-training (PP): fit a target architecture on `(G_s(z, y), y)`.

    Each train step samples source labels `y` uniformly, `z ~ N(0, I)`,
    generates `x = G_s(z, one_hot(y))` in the graph, adapts `x` to `model`'s
    input (value range, channels, size) and trains `model` to predict `y`.
    Nothing is materialised: `fit` needs no data, only `steps_per_epoch`
    (and `batch_size`, the number of pseudo samples per step). The noise comes
    from a saved `keras.random.SeedGenerator`, so `ModelCheckpoint` +
    `keras.models.load_model` + `fit` continues the same stream.

    Afterwards swap the head for the target classes and fine-tune on the
    labelled target data: `keras_transfer.generative.replace_head(model,
    num_target_classes)`.

    `model` must output one score per source class (probabilities by default,
    logits when its last layer is linear; read from the model). `compile`
    defaults the loss to sparse categorical cross-entropy on that output.
    `evaluate`/`predict`/`validation_data` take real images and labels and
    run `model`.

    Args:
        model: functional Keras model, the target architecture with a head of
            `num_classes` (the generator's) outputs. Trained in place.
        generator: Keras model `generator([z, y_soft]) -> images` (see
            `keras_transfer.generative.ConditionalVAE`).
        latent_dim: size of `z`. Defaults to the generator's first input.
        num_classes: source classes. Defaults to the generator's label input.
        noise_scale: float > 0, `z ~ N(0, noise_scale^2 I)`. Defaults to `1.0`.
        value_range: `(low, high)` of `model`'s inputs. Defaults to `(0, 255)`.
        generator_value_range: range of the generator's samples. Defaults to
            `value_range`.
        seed: int or `None`, seed of the label and noise sampling.

    Example:

    >>> import keras, keras_transfer
    >>> generator = keras_transfer.generative.ConditionalVAE((8, 8, 1), 3, latent_dim=4)
    >>> target = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
    ...                            keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    >>> pretrainer = keras_transfer.generative.PseudoPretrainer(target, generator, seed=0)
    >>> pretrainer.compile(optimizer="adam", metrics=["accuracy"])
    >>> history = pretrainer.fit(batch_size=16, steps_per_epoch=2, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss']
    >>> finetune = keras_transfer.generative.replace_head(target, 2)
    >>> finetune.output_shape
    (None, 2)

    Reference:
        Yamaguchi et al., "Transfer Learning with Pre-trained Conditional
        Generative Models", Machine Learning 2025 (arXiv:2204.12833).
    """

    _trained_attributes = ("model",)
    _auto_loss = True
    _nested_config = ("model", "generator")

    def __init__(
        self,
        model,
        generator,
        *,
        latent_dim=None,
        num_classes=None,
        noise_scale=1.0,
        value_range=(0, 255),
        generator_value_range=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise _checks.invalid("model", "a Keras model", model, error=TypeError)
        input_shape = _inputs.model_input_shape(model, "model")
        if num_classes is not None:
            num_classes = _checks.check_int("num_classes", num_classes, minimum=2)
        latent, classes, sample_shape = resolve_generator(generator, latent_dim, num_classes)
        outputs = model.output_shape
        if isinstance(outputs, list) or outputs[-1] != classes:
            raise ValueError(
                f"Invalid value received for argument `model`: its output shape {outputs} must end "
                f"with the {classes} source classes of the generator. Build the target architecture "
                "with a source-class head, pre-train, then `replace_head` for the target classes."
            )
        self.value_range = _inputs.check_value_range("value_range", value_range)
        self.generator_value_range = (
            None if generator_value_range is None else _inputs.check_value_range("generator_value_range", generator_value_range)
        )
        _inputs.check_adaptable(
            sample_shape, input_shape, argument="generator",
            what_from="generator samples", what_to="the model input",
        )
        from_logits = _outputs.detect_from_logits("model", model, input_shape, self.value_range)
        self.model = model
        self.generator = generator
        self.latent_dim = latent
        self.num_classes = classes
        self.noise_scale = _checks.check_float("noise_scale", noise_scale, minimum=0.0, exclusive_minimum=True)
        self.seed = None if seed is None else _checks.check_int("seed", seed, minimum=0)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self._loss_from_logits = from_logits
        self._input_image_shape = input_shape
        self._sample_shape = sample_shape
        self.built = True

    def sample(self, batch_size):
        """A batch `(images, labels)` of pseudo source samples, adapted to `model`."""
        labels = ops.cast(
            ops.floor(_replicas.uniform((batch_size,), self.seed_generator) * self.num_classes), "int32"
        )
        labels = ops.minimum(labels, self.num_classes - 1)
        z = _replicas.normal((batch_size, self.latent_dim), self.seed_generator) * self.noise_scale
        y = ops.one_hot(labels, self.num_classes, dtype="float32")
        images = self.generator([z, y], training=False)
        images = _inputs.adapt(
            images, self._sample_shape, self._input_image_shape,
            self.generator_value_range or self.value_range, self.value_range,
        )
        return ops.stop_gradient(images), labels

    def call(self, inputs, training=False):
        if len(inputs.shape) == 2 and inputs.shape[-1] == 0:  # the step-driving token of `fit`
            inputs, _ = self.sample(ops.shape(inputs)[0])
        return self.model(inputs, training=training)

    def train_step(self, data):
        token, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        x, y = self.sample(ops.shape(token)[0])
        with tf.GradientTape() as tape:
            y_pred = self.model(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)  # per replica
            self._track_loss(loss, ops.shape(x)[0])
            scaled = self.optimizer.scale_loss(loss)
        self._apply_gradients(tape, scaled, self.trainable_variables)
        return self.compute_metrics(x, y, y_pred)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, steps_per_epoch=None, **kwargs):
        """`keras.Model.fit` without data: `batch_size` pseudo samples per step.

        `x` and `y` must be left out: the samples are generated in the step.
        `steps_per_epoch` is required; `batch_size` defaults to 32.
        """
        if x is not None or y is not None:
            raise ValueError(
                "PseudoPretrainer.fit generates its data: leave out `x` and `y` and pass "
                f"`steps_per_epoch` and `batch_size`. Received: x of type {type(x).__name__}, "
                f"y of type {type(y).__name__}."
            )
        for name in ("validation_split", "sample_weight", "class_weight"):
            value = kwargs.get(name)
            if value is not None and not (name == "validation_split" and value == 0):
                raise ValueError(
                    f"Invalid value received for argument `{name}`: PseudoPretrainer.fit generates "
                    f"its data, `{name}` does not apply. Received: {name}={kwargs[name]!r}."
                )
        steps_per_epoch = _checks.check_int("steps_per_epoch", steps_per_epoch, minimum=1) if (
            steps_per_epoch is not None
        ) else None
        if steps_per_epoch is None:
            raise ValueError(
                "Invalid value received for argument `steps_per_epoch`: PseudoPretrainer.fit "
                "streams generated samples without end, so it needs `steps_per_epoch`. "
                "Received: steps_per_epoch=None."
            )
        batch_size = 32 if batch_size is None else _checks.check_int("batch_size", batch_size, minimum=1)
        # Each element is an empty `(batch, 0)` token (it carries the batch size and splits
        # across replicas) and placeholder labels, so Keras can build the compiled loss.
        tokens = tf.data.Dataset.from_tensor_slices((tf.zeros((batch_size, 0)), tf.zeros((batch_size,), "int32")))
        tokens = tokens.repeat()
        tokens = tokens.batch(batch_size, drop_remainder=True)
        kwargs.pop("shuffle", None)
        return super().fit(tokens, epochs=epochs, steps_per_epoch=steps_per_epoch, shuffle=False, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({
            "model": keras.saving.serialize_keras_object(self.model),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "noise_scale": self.noise_scale,
            "value_range": self.value_range,
            "generator_value_range": self.generator_value_range,
            "seed": self.seed,
        })
        return config
