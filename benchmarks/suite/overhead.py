"""Each package training path against the same step written by hand in plain Keras, per step.

For every model of the package with its own `train_step` (and TENT's
`predict_step`, and `GroupOptimizer` under `FreezeSchedule` +
`DiscriminativeLR`), `benchmarks/references/` holds a `keras.Model`
subclass doing the same math with no package code in the step. Both sides
start from the same weights and data; after one warm-up epoch each
(tracing), the entry checks that they reached the same weights (so the
reference is the same method, not a cheaper one), then alternates epochs
of the two, the order swapped every round. Per-step time leaves out each
epoch's first batch. The ratio package / reference is taken per round;
the row shows the medians and the note the ratio's median, min and max.
Goal: at most 1.05x. Networks: a 16-32-4 MLP (batch 32, Adam,
`jit_compile=False`), where any per-step overhead shows; MobileNetV2 at
32x32 (random weights, 10 classes) for the group learning rates.
"""

from benchmarks.references import _harness
from benchmarks.references import adversarial
from benchmarks.references import discrepancy
from benchmarks.references import distillation
from benchmarks.references import generative
from benchmarks.references import group_lr
from benchmarks.references import l2sp
from benchmarks.references import penalties
from benchmarks.references import semi_supervised
from benchmarks.references import ssl_learners
from benchmarks.references import test_time
from benchmarks.references import two_players
from benchmarks.table import Row

GOAL = 1.05
PAIRS = [
    adversarial.PAIR, *discrepancy.PAIRS, semi_supervised.PAIR, *ssl_learners.PAIRS, distillation.PAIR,
    generative.PAIR, l2sp.PAIR, *penalties.PAIRS, *test_time.PAIRS, group_lr.MLP, *two_players.PAIRS,
]
LARGE_PAIRS = [group_lr.MOBILENET]  # full runs only: its tracing alone takes longer than a quick run


def sizes(pair, quick):
    """`(steps per epoch, rounds)`."""
    if quick:
        return 6, 2
    return (16, 10) if pair in LARGE_PAIRS else (64, 12)


def row(pair, steps, rounds):
    result = _harness.measure(pair, steps, rounds)
    stats = _harness.summary(result)
    verdict = "within goal" if stats["ratio"] <= GOAL else "above goal"
    return Row(
        "", f"ms per step: {pair.name}", "hand-written train_step", "package", stats["reference_ms"],
        stats["package_ms"], "ms",
        note=(f"ratio {stats['ratio']:.3f} (min {stats['low']:.2f}, max {stats['high']:.2f}), {verdict}; "
              f"{rounds} alternating epochs of {steps} steps; weights equal to {result['gap']:.1g}"),
    )


def run(quick=False):
    pairs = PAIRS if quick else PAIRS + LARGE_PAIRS
    return [row(pair, *sizes(pair, quick)) for pair in pairs]
