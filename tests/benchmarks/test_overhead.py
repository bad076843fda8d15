"""The hand-written references of `benchmarks/suite/overhead.py` do the package's math.

Timings are never asserted. What is: each reference, started from the
package side's weights, reaches the same weights after one epoch (so the
overhead ratio compares the same method), a reference that does other math
is refused, and the quick entry yields one row per path.
"""

import keras
import pytest

from benchmarks.references import _harness
from benchmarks.references import group_lr
from benchmarks.references import semi_supervised
from benchmarks.references import two_players
from benchmarks.suite import overhead


@pytest.mark.large  # slow (15-45 s); the default run stays under its budget
def test_quick_entry_measures_every_path_against_a_matching_reference():
    rows = overhead.run(quick=True)
    assert [row.measure for row in rows] == [f"ms per step: {pair.name}" for pair in overhead.PAIRS]
    for row in rows:
        assert row.baseline_value > 0 and row.candidate_value > 0
        assert "weights equal to" in row.note and "ratio" in row.note


def test_a_reference_with_other_math_is_refused(monkeypatch):
    monkeypatch.setattr(semi_supervised, "THRESHOLD", 0.5)
    original = semi_supervised.HandFixMatch.__init__

    def stricter(self, model, threshold=0.5):
        original(self, model, threshold=0.99)  # masks other pseudo-labels than the package's 0.5

    monkeypatch.setattr(semi_supervised.HandFixMatch, "__init__", stricter)
    with pytest.raises(RuntimeError, match="does not do the package's math"):
        _harness.warm_up(semi_supervised.PAIR, steps=6)


def test_wdgrl_reference_needs_the_packages_interpolation_weights(monkeypatch):
    # The quick entry checks the reference seeded as the package (equal weights); its
    # interpolation weights drawn from another seed make other weights.
    original = two_players.HandWDGRL.__init__

    def other_seed(self, *args):
        original(self, *args)
        self.seeds = keras.random.SeedGenerator(two_players.SEED + 1)

    monkeypatch.setattr(two_players.HandWDGRL, "__init__", other_seed)
    with pytest.raises(RuntimeError, match="does not do the package's math"):
        _harness.warm_up(two_players.WDGRL, steps=2)


def test_a_pair_that_does_not_train_is_refused():
    def frozen(steps):
        package, reference = group_lr.MLP.build(steps)
        package.compared = reference.compared = []
        return package, reference

    with pytest.raises(RuntimeError, match="nothing to compare"):
        _harness.warm_up(_harness.Pair("frozen", frozen), steps=2)


@pytest.mark.large  # MobileNetV2's tracing: about 30 s
def test_mobilenet_group_learning_rates_match_per_factor_adams():
    package, reference, gap = _harness.warm_up(group_lr.MOBILENET, steps=4)
    assert gap <= group_lr.MOBILENET.tolerance
    assert len(reference.model.groups) > 3  # one Adam per learning-rate factor of DiscriminativeLR(decay=0.5)
