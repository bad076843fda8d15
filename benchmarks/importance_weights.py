"""Importance weights under covariate shift: ours vs ADAPT 0.4.5, and weighted vs unweighted fits.

Two problems, 3 seeds each (the seed draws the data, our centres / folds /
KMM chunks, ADAPT's random state and the MLP's initialisation):

- ``sinc``: 1-D regression, y = sinc(x) + N(0, 0.1^2); source x ~ N(1, 0.5)
  (2,000 points: KMM runs in 2 chunks of 1,000), target x ~ N(2, 0.3) (1,000
  unlabelled points for the weights, 2,000 labelled test points). Models: a
  weighted least-squares line, and a Keras MLP (1-32-32-1 tanh, Adam 1e-2,
  60 epochs, batch 200) fitted with ``sample_weight``. Metric: target test MSE.
- ``digits``: UCI digits (sklearn ``load_digits``, 64-d); a random 900 images
  are the target (uniform; used unlabelled for the weights and labelled for
  the accuracy, transductively); 450 source images are drawn without
  replacement from the other 897 with probability proportional to
  exp(2 z), z the standardised first principal component (so classes 2 and 3
  are over-sampled, 0 and 4 under-sampled). Model: multinomial logistic
  regression (C = 0.1, features standardised on the source). Metric: target
  accuracy.

For each of our methods ADAPT's twin is run on the inputs standardised the
way ours does it (pooled mean and std), with the settings our run chose
("fixed": rbf ``gamma = 1 / (2 sigma^2)``, our ridge, 100 centres, RuLSIF
alpha = ``relative`` = 0.5; KMM in float64 with B = 1000, eps = (sqrt(n) - 1) /
sqrt(n) per chunk, on the very chunks ours used; nearest neighbours with k = 1;
IWC with a LogisticRegression of our chosen C), and again with its own
selection ("own": its CV over the same gamma grid and ridge grid; KMM with its
default gamma = 1 / n_features; k = 5; a default LogisticRegression). Both
weight vectors are normalised to mean 1 before comparing. "ours vs ours" is
our weights against ours with another seed (other centres / folds / chunks):
the agreement to expect from the randomness alone. Needs ADAPT (not a
dependency): `pip install "adapt==0.4.5" cvxopt -c constraints.txt`.
    python -m benchmarks.importance_weights            # full (3 seeds), writes benchmarks/results/importance_weights.{md,json}
    python -m benchmarks.importance_weights --quick    # a smoke run in seconds, prints only
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from scipy.stats import pearsonr, spearmanr  # noqa: E402

from keras_transfer.domain_adaptation import importance_weights  # noqa: E402
from keras_transfer.domain_adaptation._density_ratio import width_grid  # noqa: E402

METHODS = ("kliep", "ulsif", "rulsif", "kmm", "nearest_neighbors", "discriminator")
TWINS = {"kliep": "KLIEP (FW)", "ulsif": "ULSIF", "rulsif": "RULSIF", "kmm": "KMM (cvxopt)",
         "nearest_neighbors": "NearestNeighborsWeighting", "discriminator": "IWC (near twin, see notes)"}
RIDGES = [1e-3, 1e-2, 1e-1, 1.0]
RELATIVE = 0.5
CHUNK = 1000
HERE = os.path.dirname(os.path.abspath(__file__))


def standardise(source, target):
    """As `importance_weights` does: pooled mean and standard deviation."""
    pooled = np.concatenate([source, target])
    mean, scale = pooled.mean(axis=0), pooled.std(axis=0)
    scale[scale == 0] = 1.0
    return (source - mean) / scale, (target - mean) / scale


def mean_one(w):
    w = np.maximum(np.asarray(w, "float64").ravel(), 0.0)
    return w / w.mean() if w.mean() > 0 else np.ones_like(w)


def sinc_problem(seed, quick):
    rng = np.random.default_rng(seed)
    n_s, n_t, n_test = (300, 150, 500) if quick else (2000, 1000, 2000)
    xs, xt, xtest = rng.normal(1.0, 0.5, (n_s, 1)), rng.normal(2.0, 0.3, (n_t, 1)), rng.normal(2.0, 0.3, (n_test, 1))
    ys = np.sinc(xs[:, 0]) + rng.normal(0, 0.1, n_s)
    ytest = np.sinc(xtest[:, 0]) + rng.normal(0, 0.1, n_test)
    return xs, ys, xt, xtest, ytest


def digits_problem(seed, quick):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    z = PCA(1).fit_transform(StandardScaler().fit_transform(x))[:, 0]
    z /= z.std()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    target, pool = order[:300 if quick else 900], order[900:]
    p = np.exp(2.0 * z[pool])
    source = rng.choice(pool, 200 if quick else 450, replace=False, p=p / p.sum())
    return x[source].astype("float64"), y[source], x[target].astype("float64"), x[target].astype("float64"), y[target]


def line_mse(xs, ys, xtest, ytest, w, seed, quick):
    coef = np.polyfit(xs[:, 0], ys, 1, w=np.sqrt(w))
    return float(np.mean((np.polyval(coef, xtest[:, 0]) - ytest) ** 2))


def mlp_mse(xs, ys, xtest, ytest, w, seed, quick):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(32, activation="tanh"),
                              keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    model.fit(xs, ys, sample_weight=w.astype("float32"), epochs=1 if quick else 60, batch_size=200, verbose=0)
    return float(np.mean((model.predict(xtest, batch_size=4096, verbose=0)[:, 0] - ytest) ** 2))


def logreg_acc(xs, ys, xtest, ytest, w, seed, quick):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(xs)
    model = LogisticRegression(C=0.1, max_iter=3000).fit(scaler.transform(xs), ys, sample_weight=w)
    return float(model.score(scaler.transform(xtest), ytest))


PROBLEMS = {
    "sinc": (sinc_problem, {"line MSE": line_mse, "MLP MSE": mlp_mse}), "digits": (digits_problem, {"logreg acc": logreg_acc})}
CHEAP = {"line MSE", "logreg acc"}  # also evaluated with ADAPT's own-choice weights


def adapt_weights(method, xs, xt, details, seed, own):
    """ADAPT's twin on standardised float64 inputs; returns (weights, settings text, estimator)."""
    from sklearn.linear_model import LogisticRegression

    from adapt.instance_based import IWC, KLIEP, KMM, RULSIF, ULSIF, NearestNeighborsWeighting

    np.random.seed(seed)  # ULSIF / RULSIF draw their centres from the global generator
    sigmas = width_grid(xs, xt)
    grid = [float(1.0 / (2.0 * s**2)) for s in sigmas]
    gamma = None if own else float(1.0 / (2.0 * details["sigma"] ** 2)) if "sigma" in details else None
    common = dict(verbose=0, random_state=seed)
    if method == "kliep":
        est = KLIEP(kernel="rbf", gamma=grid if own else gamma, max_centers=100, cv=5, algo="FW", **common)
        w = est.fit_weights(xs, xt)
        chosen = est.best_params_["gamma"]
        return w, f"FW, 100 centres, gamma {'CV over grid' if own else 'fixed'} -> sigma {(0.5 / chosen) ** 0.5:.3g}", est
    if method in ("ulsif", "rulsif"):
        extra = {"alpha": RELATIVE} if method == "rulsif" else {}
        cls = RULSIF if method == "rulsif" else ULSIF
        est = cls(kernel="rbf", gamma=grid if own else gamma, lambdas=RIDGES if own else details["ridge"],
                  max_centers=100, **extra, **common)
        w = est.fit_weights(xs, xt)
        chosen, lamb = est.best_params_["k"]["gamma"], float(np.ravel(est.best_params_["lamb"])[0])
        return w, (f"100 centres{', alpha 0.5' if extra else ''}, {'LOO-CV' if own else 'fixed'} -> "
                   f"sigma {(0.5 / chosen) ** 0.5:.3g}, lambda {lamb:g}"), est
    if method == "kmm":
        # The same chunks as ours: our KMM's first draw from default_rng(seed) is this permutation.
        order = np.random.default_rng(seed).permutation(len(xs))
        w = np.empty(len(xs))
        kernel = {} if own else {"gamma": gamma}
        for i in range(0, len(xs), CHUNK):
            chunk = order[i:i + CHUNK]
            est = KMM(kernel="rbf", B=1000, eps=None, max_size=CHUNK, **kernel, **common)
            w[chunk] = est.fit_weights(xs[chunk].astype("float64"), xt.astype("float64"))
        sigma = (xs.shape[1] / 2) ** 0.5 if own else details["sigma"]
        return w, (f"float64, B 1000, eps (sqrt(n)-1)/sqrt(n), our {-(-len(xs) // CHUNK)} chunk(s), "
                   f"sigma {sigma:.3g}{' (default gamma 1/d)' if own else ''}"), est
    if method == "nearest_neighbors":
        k = 5 if own else 1
        return NearestNeighborsWeighting(n_neighbors=k, **common).fit_weights(xs, xt), f"k = {k}", None
    if method == "discriminator":
        c = 1.0 if own else details["C"]
        est = IWC(classifier=LogisticRegression(C=c, max_iter=100 if own else 1000), **common)
        return est.fit_weights(xs, xt), f"LogisticRegression(C={c:g})", est
    raise ValueError(method)


