"""SHOT's self-supervised pseudo-labels: class centroids of the target features, refreshed each epoch."""

import keras
import numpy as np
import tensorflow as tf


def centroids(features, probabilities):
    """Class centroids of L2-normalised `features`, by SHOT's two-round weighted k-means.

    Round one weighs every feature by the predicted probabilities; round two
    averages the features nearest (by cosine) to each round-one centroid. A
    class that no feature is nearest to keeps its round-one centroid.
    """
    features = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    first = probabilities.T @ features / np.maximum(probabilities.sum(0)[:, None], 1e-12)
    nearest = np.argmax(features @ _normalised(first).T, axis=1)
    one_hot = np.eye(len(first), dtype=features.dtype)[nearest]
    counts = one_hot.sum(0)[:, None]
    second = np.where(counts > 0, one_hot.T @ features / np.maximum(counts, 1.0), first)
    return _normalised(second).astype("float32")


def _normalised(vectors):
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class CentroidRefresh(keras.callbacks.Callback):
    """At the start of every epoch, recomputes `model.centroids` from all target inputs `x`."""

    def __init__(self, x, batch_size):
        super().__init__()
        self._x = x
        self._batch_size = batch_size

    def on_epoch_begin(self, epoch, logs=None):
        model = self.model
        data = self._x
        if not isinstance(data, tf.data.Dataset):
            data = tf.data.Dataset.from_tensor_slices(data).batch(self._batch_size or 32)
        features, probabilities = [], []
        for batch in data:
            if isinstance(batch, (tuple, list)):
                batch = batch[0]
            f = model.feature_extractor(batch, training=False)
            features.append(keras.ops.convert_to_numpy(keras.ops.cast(f, "float32")))
            probabilities.append(keras.ops.convert_to_numpy(model.probabilities_of(f)))
        model.centroids.assign(centroids(np.concatenate(features), np.concatenate(probabilities)))
