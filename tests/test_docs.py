"""The documentation site builds in strict mode (no warnings) and covers the public API."""

import glob
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


def _hooks():
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        import mkdocs_hooks
    finally:
        sys.path.pop(0)
    return mkdocs_hooks


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
