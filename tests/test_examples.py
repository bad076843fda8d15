"""Every script under examples/ runs, offline, in quick mode.

The contract for an example: `python examples/<name>.py --quick` runs on
real offline data in about a minute and exits with status 0. New examples
are picked up automatically.
"""

import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.py")))


def test_there_are_examples():
    assert EXAMPLES, "examples/*.py is empty"


@pytest.mark.large  # a minute or less each, a dozen scripts
@pytest.mark.parametrize("path", EXAMPLES, ids=[os.path.basename(p) for p in EXAMPLES])
def test_example_runs_in_quick_mode(path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, path, "--quick"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, f"{os.path.basename(path)} --quick failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), f"{os.path.basename(path)} printed nothing"
