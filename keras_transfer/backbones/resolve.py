"""The one resolution of a backbone argument: what it names, before anything is built.

`build_classifier`, `build_text_classifier`, `keras_transfer.transfer` and
the command line all call `resolve_backbone` on what the user gave: a
registered name, a keras-hub preset (name or directory), a `keras.Model`, a
saved `.keras` model, or (for text) a text preset. It checks the argument
(an unknown name fails here, with suggestions, before any training), looks
the registry up once, and loads nothing but a `.keras` file; building the
network with its weights, groups and preprocessing is `build`'s job.
"""

import dataclasses
import os

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.backbones import hub
from keras_transfer.backbones import registry
from keras_transfer.backbones.spec import BackboneSpec
from keras_transfer.backbones.weights import load_backbone_weights
from keras_transfer.groups import graph

KINDS = ("registry", "hub", "model", "text")


@keras_transfer_export("keras_transfer.backbones.ResolvedBackbone")
@dataclasses.dataclass(frozen=True)
class ResolvedBackbone:
    """What a backbone argument names.

    Attributes:
        kind: `"registry"` (a `BackboneSpec`), `"hub"` (a keras-hub image
            preset), `"model"` (a `keras.Model`, given or loaded from a
            `.keras` file) or `"text"` (a keras-hub text preset).
        name: the name, path or model name, for messages.
        spec: the `BackboneSpec` of a registered name, else `None`.
        model: the `keras.Model` of kind `"model"`, else `None`.
        location: for `"text"`, `(kind, location)` from the text preset
            lookup; for `"hub"`, the preset; else `None`.
    """

    kind: str
    name: str
    spec: BackboneSpec = None
    model: keras.Model = None
    location: object = None

    def build(self, input_shape, weights):
        """`(model, groups, preprocessing)` of an image backbone (kinds `registry`, `hub`, `model`).

        `input_shape` is the backbone's own input (after any resizing);
        `weights` is `"imagenet"` (the pretrained or the given model's
        weights), `None` (random initialisation), a weights file or a
        `keras.Model` to copy them from. `preprocessing` is the backbone's
        own mode (a `keras_transfer.layers.ImagePreprocessing` mode) or layer.
        """
        if not (weights == "imagenet" or weights is None or isinstance(weights, (str, os.PathLike, keras.Model))):
            raise _checks.invalid("weights", "'imagenet', None, a weights file path or a keras.Model", weights, error=TypeError)
        if self.kind == "registry":
            model = self.spec.build(input_shape, weights="imagenet" if weights == "imagenet" else None)
            groups, preprocessing = None, self.spec.preprocessing
        elif self.kind == "hub":
            source = hub.HubBackbone(self.location)
            model, groups, preprocessing = source.model, source.assign_groups(), source.image_converter
        elif self.kind == "model":
            if weights is None:
                raise _checks.invalid(
                    "weights", "'imagenet' (keep the model's weights), a weights file or a keras.Model for a keras.Model backbone",
                    weights, hint="Re-initialising a given model is not supported; build it fresh instead.",
                )
            model, groups, preprocessing = self.model, graph.generic_groups(self.model), "none"
        else:
            raise _checks.invalid("backbone", "an image backbone (a text preset goes to build_text_classifier)", self.name)
        if weights not in ("imagenet", None):
            load_backbone_weights(model, weights)
        if groups is None:
            groups = self.spec.assign_groups(model)
        return model, groups, preprocessing


@keras_transfer_export("keras_transfer.backbones.resolve_backbone")
def resolve_backbone(backbone, *, texts=False, argument="backbone"):
    """A `ResolvedBackbone` for `backbone`; raises a clear error naming `argument` for anything else.

    Example:

    >>> import keras_transfer
    >>> resolved = keras_transfer.backbones.resolve_backbone("VGG16")
    >>> resolved.kind, resolved.name
    ('registry', 'vgg16')
    """
    if isinstance(backbone, ResolvedBackbone):
        return backbone
    if texts:
        from keras_transfer.text import presets

        return ResolvedBackbone("text", str(backbone), location=presets.locate(backbone))
    if isinstance(backbone, keras.Model):
        if not hub.is_functional(backbone) or not backbone.inputs:
            raise _checks.invalid(argument, "a functional keras.Model (or Sequential with an Input)", backbone, error=TypeError)
        return ResolvedBackbone("model", backbone.name, model=backbone)
    if not isinstance(backbone, (str, os.PathLike)) or isinstance(backbone, bytes):
        raise _checks.invalid(
            argument, "a registered name, a keras-hub preset (name or directory), a .keras file or a keras.Model",
            backbone, error=TypeError,
        )
    text = os.fspath(backbone)
    if os.path.isfile(text):
        if not text.endswith(".keras"):
            raise _checks.invalid(argument, "a saved .keras model when it is a file", text)
        return resolve_backbone(keras.models.load_model(text), argument=argument)
    spec = registry.find(text)
    if spec is None and (hub.is_local_preset(text) or hub.is_hub_preset_name(text)):
        return ResolvedBackbone("hub", text, location=backbone)
    if spec is None:
        try:
            registry.get(text)  # the "unknown backbone" error, with suggestions
        except ValueError as error:
            raise ValueError(f"Invalid value received for argument `{argument}`: {error}") from None
    return ResolvedBackbone("registry", spec.name, spec=spec)
