"""Checks for w06.specials: special tokens are cut out first, never split by the regex or merged.

Oracle: tiktoken with the same ranks and special tokens (encode(..., allowed_special="all")), hand
examples, and the split property encode(a + S + b) == encode(a) + [id(S)] + encode(b).
"""

import random
from functools import partial

import pytest

from checks.week06_tokenizers.oracles import PATTERNS, SPECIALS, special_ids, tiktoken_oracle
from roadmap.checking import from_scratch
from roadmap.impl import load

mod = load("week06_tokenizers.tokenizer")

LIBRARY = ("tiktoken.Encoding", "tiktoken.get_encoding", "tokenizers.Tokenizer")


run = partial(
    from_scratch,
    forbid=LIBRARY,
    exercise="w06.specials",
    instead="splitting on the special tokens yourself, then your encode",
)


def make(merges):
    return run(mod.BPETokenizer, merges, PATTERNS["gpt4"], special_ids(merges))


def test_split_specials_known_answer():
    got = run(mod.split_specials, "hi<EOS><BOS>yo", ["<BOS>", "<EOS>"])
    assert got == ["hi", "<EOS>", "<BOS>", "yo"], (
        f'split_specials("hi<EOS><BOS>yo", ["<BOS>", "<EOS>"]): expected '
        f"['hi', '<EOS>', '<BOS>', 'yo'], got {got}; likely cause: dropping the specials (wrap "
        "the alternation in a capture group so re.split keeps them) or keeping empty pieces"
    )
    assert run(mod.split_specials, "plain", []) == ["plain"], (
        "split_specials('plain', []) != ['plain']"
    )
    assert run(mod.split_specials, "", ["<BOS>"]) == [], "split_specials('', ...) should be []"


def test_split_specials_escapes_regex_characters():
    """Unescaped, "<|endoftext|>" is the regex  <  OR  endoftext  OR  >, which cuts plain text."""
    got = run(mod.split_specials, "a<b|c>d<|endoftext|>", ["<|endoftext|>"])
    assert got == ["a<b|c>d", "<|endoftext|>"], (
        f'split_specials("a<b|c>d<|endoftext|>", ["<|endoftext|>"]): expected '
        f"['a<b|c>d', '<|endoftext|>'], got {got}; likely cause: not re.escape-ing the specials"
    )


def test_longer_special_wins():
    got = run(mod.split_specials, "x<|end|><|endoftext|>", ["<|end|>", "<|endoftext|>", "<|"])
    assert got == ["x", "<|end|>", "<|endoftext|>"], (
        f"split_specials with overlapping specials <|, <|end|>, <|endoftext|>: expected "
        f"['x', '<|end|>', '<|endoftext|>'], got {got}; likely cause: alternation not sorted "
        "longest first, so the short '<|' matches before the full token"
    )


@pytest.mark.parametrize("special", SPECIALS)
def test_each_special_is_one_id(oracle_merges, special):
    merges = oracle_merges["gpt4"]
    tok = make(merges)
    want = special_ids(merges)[special]
    got = run(tok.encode, special)
    assert got == [want], (
        f"encode({special!r}): expected the single id [{want}], got {got}; likely cause: the "
        "split pattern saw the special and cut it ('<|', 'endoftext', '|>'); cut specials out first"
    )
    assert run(tok.decode, got) == special, f"decode(encode({special!r})) != {special!r}"


def test_specials_split_the_text_around_them(oracle_merges):
    """encode(a + S + b) == encode_ordinary(a) + [id(S)] + encode_ordinary(b)."""
    merges = oracle_merges["gpt4"]
    tok = make(merges)
    ids = special_ids(merges)
    a, b = "First Citizen:\nBefore we", "proceed any further, hear me speak."
    got = run(tok.encode, a + "<BOS>" + b + "<|endoftext|><PAD><PAD>")
    expected = (
        run(tok.encode_ordinary, a)
        + [ids["<BOS>"]]
        + run(tok.encode_ordinary, b)
        + [ids["<|endoftext|>"], ids["<PAD>"], ids["<PAD>"]]
    )
    assert got == expected, (
        f"encode(a + '<BOS>' + b + '<|endoftext|><PAD><PAD>'): expected {expected}, got {got}; "
        "likely cause: cut specials out first (split_specials), then encode the text around "
        "each special on its own, specials in order"
    )


def test_encode_ordinary_treats_specials_as_text(oracle_merges):
    merges = oracle_merges["gpt4"]
    tok = make(merges)
    got = run(tok.encode_ordinary, "<|endoftext|>")
    assert set(got).isdisjoint(special_ids(merges).values()) and len(got) > 1, (
        f"encode_ordinary('<|endoftext|>'): expected several plain byte/merge ids, got {got}"
    )


def test_ids_equal_tiktoken_with_specials(oracle_merges, unicode_text, shakespeare):
    """The unicode fixture contains '<PAD>' and '<|endoftext|>' inside running text."""
    merges = oracle_merges["gpt4"]
    oracle = tiktoken_oracle(merges, PATTERNS["gpt4"], special_ids(merges))
    tok = make(merges)
    rng = random.Random(6)
    pieces = [shakespeare[i : i + rng.randint(0, 40)] for i in range(0, 2000, 97)]
    mixed = "".join(p + rng.choice(SPECIALS) * rng.randint(0, 2) for p in pieces)
    for name, text in (("unicode fixture", unicode_text), ("mixed", mixed)):
        expected = oracle.encode(text, allowed_special="all")
        got = run(tok.encode, text)
        assert got == expected, (
            f"encode({name}) with specials: {len(got)} ids vs tiktoken's {len(expected)}; first "
            f"difference at {next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), '-')}"
            "; likely cause: specials split by the regex, or text between specials merged across"
        )
        assert run(tok.decode, got) == text, f"decode(encode({name})) did not round-trip"
