"""Each registered strategy lives in one technique package: recipe, registration, its own classes.

The docs side (the page and section of every strategy exist in the built
site) is checked in `tests/test_docs.py`, which builds the site once.
"""

import importlib
import os
import pkgutil

import pytest

import keras_transfer as kt

SHARED = ("keras_transfer.strategies", "keras_transfer.models", "keras_transfer.groups", "keras_transfer.backbones")


@pytest.mark.parametrize("name", kt.strategies.available())
def test_recipe_registration_and_classes_live_in_the_technique_package(name):
    strategy = kt.strategies.get_strategy(name)
    package = strategy.package
    assert package.startswith("keras_transfer.") and package not in SHARED, package
    assert strategy.train.__module__ == f"{package}.recipes", "the recipe is the package's recipes.py"
    assert strategy.registered_in == f"{package}.recipes", "registered where its recipe is"
    assert strategy.builds, f"{name} declares the classes it is made of"
    for cls in strategy.builds:
        assert cls.__module__.startswith(package + "."), f"{name}: {cls.__name__} lives in {cls.__module__}"


def test_the_strategies_package_holds_only_the_registry_the_record_and_transfer():
    modules = sorted(info.name for info in pkgutil.iter_modules(kt.strategies.__path__))
    assert modules == ["_context", "registry", "runner", "strategy", "transfer_result"]


def test_every_technique_package_with_a_strategy_has_its_recipes_module():
    packages = {kt.strategies.get_strategy(name).package for name in kt.strategies.available()}
    for package in packages:
        recipes = importlib.import_module(f"{package}.recipes")
        registered = [n for n in kt.strategies.available() if kt.strategies.get_strategy(n).registered_in == recipes.__name__]
        assert registered, package


MAX_MODULE_LINES = 350


def test_no_module_over_350_lines():
    root = kt.__path__[0]
    long = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    count = sum(1 for _ in f)
                if count > MAX_MODULE_LINES:
                    long[os.path.relpath(path, root)] = count
    assert not long, f"split these along their jobs (one idea per module): {long}"
