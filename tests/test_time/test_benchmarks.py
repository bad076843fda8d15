"""The test-time and SHOT benchmarks' quick modes run end to end on real data (slow: `large`)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(script, *args):
    result = subprocess.run([sys.executable, os.path.join("benchmarks", script), "--quick", *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.large
def test_test_time_benchmark_quick(tmp_path):
    out = tmp_path / "test_time.jsonl"
    _run("test_time_adaptation.py", "--out", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines, "the quick run wrote its results"


@pytest.mark.large
def test_shot_benchmark_quick(tmp_path):
    out = tmp_path / "shot.jsonl"
    _run("shot.py", "--out", str(out), "--md", str(tmp_path / "shot.md"))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and all("source_only" in json.dumps(line) for line in lines)
