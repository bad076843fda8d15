"""`PseudoSSLGenerator`: target images -> pseudo samples `G_s(z, C_s(x_t))`."""

import keras
import numpy as np
from keras import ops

from keras_transfer.models import _inputs
from keras_transfer import _checks
from keras_transfer.models import _outputs
from keras_transfer.models import _replicas
from keras_transfer.models._seeds import SavesSeedState
from keras_transfer.api_export import keras_transfer_export


def _known_shape(shape):
    return shape is not None and None not in tuple(shape)


def generator_latent_dim(generator):
    """The latent size a generator declares (first input, or `latent_dim`), or `None`."""
    inputs = getattr(generator, "inputs", None) if isinstance(generator, keras.Model) else None
    if inputs and len(inputs) >= 1 and inputs[0].shape[-1] is not None:
        return int(inputs[0].shape[-1])
    value = getattr(generator, "latent_dim", None)
    return int(value) if isinstance(value, (int, np.integer)) else None


def generator_num_classes(generator):
    """The label size a generator declares (second input, or `num_classes`), or `None`."""
    inputs = getattr(generator, "inputs", None) if isinstance(generator, keras.Model) else None
    if inputs and len(inputs) >= 2 and inputs[1].shape[-1] is not None:
        return int(inputs[1].shape[-1])
    value = getattr(generator, "num_classes", None)
    return int(value) if isinstance(value, (int, np.integer)) else None


def resolve_generator(generator, latent_dim, num_classes, argument="generator"):
    """Checks the `(z, y_soft) -> x` protocol; returns `(latent_dim, num_classes, output_shape)`."""
    if not callable(generator):
        raise _checks.invalid(
            argument, "a Keras model or callable `generator([z, y_soft]) -> images`", generator, error=TypeError
        )
    declared = generator_latent_dim(generator)
    if latent_dim is None:
        if declared is None:
            raise ValueError(
                f"Cannot read the latent size of `{argument}`: it has no first input with a known "
                "last dimension and no `latent_dim` attribute. Pass `latent_dim=`."
            )
        latent_dim = declared
    else:
        latent_dim = _checks.check_int("latent_dim", latent_dim, minimum=1)
        if declared is not None and declared != latent_dim:
            raise ValueError(
                f"Invalid value received for argument `latent_dim`: the generator's first input "
                f"(z) has size {declared}. Received: latent_dim={latent_dim}."
            )
    classes = generator_num_classes(generator)
    if num_classes is not None and classes is not None and classes != num_classes:
        raise ValueError(
            f"Invalid value received for argument `num_classes`: the generator's label input has "
            f"size {classes}. Received: num_classes={num_classes}."
        )
    classes = classes if classes is not None else num_classes
    if classes is None:
        raise ValueError(
            f"Cannot read the number of classes of `{argument}`: it has no second input with a "
            "known last dimension and no `num_classes` attribute. Pass `num_classes=`."
        )
    try:
        z = np.zeros((1, latent_dim), "float32")
        y = np.full((1, classes), 1.0 / classes, "float32")
        sample = generator([z, y], training=False) if isinstance(generator, keras.layers.Layer) else generator([z, y])
    except Exception as error:  # the message says which contract failed
        raise ValueError(
            f"`{argument}([z, y_soft])` failed with z of shape (1, {latent_dim}) and y_soft of shape "
            f"(1, {classes}): {error}"
        ) from error
    return latent_dim, classes, tuple(int(d) for d in sample.shape[1:])


def classifier_num_classes(classifier, input_shape):
    shape = None
    try:
        shape = classifier.output_shape
    except (AttributeError, ValueError):
        pass
    if shape is None or isinstance(shape, list) or shape[-1] is None:
        shape = classifier(np.zeros((1, *input_shape), "float32"), training=False).shape
    return int(shape[-1])


