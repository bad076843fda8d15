"""Public Keras callbacks of keras_transfer."""

__all__ = []
