"""Rebuilding a model from its config with (or without) PEFT layers, and copying its weights.

Adapting a built model in place does not work: a built Keras layer refuses
new sublayers, the functions `fit` has traced keep the old computation, and
`load_model` rebuilds the model from a config that does not know about
them. So every PEFT method here returns a new model built from the old
one's config:

- models whose graph is in their config (functional models, `Sequential`,
  `keras_transfer.models.TransferClassifier` and its nested backbone): the
  config of each target layer names the PEFT layer class instead of the
  Keras one (and `merge` does the reverse), so `load_model` rebuilds it;
- models whose backbone builds its own layers (keras-hub transformers inside
  a `keras_transfer.models.TextClassifier`): the spec goes into the model's
  `peft` argument, which applies it each time the model is constructed
  (`_hub.adapt_backbone`).

The weights are then copied layer by layer (same layers, same order); the
new model is not compiled.
"""

import inspect

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.peft import _spec
from keras_transfer.peft._hub import peft_layers
from keras_transfer.peft._kernel import PeftKernel
from keras_transfer.peft._kernel import peft_options

_KERAS_NAMES = {cls.__name__: cls for cls in _spec.PEFT_CLASSES}
_PEFT_NAMES = {cls.__name__: cls for cls in _spec.KERAS_CLASSES}


def check_model(model):
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model", model, error=TypeError)
    if not model.built:
        raise _checks.invalid("model", "a built model (call it once or build it)", model.name)


def owns_backbone_spec(model):
    """Whether `model` applies a PEFT spec to its backbone itself (its `peft` argument)."""
    return "peft" in inspect.signature(type(model).__init__).parameters


def _layer_dicts(config):
    """Every serialized layer (a dict with `class_name` and a named `config`) inside `config`, depth first."""
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict) and "name" in config["config"]:
            yield config
        for value in config.values():
            yield from _layer_dicts(value)
    elif isinstance(config, (list, tuple)):
        for value in config:
            yield from _layer_dicts(value)


def _is_keras(entry):
    return entry.get("module") == "keras.layers" and entry["class_name"] in _KERAS_NAMES


def _is_peft(entry):
    return entry["class_name"] in _PEFT_NAMES and (entry.get("registered_name") or "").startswith("keras_transfer>")


def _set_class(entry, cls, config):
    entry.update(
        module=cls.__module__ if cls.__module__.startswith("keras_transfer") else "keras.layers",
        class_name=cls.__name__,
        registered_name=keras.saving.get_registered_name(cls) if cls.__module__.startswith("keras_transfer") else None,
        config=config,
    )


def head_names(model):
    """The layers that train fully beside the method: the model's `"head"` group, else its last weighted layer."""
    groups = getattr(model, "layer_groups", None)
    if isinstance(groups, dict) and "head" in groups:
        return [layer.name for layer in groups["head"]]
    weighted = [layer for layer in model.layers if layer.weights]
    return [weighted[-1].name] if weighted else []


def _serialized(model):
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    return config


def adapt(model, spec):
    """A new model: `model` rebuilt with `spec`'s PEFT layers, its weights copied (the method's output = `model`'s)."""
    check_model(model)
    if peft_layers(model):
        raise _checks.invalid("model", "a model without PEFT layers (merge it first: keras_transfer.peft.merge)", model.name)
    if owns_backbone_spec(model):
        new = _rebuilt_owner(model, spec)
        copy_weights(model, new)
        return new
    config = _serialized(model)
    heads = head_names(model)
    candidates = [entry for entry in _layer_dicts(config) if _is_keras(entry)]
    if not candidates:
        hub = any(type(layer).__module__.startswith("keras_hub") for layer in model._flatten_layers())
        why = ("Its keras-hub layers build their projections themselves: build the model with "
               "keras_transfer.build_text_classifier and adapt that.") if hub else "It has none in its config."
        raise _spec.no_candidates(model.name, why)
    given = spec["targets"] is not None
    names = [entry["config"]["name"] for entry in candidates]
    if given:
        targets = _spec.as_roles(spec["targets"])
    else:
        targets = {name: None for name in names if name not in heads}
        if not targets:
            raise _spec.no_candidates(model.name, f"Only its head ({', '.join(heads)}), which trains fully, has one.")
    chosen = _spec.match(names, targets, strict=given, where=f"of model {model.name!r}")
    for entry in candidates:
        name = entry["config"]["name"]
        if name in chosen:
            if entry["config"].get("lora_rank"):
                raise _checks.invalid("targets", f"layers without Keras's own LoRA (layer {name!r} has it)", name)
            cls = _spec.PEFT_CLASSES[_KERAS_NAMES[entry["class_name"]]]
            _set_class(entry, cls, {**entry["config"], **_spec.layer_options(spec, chosen[name])})
    new = keras.saving.deserialize_keras_object(config)
    _train_only(new, heads)
    copy_weights(model, new)
    return new


def _rebuilt_owner(model, spec):
    """`model` (which applies `peft` itself) rebuilt from its config with `spec`, a fresh backbone."""
    config = model.get_config()
    config.update(peft=spec, trainable_groups=None)
    if "lora_rank" in config:
        config["lora_rank"] = None
    if "preprocessor" in config:  # its vocabulary is an asset, not in the config: share it
        config["preprocessor"] = model.preprocessor
    return type(model).from_config(config)


def _train_only(model, heads):
    """Freezes every weighted layer but the PEFT layers (their variables) and the head."""
    model.trainable = True
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.Model):
            layer.trainable = True
        elif isinstance(layer, PeftKernel) or layer.name in heads:
            layer.trainable = True  # a PEFT layer keeps its kernel and bias frozen
        elif layer.weights:
            layer.trainable = False


def merged(model):
    """A new model: `model` with its PEFT layers folded into plain Keras layers."""
    check_model(model)
    if not peft_layers(model):
        raise _checks.invalid(
            "model", "a model with PEFT layers (from keras_transfer.peft.lora, rslora, dora or ia3)", model.name,
            hint="It has none: there is nothing to merge.",
        )
    if owns_backbone_spec(model):
        new = _rebuilt_owner(model, None)
    else:
        config = _serialized(model)
        for entry in _layer_dicts(config):
            if _is_peft(entry):
                plain, _ = peft_options(entry["config"])
                _set_class(entry, _spec.KERAS_CLASSES[_PEFT_NAMES[entry["class_name"]]], plain)
        new = keras.saving.deserialize_keras_object(config)
    copy_weights(model, new)
    return new


def _plain_type(layer):
    return _spec.KERAS_CLASSES.get(type(layer), type(layer))


def _own_variables(layer):
    return list(layer._trainable_variables) + list(layer._non_trainable_variables)


def copy_weights(source, target):
    """Copies `source`'s weights into `target`, built from the same config (PEFT layers added or merged)."""
    pairs = list(zip(source._flatten_layers(recursive=True), target._flatten_layers(recursive=True)))
    for old, new in pairs:
        if _plain_type(old) is not _plain_type(new):
            raise RuntimeError(f"Rebuilt model differs from {source.name!r}: layer {new.name!r} for {old.name!r}.")
        values = {variable.name: variable for variable in _own_variables(old)}
        folding = isinstance(old, PeftKernel) and not isinstance(new, PeftKernel)
        for variable in _own_variables(new):
            if folding and variable.name == "kernel":
                value = old.merged_kernel()
            elif variable.name in values:
                value = values[variable.name]
            else:
                continue
            variable.assign(ops.cast(value, variable.dtype))
        if isinstance(new, PeftKernel) and not isinstance(old, PeftKernel):
            new.reset_peft()