@keras_transfer_export("keras_transfer.layers.PseudoSSLGenerator")
class PseudoSSLGenerator(SavesSeedState, keras.layers.Layer):
    """Maps target images to pseudo samples by pseudo conditional sampling.

    For a batch of target images `x_t`, returns `G_s(z, p_s(x_t))`: the source
    classifier's class probabilities `p_s` (a soft source label per target
    image) condition the source generator `G_s`, with `z ~ N(0, I)` drawn
    inside. These pseudo samples are the unlabelled data of pseudo
    semi-supervised learning (P-SSL): pass the layer to
    `keras_transfer.ssl.FixMatch(pseudo_generator=...)`.

    Conventions are adapted in the graph, so the whole P-SSL step compiles
    (`jit_compile=True`): target images are mapped to the classifier's input
    (value range, channels, size) and the samples to the shape the layer is
    called with (or `target_shape`) and to `value_range`. The generator and
    the classifier are frozen: the layer is created with `trainable=False`,
    which, as for any Keras layer, sets `trainable=False` on them too (set
    it back on the generator to train it further); they run in inference
    mode and the output carries no gradient.

    Checked at construction: the generator follows the `(z, y_soft) -> x`
    protocol (see `keras_transfer.generative.ConditionalVAE`); `latent_dim`,
    when given, matches its first input; the classifier's class count
    matches the generator's label size; the classifier's outputs match
    `from_logits` (softmax outputs with `from_logits=False`, the default, or
    linear logits with `from_logits=True`; read from the last layer, or from
    one probe call when the model does not tell); and, once the target shape
    is known, that the generator's samples can be adapted to it (the error
    shows both shapes).

    Args:
        generator: Keras model (or callable) `generator([z, y_soft])`.
        source_classifier: Keras model mapping source-like images to class
            probabilities (or logits, with `from_logits=True`).
        latent_dim: size of `z`. Defaults to the generator's first input.
        from_logits: whether the classifier outputs logits. Defaults to
            `False`.
        temperature: float > 0, the soft labels are
            `softmax(log p_s / temperature)`. Defaults to `1.0`.
        noise_scale: float > 0, `z ~ N(0, noise_scale^2 I)`. Defaults to `1.0`.
        value_range: `(low, high)` of the target images (inputs and outputs).
            Defaults to `(0, 255)`.
        source_value_range: range the classifier expects. Defaults to
            `value_range`.
        generator_value_range: range of the generator's samples. Defaults to
            `value_range`.
        source_input_shape: the classifier's input shape (no batch axis).
            Defaults to `source_classifier.input_shape`.
        target_shape: shape of the returned samples (no batch axis). Defaults
            to the shape the layer is called with.
        seed: int or `None`; the noise comes from a `keras.random.SeedGenerator`
            whose state is saved with the model (each replica draws its own).

    Call arguments:
        inputs: target images `(batch, *shape)` in `value_range`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> generator = keras_transfer.generative.ConditionalVAE((8, 8, 1), 3, latent_dim=4)
    >>> classifier = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
    ...                                keras.layers.Dense(3, activation="softmax")])
    >>> layer = keras_transfer.layers.PseudoSSLGenerator(generator, classifier, seed=0)
    >>> target_images = np.random.default_rng(0).uniform(0, 255, (5, 16, 16, 3)).astype("float32")
    >>> layer(target_images).shape  # samples adapted to the target's size and channels
    TensorShape([5, 16, 16, 3])

    Reference:
        Yamaguchi et al., "Transfer Learning with Pre-trained Conditional
        Generative Models", Machine Learning 2025 (arXiv:2204.12833).
    """

    def __init__(
        self,
        generator,
        source_classifier,
        *,
        latent_dim=None,
        from_logits=False,
        temperature=1.0,
        noise_scale=1.0,
        value_range=(0, 255),
        source_value_range=None,
        generator_value_range=None,
        source_input_shape=None,
        target_shape=None,
        seed=None,
        **kwargs,
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if not isinstance(source_classifier, keras.layers.Layer):
            raise _checks.invalid("source_classifier", "a Keras model", source_classifier, error=TypeError)
        if not isinstance(from_logits, bool):
            raise _checks.invalid("from_logits", "a bool", from_logits, error=TypeError)
        self.temperature = _checks.check_float("temperature", temperature, minimum=0.0, exclusive_minimum=True)
        self.noise_scale = _checks.check_float("noise_scale", noise_scale, minimum=0.0, exclusive_minimum=True)
        self.value_range = _inputs.check_value_range("value_range", value_range)
        self.source_value_range = (
            None if source_value_range is None else _inputs.check_value_range("source_value_range", source_value_range)
        )
        self.generator_value_range = (
            None if generator_value_range is None else _inputs.check_value_range("generator_value_range", generator_value_range)
        )
        self.source_input_shape = _inputs.model_input_shape(source_classifier, "source_classifier", given=source_input_shape)
        latent, classes, sample_shape = resolve_generator(generator, latent_dim, None)
        source_classes = classifier_num_classes(source_classifier, self.source_input_shape)
        if source_classes != classes:
            raise ValueError(
                f"Invalid value received for argument `source_classifier`: it predicts "
                f"{source_classes} classes but the generator's label input (y_soft) has size "
                f"{classes}. Both must be the source task's classes."
            )
        _outputs.check_output_kind(
            "source_classifier", source_classifier, from_logits, self.source_input_shape, self._source_range
        )
        if target_shape is not None:
            target_shape = tuple(_checks.check_int("target_shape", d, minimum=1) for d in target_shape)
            _inputs.check_adaptable(
                sample_shape, target_shape, argument="generator",
                what_from="generator samples", what_to="the target input (target_shape)",
            )
        self.generator = generator
        self.source_classifier = source_classifier
        self.latent_dim = latent
        self.num_classes = classes
        self.sample_shape = sample_shape
        self.from_logits = from_logits
        self.target_shape = target_shape
        self.seed = None if seed is None else _checks.check_int("seed", seed, minimum=0)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        if not self.trainable:  # freeze them as Keras freezes the sublayers of a frozen layer
            for model in (generator, source_classifier):
                if isinstance(model, keras.layers.Layer):
                    model.trainable = False

    @property
    def metrics(self):
        # The frozen generator's and classifier's own trackers (e.g. a
        # ConditionalVAE's "loss") must not leak into the logs of a model
        # that contains this layer.
        return []

    @property
    def _source_range(self):
        return self.source_value_range or self.value_range

    @property
    def _generator_range(self):
        return self.generator_value_range or self.value_range

    def build(self, input_shape):
        image_shape = tuple(input_shape[1:])
        _inputs.check_adaptable(
            image_shape, self.source_input_shape, argument="source_classifier",
            what_from="target images", what_to="the source classifier input",
        )
        _inputs.check_adaptable(
            self.sample_shape, self.target_shape or image_shape, argument="generator",
            what_from="generator samples", what_to="the target input",
        )
        self.built = True

    def soft_labels(self, inputs):
        """The classifier's float32 class probabilities for target images."""
        image_shape = tuple(inputs.shape[1:])
        x = _inputs.adapt(inputs, image_shape, self.source_input_shape, self.value_range, self._source_range)
        outputs = self.source_classifier(x, training=False)
        return _outputs.probabilities(outputs, self.from_logits, self.temperature)

    def call(self, inputs):
        y_soft = self.soft_labels(inputs)
        batch = ops.shape(inputs)[0]
        z = _replicas.normal((batch, self.latent_dim), self.seed_generator) * self.noise_scale
        if isinstance(self.generator, keras.layers.Layer):
            samples = self.generator([z, y_soft], training=False)
        else:
            samples = self.generator([z, y_soft])
        target = self.target_shape or tuple(inputs.shape[1:])
        samples = _inputs.adapt(samples, self.sample_shape, target, self._generator_range, self.value_range)
        return ops.stop_gradient(ops.cast(samples, self.compute_dtype))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(self.target_shape or tuple(input_shape[1:])))

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "source_classifier": keras.saving.serialize_keras_object(self.source_classifier),
            "latent_dim": self.latent_dim,
            "from_logits": self.from_logits,
            "temperature": self.temperature,
            "noise_scale": self.noise_scale,
            "value_range": self.value_range,
            "source_value_range": self.source_value_range,
            "generator_value_range": self.generator_value_range,
            "source_input_shape": self.source_input_shape,
            "target_shape": self.target_shape,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["source_classifier"] = keras.saving.deserialize_keras_object(config["source_classifier"])
        return cls(**config)
