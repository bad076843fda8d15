"""`EpisodeResult`: the outcome of an N-way K-shot evaluation."""

import dataclasses

import numpy as np

from keras_transfer.api_export import keras_transfer_export


@keras_transfer_export("keras_transfer.few_shot.EpisodeResult")
@dataclasses.dataclass(frozen=True)
class EpisodeResult:
    """Accuracy over few-shot episodes, with its 95% confidence interval.

    Returned by `keras_transfer.few_shot.evaluate_episodes`.

    Attributes:
        mean: mean query accuracy over the episodes.
        ci95: half-width of the 95% confidence interval of the mean
            (`1.96 * std / sqrt(episodes)`, the usual few-shot convention).
        std: standard deviation of the per-episode accuracies.
        accuracies: per-episode query accuracies, in episode order (paired
            across heads evaluated with the same `seed`).
        n_way: classes per episode.
        k_shot: labelled support examples per class.
        queries: query examples per class.
        head: the head that was evaluated.

    Example:

    >>> import numpy as np, keras_transfer
    >>> result = keras_transfer.few_shot.EpisodeResult.from_accuracies(
    ...     np.array([0.5, 0.7, 0.6, 0.6]), n_way=5, k_shot=1, queries=15, head="prototype")
    >>> round(result.mean, 3), round(result.ci95, 3)
    (0.6, 0.08)
    """

    mean: float
    ci95: float
    std: float
    accuracies: np.ndarray
    n_way: int
    k_shot: int
    queries: int
    head: str

    @classmethod
    def from_accuracies(cls, accuracies, *, n_way, k_shot, queries, head):
        """Builds the summary from per-episode accuracies."""
        accuracies = np.asarray(accuracies, dtype="float64")
        std = float(accuracies.std(ddof=1)) if len(accuracies) > 1 else 0.0
        return cls(
            mean=float(accuracies.mean()),
            ci95=1.96 * std / float(np.sqrt(len(accuracies))),
            std=std,
            accuracies=accuracies,
            n_way=n_way,
            k_shot=k_shot,
            queries=queries,
            head=head,
        )

    @property
    def episodes(self):
        """Number of episodes."""
        return len(self.accuracies)

    def __str__(self):
        return (
            f"{self.mean:.4f} ± {self.ci95:.4f} (95% CI over {self.episodes} episodes, "
            f"{self.n_way}-way {self.k_shot}-shot, {self.queries} queries/class, head={self.head!r})"
        )
