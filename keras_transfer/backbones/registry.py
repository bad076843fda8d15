"""The backbone registry: names -> `BackboneSpec`."""

import re

from keras_transfer import _checks
from keras_transfer.backbones.applications import application_specs
from keras_transfer.api_export import keras_transfer_export

_REGISTRY = dict(application_specs())


def _key(name):
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@keras_transfer_export("keras_transfer.backbones.available")
def available():
    """Names of the registered backbones, sorted.

    Example:

    >>> import keras_transfer
    >>> "vgg16" in keras_transfer.backbones.available()
    True
    """
    return sorted(_REGISTRY)


@keras_transfer_export("keras_transfer.backbones.get")
def get(name):
    """The `BackboneSpec` registered under `name` (case and `_` insensitive).

    Example:

    >>> import keras_transfer
    >>> keras_transfer.backbones.get("VGG16").layer_groups
    ('block1', 'block2', 'block3', 'block4', 'block5')
    """
    if not isinstance(name, str):
        raise _checks.invalid("name", "a backbone name (str)", name, error=TypeError)
    spec = find(name)
    if spec is not None:
        return spec
    raise ValueError(
        f"Unknown backbone {name!r}.{_checks.suggest(name.lower(), _REGISTRY)} "
        f"Available: {', '.join(available())}. A keras-hub preset name, a local preset "
        "directory, a saved `.keras` model or a `keras.Model` are accepted too."
    )


def find(name):
    """The `BackboneSpec` registered under `name` (case and `_` insensitive), or `None`."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    return {_key(n): spec for n, spec in _REGISTRY.items()}.get(_key(name))


@keras_transfer_export("keras_transfer.backbones.register")
def register(spec, *, overwrite=False):
    """Adds a `BackboneSpec` to the registry (e.g. your own architecture)."""
    from keras_transfer.backbones.spec import BackboneSpec

    if not isinstance(spec, BackboneSpec):
        raise _checks.invalid("spec", "a keras_transfer.backbones.BackboneSpec", spec, error=TypeError)
    if spec.name in _REGISTRY and not overwrite:
        raise ValueError(
            f"A backbone named {spec.name!r} is already registered. Pass `overwrite=True` to replace it."
        )
    _REGISTRY[spec.name] = spec
    return spec
