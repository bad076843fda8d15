"""`evaluate_episodes`: N-way K-shot accuracy of a frozen embedding, with a 95% CI."""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.data import checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.few_shot import _scoring
from keras_transfer.few_shot.cosine_head import CosineClassifierHead
from keras_transfer.few_shot.episode_result import EpisodeResult
from keras_transfer.few_shot.prototype_head import PrototypeHead

HEADS = ("prototype", "linear", "cosine")


def embed(embed_fn_or_model, x, batch_size=256):
    """`(n, dim)` float32 embeddings of `x` (flattened if of higher rank).

    A `keras.Model` with a `feature_extractor` (e.g. a
    `keras_transfer.models.TransferClassifier`) is used up to its pooled
    features; another model or callable is applied as is, batch by batch;
    `None` means `x` already holds embeddings.
    """
    if embed_fn_or_model is None:
        out = np.asarray(x)
    elif isinstance(embed_fn_or_model, keras.Model):
        model = getattr(embed_fn_or_model, "feature_extractor", None) or embed_fn_or_model
        out = model.predict(x, batch_size=batch_size, verbose=0)
    elif callable(embed_fn_or_model):
        out = np.concatenate(
            [np.asarray(keras.ops.convert_to_numpy(embed_fn_or_model(x[i : i + batch_size]))) for i in range(0, len(x), batch_size)]
        )
    else:
        raise _checks.invalid(
            "embed_fn_or_model", "a keras.Model, a callable mapping a batch to embeddings, or None", embed_fn_or_model, error=TypeError
        )
    out = np.asarray(out, dtype="float32")
    return out.reshape(len(out), -1)


