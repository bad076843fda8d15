"""P-SSL (pseudo samples generated in the step) vs FixMatch on real unlabelled images, per train step.

The same `FixMatch` learner and target network (4 convolutions with
BatchNorm, 28x28x1), labelled batch 25 and 7 unlabelled images per labelled
one (175), Adam, `jit_compile="auto"`. Baseline: the unlabelled images come
from Fashion-MNIST through `ssl_dataset`. Candidate: `PseudoSSLGenerator`
draws them inside the step from a `ConditionalVAE` decoder conditioned on the
source classifier's soft labels of the labelled batch. Rounds alternate; the
first round of each (tracing) is excluded. See `benchmarks/pssl_step_time.py`.
"""

from benchmarks.pssl_step_time import step_times
from benchmarks.table import Row


def run(quick=False):
    steps, rounds = (3, 2) if quick else (20, 5)
    times = step_times(steps=steps, rounds=rounds)
    return [
        Row("", "train step, labelled 25 + unlabelled 175", "FixMatch (real unlabelled)",
            "P-SSL (PseudoSSLGenerator)", times["real"], times["pssl"], "ms",
            note=f"{rounds} alternating rounds of {steps} steps"),
    ]
