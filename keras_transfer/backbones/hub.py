"""Backbones from keras-hub presets (a preset name or a local preset directory)."""

import os
import re

import keras

from keras_transfer import _checks
from keras_transfer.groups import graph
from keras_transfer.api_export import keras_transfer_export


def is_local_preset(path):
    return isinstance(path, (str, os.PathLike)) and os.path.isfile(os.path.join(path, "config.json"))


def is_hub_preset_name(name):
    try:
        import keras_hub
    except ImportError:  # pragma: no cover - keras-hub is a dependency
        return False
    return name in keras_hub.models.Backbone.presets


@keras_transfer_export("keras_transfer.backbones.HubBackbone")
class HubBackbone:
    """A keras-hub image backbone and its image converter, from a preset.

    Attributes:
        name: the preset name or directory.
        model: the `keras_hub.models.Backbone`.
        image_converter: the preset's `ImageConverter` layer (resizing and
            scaling of raw images), or `None` if the preset has none.
    """

    def __init__(self, preset, *, load_weights=True):
        import keras_hub

        self.name = str(preset)
        where = "local preset directory" if is_local_preset(preset) else "keras-hub preset name (download)"
        try:
            self.model = keras_hub.models.Backbone.from_preset(preset, load_weights=load_weights)
        except Exception as error:
            raise OSError(
                f"Could not load keras-hub backbone from {where} {preset!r}: {error}. "
                "Preset names are downloaded from Kaggle / Hugging Face; offline, save a "
                "preset with `backbone.save_to_preset(dir)` and pass the directory."
            ) from error
        try:
            self.image_converter = keras_hub.layers.ImageConverter.from_preset(preset)
        except Exception:
            self.image_converter = None

    def assign_groups(self, model=None):
        model = model or self.model
        names = [layer.name for layer in model.layers]
        stacks = sorted({int(m.group(1)) for n in names for m in [re.match(r"stack(\d+)_", n)] if m})
        if stacks and any(n.startswith(("conv1_", "pool1_")) for n in names):
            patterns = [("stem", r"conv1_.*|pool1_.*")] + [(f"stack{i}", rf"stack{i}_.*") for i in stacks]
            return graph.assign_groups(model, patterns)
        return graph.generic_groups(model)


def is_functional(model):
    return isinstance(model, keras.Model) and hasattr(model, "_inbound_nodes") and hasattr(model, "inputs")
