"""Loading a keras-hub text backbone and its preprocessor from a preset.

A preset is one of: a keras-hub preset name (`"bert_tiny_en_uncased"`,
downloaded from Kaggle on first use), a handle with a scheme (`"hf://..."`,
`"kaggle://..."`: a download), or a local directory: a Keras preset written
by `save_to_preset`, or a Hugging Face checkpoint (`config.json` with a
`model_type`, `*.safetensors`, tokenizer files) that keras-hub converts.
Errors say which of these was tried.
"""

import json
import os

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export

DOWNLOAD_SCHEMES = ("kaggle", "hf", "modelscope", "gs")


@keras_transfer_export("keras_transfer.text.PresetNotFoundError")
class PresetNotFoundError(ValueError):
    """A preset name or directory that does not exist (a `ValueError`)."""


def _text_preset_names():
    import keras_hub

    return sorted(keras_hub.models.TextClassifierPreprocessor.presets)


def _looks_like_path(text):
    return os.sep in text or "/" in text or text.startswith((".", "~"))


def locate(preset):
    """Returns `(kind, location)`: `kind` is `"directory"`, `"name"` or `"download"`.

    Raises:
        TypeError: `preset` is not a string or path.
        PresetNotFoundError: an unknown name or a directory that does not exist.
    """
    if not isinstance(preset, (str, os.PathLike)) or isinstance(preset, bytes):
        raise _checks.invalid(
            "preset", "a keras-hub preset name or a local preset directory (str or path)", preset, error=TypeError
        )
    text = os.path.expanduser(os.fspath(preset))
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme in DOWNLOAD_SCHEMES:
            return "download", text
        raise PresetNotFoundError(
            f"Invalid value received for argument `preset`: unknown scheme {scheme!r} in {text!r}. "
            f"Expected a keras-hub preset name, a local directory, or a handle with one of the "
            f"schemes {', '.join(s + '://' for s in DOWNLOAD_SCHEMES)}."
        )
    if os.path.isdir(text):
        if not os.path.isfile(os.path.join(text, "config.json")):
            raise PresetNotFoundError(
                f"Invalid value received for argument `preset`: looked for a local preset directory "
                f"{text!r}; it exists but has no config.json, so it is neither a Keras preset "
                "(`backbone.save_to_preset(dir)`) nor a Hugging Face checkpoint."
            )
        return "directory", text
    if _looks_like_path(text):
        raise PresetNotFoundError(
            f"Invalid value received for argument `preset`: looked for a local preset directory "
            f"{text!r}, which does not exist (absolute path: {os.path.abspath(text)!r})."
        )
    names = _text_preset_names()
    if text in names:
        return "name", text
    raise PresetNotFoundError(
        f"Invalid value received for argument `preset`: {text!r} is neither a keras-hub text "
        f"preset name nor an existing directory (looked for both).{_checks.suggest(text, names)} "
        "Text preset names: `keras_hub.models.TextClassifierPreprocessor.presets`."
    )


def describe(kind, location):
    if kind == "directory":
        fmt = "Hugging Face checkpoint" if _is_transformers_dir(location) else "Keras preset"
        return f"local {fmt} directory {location!r}"
    if kind == "name":
        return f"keras-hub preset name {location!r} (downloaded from Kaggle on first use)"
    return f"preset handle {location!r} (a download)"


def _is_transformers_dir(directory):
    try:
        with open(os.path.join(directory, "config.json")) as handle:
            return "model_type" in json.load(handle)
    except (OSError, ValueError):
        return False


def load(located, *, load_weights=True):
    """Loads `(backbone, preprocessor, description)` from `(kind, location)`, what `locate` returns."""
    import keras_hub

    kind, location = located
    where = describe(kind, location)
    try:
        backbone = keras_hub.models.Backbone.from_preset(location, load_weights=load_weights)
    except Exception as error:
        hint = ""
        if kind != "directory":
            hint = (
                " Downloads need the internet; offline, save the preset where it can be "
                "downloaded (`keras_hub.models.Backbone.from_preset(name).save_to_preset(dir)` and "
                "the preprocessor likewise) and pass the directory."
            )
        raise OSError(f"Could not load a keras-hub backbone from the {where}: {error}.{hint}") from error
    try:
        preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(location)
    except Exception as error:
        raise ValueError(
            f"Invalid value received for argument `preset`: the {where} holds a "
            f"{backbone.__class__.__name__} but no text preprocessor could be loaded from it "
            f"({error}). Text classifiers need a text backbone with its tokenizer; image "
            "backbones go to `keras_transfer.build_classifier`."
        ) from error
    return backbone, preprocessor, where
