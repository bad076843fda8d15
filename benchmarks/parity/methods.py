"""The table of the parity benchmark: one `Method` per row, ours and ADAPT's side by side.

To add a method, write two functions with the same signature,
`fn(problem, seed, **options) -> predict` (or `(predict, extras)`), where
`predict(x)` returns class scores for target inputs and `problem` is a
`benchmarks.parity.problems.Problem` (arrays, epochs, batch, learning rate;
`problems.networks(problem, seed)` gives the shared encoder, task network and
discriminator, built from the seed so both sides start from the same weights),
and append a `Method` to `METHODS` below (or, from another module,
`METHODS.append(Method(...))` before `benchmarks.adapt_parity.main` runs).
"""

import dataclasses
import functools

from benchmarks.parity import deep
from benchmarks.parity import instance


@dataclasses.dataclass(frozen=True)
class Method:
    """One row: the name, our function, ADAPT's (or `None` for a baseline), where it runs, what is compared."""

    name: str
    ours: object
    adapt: object
    twin: str  # ADAPT's estimator and its settings
    pairs: tuple = ("moons", "digits", "fmnist")
    options: dict = dataclasses.field(default_factory=dict)  # keyword arguments given to both functions
    notes: str = ""  # what is the same, what differs
    time_key: str = "seconds"  # "weight_seconds": the instance rows compare the weighting time only


def _instance(method, twin, notes=""):
    return Method(method, functools.partial(instance.ours, method=method), functools.partial(instance.adapt, method=method),
                  twin, pairs=("moons", "digits"), notes=notes, time_key="weight_seconds")


METHODS = [
    Method("source_only", deep.source_only, None, "-", notes="baseline: the shared network on the source alone"),
    Method("dann", deep.ours_dann, deep.adapt_dann, "DANN(lambda_=0.1)", options={"lambda_": 0.1},
           notes="ADAPT's default lambda; ours: DomainAdversarialHead((64,), lambda_=0.1), alignment_weight=2 "
                 "(ADAPT sums the two domains' losses), joint_forward=False, no schedule"),
    Method("dann_lambda1", deep.ours_dann, deep.adapt_dann, "DANN(lambda_=1)", pairs=("moons",),
           options={"lambda_": 1.0}, notes="as dann, lambda 1 (the issue's setting)"),
    Method("cdan", deep.ours_cdan, deep.adapt_cdan, "CDAN(lambda_=1, entropy=True)",
           notes="CDAN+E, exact multilinear map; ADAPT also sends the domain gradient through the class "
                 "predictions and the entropy weights into the encoder, ours stops it there (as the paper's code)"),
    Method("deepcoral", deep.ours_coral, deep.adapt_deepcoral, "DeepCORAL(lambda_=1)",
           notes="same CORAL term; ADAPT 0.4.5 trains its encoder on the CORAL term alone (the task loss reaches "
                 "only the task network), ours on task + CORAL as in the paper"),
    Method("mmd_vs_fmmd", deep.ours_mmd, deep.adapt_fmmd, "fMMD(kernel='linear') + source-only fit",
           pairs=("moons",),
           notes="not a twin: ADAPT's fMMD selects input features, then the same network trains on them; "
                 "ours is DAN's multi-kernel MMD on the encoder's features (weight 1). Moons only: on digits (64 "
                 "features, 5,000 points) fMMD's cvxopt solve with TensorFlow Hessians ran over 8 minutes without "
                 "finishing"),
    _instance("kliep", "KLIEP (FW), gamma by its CV over our grid"),
    _instance("ulsif", "ULSIF, LOO-CV over our grid", "ADAPT clips the kernel coefficients, ours the weights"),
    _instance("rulsif", "RULSIF (alpha 0.5), LOO-CV over our grid", "as ulsif"),
    _instance("kmm", "KMM (cvxopt, float64, B 1000, our chunks of 1,000), default gamma 1/d",
              "ours: median-distance width; ADAPT: its default width"),
    _instance("nearest_neighbors", "NearestNeighborsWeighting(k=5, its default)", "ours: k=1, count + 1"),
    _instance("discriminator", "IWC(LogisticRegression()), C = 1", "ours: C by 3-fold CV"),
]


def get(names=None):
    """The methods named (all by default), in table order."""
    if not names:
        return list(METHODS)
    known = {m.name: m for m in METHODS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; known: {sorted(known)}")
    return [known[n] for n in names]
