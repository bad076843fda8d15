"""Fixtures of the PEFT tests: a tiny random BERT preset on disk for the session."""

import pytest

from tests.text.tiny_preset import make_tiny_preset


@pytest.fixture(scope="session")
def tiny_preset(tmp_path_factory):
    """Path of a tiny random BERT preset (2 layers of width 8, dropout 0.1)."""
    return make_tiny_preset(str(tmp_path_factory.mktemp("peft_tiny_bert")))
