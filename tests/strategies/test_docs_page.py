"""docs/strategies.md stays in sync with the registry."""

import os
import re

import keras_transfer as kt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(ROOT, "docs", "strategies.md")


def _page():
    with open(PAGE, encoding="utf-8") as handle:
        return handle.read()


def test_registry_table_matches_the_registry():
    match = re.search(r"<!-- strategies-table:[^\n]*-->\n(.*?)\n<!-- end of strategies-table -->", _page(), re.S)
    assert match, "docs/strategies.md lost its generated table markers"
    assert match.group(1).strip() == kt.strategies.list_strategies("markdown"), (
        "docs/strategies.md is out of date: paste keras_transfer.strategies.list_strategies('markdown') between the markers"
    )


def test_every_option_is_documented():
    rows = {line.split("|")[1].strip().strip("`"): line for line in _page().splitlines() if line.startswith("| `")}
    for strategy in kt.strategies.list_strategies():
        assert strategy.name in rows, f"no options row for {strategy.name}"
        for option in strategy.options:
            assert f"`{option}=" in rows[strategy.name], f"{strategy.name}: option {option} undocumented"


def test_the_page_is_in_the_navigation():
    with open(os.path.join(ROOT, "mkdocs.yml"), encoding="utf-8") as handle:
        assert "strategies.md" in handle.read()
