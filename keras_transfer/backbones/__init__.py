"""The backbone registry.

Every `keras.applications` family, each with its preprocessing, input-size
limits and layer groups; keras-hub presets; any `keras.Model`.

>>> import keras_transfer
>>> spec = keras_transfer.backbones.get("resnet50")
>>> spec.layer_groups
('stem', 'conv2', 'conv3', 'conv4', 'conv5')
>>> spec.min_input_size, spec.default_input_size
(32, 224)
"""

from keras_transfer.backbones.hub import HubBackbone
from keras_transfer.backbones.registry import available, get, register
from keras_transfer.backbones.resolve import ResolvedBackbone, resolve_backbone
from keras_transfer.backbones.spec import BackboneSpec, WeightsDownloadError

__all__ = [
    "BackboneSpec",
    "HubBackbone",
    "ResolvedBackbone",
    "WeightsDownloadError",
    "available",
    "get",
    "register",
    "resolve_backbone",
]
