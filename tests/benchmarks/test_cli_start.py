"""The `cli_start` entry runs the real console script, and its rows name each command against `python -c pass`."""

import pytest

from benchmarks.suite import cli_start


@pytest.mark.large  # slow (10-25 s); the feature keeps default tests
def test_commands_run_and_rows_compare_each_to_python(monkeypatch):
    commands = cli_start.commands()
    assert commands["keras-transfer --help"][-1] == "--help"
    times = cli_start.measure(1)  # check=True: a failing command raises here
    assert set(times) == set(commands) and all(len(v) == 1 and v[0] > 0 for v in times.values())

    monkeypatch.setattr(cli_start, "measure", lambda rounds: {name: [2.0, 4.0] if name == "python -c pass" else
                                                             [1.0, 1.0] for name in commands})
    rows = list(cli_start.run(quick=True))
    assert [row.candidate for row in rows] == ["keras-transfer --help", "keras-transfer --version",
                                               "import keras_transfer"]
    assert rows[0].baseline_value == pytest.approx(3.0) and rows[0].candidate_value == pytest.approx(1.0)
    assert "ratio 0.4 (min 0.2, max 0.5)" in rows[0].note and "under 1 s: no" in rows[0].note
    assert "under" not in rows[2].note
