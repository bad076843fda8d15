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

from benchmarks.parity import adversaries
from benchmarks.parity import deep
from benchmarks.parity import discrepancy
from benchmarks.parity import few_labels
from benchmarks.parity import instance
from benchmarks.parity import shallow


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
    Method("cdan_prediction_gradient", functools.partial(deep.ours_cdan, prediction_gradient=True),
           deep.adapt_cdan, "CDAN(lambda_=1, entropy=True)", pairs=("moons", "digits"),
           notes="as cdan, ours with ConditionalDomainAdversarialHead(prediction_gradient=True): the reversed domain "
                 "gradient also reaches the classifier through the predictions, as in ADAPT (its entropy weights "
                 "still carry no gradient here)"),
    Method("deepcoral", deep.ours_coral, deep.adapt_deepcoral, "DeepCORAL(lambda_=1)",
           notes="same CORAL term; ADAPT 0.4.5 trains its encoder on the CORAL term alone (the task loss reaches "
                 "only the task network), ours on task + CORAL as in the paper"),
    Method("mmd_vs_fmmd", deep.ours_mmd, deep.adapt_fmmd, "fMMD(kernel='linear') + source-only fit",
           pairs=("moons",),
           notes="not a twin: ADAPT's fMMD selects input features, then the same network trains on them; "
                 "ours is DAN's multi-kernel MMD on the encoder's features (weight 1). Moons only: on digits (64 "
                 "features, 5,000 points) fMMD's cvxopt solve with TensorFlow Hessians ran over 8 minutes without "
                 "finishing"),
    Method("fmmd", deep.ours_fmmd, deep.adapt_fmmd, "fMMD(kernel='linear') + source-only fit", pairs=("moons",),
           notes="the twin: ours is MMDFeatureSelection(kernel='linear') (closed form), the unselected inputs zeroed, "
                 "then the same source-only network; moons only (ADAPT's solve on the 64 digit pixels did not finish "
                 "in 8 minutes)"),
    _instance("kliep", "KLIEP (FW), gamma by its CV over our grid"),
    _instance("ulsif", "ULSIF, LOO-CV over our grid", "ADAPT clips the kernel coefficients, ours the weights"),
    _instance("rulsif", "RULSIF (alpha 0.5), LOO-CV over our grid", "as ulsif"),
    _instance("kmm", "KMM (cvxopt, float64, B 1000, our chunks of 1,000), default gamma 1/d",
              "ours: median-distance width; ADAPT: its default width"),
    _instance("nearest_neighbors", "NearestNeighborsWeighting(k=5, its default)", "ours: k=1, count + 1"),
    _instance("discriminator", "IWC(LogisticRegression()), C = 1", "ours: C by 3-fold CV"),
    Method("adda", adversaries.ours_adda, adversaries.adapt_adda, "ADDA(pretrain=True, pretrain__epochs=epochs)",
           pairs=("moons", "digits"),
           notes="stage 1 source-only for `epochs` epochs, then stage 2 for `epochs`; the same GAN losses "
                 "(discriminator -log D(s) - log(1 - D(t)), target encoder -log D(t)), simultaneous updates, "
                 "Adam for both players; ours: stage 1 is a plain Keras fit, stage 2 `models.ADDA`"),
    Method("wdgrl", adversaries.ours_wdgrl, adversaries.adapt_wdgrl, "WDGRL(lambda_=0.1, gamma=10)",
           pairs=("moons", "digits"), options={"lambda_": 0.1, "gamma": 10.0, "critic_steps": 1},
           notes="ADAPT's defaults, one critic update per step on both sides; ADAPT updates critic and encoder "
                 "from the same forward pass, ours the encoder after the critic (the paper's order); ADAPT's "
                 "penalty sums over no axis for (batch, d) features, so it pushes every partial derivative "
                 "(not the gradient norm) to 1, ours is the per-example norm of WGAN-GP"),
    Method("wdgrl_lambda1", adversaries.ours_wdgrl, adversaries.adapt_wdgrl, "WDGRL(lambda_=1, gamma=10)",
           pairs=("moons", "digits"), options={"lambda_": 1.0, "gamma": 10.0, "critic_steps": 1},
           notes="as wdgrl, lambda 1 on both sides (our default): ADAPT's per-coordinate penalty lets its critic be "
                 "about sqrt(d) = 8 times steeper on 64-d features, so the same lambda aligns harder on its side"),
    Method("mcd", discrepancy.ours_mcd, discrepancy.adapt_mcd, "MCD(pretrain=True, n_steps=1, pretrain__epochs=epochs/2)",
           pairs=("moons", "digits"), options={"n": 1},
           notes="not the same algorithm: ours is the paper's (per batch A, B, then C once: 3 updates), every epoch; "
                 "ADAPT pretrains half the epochs source-only, then one simultaneous update per batch in which the "
                 "encoder sees the target discrepancy alone"),
    Method("mcd_n4", discrepancy.ours_mcd, discrepancy.adapt_mcd, "MCD(pretrain=True, n_steps=4, pretrain__epochs=epochs/2)",
           pairs=("moons",), options={"n": 4}, notes="as mcd, 4 encoder updates per batch (the paper's digits n)"),
    Method("mdd", discrepancy.ours_mdd, discrepancy.adapt_mdd, "MDD(lambda_=0.1, gamma=4)", pairs=("moons", "digits"),
           notes="the same update, weight for weight (tests/domain_adaptation/test_adapt_twins.py): "
                 "MarginDisparityHead(hidden_units=(), lambda_=0.1, margin=4), alignment_weight=1, joint_forward=False, "
                 "no schedule; both auxiliary classifiers start as the task head times 1 + 0.01 N(0, 1)"),
]


