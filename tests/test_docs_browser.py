"""The built documentation site, opened in a real browser (headless Chromium).

Builds the site, serves it from a local HTTP server and loads the home page,
"Getting started", a strategy page and an API page at 1400 px: each has its
title, the navigation, rendered Markdown (no fences, table rules or
mkdocstrings directives left as text), code blocks that need no sideways
scrolling and tables that fit or scroll; the search box returns a result for `FreezeSchedule`.
Screenshots of the four pages are written for a person to look at, to
`$KT_DOCS_SCREENSHOTS` (default `build/docs_screenshots/`, ignored by git).

Large: needs Debian's `chromium` (`bash scripts/setup.sh --with-browser`) and
takes about a minute. Run with `python -m pytest -m large tests/test_docs_browser.py`.
"""

import functools
import http.server
import os
import subprocess
import sys
import threading

import pytest

from tests.browser import Browser, find_chromium

pytest.importorskip("mkdocs", reason="docs extras not installed (pip install -e '.[docs]')")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = [
    pytest.mark.large,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium: bash scripts/setup.sh --with-browser"),
]

PAGES = {  # screenshot name: (path on the site, words its title must hold)
    "home": ("", "keras_transfer"),
    "getting_started": ("getting_started/", "Getting started"),
    "strategy_fine_tuning": ("fine_tuning/", "Fine-tuning"),
    "api_callbacks": ("api/callbacks/", "keras_transfer.callbacks"),
}

# Text that a rendered page never shows: Markdown or mkdocstrings syntax left as text.
RAW_MARKDOWN = ("```", "|---|", "::: keras_transfer", "](", "{#")

# Code blocks whose lines are wider than the block (the reader would have to scroll sideways to
# read the comments), and tables wider than their box without a scrollbar to reach the last columns.
HIDDEN_CODE = """
[...document.querySelectorAll('article pre > code')].filter(code => code.scrollWidth > code.clientWidth + 1).length
"""
HIDDEN_TABLE_COLUMNS = """
[...document.querySelectorAll('article table')].filter(table => {
  const box = table.closest('.md-typeset__scrollwrap') || table.parentElement;
  return table.scrollWidth > box.clientWidth + 1 && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
}).length
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    with Browser(width=1400, height=1000) as tab:
        yield tab


@pytest.fixture(scope="module")
def screenshots():
    folder = os.environ.get("KT_DOCS_SCREENSHOTS") or os.path.join(ROOT, "build", "docs_screenshots")
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_page_renders_in_a_browser(server, browser, screenshots, name):
    path, title = PAGES[name]
    browser.open(server + path)
    assert title in browser.evaluate("document.title")
    assert browser.evaluate("document.querySelectorAll('.md-nav__link').length") > 10  # the navigation
    article = browser.evaluate("document.querySelector('article').innerText")
    assert len(article) > 500, article
    left = [raw for raw in RAW_MARKDOWN if raw in article]
    assert not left, f"{path or 'home'} shows raw Markdown {left}"
    assert browser.evaluate(HIDDEN_CODE) == 0, f"{path or 'home'}: a code block is wider than the page"
    assert browser.evaluate(HIDDEN_TABLE_COLUMNS) == 0, f"{path or 'home'}: a table is cut off without a scrollbar"
    shot = browser.screenshot(os.path.join(screenshots, f"{name}.png"))
    with open(shot, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(shot) > 20_000


def test_search_finds_freeze_schedule(server, browser, screenshots):
    # Material for MkDocs fills its search box from `?q=` and lists the results.
    browser.open(server + "?q=FreezeSchedule")
    count = browser.wait_for("document.querySelectorAll('.md-search-result__item').length", timeout=30)
    assert count >= 1
    first = browser.evaluate("document.querySelector('.md-search-result__item a').href")
    assert first.startswith(server)
    assert "FreezeSchedule" in browser.evaluate("document.querySelector('.md-search-result').innerText")
    browser.screenshot(os.path.join(screenshots, "search_freeze_schedule.png"), full_page=False)
