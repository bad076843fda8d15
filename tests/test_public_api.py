"""One public home per name: what each namespace exports is what the export decorator declares.

`keras_transfer_export(path)` declares the public path of a name (and the API
reference lists every declared path, `tests/test_docs.py`). Here: every name
in a namespace's `__all__` is declared under that namespace, every declared
path is exported by its namespace, and no object has two public paths unless
the alias is listed in `api_export.ALIASES`.
"""

import collections
import importlib
import inspect
import pkgutil

import keras_transfer as kt
from keras_transfer import api_export


def _namespaces():
    """The package root and every public package under it (no leading `_`)."""
    names = ["keras_transfer"]
    for info in pkgutil.walk_packages(kt.__path__, prefix="keras_transfer."):
        if info.ispkg and not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def _exports():
    """`{public path: object}` for every non-module name in a namespace's `__all__`."""
    exports = {}
    for namespace in _namespaces():
        module = importlib.import_module(namespace)
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if not inspect.ismodule(value):
                exports[f"{namespace}.{name}"] = value
    return exports


def test_every_exported_name_is_declared_under_the_path_it_is_exported_at():
    exports = _exports()
    undeclared = sorted(path for path in exports if path not in api_export.PUBLIC_API)
    assert not undeclared, f"exported without @keras_transfer_export: {undeclared}"
    different = sorted(path for path, value in exports.items() if api_export.PUBLIC_API[path] is not value)
    assert not different, different


def test_every_declared_path_is_exported_by_its_namespace():
    exports = _exports()
    missing = sorted(path for path in api_export.PUBLIC_API if path not in exports)
    assert not missing, f"declared but not in the __all__ of its namespace: {missing}"


def test_no_name_has_two_public_paths_unless_it_is_a_listed_alias():
    paths = collections.defaultdict(list)
    for path, value in api_export.PUBLIC_API.items():
        if path not in api_export.ALIASES:
            paths[id(value)].append(path)
    doubles = sorted(sorted(p) for p in paths.values() if len(p) > 1)
    assert not doubles, f"two public paths: {doubles}"
    for alias, home in api_export.ALIASES.items():
        assert api_export.PUBLIC_API[alias] is api_export.PUBLIC_API[home], alias


def test_the_contract_paths_are_the_homes():
    # DESIGN.md's public API contract.
    for path in (
        "keras_transfer.callbacks.FreezeSchedule", "keras_transfer.callbacks.DiscriminativeLR",
        "keras_transfer.layers.DomainAdversarialHead", "keras_transfer.layers.PseudoSSLGenerator",
        "keras_transfer.models.DomainAdaptationModel", "keras_transfer.ssl.FixMatch",
        "keras_transfer.distill.Distiller", "keras_transfer.backbones.available", "keras_transfer.backbones.get",
        "keras_transfer.strategies.available", "keras_transfer.build_classifier", "keras_transfer.transfer",
        "keras_transfer.build_text_classifier", "keras_transfer.export.export_saved_model",
    ):
        assert path in api_export.PUBLIC_API, path
    assert kt.backbones.available() != kt.strategies.available()
