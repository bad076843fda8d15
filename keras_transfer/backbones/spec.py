"""What the package knows about one backbone architecture."""

import dataclasses
from typing import Callable

import keras

from keras_transfer import _checks
from keras_transfer.groups import graph
from keras_transfer.backbones.freezable_dropout import freezable_clone
from keras_transfer.backbones.image_preprocessing import ImagePreprocessing
from keras_transfer.api_export import keras_transfer_export


@keras_transfer_export("keras_transfer.backbones.WeightsDownloadError")
class WeightsDownloadError(OSError):
    """Pretrained weights could not be downloaded (usually: no internet)."""


@keras_transfer_export("keras_transfer.backbones.BackboneSpec")
@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A registered backbone: how to build it, feed it and group its layers.

    Attributes:
        name: the registry name, e.g. `"vgg16"`.
        family: the architecture family, e.g. `"vgg"`.
        constructor: the `keras.applications` function (or any callable taking
            `include_top`, `weights`, `input_shape`).
        preprocessing: the `ImagePreprocessing` mode its weights expect.
        default_input_size: the input side its ImageNet weights were trained at.
        min_input_size: the smallest input side the architecture accepts.
        group_patterns: ordered `(group, regex)` pairs on layer names.
        reference: the paper.
        imagenet_input_sizes: input sides ImageNet weights exist for (`None`:
            any size).
        constructor_kwargs: extra arguments for `constructor`.
    """

    name: str
    family: str
    constructor: Callable
    preprocessing: str
    default_input_size: int
    min_input_size: int
    group_patterns: tuple
    reference: str = ""
    imagenet_input_sizes: tuple = None
    constructor_kwargs: dict = dataclasses.field(default_factory=dict)

    @property
    def layer_groups(self):
        """Group names, from input to output."""
        return tuple(name for name, _ in self.group_patterns)

    @property
    def default_input_shape(self):
        return (self.default_input_size, self.default_input_size, 3)

    def preprocess(self, images):
        """Scales raw [0, 255] RGB images the way this backbone expects."""
        return self.preprocessing_layer()(images)

    def preprocessing_layer(self):
        return ImagePreprocessing(self.preprocessing, name="preprocessing")

    def check_input_shape(self, input_shape, *, argument="input_shape"):
        """Raises a `ValueError` naming `argument` if the shape cannot be fed."""
        if (
            not isinstance(input_shape, (tuple, list))
            or len(input_shape) != 3
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape)
        ):
            raise _checks.invalid(argument, "a tuple (height, width, channels) of positive ints", input_shape)
        height, width, channels = input_shape
        if channels != 3:
            raise _checks.invalid(
                argument,
                f"3 channels (RGB) for backbone '{self.name}'",
                tuple(input_shape),
                hint="Pass `adapt_input=True` to tile grayscale images to RGB inside the model.",
            )
        if min(height, width) < self.min_input_size:
            raise _checks.invalid(
                argument,
                f"height and width >= {self.min_input_size} for backbone '{self.name}' "
                f"(its minimum input size)",
                tuple(input_shape),
                hint="Pass `adapt_input=True` (resize up to the minimum inside the model) "
                "or `image_size=(h, w)`.",
            )

    def build(self, input_shape=None, weights=None):
        """Builds the headless backbone (`include_top=False`).

        Args:
            input_shape: `(height, width, 3)`; defaults to the ImageNet size.
            weights: `"imagenet"` (downloaded by Keras, cached in
                `~/.keras/models`) or `None` (random initialisation).
        """
        input_shape = tuple(input_shape or self.default_input_shape)
        self.check_input_shape(input_shape)
        if weights not in ("imagenet", None):
            raise _checks.invalid("weights", "'imagenet' or None", weights)
        if (
            weights == "imagenet"
            and self.imagenet_input_sizes is not None
            and input_shape[:2] not in [(s, s) for s in self.imagenet_input_sizes]
        ):
            raise _checks.invalid(
                "input_shape",
                f"a side in {self.imagenet_input_sizes} for ImageNet weights of '{self.name}'",
                input_shape,
                hint="Pass `image_size=(s, s)` to resize inside the model.",
            )
        try:
            model = self.constructor(
                include_top=False,
                weights=weights,
                input_shape=input_shape,
                **self.constructor_kwargs,
            )
        except Exception as error:  # Keras raises a bare Exception when offline
            if weights == "imagenet" and _looks_like_download_failure(error):
                raise WeightsDownloadError(
                    f"Could not download the ImageNet weights of backbone '{self.name}' "
                    f"({error}). This machine seems to be offline. Either run once "
                    "where the internet is reachable (Keras caches the file in "
                    "~/.keras/models), or save the backbone's weights elsewhere with "
                    f"`keras_transfer.backbones.get('{self.name}').build(weights='imagenet')"
                    ".save_weights('backbone.weights.h5')` and pass "
                    "`weights='backbone.weights.h5'`."
                ) from error
            raise
        return freezable_clone(model)

    def assign_groups(self, model):
        """`group -> [layers]` for a backbone built by `build`."""
        return graph.assign_groups(model, self.group_patterns)


def _looks_like_download_failure(error):
    text = str(error)
    return isinstance(error, OSError) or any(
        marker in text for marker in ("URL fetch failure", "urlopen", "Name or service", "resolution")
    )