def diagnose(method, ours, fixed, xs, xt, details, seed, est):
    """Numbers that explain a disagreement (see the notes of the page)."""
    from keras_transfer.domain_adaptation._density_ratio import gaussian

    if method in ("ulsif", "rulsif"):  # ADAPT clips theta < 0 to 0 (as the uLSIF paper); ours clips the weights
        relative = RELATIVE if method == "rulsif" else 0.0
        sigma, lamb = (0.5 / est.best_params_["k"]["gamma"]) ** 0.5, float(np.ravel(est.best_params_["lamb"])[0])
        k_s, k_t = gaussian(xs, est.centers_, sigma), gaussian(xt, est.centers_, sigma)
        h_matrix = (1 - relative) * k_s.T @ k_s / len(xs) + relative * k_t.T @ k_t / len(xt)
        theta = np.linalg.solve(h_matrix + lamb * np.eye(len(h_matrix)), k_t.mean(0))
        return {"r_unclipped": float(pearsonr(ours, mean_one(k_s @ theta))[0]), "theta_neg": float(np.mean(theta < 0))}
    if method == "kmm":  # the squared MMD between the weighted source chunk and the target, for each solver
        sigma, k_tt = details["sigma"], gaussian(xt, xt, details["sigma"]).mean()
        order, out = np.random.default_rng(seed).permutation(len(xs)), dict.fromkeys(("mmd_ours", "mmd_adapt", "mmd_unweighted"), 0.0)
        out.update(zero_ours=float(np.mean(ours < 1e-3)), zero_adapt=float(np.mean(fixed < 1e-3)))
        chunks = [order[i:i + CHUNK] for i in range(0, len(xs), CHUNK)]
        for chunk in chunks:
            k_ss, k_st = gaussian(xs[chunk], xs[chunk], sigma), gaussian(xs[chunk], xt, sigma).mean(1)
            for key, w in (("mmd_ours", ours[chunk]), ("mmd_adapt", fixed[chunk]), ("mmd_unweighted", np.ones(len(chunk)))):
                w = w / w.mean()
                out[key] += (w @ k_ss @ w / len(w) ** 2 - 2 * w @ k_st / len(w) + k_tt) / len(chunks)
        return out
    if method == "nearest_neighbors":  # ADAPT: counts; ours: counts + 1
        return {"adapt_zero": float(np.mean(fixed == 0)), "ours_uniform_mass": float(len(xs) / (len(xs) + len(xt)))}
    return {}


