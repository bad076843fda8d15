"""The UCI handwritten digits (shipped with scikit-learn)."""


from keras_transfer.api_export import keras_transfer_export


@keras_transfer_export("keras_transfer.data.load_uci_digits")
def load_uci_digits():
    """Loads the 1,797 UCI handwritten digits, offline.

    The images of `sklearn.datasets.load_digits`: 32x32 bitmaps of
    handwritten digits reduced to 8x8 by counting the set pixels of each 4x4
    block, so pixel values are 0..16. `keras_transfer.data.render_font_digits`
    renders printed digits in the same format (a source domain for them).

    Returns:
        `(x, y)`: images `(1797, 8, 8)` uint8 in 0..16, labels `(1797,)` uint8.

    Example:

    >>> import keras_transfer
    >>> x, y = keras_transfer.data.load_uci_digits()
    >>> x.shape, int(x.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 8, 8), 16, True)

    Reference:
        Alpaydin and Kaynak, "Optical Recognition of Handwritten Digits", UCI
        Machine Learning Repository, 1998.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images.astype("uint8"), digits.target.astype("uint8")
