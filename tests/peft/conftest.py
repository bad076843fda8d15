"""The text fixtures (a tiny BERT preset on disk), shared with tests/text."""

from tests.text.conftest import tiny_preset  # noqa: F401
