"""A tiny BERT-style preset with random weights, written to disk for the tests.

Two transformer layers of width 8 over a 40-word WordPiece vocabulary: small
enough to build and train in a second, real enough to go through keras-hub's
preset loader, tokenizer and packer exactly as a downloaded preset does.
"""

import tempfile

import keras

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["good", "great", "fine", "nice", "lovely", "superb"]
NEGATIVE = ["bad", "awful", "poor", "terrible", "dull", "horrid"]
FILLER = ["the", "movie", "film", "food", "was", "is", "very", "a", "and", "service", "plot", "really"]
WORDPIECES = ["##s", "##ly", "##ed", "##ing"]
VOCABULARY = SPECIAL + POSITIVE + NEGATIVE + FILLER + WORDPIECES
SEQUENCE_LENGTH = 12
MAX_SEQUENCE_LENGTH = 16
NUM_LAYERS = 2


def make_tiny_preset(directory=None, *, seed=7, dropout=0.1, sequence_length=SEQUENCE_LENGTH, num_layers=NUM_LAYERS):
    """Writes the tiny preset (backbone config + weights, tokenizer, preprocessor)."""
    import keras_hub

    directory = directory or tempfile.mkdtemp(prefix="kt_tiny_bert_")
    keras.utils.set_random_seed(seed)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=sequence_length)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCABULARY),
        num_layers=num_layers,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        dropout=dropout,
        max_sequence_length=MAX_SEQUENCE_LENGTH,
    )
    backbone.save_to_preset(directory)
    preprocessor.save_to_preset(directory)
    return directory


def sentiment_texts(count=32, seed=0):
    """Texts whose label is whether they hold a positive or a negative word."""
    import numpy as np

    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(count):
        label = i % 2
        word = rng.choice(POSITIVE if label else NEGATIVE)
        filler = list(rng.choice(FILLER, size=3))
        position = int(rng.integers(0, 4))
        words = filler[:position] + [str(word)] + filler[position:]
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels, "int32")


