"""Loading backbone weights from a local file or another model, with diagnostics."""

import os
import re
import zipfile

import keras

from keras_transfer import _checks

WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".keras")


def _snake(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _stored_layers(path):
    """`{storage key: [shapes]}` of a Keras 3 weights file (flat models)."""
    import h5py

    if path.endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            with archive.open("model.weights.h5") as handle:
                return _read_h5(h5py.File(handle, "r"))
    with h5py.File(path, "r") as handle:
        return _read_h5(handle)


def _read_h5(handle):
    stored = {}
    root = handle.get("layers")
    if root is None:
        return stored
    for key in root:
        vars_group = root[key].get("vars")
        shapes = []
        if vars_group is not None:
            shapes = [tuple(vars_group[str(i)].shape) for i in range(len(vars_group))]
        stored[key] = shapes
    return stored


def first_mismatch(model, path):
    """A sentence naming the first layer of `model` whose weights `path` lacks."""
    try:
        stored = _stored_layers(path)
    except Exception as error:  # not an HDF5 / Keras archive we can read
        return f"the file could not be read as Keras weights ({error})"
    used = {}
    for layer in model.layers:
        key = _snake(layer.__class__.__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        expected = [tuple(int(d) for d in v.shape) for v in layer.weights]
        if not expected:
            continue
        if key not in stored:
            return f"layer {layer.name!r} ({layer.__class__.__name__}) has no weights in the file"
        if stored[key] != expected:
            return (
                f"layer {layer.name!r} expects weights of shapes {expected}, "
                f"the file has {stored[key]}"
            )
    if len(stored) > len(model.layers):
        return f"the file holds {len(stored)} layers, the backbone {len(model.layers)}"
    return None


def load_backbone_weights(backbone, weights):
    """Loads `weights` (a path or a `keras.Model`) into `backbone` in place."""
    if isinstance(weights, keras.Model):
        return _copy_from_model(backbone, weights)
    if not isinstance(weights, (str, os.PathLike)):
        raise _checks.invalid(
            "weights", "'imagenet', None, a path to a .weights.h5/.keras file or a keras.Model", weights, error=TypeError
        )
    path = os.fspath(weights)
    if not path.endswith(WEIGHT_SUFFIXES):
        raise _checks.invalid("weights", f"a file ending in {', '.join(WEIGHT_SUFFIXES)}", path)
    if not os.path.isfile(path):
        raise _checks.invalid("weights", "an existing weights file", path, hint="No such file.")
    problem = first_mismatch(backbone, path)
    if problem is None:
        try:
            backbone.load_weights(path)
            return backbone
        except Exception as error:
            problem = str(error).splitlines()[0]
    raise ValueError(
        f"Invalid value received for argument `weights`: the file {path!r} does not fit "
        f"backbone {backbone.name!r}: {problem}. Save the weights of the same architecture "
        "(e.g. `keras_transfer.backbones.get(name).build(...).save_weights(path)`)."
    )


def _copy_from_model(target, source):
    by_name = {layer.name: layer for layer in source._flatten_layers(include_self=False)}
    for layer in target.layers:
        if not layer.weights:
            continue
        other = by_name.get(layer.name)
        if other is None:
            raise ValueError(
                "Invalid value received for argument `weights`: the model "
                f"{source.name!r} has no layer named {layer.name!r} (first layer of backbone "
                f"{target.name!r} that does not match)."
            )
        shapes = [tuple(v.shape) for v in layer.weights]
        other_shapes = [tuple(v.shape) for v in other.weights]
        if shapes != other_shapes:
            raise ValueError(
                "Invalid value received for argument `weights`: layer "
                f"{layer.name!r} expects weights of shapes {shapes}, model {source.name!r} "
                f"has {other_shapes}."
            )
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(by_name[layer.name].get_weights())
    return target
