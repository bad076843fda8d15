"""The documentation site builds in strict mode (no warnings) and covers the public API."""

import glob
import importlib
import os
import re
import subprocess
import sys

import pytest

import keras_transfer
from keras_transfer.api_export import PUBLIC_API

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytest.importorskip("mkdocs", reason="docs extras not installed (pip install -e '.[docs]')")
pytest.importorskip("mkdocstrings_handlers.python", reason="docs extras not installed (pip install -e '.[docs]')")


def _script(name):
    """A module of scripts/ (the docs build's hooks and griffe extension)."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def _hooks():
    return _script("mkdocs_hooks")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    return out


def test_every_public_name_has_an_api_entry(site):
    assert keras_transfer.__version__
    pages = ""
    for path in glob.glob(os.path.join(site, "api", "**", "*.html"), recursive=True):
        with open(path, encoding="utf-8") as handle:
            pages += handle.read()
    anchors = set(re.findall(r'id="(keras_transfer[\w.]*)"', pages))
    missing = sorted(name for name in PUBLIC_API if name not in anchors)
    assert not missing, f"public names without an API entry: {missing}"


def test_the_generated_reference_reads_the_same_names_as_the_package():
    assert set(_hooks().public_names()) == set(PUBLIC_API)


def test_every_docs_page_is_built(site):
    for page in glob.glob(os.path.join(ROOT, "docs", "*.md")):
        name = os.path.splitext(os.path.basename(page))[0]
        built = os.path.join(site, "index.html" if name == "index" else os.path.join(name, "index.html"))
        assert os.path.isfile(built), f"docs/{name}.md was not built (missing from the nav in mkdocs.yml?)"


def test_doctest_fences_wrap_examples_only():
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        from griffe_doctest_fences import fence_doctests
    finally:
        sys.path.pop(0)
    text = "Example:\n\n>>> x = 1\n>>> x\n1\n\nAfter.\n\n```python\n>>> not doctest\n```"
    assert fence_doctests(text) == (
        "Example:\n\n```pycon\n>>> x = 1\n>>> x\n1\n```\n\nAfter.\n\n```python\n>>> not doctest\n```"
    )


def test_every_strategy_has_its_page_and_section_on_the_site(site):
    for strategy in keras_transfer.strategies.list_strategies():
        name = os.path.splitext(strategy.page)[0]
        built = os.path.join(site, "index.html" if name == "index" else os.path.join(name, "index.html"))
        assert os.path.isfile(built), f"{strategy.name}: docs/{strategy.page} is not on the site"
        if strategy.section:
            with open(built, encoding="utf-8") as handle:
                assert f'id="{strategy.section}"' in handle.read(), f"{strategy.name}: no section #{strategy.section}"


def _extension():
    return _script("griffe_doctest_fences")


def test_doctest_directives_are_removed_from_examples_only():
    strip = _extension().strip_doctest_directives
    text = ">>> model.export('x')  # doctest: +SKIP\n... more()  # doctest: +ELLIPSIS\nProse # doctest: kept"
    assert strip(text) == ">>> model.export('x')\n... more()\nProse # doctest: kept"


def test_call_arguments_become_a_list():
    text = (
        "Summary.\n\nCall arguments:\n    inputs: features, `(batch, d)`,\n        continued here.\n"
        "    training (bool): whether dropout is active.\n\nExample:\n\n>>> 1\n1"
    )
    assert _extension().list_call_arguments(text) == (
        "Summary.\n\n**Call arguments**\n\n- `inputs`: features, `(batch, d)`,\n  continued here.\n"
        "- `training` (bool): whether dropout is active.\n\n\nExample:\n\n>>> 1\n1"
    )


def test_private_parameters_are_dropped_from_signatures():
    import griffe

    function = griffe.Function("f", parameters=griffe.Parameters(
        griffe.Parameter("self"), griffe.Parameter("alpha", default="0.1"), griffe.Parameter("_restoring", default="False"),
    ))
    _extension().drop_private_parameters(function)
    assert [parameter.name for parameter in function.parameters] == ["self", "alpha"]


def _api_pages(site):
    text = ""
    for path in glob.glob(os.path.join(site, "api", "**", "*.html"), recursive=True):
        with open(path, encoding="utf-8") as handle:
            text += handle.read()
    return text


def test_the_api_reference_shows_no_private_names_nor_doctest_directives(site):
    pages = _api_pages(site)
    anchors = set(re.findall(r'id="(keras_transfer[\w.]*)"', pages))
    private = sorted(anchor for anchor in anchors if any(part.startswith("_") for part in anchor.split(".")))
    assert not private, f"private names in the API reference: {private}"
    assert "doctest:" not in pages
    assert "_restoring" not in pages  # L2SPModel's from_config flag
    # "Call arguments" sections render as a list, not as one paragraph.
    assert pages.count("<strong>Call arguments</strong></p>\n<ul>") >= 8
    # Paper references are links.
    assert re.search(r'<a href="https://arxiv\.org/abs/1505\.07818">', pages)


def test_the_home_page_shows_the_version_and_links_every_strategy(site):
    with open(os.path.join(site, "index.html"), encoding="utf-8") as handle:
        home = handle.read()
    assert f"Version <strong>{keras_transfer.__version__}</strong>" in home
    assert 'id="install"' in home and "wheel" in home
    for strategy in keras_transfer.strategies.list_strategies():
        page = os.path.splitext(strategy.page)[0] + "/"
        target = page + (f"#{strategy.section}" if strategy.section else "")
        assert f'href="{target}"' in home, f"the home page does not link {strategy.name} ({target})"