def kmm_float32_check():
    from adapt.instance_based import KMM

    x = np.random.default_rng(0).normal(size=(90, 2)).astype("float32")
    try:
        return str(KMM(verbose=0, random_state=0).fit_weights(x[:50], x[50:]).dtype)
    except Exception as error:  # noqa: BLE001 - we report whatever cvxopt raises
        return f"{type(error).__name__}: {error}"


def timed(fn):
    start = time.perf_counter()
    return fn(), time.perf_counter() - start


def run_problem(name, seeds, quick, log):
    make, models = PROBLEMS[name]
    records = []
    for seed in seeds:
        xs, ys, xt, xtest, ytest = make(seed, quick)
        s_std, t_std = standardise(xs, xt)
        base = {m: fn(xs, ys, xtest, ytest, np.ones(len(xs)), seed, quick) for m, fn in models.items()}
        for method in METHODS:
            (ours, details), t_ours = timed(lambda: importance_weights(xs, xt, method, seed=seed, return_details=True))
            ours = mean_one(ours)  # --quick skips the other seed and ADAPT's own choice
            other = ours if quick else mean_one(importance_weights(xs, xt, method, seed=seed + 1000))
            (fixed, fixed_txt, est), t_fixed = timed(lambda: adapt_weights(method, s_std, t_std, details, seed, own=False))
            (own, own_txt, _), t_own = ((fixed, "(skipped)", None), 0.0) if quick else timed(
                lambda: adapt_weights(method, s_std, t_std, details, seed, own=True))
            fixed, own = mean_one(fixed), mean_one(own)
            diag = diagnose(method, ours, fixed, s_std, t_std, details, seed, est)
            rec = dict(problem=name, seed=seed, method=method, details=details, adapt_fixed=fixed_txt, adapt_own=own_txt,
                       pearson=float(pearsonr(ours, fixed)[0]), spearman=float(spearmanr(ours, fixed)[0]),
                       pearson_own=float(pearsonr(ours, own)[0]), pearson_self=float(pearsonr(ours, other)[0]),
                       max_abs_diff=float(np.abs(ours - fixed).max()), t_ours=t_ours, t_fixed=t_fixed, t_own=t_own,
                       diag=diag, metrics={})
            for m, fn in models.items():
                rec["metrics"][m] = dict(unweighted=base[m], ours=fn(xs, ys, xtest, ytest, ours, seed, quick),
                                         adapt=fn(xs, ys, xtest, ytest, fixed, seed, quick))
                if m in CHEAP:
                    rec["metrics"][m]["adapt_own"] = fn(xs, ys, xtest, ytest, own, seed, quick)
            records.append(rec)
            log(f"{name} seed {seed} {method}: r {rec['pearson']:.4f} rho {rec['spearman']:.4f} "
                f"own r {rec['pearson_own']:.3f} self r {rec['pearson_self']:.3f} "
                f"t {t_ours:.2f}/{t_fixed:.2f}/{t_own:.2f}s {details} | {fixed_txt} | {own_txt} | {diag} | "
                + ", ".join(f"{m} {v['unweighted']:.4f}/{v['ours']:.4f}/{v['adapt']:.4f}" for m, v in rec["metrics"].items()))
    return records


