"""The one place public names are declared.

`@keras_transfer_export("keras_transfer.layers.GradientReversal")` records the
public path of a symbol and, for classes, registers it for Keras serialization
under the `keras_transfer` package, so `keras.models.load_model` needs no
`custom_objects`.
"""

import inspect

import keras

PUBLIC_API = {}

# A second public path of a name, only when listed here: `{alias: home}`.
# Each namespace's `__all__` holds exactly the names declared under it, and a
# name has one declared path unless it is listed (`tests/test_public_api.py`).
ALIASES = {}


def keras_transfer_export(path):
    """Declares `path` as the public name of the decorated symbol."""
    paths = [path] if isinstance(path, str) else list(path)

    def decorator(symbol):
        for p in paths:
            PUBLIC_API[p] = symbol
        if inspect.isclass(symbol) and hasattr(symbol, "get_config"):
            keras.saving.register_keras_serializable(package="keras_transfer")(symbol)
        return symbol

    return decorator
