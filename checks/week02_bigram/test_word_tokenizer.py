"""Checks for w02.word_tokenizer: splitting, a capped vocabulary with <UNK>, encode/decode.

Oracle: hand-split sentences and collections.Counter for the vocabulary ranking.
"""

import random
from collections import Counter

import pytest

from roadmap.impl import load

mod = load("week02_bigram.word_tokenizer")

WORDS = ["the", "king", "queen", "know't", "o'er", "a", "Romeo", "42"]
MARKS = [",", ".", "!", "?", ";", ":", "-", "\n"]


def normalised_text(seed: int, n: int) -> str:
    """Random tokens joined the normalised way: one space between words, none before marks."""
    rng = random.Random(seed)
    tokens = [rng.choice(WORDS if rng.random() < 0.7 else MARKS) for _ in range(n)]
    out = []
    for i, t in enumerate(tokens):
        space = i > 0 and t[0].isalnum() and tokens[i - 1] != "\n"
        out.append(" " + t if space else t)
    return "".join(out)


def test_split_words_known_answer():
    got = mod.split_words("We know't, we\nknow't.")
    expected = ["We", "know't", ",", "we", "\n", "know't", "."]
    assert got == expected, (
        f"split_words(\"We know't, we\\nknow't.\"): expected {expected}, got {got}; words keep inner "
        "apostrophes, each punctuation mark and each newline is its own token, spaces vanish"
    )


def test_split_words_drops_runs_of_spaces_and_splits_every_mark():
    got = mod.split_words("  Hi\t there?!  ")
    assert got == ["Hi", "there", "?", "!"], (
        f"split_words('  Hi\\t there?!  '): expected ['Hi', 'there', '?', '!'], got {got}; "
        "likely cause: splitting on single spaces, or keeping '?!' as one token"
    )


def test_vocab_cap_keeps_most_frequent_and_unk_is_id_0():
    """Counts: b=2, a=1, c=1. With max_vocab=3: <UNK>, then b, then a (a < c breaks the tie)."""
    tok = mod.WordTokenizer.from_text("b a b c", max_vocab=3)
    assert tok.words == ["<UNK>", "b", "a"], (
        f"WordTokenizer.from_text('b a b c', max_vocab=3).words: expected ['<UNK>', 'b', 'a'], "
        f"got {tok.words}; <UNK> takes one of the max_vocab slots, ties break alphabetically"
    )
    assert tok.vocab_size == 3, f"vocab_size: expected 3, got {tok.vocab_size}"


def test_ties_break_alphabetically_not_by_first_occurrence():
    """Counts: c=2, b=2, a=2, d=1; first occurrence c, b, a, but the docstring sorts ties
    alphabetically: <UNK>, a, b, c, d."""
    tok = mod.WordTokenizer.from_text("c b a b c a d", max_vocab=5)
    assert tok.words == ["<UNK>", "a", "b", "c", "d"], (
        "WordTokenizer.from_text('c b a b c a d').words: expected ['<UNK>', 'a', 'b', 'c', 'd'], "
        f"got {tok.words}; likely cause: ties in frequency must break alphabetically "
        "(sort by (-count, token)), not by first occurrence in the text"
    )


@pytest.mark.parametrize("seed,max_vocab", [(0, 5), (1, 12), (2, 1000)])
def test_vocabulary_matches_counter_ranking(seed, max_vocab):
    text = normalised_text(seed, 400)
    counts = Counter(mod.split_words(text))
    expected = ["<UNK>"] + sorted(counts, key=lambda w: (-counts[w], w))[: max_vocab - 1]
    tok = mod.WordTokenizer.from_text(text, max_vocab=max_vocab)
    assert tok.words == expected, (
        f"from_text(text, max_vocab={max_vocab}).words: expected {expected[:6]}..., got "
        f"{tok.words[:6]}...; sort by (-count, token) and keep max_vocab - 1 after <UNK>"
    )


def test_unknown_words_become_id_0():
    tok = mod.WordTokenizer.from_text("the king the queen", max_vocab=3)  # <UNK>, the, king
    got = tok.encode("the queen and the king")
    assert got == [1, 0, 0, 1, 2], (
        f"encode('the queen and the king') with vocab {tok.words}: expected [1, 0, 0, 1, 2], "
        f"got {got}; rare and unseen tokens map to id 0, <UNK>"
    )
    assert tok.decode(got) == "the <UNK> <UNK> the king", f"decode gave {tok.decode(got)!r}"


@pytest.mark.parametrize("seed", [3, 4])
def test_round_trip_on_normalised_text(seed):
    text = normalised_text(seed, 300)
    tok = mod.WordTokenizer.from_text(text)
    back = tok.decode(tok.encode(text))
    assert back == text, (
        f"decode(encode(text)) on normalised text: got {back[:60]!r}, expected {text[:60]!r}"
    )


def test_decode_is_idempotent_on_messy_text():
    tok = mod.WordTokenizer.from_text("Hello , world !  How\n  are you ?", max_vocab=50)
    once = tok.decode(tok.encode("Hello , world !  How\n  are you ?"))
    assert once == "Hello, world! How\nare you?", (
        f"decode(encode('Hello , world !  How\\n  are you ?')): expected the normalised "
        f"'Hello, world! How\\nare you?', got {once!r}; no space before marks or after newlines"
    )
    twice = tok.decode(tok.encode(once))
    assert twice == once, f"decode(encode(.)) should be stable: {once!r} then {twice!r}"


def test_same_interface_as_the_char_tokenizer():
    """The project swaps tokenizers with one line: both need from_text, encode, decode, vocab_size."""
    char = load("week02_bigram.char_tokenizer").CharTokenizer.from_text("to be or not")
    word = mod.WordTokenizer.from_text("to be or not")
    for tok in (char, word):
        ids = tok.encode("to be")
        assert isinstance(tok.vocab_size, int) and all(0 <= i < tok.vocab_size for i in ids)
        assert tok.decode(ids) == "to be", f"{type(tok).__name__}.decode gave {tok.decode(ids)!r}"