def ms(values, digits=3):
    values = np.asarray(values, "float64")
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}" if len(values) > 1 else f"{values[0]:.{digits}f}"


def diag_text(method, rs):
    d = lambda key: np.array([r["diag"][key] for r in rs])  # noqa: E731
    g = lambda v: f"{v.mean():.3g} ± {v.std():.2g}" if len(v) > 1 else f"{v[0]:.3g}"  # noqa: E731
    if method in ("ulsif", "rulsif"):
        return f"r vs ADAPT with θ unclipped: {g(d('r_unclipped'))}; share of θ < 0: {g(d('theta_neg'))}"
    if method == "kmm":
        return (f"MMD² (mean-1 weights, per chunk): ours {g(d('mmd_ours'))}, ADAPT {g(d('mmd_adapt'))}, unweighted "
                f"{g(d('mmd_unweighted'))}; share of "
                f"weights < 1e-3: ours {g(d('zero_ours'))}, ADAPT {g(d('zero_adapt'))}")
    if method == "nearest_neighbors":
        return (f"ADAPT gives weight 0 to {g(100 * d('adapt_zero'))} % of the source; ours' +1 is "
                f"{g(100 * d('ours_uniform_mass'))} % of the weight mass")
    return "-"


def chosen(details):
    parts = [f"σ {details['sigma']:.3g}" if "sigma" in details else "", f"ridge {details['ridge']:g}" if "ridge" in details else "",
             f"C {details['C']:g}" if "C" in details else "", f"{details['chunks']} chunks" if "chunks" in details else ""]
    return ", ".join(p for p in parts if p) or "-"


