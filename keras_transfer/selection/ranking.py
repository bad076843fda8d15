"""`rank_backbones`: which pretrained model to start from, from one forward pass each."""

import dataclasses
import math
import time

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.selection import candidates as _candidates


@dataclasses.dataclass
class RankedCandidate:
    """One row of a `Ranking`."""

    candidate: str
    scores: dict
    seconds: float
    error: str = None

    @property
    def score(self):
        """The score of the ranking's first metric (NaN when not scored)."""
        return next(iter(self.scores.values()), math.nan)


@keras_transfer_export("keras_transfer.selection.Ranking")
class Ranking:
    """The result of `rank_backbones`: candidates best first, then those that failed.

    Attributes:
        metrics: the metric names, the first one ranking the candidates.
        rows: `RankedCandidate`s (`candidate`, `scores` {metric: float},
            `seconds`: feature extraction and scoring, `error`: why a candidate
            was not scored, else `None`), best first.

    Example:

    >>> import keras_transfer
    >>> ranking = keras_transfer.selection.Ranking(
    ...     ["logme"], [("b", {"logme": 0.5}, 1.0, None), ("a", {"logme": 0.9}, 2.0, None)])
    >>> ranking.best, [row.candidate for row in ranking.rows]
    ('a', ['a', 'b'])
    """

    def __init__(self, metrics, rows):
        self.metrics = list(metrics)
        rows = [row if isinstance(row, RankedCandidate) else RankedCandidate(*row) for row in rows]
        scored = [row for row in rows if row.error is None and not math.isnan(row.score)]
        others = [row for row in rows if row not in scored]
        self.rows = sorted(scored, key=lambda row: -row.score) + others

    @property
    def best(self):
        """The label of the best candidate, or `None` if none was scored."""
        return self.rows[0].candidate if self.rows and self.rows[0].error is None else None

    def to_markdown(self):
        """The table as Markdown: rank, candidate, one column per metric, seconds, note."""
        lines = ["| rank | candidate | " + " | ".join(self.metrics) + " | seconds | note |",
                 "|---:|---|" + "---:|" * len(self.metrics) + "---:|---|"]
        for rank, row in enumerate(self.rows, 1):
            values = [_number(row.scores.get(metric, math.nan)) for metric in self.metrics]
            lines.append(f"| {rank if row.error is None else '-'} | {row.candidate} | " + " | ".join(values)
                         + f" | {row.seconds:.1f} | {row.error or ''} |")
        return "\n".join(lines)

    def __str__(self):
        width = max([len("candidate")] + [len(row.candidate) for row in self.rows])
        header = f"{'rank':>4}  {'candidate':<{width}}  " + "  ".join(f"{m:>10}" for m in self.metrics) + "  seconds"
        lines = [header]
        for rank, row in enumerate(self.rows, 1):
            values = "  ".join(f"{_number(row.scores.get(m, math.nan)):>10}" for m in self.metrics)
            line = f"{rank if row.error is None else '-':>4}  {row.candidate:<{width}}  {values}  {row.seconds:7.1f}"
            lines.append(line + (f"  {row.error}" if row.error else ""))
        return "\n".join(lines)

    def plot(self, path):
        """A horizontal bar chart of the first metric (best on top) written to `path` (PNG)."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

        scored = [row for row in self.rows if row.error is None and not math.isnan(row.score)]
        figure, axis = pyplot.subplots(figsize=(7, 0.45 * max(len(scored), 2) + 1.2))
        axis.barh([row.candidate for row in scored][::-1], [row.score for row in scored][::-1], color="#3f51b5")
        axis.set_xlabel(f"{self.metrics[0]} (higher = better)")
        axis.set_title("Transferability ranking")
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        pyplot.close(figure)
        return path


def _number(value):
    return "n/a" if value is None or math.isnan(value) else f"{value:.4g}"


@keras_transfer_export("keras_transfer.selection.rank_backbones")
def rank_backbones(candidates, data, metric="logme", *, batch_size=64, progress=None):
    """Ranks pretrained models for a target task, from one forward pass of each over its data.

    Each candidate is turned into a frozen feature extractor by the package's
    feature extraction (`build_classifier(..., adapt_input=True)`: the
    backbone's preprocessing is inside the model, grayscale is tiled to RGB
    and small images are resized), run once over `data`, and its pooled
    features are scored by every metric of `metric`. A candidate that is a
    classifier (a saved `TransferClassifier`, or a model ending in a softmax
    `Dense`) is scored on the input of its last layer, and also gives the
    source-class probabilities that `"leep"` and `"nce"` need; the others get
    `n/a` for those two. A candidate that fails to build or to run is listed
    last with its error; the others are still ranked.

    Args:
        candidates: a list of backbones, or a dict `{label: backbone}`. A
            backbone is a registered name (weights `"imagenet"`), a keras-hub
            preset, a `.keras` file, a `keras.Model`, or a pair
            `(backbone, weights)` with `weights` a `.weights.h5`/`.keras`
            file, `"imagenet"` or `None` (random initialisation).
        data: `(x, y)`: raw images in [0, 255], `(n, height, width,
            channels)`, and integer labels `(n,)`.
        metric: a metric name of `keras_transfer.selection.score`, or a list of
            them (the first ranks). Defaults to `"logme"`.
        batch_size: int, batch size of the forward pass. Defaults to `64`.
        progress: `None`, or a callable `progress(done, total, label)` called
            after each candidate (the command line draws a bar with it).

    Returns:
        A `keras_transfer.selection.Ranking`, best first.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.uniform(0, 255, (60, 8, 8, 1)).astype("float32"), np.arange(60) % 3
    >>> trunk = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(16)])
    >>> ranking = keras_transfer.selection.rank_backbones({"trunk": trunk}, (x, y), ["logme", "knn"])
    >>> [row.candidate for row in ranking.rows], sorted(ranking.rows[0].scores)
    (['trunk'], ['knn', 'logme'])
    """
    from keras_transfer.selection.score import available_metrics, score

    metrics = [metric] if isinstance(metric, str) else list(metric) if isinstance(metric, (list, tuple)) else None
    if not metrics:
        raise _checks.invalid("metric", "a metric name or a non-empty list of them", metric, error=TypeError)
    for name in metrics:
        _checks.check_choice("metric", name, available_metrics())
    need_source = available_metrics(needs_source_probabilities=True)
    x, y = _check_data(data)
    _checks.check_int("batch_size", batch_size, minimum=1)
    pairs = _candidates.normalize(candidates)
    rows = []
    for done, (label, spec) in enumerate(pairs, 1):
        start = time.perf_counter()
        try:
            candidate = _candidates.build(label, spec, x.shape[1:])
            features, probabilities = _candidates.extract(candidate, x, batch_size)
            scores = {}
            for name in metrics:
                if name in need_source and probabilities is None:
                    scores[name] = math.nan
                else:
                    scores[name] = float(score(features, y, metric=name, source_probabilities=probabilities))
            rows.append(RankedCandidate(label, scores, time.perf_counter() - start))
        except Exception as error:  # one broken candidate must not lose the others
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            rows.append(RankedCandidate(label, {}, time.perf_counter() - start, error=message))
        if progress is not None:
            progress(done, len(pairs), label)
    return Ranking(metrics, rows)


def _check_data(data):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise _checks.invalid("data", "a pair (x, y) of images and integer labels", data, error=TypeError)
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if x.ndim not in (3, 4):
        raise _checks.invalid("data", "images of shape (n, height, width[, channels])", f"an array of shape {x.shape}")
    if x.ndim == 3:
        x = x[..., None]
    if y.ndim != 1 or len(y) != len(x):
        raise _checks.invalid("data", f"labels of shape ({len(x)},), one per image", f"labels of shape {y.shape}")
    return x.astype("float32"), y
