"""The command line answers `--help`, `--version` and argument errors without TensorFlow,
and hides TensorFlow's start-up log unless `--verbose` asks for it."""

import os
import subprocess
import sys

import pytest

import keras_transfer
from keras_transfer_cli import build_parser, main
from keras_transfer_cli.names import STRATEGY_NAMES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Run in a fresh interpreter: the test process has TensorFlow imported already.
_NO_TENSORFLOW = """
import sys
import keras_transfer_cli
codes = []
for argv in (["--help"], ["--version"], ["fit", "--help"], ["adapt", "--help"], ["evaluate", "--help"],
             ["fit", "data/", "--backbone", "b", "--strategy", "nope"], ["fit"], ["frobnicate"]):
    try:
        keras_transfer_cli.main(argv)
    except SystemExit as exit_:
        codes.append(exit_.code)
heavy = sorted(name for name in ("tensorflow", "keras", "keras_transfer", "numpy") if name in sys.modules)
print(codes, heavy)
"""


def _python(code, *args):
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_help_version_and_argument_errors_do_not_import_tensorflow():
    result = _python(_NO_TENSORFLOW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[0, 0, 0, 0, 0, 2, 2, 2] []"
    assert f"keras-transfer {keras_transfer.__version__}" in result.stdout
    assert "unknown strategy 'nope'. Available: feature_extraction" in result.stderr


def test_the_strategy_names_of_the_command_line_are_the_registry_names():
    assert list(STRATEGY_NAMES) == list(keras_transfer.strategies.available())


def test_an_unknown_strategy_is_an_argument_error_naming_the_flag(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["adapt", "model.keras", "target/", "--strategy", "tentt"])
    assert exit_.value.code == 2
    assert "argument --strategy: unknown strategy 'tentt'. Did you mean 'tent'?" in capsys.readouterr().err


_START = "import sys, keras_transfer_cli; sys.exit(keras_transfer_cli.main(sys.argv[1:]))"


def test_tensorflow_start_up_lines_are_hidden_unless_verbose():
    quiet = _python(_START, "strategies")
    assert quiet.returncode == 0, quiet.stderr
    assert "fine_tune" in quiet.stdout
    assert quiet.stderr.strip() == "", quiet.stderr
    verbose = _python(_START, "--verbose", "strategies")
    assert verbose.returncode == 0, verbose.stderr
    # TensorFlow prints its block twice (once per shared library): shown once here. The block's
    # first line is printed on every CPU; the oneDNN line only where oneDNN is enabled.
    assert verbose.stderr.count("All log messages before absl::InitializeLog() is called") == 1
    assert verbose.stderr.count("oneDNN custom operations") <= 1
    assert verbose.stderr.count("Could not find cuda drivers") <= 1


def test_a_failed_import_shows_what_it_wrote(tmp_path):
    from keras_transfer_cli import quiet_stderr

    code = (
        "import os, sys\nfrom keras_transfer_cli import quiet_stderr\n"
        "with quiet_stderr():\n    os.write(2, b'hidden line\\n')\n"
        "with quiet_stderr(replay=True):\n    os.write(2, b'I0101 00:00:01.1   7 a.cc:1] twice\\nI0101 00:00:02.2   7 a.cc:1] twice\\n')\n"
        "try:\n    with quiet_stderr():\n        os.write(2, b'shown because it failed\\n')\n        raise ImportError('x')\n"
        "except ImportError:\n    pass\n"
    )
    result = _python(code)
    assert result.returncode == 0
    assert "hidden line" not in result.stderr
    assert "shown because it failed" in result.stderr
    assert result.stderr.count("twice") == 1
    assert callable(quiet_stderr) and build_parser().prog == "keras-transfer"


def test_bench_hands_over_without_importing_tensorflow():
    code = (
        "import subprocess, sys\n"
        "calls = []\n"
        "subprocess.call = lambda command, cwd=None: calls.append(command[1:]) or 0\n"
        "import keras_transfer_cli\n"
        "code = keras_transfer_cli.main(['bench', '--list', '--only', 'jit'])\n"
        "print(code, calls, 'tensorflow' in sys.modules)\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 [['-m', 'benchmarks.run', '--list', '--only', 'jit']] False"
