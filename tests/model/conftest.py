"""Fixtures shared by the model tests."""

import pytest

from bachlstm.tokens.tokenizers import build_tokenizer
from tests.builders import short_melody


@pytest.fixture
def tokenizer():
    """The event tokenizer of `short_melody`."""
    return build_tokenizer("event", [short_melody()])
