"""The benchmark and example scripts of generative transfer run end to end (quick modes)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*args, timeout=1200):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    process = subprocess.run([sys.executable, *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert process.returncode == 0, process.stderr[-4000:]
    return process.stdout


@pytest.mark.large
def test_benchmark_quick_mode_reports_every_method(tmp_path):
    out = _run("benchmarks/generative_transfer.py", "--quick", "--cache", str(tmp_path))
    assert "generator_recognition" in out
    for method in ("scratch", "kd", "pp", "pssl", "pp_pssl", "fixmatch_real"):
        assert f"| {method} |" in out
    assert "| pp_pssl - scratch |" in out and "| pp_pssl - kd |" in out


@pytest.mark.large
def test_step_time_benchmark_prints_a_ratio():
    out = _run("benchmarks/pssl_step_time.py", "--steps", "2", "--rounds", "1", "--batch", "4", "--ratio", "2")
    assert "ratio P-SSL / real:" in out


@pytest.mark.large
def test_example_quick_mode():
    out = _run("examples/generative_transfer.py", "--quick")
    assert "PP + P-SSL:" in out and "scratch:" in out
