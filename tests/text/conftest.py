"""Fixtures of the text tests: one tiny BERT preset on disk for the session."""

import pytest

from tests.text.tiny_preset import make_tiny_preset


@pytest.fixture(scope="session")
def tiny_preset(tmp_path_factory):
    """Path of a tiny random BERT preset (backbone, WordPiece tokenizer, preprocessor)."""
    return make_tiny_preset(str(tmp_path_factory.mktemp("tiny_bert_preset")))


@pytest.fixture(scope="session")
def tiny_preset_no_dropout(tmp_path_factory):
    """The tiny preset without dropout: two runs with the same seed are comparable step by step."""
    return make_tiny_preset(str(tmp_path_factory.mktemp("tiny_bert_no_dropout")), dropout=0.0)
