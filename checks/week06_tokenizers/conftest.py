"""Fixtures shared by the week-06 checks: the committed texts and HF-trained oracle merges."""

import pytest

from checks.week06_tokenizers.oracles import PATTERNS, hf_merges, read_fixture


@pytest.fixture(scope="session")
def shakespeare() -> str:
    """The first ~4 KB of tiny Shakespeare (public domain)."""
    return read_fixture("tinyshakespeare_4k.txt")


@pytest.fixture(scope="session")
def unicode_text() -> str:
    """Many scripts, emoji with ZWJ and skin tones, combining marks, CRLF, tabs, '<PAD>' in text."""
    return read_fixture("unicode.txt")


@pytest.fixture(scope="session")
def oracle_merges(shakespeare, unicode_text) -> dict[str, dict[tuple[int, int], int]]:
    """HF-trained merges (vocab 600) on both fixtures, per split pattern name ("gpt2", "gpt4")."""
    text = shakespeare + unicode_text
    return {name: hf_merges(text, 600, pattern) for name, pattern in PATTERNS.items()}
