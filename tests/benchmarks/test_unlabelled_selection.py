"""The unlabelled-selection benchmark's bookkeeping: each criterion picks its candidate, the loss is paired."""

from benchmarks import unlabelled_selection as selection


def _history(*epochs):
    return [{"epoch": i + 1, "target_val": v, "test": t, "source_val": s, "iwcv": w, "dev": d}
            for i, (v, t, s, w, d) in enumerate(epochs)]


def test_each_criterion_picks_in_its_direction_and_reports_the_accuracy_lost():
    rows = [
        {"pair": "digits", "seed": 0, "method": "source_only", "weight": 0.0,
         "history": _history((0.5, 0.50, 0.99, 0.9, 0.9), (0.6, 0.60, 0.99, 0.8, 0.8))},
        {"pair": "digits", "seed": 0, "method": "dann", "weight": 0.3, "reverse": 0.7,
         "history": _history((0.7, 0.72, 0.90, 0.5, 0.6), (0.9, 0.88, 0.95, 0.4, 0.7))},
        {"pair": "digits", "seed": 0, "method": "dann", "weight": 1.0, "reverse": 0.8,
         "history": _history((0.8, 0.80, 0.97, 0.3, 0.2), (0.6, 0.61, 0.98, 0.6, 0.5))},
    ]
    lines = {line.split(" | ")[1]: line for line in selection.method_rows(rows, "digits", [0], "dann")}
    # the oracle: dann 0.3 at epoch 2 (target val 0.9), test 0.88
    assert "0.3@2" in lines["target val"] and "+0.000" in lines["target val"]
    # source val accuracy: the source-only run's last epoch (0.99), test 0.60: 0.28 lost
    assert "0@2" in lines["source val acc"] and "+0.280" in lines["source val acc"]
    # IWCV (lowest): dann 1.0 epoch 1 (0.3), test 0.80; DEV (lowest): the same candidate (0.2)
    assert "1@1" in lines["IWCV (loss)"] and "+0.080" in lines["IWCV (loss)"]
    assert "1@1" in lines["DEV (loss)"]
    # reverse validation sees last epochs only: weight 1.0 (0.8) against the oracle's 0.3@2 on the same pool
    assert "1@2" in lines["reverse val"] and "+0.270" in lines["reverse val"]
    assert "0.3@2" in lines["target val (last epochs)"]
