"""MkDocs hooks: the API reference is generated from the public names.

Every `@keras_transfer_export("keras_transfer.<namespace>.<Name>")` in the
package (or, for a constant, the call `keras_transfer_export(path)(VALUE)` on
a line of its own) becomes an entry of the page of its namespace (`api/<namespace>.md`,
rendered from the docstring by mkdocstrings), and every namespace a page of
the "API reference" section of the navigation. A new public name or
namespace needs no edit here or in `mkdocs.yml`. The names are read from the
source text, so building the docs does not import TensorFlow.
"""

import collections
import os
import re

from mkdocs.structure.files import File

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "keras_transfer"
SECTION = "API reference"
_EXPORT = re.compile(r"^[ \t]*@?keras_transfer_export\(\s*(\[[^\]]*\]|\"[^\"]+\"|'[^']+')", re.S | re.M)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def public_names(root=ROOT):
    """Sorted public paths declared with `@keras_transfer_export` in the package source."""
    names = set()
    for directory, _, files in os.walk(os.path.join(root, PACKAGE)):
        for filename in files:
            if filename.endswith(".py"):
                with open(os.path.join(directory, filename), encoding="utf-8") as handle:
                    for match in _EXPORT.finditer(handle.read()):
                        names.update(_QUOTED.findall(match.group(1)))
    return sorted(names)


def namespaces(names):
    """`{namespace: [public paths]}`; the top-level names under `"keras_transfer"`."""
    grouped = collections.defaultdict(list)
    for name in names:
        parent = name.rsplit(".", 1)[0]
        grouped[parent].append(name)
    return dict(sorted(grouped.items(), key=lambda item: (item[0] != PACKAGE, item[0])))


def _page(namespace):
    return "api/index.md" if namespace == PACKAGE else f"api/{namespace[len(PACKAGE) + 1:]}.md"


def _content(namespace, names):
    lines = [f"# `{namespace}`", ""]
    if namespace == PACKAGE:
        lines += [
            "Top-level functions. Each namespace has its own page in this section:",
            "",
        ]
        for other in _NAMESPACES:
            if other != PACKAGE:
                lines.append(f"- [`{other}`]({os.path.basename(_page(other))})")
        lines.append("")
    for name in names:
        lines += [f"::: {name}", ""]
    return "\n".join(lines)


_NAMESPACES = {}


def on_config(config):
    _NAMESPACES.clear()
    _NAMESPACES.update(namespaces(public_names()))
    entries = [{("Overview" if ns == PACKAGE else ns): _page(ns)} for ns in _NAMESPACES]
    for item in config["nav"] or []:
        if isinstance(item, dict) and SECTION in item:
            item[SECTION] = entries
            break
    else:
        raise ValueError(f"mkdocs.yml: the nav needs an entry `- {SECTION}: []` for the generated pages.")
    return config


def on_files(files, config):
    for namespace, names in _NAMESPACES.items():
        files.append(File.generated(config, _page(namespace), content=_content(namespace, names)))
    return files


VERSION_MARKER = "{{ keras_transfer_version }}"
_VERSION = re.compile(r'^__version__\s*=\s*["\']([^"\']+)["\']', re.M)


def package_version(root=ROOT):
    """The `__version__` of the package, read from its source (no TensorFlow import)."""
    with open(os.path.join(root, PACKAGE, "__init__.py"), encoding="utf-8") as handle:
        match = _VERSION.search(handle.read())
    if not match:
        raise ValueError(f"{PACKAGE}/__init__.py: no `__version__ = \"...\"` line for the docs' version")
    return match.group(1)


def on_page_markdown(markdown, **kwargs):
    return markdown.replace(VERSION_MARKER, package_version()) if VERSION_MARKER in markdown else markdown
