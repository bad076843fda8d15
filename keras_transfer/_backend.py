"""The package needs the TensorFlow backend of Keras 3."""

import os


def check_backend():
    import keras

    backend = keras.config.backend()
    if backend != "tensorflow":
        raise ImportError(
            "keras_transfer needs the TensorFlow backend of Keras 3 (tf.data, SavedModel "
            f"export and tf.distribute), but Keras is using the {backend!r} backend "
            f"(KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '<unset>')!r}). Set "
            "KERAS_BACKEND=tensorflow before importing keras."
        )
