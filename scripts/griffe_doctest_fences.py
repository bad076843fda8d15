"""Griffe extension for the docs: doctest examples render as code.

The package's docstrings follow Keras's habit: an `Example:` line, a blank
line, then `>>>` doctest lines (which tests/test_docstrings.py runs). Google
style parsers read `Example:` followed by a blank line as plain text, so the
`>>>` lines would render as Markdown quotes (and `['a', 'b']` outputs as
broken links). This extension wraps each run of doctest lines (from a `>>>`
line to the next blank line) in a ```` ```pycon ```` fence before
mkdocstrings renders the docstring. Only the docs build uses it.
"""

import griffe


def fence_doctests(text):
    """Wraps each run of `>>>` lines (and their output) in a pycon fence."""
    lines = text.split("\n")
    out = []
    in_run = False
    in_fence = False
    for line in lines:
        stripped = line.lstrip(" ")
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("```") and not in_run:
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue
        if not in_run and stripped.startswith(">>>"):
            out.append(f"{indent}```pycon")
            in_run = True
            run_indent = indent
        elif in_run and not stripped:
            out.append(f"{run_indent}```")
            in_run = False
        out.append(line)
    if in_run:
        out.append(f"{run_indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fences doctest examples in every docstring of the loaded package."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