def sample_episodes(y, *, n_way, k_shot, queries, episodes, seed):
    """Index arrays `(support, query)` of each episode, `(episodes, n_way, k)`.

    Deterministic for a given `seed`, whatever the head, so accuracies of
    heads evaluated with the same seed are paired episode by episode.
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per_class = {c: np.flatnonzero(y == c) for c in classes}
    short = [int(c) for c in classes if len(per_class[c]) < k_shot + queries]
    if short:
        raise ValueError(
            f"Each class needs k_shot + queries = {k_shot + queries} examples; classes {short} have fewer. "
            "Lower `k_shot` or `queries`."
        )
    if len(classes) < n_way:
        raise _checks.invalid("n_way", f"at most the number of classes in `y` ({len(classes)})", n_way)
    support = np.empty((episodes, n_way, k_shot), "int64")
    query = np.empty((episodes, n_way, queries), "int64")
    for e in range(episodes):
        for i, c in enumerate(rng.choice(classes, n_way, replace=False)):
            chosen = rng.choice(per_class[c], k_shot + queries, replace=False)
            support[e, i], query[e, i] = chosen[:k_shot], chosen[k_shot:]
    return support, query


class _TrainedHead:
    """A linear or cosine head retrained from the same start in every episode.

    One head, one optimizer, one traced training loop (full-batch steps on
    the support set) reused across episodes: weights and optimizer state are
    reset, not rebuilt, so nothing is retraced.
    """

    def __init__(self, kind, n_way, dim, *, steps, learning_rate, l2, options):
        import tensorflow as tf

        if kind == "linear":
            self.head = keras.layers.Dense(n_way, kernel_initializer="zeros", dtype="float32", **options)
        else:
            self.head = CosineClassifierHead(n_way, activation=None, dtype="float32", **options)
        self.kind = kind
        self.head.build((None, dim))
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.optimizer.build(self.head.trainable_variables)
        self.initial = [v.numpy() for v in self.head.weights + self.optimizer.variables]
        self.steps = steps
        self.l2 = l2
        self._train = tf.function(self._train_loop, reduce_retracing=True, jit_compile=True)

    def _train_loop(self, x, y):
        import tensorflow as tf

        variables = self.head.trainable_variables
        kernel = self.head.kernel
        for _ in tf.range(self.steps):
            with tf.GradientTape() as tape:
                logits = self.head(x, training=True)
                loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
                if self.l2:
                    loss = loss + self.l2 * keras.ops.sum(keras.ops.square(kernel))
            self.optimizer.apply(tape.gradient(loss, variables), variables)

    def fit_predict(self, support, labels, query):
        for variable, value in zip(self.head.weights + self.optimizer.variables, self.initial):
            variable.assign(value)
        if self.kind == "cosine":
            self.head.imprint(support, labels)
        self._train(keras.ops.convert_to_tensor(support), keras.ops.convert_to_tensor(labels, "int32"))
        return keras.ops.convert_to_numpy(self.head(query))


@keras_transfer_export("keras_transfer.few_shot.evaluate_episodes")
def evaluate_episodes(
    embed_fn_or_model,
    x,
    y,
    *,
    n_way=5,
    k_shot=5,
    queries=15,
    episodes=600,
    head="prototype",
    seed=0,
    normalize=False,
    head_options=None,
    train_steps=100,
    learning_rate=0.01,
    l2=0.0,
    batch_size=256,
):
    """N-way K-shot accuracy of a frozen embedding, averaged over episodes.

    Each episode draws `n_way` classes of `y`, `k_shot` labelled support
    examples and `queries` query examples per class; the head is fitted on
    the support embeddings only and scored on the queries. The embedding is
    computed once for all of `x` and never trained.

    Heads:

    - `"prototype"`: `keras_transfer.few_shot.PrototypeHead` (class means,
      no training).
    - `"linear"`: a `Dense` softmax layer trained on the shots (logistic
      regression, `train_steps` full-batch Adam steps from zero weights).
    - `"cosine"`: `keras_transfer.few_shot.CosineClassifierHead`, imprinted
      with the normalised class means, then trained like the linear head.

    Episodes depend only on `y`, the shape arguments and `seed`, so two
    heads evaluated with the same seed see the same episodes (compare them
    pairwise with `result.accuracies`).

    Args:
        embed_fn_or_model: a `keras.Model` (one with a `feature_extractor`,
            such as a `keras_transfer.models.TransferClassifier`, is used up
            to its pooled features), a callable mapping a batch of `x` to
            embeddings, or `None` if `x` already holds embeddings.
        x: inputs, an array indexable by example.
        y: integer class ids, one per example of `x`.
        n_way: classes per episode. Defaults to `5`.
        k_shot: support examples per class. Defaults to `5`.
        queries: query examples per class. Defaults to `15`.
        episodes: number of episodes. Defaults to `600`.
        head: `"prototype"`, `"linear"` or `"cosine"`. Defaults to
            `"prototype"`.
        seed: seed of the episode sampler. Defaults to `0`.
        normalize: L2-normalise the embeddings first. Defaults to `False`.
        head_options: keyword arguments for the head's constructor, e.g.
            `{"metric": "cosine"}` for the prototype head.
        train_steps: gradient steps of trained heads per episode.
            Defaults to `100`.
        learning_rate: Adam learning rate of trained heads. Defaults to
            `0.01`.
        l2: L2 penalty on the weights of trained heads. Defaults to `0.0`.
        batch_size: batch size for computing the embeddings.

    Returns:
        A `keras_transfer.few_shot.EpisodeResult` (`mean`, `ci95`, `std`,
        per-episode `accuracies`).

    Example:

    >>> import numpy as np, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(6), 30)
    >>> x = rng.normal(size=(180, 8)) + 3.0 * np.eye(6, 8)[y]
    >>> result = keras_transfer.few_shot.evaluate_episodes(
    ...     None, x, y, n_way=5, k_shot=5, episodes=50, seed=0)
    >>> result.mean > 0.9, result.episodes
    (True, 50)

    Reference:
        Vinyals et al., Matching Networks for One Shot Learning (NeurIPS
        2016), for the episode protocol; Chen et al., A Closer Look at
        Few-shot Classification (ICLR 2019), for the linear and cosine
        baselines.
    """
    n_way = _checks.check_int("n_way", n_way, minimum=2)
    k_shot = _checks.check_int("k_shot", k_shot, minimum=1)
    queries = _checks.check_int("queries", queries, minimum=1)
    episodes = _checks.check_int("episodes", episodes, minimum=1)
    _checks.check_choice("head", head, HEADS)
    seed = _checks.check_int("seed", seed, minimum=0)
    train_steps = _checks.check_int("train_steps", train_steps, minimum=1)
    learning_rate = _checks.check_float("learning_rate", learning_rate, minimum=0.0, exclusive_minimum=True)
    l2 = _checks.check_float("l2", l2, minimum=0.0)
    batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
    if not isinstance(normalize, bool):
        raise _checks.invalid("normalize", "a bool", normalize, error=TypeError)
    if head_options is not None and not isinstance(head_options, dict):
        raise _checks.invalid("head_options", "a dict of head constructor arguments", head_options, error=TypeError)
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise _checks.invalid("y", "a 1D array of integer class ids", f"array of shape {y.shape} and dtype {y.dtype}", error=TypeError)
    checks.check_labels("y", y, num_classes=None, count=len(x))
    support_index, query_index = sample_episodes(y, n_way=n_way, k_shot=k_shot, queries=queries, episodes=episodes, seed=seed)

    features = embed(embed_fn_or_model, x, batch_size)
    if normalize:
        features = _scoring.unit_rows(features).astype("float32")
    support_labels = np.repeat(np.arange(n_way), k_shot)
    query_labels = np.repeat(np.arange(n_way), queries)
    options = dict(head_options or {})
    if head == "prototype":
        model = PrototypeHead(n_way, activation=None, dtype="float32", **options)
    else:
        model = _TrainedHead(head, n_way, features.shape[1], steps=train_steps, learning_rate=learning_rate, l2=l2, options=options)
    accuracies = np.empty(episodes)
    for e in range(episodes):
        support = features[support_index[e].reshape(-1)]
        query = features[query_index[e].reshape(-1)]
        if head == "prototype":
            scores = keras.ops.convert_to_numpy(model.fit_prototypes(support, support_labels)(query))
        else:
            scores = model.fit_predict(support, support_labels, query)
        accuracies[e] = float(np.mean(np.argmax(scores, axis=-1) == query_labels))
    return EpisodeResult.from_accuracies(accuracies, n_way=n_way, k_shot=k_shot, queries=queries, head=head)
