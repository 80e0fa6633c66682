"""Checks for w06.wordpiece: greedy longest-match-first WordPiece with ## and [UNK].

Oracles: the BERT paper's "unaffable" example, and HF tokenizers' models.WordPiece after
BertPreTokenizer with the same vocabulary (built here from the fixtures), on both fixtures and on
seeded random words. HF's WordPiece is off-limits while your code runs.
"""

import random
from collections import Counter
from functools import partial

import pytest

from roadmap.checking import from_scratch
from roadmap.impl import load

mod = load("week06_tokenizers.wordpiece")

LIBRARY = ("tokenizers.models.WordPiece", "tokenizers.Tokenizer")
SMALL = {"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "##a": 4, "a": 5, "##b": 6}


run = partial(
    from_scratch,
    forbid=LIBRARY,
    exercise="w06.wordpiece",
    instead="greedy longest match over the vocabulary, with ## on continuation pieces",
)


def hf_wordpiece(vocab):
    from tokenizers import Tokenizer, models, pre_tokenizers

    hf = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return hf


def fixture_vocab(text: str) -> dict[str, int]:
    """[UNK], the 120 commonest words, every character alone and as ##c, a few suffixes."""
    vocab = {"[UNK]": 0}
    for word, _ in Counter(text.split()).most_common(120):
        vocab.setdefault(word.strip(".,:;!?'"), len(vocab))
    for ch in sorted(set(text) - set(" \n")):
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault("##" + ch, len(vocab))
    for suffix in ("ing", "ed", "er", "est", "ly", "en", "ous", "th"):
        vocab.setdefault("##" + suffix, len(vocab))
    return vocab


def test_unaffable_known_answer():
    """At 0 the longest piece in the vocab is "un"; at 2 "##affable", "##affabl", ... fail until
    "##aff"; at 5 "##able" matches whole. Shortest-first would give "##a" pieces instead."""
    got = run(mod.wordpiece_word, "unaffable", SMALL)
    if got == ["[UNK]"]:
        cause = (
            'the word can be cut ("un", "##aff", "##able" are in the vocab) when the LONGEST '
            "candidate is tried first, so it is not [UNK]"
        )
    elif any(not piece.startswith("##") for piece in got[1:]):
        cause = 'a piece that does not start the word is looked up with its "##" prefix'
    else:
        cause = "try the LONGEST candidate first (end = len(word), then shrink)"
    assert got == ["un", "##aff", "##able"], (
        f'wordpiece_word("unaffable", vocab): expected ["un", "##aff", "##able"], got {got}; '
        f"likely cause: {cause}"
    )


def test_unmatchable_word_is_a_single_unk():
    """ "unx": "un" matches, then nothing matches at "x", so the WHOLE word is [UNK]."""
    got = run(mod.wordpiece_word, "unx", SMALL)
    assert got == ["[UNK]"], (
        f'wordpiece_word("unx", vocab): expected ["[UNK]"], got {got}; likely cause: keeping the '
        "pieces found before the failure; BERT drops the whole word to [UNK]"
    )


def test_continuations_carry_the_prefix():
    """ "ab": "ab" is not in the vocab, "a" is; then "b" must be looked up as "##b"."""
    got = run(mod.wordpiece_word, "ab", SMALL)
    assert got == ["a", "##b"], (
        f'wordpiece_word("ab", vocab): expected ["a", "##b"], got {got}; likely cause: looking up '
        'a piece that does not start the word without its "##" prefix'
    )
    got = run(mod.wordpiece_word, "b", SMALL)
    assert got == ["[UNK]"], (
        f'wordpiece_word("b"): "b" alone is not in the vocab (only ##b); got {got}'
    )


def test_too_long_words_are_unk():
    got = run(mod.wordpiece_word, "a" * 101, {"a": 1, "##a": 2, "[UNK]": 0})
    assert got == ["[UNK]"], (
        f"wordpiece_word('a' * 101): longer than max_chars=100 -> ['[UNK]'], got {got[:3]}"
    )
    got = run(mod.wordpiece_word, "a" * 100, {"a": 1, "##a": 2, "[UNK]": 0})
    assert len(got) == 100, (
        f"wordpiece_word('a' * 100): exactly max_chars is allowed, got {got[:3]}"
    )
    got = run(mod.wordpiece_word, "é" * 60, {"é": 1, "##é": 2, "[UNK]": 0})
    assert len(got) == 60, (
        f"wordpiece_word('é' * 60) (60 characters, 120 UTF-8 bytes): expected 60 pieces, got "
        f"{got[:3]}; likely cause: max_chars counted in bytes, it counts characters (len(word))"
    )


def test_empty_text():
    got = run(mod.wordpiece_encode, "", SMALL)
    assert got == [], f'wordpiece_encode("", vocab): expected [], got {got}'


@pytest.mark.parametrize("which", ["shakespeare", "unicode"])
def test_ids_equal_hf_wordpiece_on_the_fixtures(shakespeare, unicode_text, which):
    """The vocab comes from the Shakespeare text, so the unicode fixture hits many [UNK]."""
    vocab = fixture_vocab(shakespeare)
    text = shakespeare if which == "shakespeare" else unicode_text
    expected = hf_wordpiece(vocab).encode(text).ids
    got = run(mod.wordpiece_encode, text, vocab)
    first = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), None)
    assert got == expected, (
        f"wordpiece_encode({which} fixture): {len(got)} ids vs HF WordPiece's {len(expected)}; "
        f"first difference at {first}: expected {expected[first] if first is not None else '-'}, "
        f"got {got[first] if first is not None and first < len(got) else '-'}; likely cause: "
        "shortest match, missing ## on continuations, partial words instead of one [UNK], or "
        "words not cut by bert_pretokenize (every punctuation character is a word of its own)"
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_words_match_hf(seed):
    rng = random.Random(seed)
    pieces = ["a", "b", "ab", "ba", "abb", "aab", "c"]
    vocab = {"[UNK]": 0}
    for p in rng.sample(pieces, 5):
        vocab.setdefault(p, len(vocab))
    for p in rng.sample(pieces, 5):
        vocab.setdefault("##" + p, len(vocab))
    words = ["".join(rng.choice("abc") for _ in range(rng.randint(1, 7))) for _ in range(41)]
    text = " ".join(words)
    expected = hf_wordpiece(vocab).encode(text).ids
    got = run(mod.wordpiece_encode, text, vocab)
    assert got == expected, (
        f"wordpiece_encode(random words, seed {seed}, vocab {sorted(vocab)}): expected "
        f"{expected[:15]}..., got {got[:15]}..."
    )