def tables(records, seeds):
    lines = []
    for name, (_, models) in PROBLEMS.items():
        recs = [r for r in records if r["problem"] == name]
        if not recs:
            continue
        lines += [f"## {name} (seeds {', '.join(map(str, seeds))}; mean ± std over seeds)", "",
                  "| method | ADAPT twin | Pearson r (same settings) | Spearman ρ | max abs diff | ours vs ours (other seed) r "
                  "| ours vs ADAPT own-choice r | time ours (s) | time ADAPT same settings (s) | time ADAPT own choice (s) | diagnostic |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for method in METHODS:
            rs = [r for r in recs if r["method"] == method]
            col = lambda key, d=3: ms([r[key] for r in rs], d)  # noqa: E731
            lines.append(f"| {method} | {TWINS[method]} | {col('pearson', 4)} | {col('spearman', 4)} | {col('max_abs_diff', 2)} | "
                         f"{col('pearson_self')} | {col('pearson_own')} | {col('t_ours', 2)} | {col('t_fixed', 2)} | {col('t_own', 2)} | {diag_text(method, rs)} |")
        lines += ["", "Target metric (lower MSE / higher accuracy is better); ADAPT = ADAPT's weights with the same settings:", "",
                  "| method | " + " | ".join(f"{m}: unweighted | {m}: ours | {m}: ADAPT" + (f" | {m}: ADAPT own" if m in CHEAP else "")
                                         for m in models) + " |",
                  "|---|" + "".join("---|---|---|" + ("---|" if m in CHEAP else "") for m in models)]
        d = 3 if name == "digits" else 4
        for method in METHODS:
            rs = [r for r in recs if r["method"] == method]
            cells = []
            for m in models:
                cells += [ms([r["metrics"][m][k] for r in rs], d) for k in ("unweighted", "ours", "adapt")]
                if m in CHEAP:
                    cells.append(ms([r["metrics"][m]["adapt_own"] for r in rs], d))
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines += ["", "Settings per seed (ours: what its CV / heuristic chose; ADAPT: what it was given, and what it chose itself):", "",
                  "| method | seed | ours | ADAPT same settings | ADAPT own choice |", "|---|---|---|---|---|"]
        lines += [f"| {r['method']} | {r['seed']} | {chosen(r['details'])} | {r['adapt_fixed']} | {r['adapt_own']} |" for r in recs]
        lines.append("")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 seed, prints only")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--output", default=os.path.join(HERE, "results", "importance_weights.md"))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    load_start, start = os.getloadavg(), time.time()
    log = lambda text: print(text, flush=True)  # noqa: E731
    log(f"ADAPT KMM on float32 inputs: {(float32 := kmm_float32_check())}")
    records = run_problem("sinc", seeds, args.quick, log) + run_problem("digits", seeds, args.quick, log)
    import adapt, keras, sklearn, tensorflow as tf  # noqa: E401

    header = [
        "# Importance weights: keras_transfer vs ADAPT 0.4.5 under covariate shift", "",
        "Command: `nice -n 10 .venv/bin/python -m benchmarks.importance_weights" + (" --quick" if args.quick else "") + "`", "",
        f"Date {datetime.datetime.now().isoformat(timespec='seconds')}; {time.time() - start:.0f} s; load average at start "
        f"{', '.join(f'{v:.2f}' for v in load_start)}, at end {', '.join(f'{v:.2f}' for v in os.getloadavg())} "
        f"({os.cpu_count()} cores, shared); Python {platform.python_version()}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"ADAPT {getattr(adapt, '__version__', '0.4.5')}.", "",
        (__doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]).strip(), "",
        f"ADAPT's KMM on float32 inputs: `{float32}` (so every ADAPT call here gets float64).", "",
    ]
    text = "\n".join(header + tables(records, seeds))
    print(text)
    if not args.quick and args.output != "-":
        os.makedirs(os.path.dirname(args.output), exist_ok=True)
        open(args.output, "w").write(text + "\n")
        with open(os.path.splitext(args.output)[0] + ".json", "w") as f:
            json.dump(records, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