def _shallow(method, twin, notes):
    ours, adapt = (functools.partial(side, method=method) for side in (shallow.ours, shallow.adapt))
    notes = f"{notes} Features agree (ADAPT column): {shallow.AGREEMENT[method]}."
    return Method(method, ours, adapt, twin, pairs=("moons", "digits"), notes=notes, time_key="transform_seconds")


_LABELLED = "5 labelled target examples per class on the moons, 3 on the digits (from the validation split)"
METHODS += [
    Method("s_plus_t", functools.partial(few_labels.ours_ccsa, alignment=False, labelled_target_weight=1.0), None,
           "-", pairs=("moons", "digits"),
           notes=f"baseline: the shared network on the source and {_LABELLED} in the task loss, no alignment"),
    Method("ccsa", few_labels.ours_ccsa, few_labels.adapt_ccsa, "CCSA(margin=1, gamma=0.5)", pairs=("moons", "digits"),
           notes=f"{_LABELLED}; ours: ContrastiveSemanticAlignment(margin=1), alignment_weight=(1 - gamma) / gamma "
                 "= 1, labelled_target_weight=0 (ADAPT's task loss sees the source only), joint_forward=False; "
                 "ADAPT's separation term is max(0, m - d²) averaged per source row, ours the paper's max(0, m - d)² "
                 "averaged over the pairs (the same pairs act for m = 1)"),
    Method("ccsa_default", functools.partial(few_labels.ours_ccsa, labelled_target_weight=1.0), None, "-",
           pairs=("moons", "digits"), notes="ours as ccsa with our default labelled_target_weight=1 (the labelled "
                                            "target examples also in the task loss)"),
    Method("raw_features", shallow.none, None, "-", pairs=("moons", "digits"),
           notes="baseline of the shallow rows: the same classifier on the untransformed inputs"),
    _shallow("coral_transform", "CORAL(lambda_=1e-5)", "ours: CORALTransform(regularization=1e-5)."),
    _shallow("sa", "SA(n_components=2 / 20)", "ours: SubspaceAlignment(2 / 20); ADAPT's PCA may use its randomized "
                                               "solver, ours is exact (eigh of the scatter matrix)."),
    _shallow("tca", "TCA(n_components=20, mu=0.1), rbf", "ours: TCA(20, mu=10) (ADAPT's mu is the inverse of the "
             "paper's); at most 1,000 examples per domain; ADAPT takes eigh of a non-symmetric matrix, ours solves "
             "the symmetric generalised eigenproblem."),
    Method("raw_features_labelled", functools.partial(shallow.none, labels=True), None, "-", pairs=("moons", "digits"),
           notes=f"baseline of fa: the same classifier on the source and {_LABELLED}, untransformed"),
    _shallow("fa", "FA", f"{_LABELLED}; ours: FeatureAugmentation (blocks general, source, target)."),
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
