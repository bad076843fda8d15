"""Griffe extension for the docs: docstrings render as a reader expects.

Only the docs build uses it. Three rewrites, each on the docstring text
before mkdocstrings renders it, and one on signatures:

- Doctest examples render as code. The package's docstrings follow Keras's
  habit: an `Example:` line, a blank line, then `>>>` doctest lines (which
  tests/test_docstrings.py runs). Google-style parsers read `Example:`
  followed by a blank line as plain text, so the `>>>` lines would render as
  Markdown quotes; each run of doctest lines (from a `>>>` line to the next
  blank line) is wrapped in a ```` ```pycon ```` fence.
- Doctest directives (`# doctest: +SKIP`) are for the test runner, not the
  reader: they are removed.
- A `Call arguments:` section (Keras's name for what `call()` takes) is not a
  Google section, so it would render as one paragraph; it becomes a list.
- Parameters whose name starts with `_` are private plumbing (for example a
  flag `from_config` passes): they are removed from the rendered signature.
"""

import re

import griffe

_DIRECTIVE = re.compile(r"[ \t]*#[ \t]*doctest:[^\n]*")
_ARGUMENT = re.compile(r"^(\*{0,2}\w+)(?:\s*\(([^)]*)\))?:\s*(.*)$")


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


def strip_doctest_directives(text):
    """Removes `# doctest: ...` comments from doctest lines."""
    return "\n".join(
        _DIRECTIVE.sub("", line) if line.lstrip().startswith((">>>", "...")) else line
        for line in text.split("\n")
    )


def list_call_arguments(text):
    """Rewrites a `Call arguments:` section into a titled Markdown list.

    Each `name: description` line indented under the title becomes an item
    `` - `name`: description``; lines indented deeper continue the item.
    """
    lines = text.split("\n")
    out = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.strip() != "Call arguments:":
            out.append(line)
            index += 1
            continue
        title_indent = len(line) - len(line.lstrip())
        out += ["**Call arguments**", ""]
        index += 1
        item_indent = None
        while index < len(lines):
            body = lines[index]
            depth = len(body) - len(body.lstrip())
            if body.strip() and depth <= title_indent:
                break
            if not body.strip():
                # A blank line ends the section unless the next line is still indented under it.
                following = next((l for l in lines[index + 1:] if l.strip()), "")
                if len(following) - len(following.lstrip()) <= title_indent:
                    break
                index += 1
                continue
            match = _ARGUMENT.match(body.strip())
            if item_indent is None:
                item_indent = depth
            if match and depth == item_indent:
                name, kind, description = match.groups()
                kind = f" ({kind})" if kind else ""
                out.append(f"- `{name}`{kind}: {description}")
            else:
                out.append(f"  {body.strip()}")
            index += 1
        out.append("")
    return "\n".join(out)


def rewrite(text):
    """All the docstring rewrites of this extension, in order."""
    if "Call arguments:" in text:
        text = list_call_arguments(text)
    if ">>>" in text:
        text = fence_doctests(strip_doctest_directives(text))
    return text


def drop_private_parameters(function):
    """Removes the parameters whose name starts with `_` from a griffe function."""
    for name in [parameter.name for parameter in function.parameters]:
        if name.startswith("_"):
            del function.parameters[name]


class DoctestFences(griffe.Extension):
    """Applies the rewrites to every docstring and signature of the loaded package."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
        if obj.is_function:
            drop_private_parameters(obj)
