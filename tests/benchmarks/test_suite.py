"""The benchmark suite: plug-in discovery, the table and page, and a real `--quick` run.

Timings are never asserted; the accuracy parity of cached vs plain training is.
"""

import os
import re
import subprocess
import sys

import pytest

from benchmarks import run as bench
from benchmarks.table import Row

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PLUGIN = '''
"""Alpha: a fake entry for the tests."""

from benchmarks.table import Row

NOTES = "Alpha notes."


def run(quick=False):
    size = "small" if quick else "large"
    return [
        Row("", f"step ({size})", "plain", "fancy", 2.0, 1.0, "ms"),
        Row("", "accuracy", "plain", "fancy", 90.0, 91.5, "%", kind="score"),
    ]
'''


@pytest.fixture
def fake_suite(tmp_path, monkeypatch):
    package = tmp_path / "fake_suite"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "alpha.py").write_text(PLUGIN)
    (package / "broken.py").write_text('"""Broken."""\n\ndef run(quick=False):\n    raise RuntimeError("boom")\n')
    (package / "_helpers.py").write_text("def run(quick=False):\n    raise AssertionError('private modules are not entries')\n")
    (package / "not_an_entry.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fake_suite"
    for name in [m for m in sys.modules if m.startswith("fake_suite")]:
        del sys.modules[name]


def test_discovers_plugin_entries(fake_suite):
    assert list(bench.discover(fake_suite)) == ["alpha", "broken"]
    assert {"cached_features", "jit"} <= set(bench.discover())


def test_page_has_machine_table_and_failures(fake_suite, tmp_path, capsys):
    output = tmp_path / "bench.md"
    code = bench.main(["--suite", fake_suite, "--quick", "--output", str(output)])
    assert code == 1, "a failing entry makes the run fail, after the others ran"
    page = output.read_text()
    for label in ("| CPU |", "| cores |", "| RAM |", "| GPU |", "| TensorFlow |", "| Keras |", "| date |", "| duration |",
                  "| load average (1, 5, 15 min) at start / end |"):
        assert label in page
    assert "| alpha | step (small) | plain | fancy | 2.00 ms | 1.00 ms | 2.0x faster |" in page
    assert "| alpha | accuracy | plain | fancy | 90.00 % | 91.50 % | +1.50 % |" in page
    assert "`broken`: RuntimeError: boom" in page
    assert "Alpha: a fake entry" in page and "Alpha notes." in page
    assert "python -m benchmarks.run --quick" in page
    assert "2.0x faster" in capsys.readouterr().out


def test_only_and_unknown_entry(fake_suite, tmp_path):
    output = tmp_path / "only.md"
    assert bench.main(["--suite", fake_suite, "--only", "alpha", "--output", str(output)]) == 0
    page = output.read_text()
    assert "step (large)" in page and "broken" not in page
    with pytest.raises(SystemExit):
        bench.main(["--suite", fake_suite, "--only", "nope", "--output", "-"])


def test_row_comparisons():
    assert Row("x", "m", "a", "b", 3.0, 1.5, "s").comparison == "2.0x faster"
    assert Row("x", "m", "a", "b", 1.0, 4.0, "s").comparison == "4.0x slower"
    assert Row("x", "m", "a", "b", 70.0, 69.5, "%", kind="score").comparison == "-0.50 %"
    with pytest.raises(ValueError, match="kind"):
        Row("x", "m", "a", "b", 1.0, 2.0, kind="speed")


@pytest.mark.large  # about 2 minutes: every entry at quick size
def test_quick_suite_end_to_end(tmp_path):
    """`python -m benchmarks.run --quick`: every entry runs and the page is written."""
    output = tmp_path / "benchmarks.md"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    page = output.read_text()
    for entry in bench.discover():
        assert f"### `{entry}`" in page
        assert f"| {entry} |" in page, f"entry {entry} produced no row"
    accuracy = re.search(r"\| cached_features \| test accuracy[^|]*\|[^|]*\|[^|]*\| ([\d.]+) % \| ([\d.]+) % \|", page)
    assert accuracy, page
    assert abs(float(accuracy.group(1)) - float(accuracy.group(2))) <= 0.5, "cached and plain training agree"
