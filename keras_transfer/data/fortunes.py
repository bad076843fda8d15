"""Short English texts with natural topic labels, offline: Debian's fortune cookies.

Debian's `fortunes` package installs the fortune-mod databases under
`/usr/share/games/fortunes`: one file per topic (`computers`, `food`, `law`,
`love`, `politics`, `sports`, ...), each a list of quotations and jokes
separated by lines holding `%`. The file a text is filed under is its label:
a topic classification task with labels written by people, no download at
run time, and a fixed content per package version (1:1.99.1-7.3 on Debian 12).
"""

import os
import re

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export

FORTUNES_DIRECTORY = "/usr/share/games/fortunes"
FORTUNE_TOPICS = ("computers", "food", "law", "love", "politics", "sports")
"""The fortune databases `load_fortunes` reads by default: six topics, the labels of the text demo."""
keras_transfer_export("keras_transfer.data.FORTUNE_TOPICS")(FORTUNE_TOPICS)


def _read_topic(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        raw = handle.read()
    texts = []
    for block in re.split(r"^%\s*$", raw, flags=re.MULTILINE):
        text = re.sub(r"\s+", " ", block).strip()
        if text:
            texts.append(text)
    return texts


def available_fortune_topics(directory=None):
    """The topic files found in `directory` (Debian's path by default)."""
    directory = directory or FORTUNES_DIRECTORY
    if not os.path.isdir(directory):
        return ()
    names = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if "." not in name and os.path.isfile(path) and os.path.isfile(path + ".dat"):
            names.append(name)
    return tuple(names)


@keras_transfer_export("keras_transfer.data.load_fortunes")
def load_fortunes(topics=FORTUNE_TOPICS, *, directory=None):
    """Loads fortune-cookie texts labelled by topic, from Debian's `fortunes` package.

    Whitespace is collapsed to single spaces; a text found under several of
    the requested topics, or twice, is dropped (its label would be
    ambiguous). The order is the files' order, topic by topic.

    Args:
        topics: topic names (files of the fortunes directory). Defaults to
            `FORTUNE_TOPICS`: computers, food, law, love, politics, sports.
        directory: where the topic files are. Defaults to
            `/usr/share/games/fortunes` (`apt-get install fortunes`).

    Returns:
        `(texts, labels, topics)`: a list of `str`, an int32 array of indices
        into `topics`, and the topics as a tuple.

    Example:

    >>> import keras_transfer
    >>> texts, labels, topics = keras_transfer.data.load_fortunes()  # doctest: +SKIP
    >>> len(texts), topics[labels[0]]  # doctest: +SKIP
    (2445, 'computers')
    """
    directory = directory or FORTUNES_DIRECTORY
    if isinstance(topics, str) or not isinstance(topics, (list, tuple)) or not topics:
        raise _checks.invalid("topics", "a non-empty list of topic names", topics, error=TypeError)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"No fortunes directory at {directory!r}. Install Debian's `fortunes` package "
            "(`apt-get install fortunes`) or pass `directory=`."
        )
    found = available_fortune_topics(directory)
    for topic in topics:
        if topic not in found:
            raise _checks.invalid(
                "topics", f"topics found in {directory!r}", topic, hint=_checks.suggest(topic, found).strip() or None
            )
    if len(set(topics)) != len(topics):
        raise _checks.invalid("topics", "distinct topic names", topics)
    per_topic = [_read_topic(os.path.join(directory, topic)) for topic in topics]
    counts = {}
    for texts in per_topic:
        for text in texts:
            counts[text] = counts.get(text, 0) + 1
    texts, labels = [], []
    for label, topic_texts in enumerate(per_topic):
        for text in topic_texts:
            if counts[text] == 1:
                texts.append(text)
                labels.append(label)
    return texts, np.asarray(labels, "int32"), tuple(topics)


@keras_transfer_export("keras_transfer.data.per_class_split")
def per_class_split(labels, counts, *, seed=0):
    """Draws disjoint index sets with a fixed number of examples per class.

    Args:
        labels: int labels, shape `(n,)`.
        counts: examples per class of each split, e.g. `(16, 20, 60)` for
            train / validation / test.
        seed: seed of the draw (a `numpy` generator).

    Returns:
        A tuple of index arrays, one per entry of `counts`, each sorted by
        class then drawn order.

    Example:

    >>> import numpy as np, keras_transfer
    >>> labels = np.array([0, 0, 0, 1, 1, 1])
    >>> train, test = keras_transfer.data.per_class_split(labels, (1, 2), seed=0)
    >>> len(train), len(test), sorted(labels[test].tolist())
    (2, 4, [0, 0, 1, 1])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise _checks.invalid("labels", "a 1-D array of class indices", f"array of shape {labels.shape}")
    if not isinstance(counts, (tuple, list)):
        raise _checks.invalid("counts", "a tuple of examples per class, one entry per split", counts, error=TypeError)
    counts = [_checks.check_int("counts", c, minimum=0) for c in counts]
    rng = np.random.default_rng(seed)
    splits = [[] for _ in counts]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        if len(members) < sum(counts):
            raise _checks.invalid(
                "counts", f"at most {len(members)} examples per class in total (class {label} has {len(members)})", tuple(counts)
            )
        start = 0
        for split, count in zip(splits, counts):
            split.extend(members[start : start + count].tolist())
            start += count
    return tuple(np.asarray(split, "int64") for split in splits)
