"""The benchmark's quick mode and the example run end to end (slow: `large`)."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.large
def test_benchmark_quick_mode():
    bench = load("benchmarks/domain_adaptation.py")
    results, _ = bench.main(["--quick", "--pair", "digits", "--methods", "source_only,dann,coral",
                             "--weights", "dann=0.3;coral=1", "--seeds", "0"])
    assert [r["method"] for r in results] == ["source_only", "dann", "coral"]
    for r in results:
        assert 0.15 < r["test"] <= 1.0  # well above chance (0.1) on the real target test split
        assert len(r["history"]) == r["config"]["epochs"] and 1 <= r["best_epoch"] <= r["config"]["epochs"]
    assert "| dann |" in bench.summarize(results, ["source_only", "dann", "coral"], ["digits"])


@pytest.mark.large
def test_example_quick():
    out = load("examples/domain_adaptation.py").main(["--quick"])
    assert 0.15 < out["source_only"] <= 1 and 0.15 < out["dann"] <= 1
    assert {"task_loss", "alignment_loss", "domain_accuracy", "gradient_reversal_lambda"} <= set(out["history"])
