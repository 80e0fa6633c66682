"""Checks for w06.encode: build_vocab, encode_chunk, encode_ordinary (with its cache) and decode.

Oracles: hand-worked merges; tiktoken built here with the same ranks and split pattern, on merges
that HF tokenizers' trainer learned from the fixtures (see oracles.py); round trips on empty,
single-character, unicode, emoji and long text. tiktoken is off-limits while your code runs.
"""

from functools import partial

import pytest

from checks.week06_tokenizers.oracles import PATTERNS, special_ids, tiktoken_oracle, token_bytes
from roadmap.checking import from_scratch
from roadmap.impl import load

mod = load("week06_tokenizers.tokenizer")

LIBRARY = ("tiktoken.Encoding", "tiktoken.get_encoding", "tokenizers.Tokenizer")
HAND = {(97, 97): 256, (97, 98): 257, (256, 257): 258}  # aa, ab, aaab


run = partial(
    from_scratch,
    forbid=LIBRARY,
    exercise="w06.encode",
    instead="your merge ranks: repeatedly merge the lowest-ranked pair present",
)


def test_build_vocab_known_answer():
    """256 = aa, 257 = ab, 258 = 256 + 257 = aa + ab = aaab; bytes 0..255 are themselves."""
    vocab = run(mod.build_vocab, HAND)
    assert len(vocab) == 259, f"build_vocab(3 merges): expected 259 entries, got {len(vocab)}"
    assert vocab[0] == b"\x00" and vocab[255] == b"\xff", (
        f"build_vocab: ids 0..255 must be the single bytes, got vocab[255] = {vocab[255]!r}"
    )
    got = [vocab[256], vocab[257], vocab[258]]
    assert got == [b"aa", b"ab", b"aaab"], (
        f"build_vocab({HAND}): expected [b'aa', b'ab', b'aaab'] for ids 256..258, got {got}; "
        "likely cause: a merge's bytes are vocab[left] + vocab[right], in that order"
    )


def test_encode_chunk_known_answer():
    """b"aaab" = 97 97 97 98 -> (97,97) rank 0 -> [256, 97, 98] -> (97,98) rank 1 -> [256, 257]
    -> (256,257) rank 2 -> [258]."""
    tok = run(mod.BPETokenizer, HAND)
    got = run(tok.encode_chunk, b"aaab")
    assert got == [258], (
        f'encode_chunk(b"aaab") with merges {HAND}: expected [258], got {got}; likely cause: '
        "apply the merges over and over (lowest rank first) while at least two ids remain and "
        "some adjacent pair has a merge"
    )
    got = run(tok.encode_chunk, b"aaabdaaabac")
    assert got == [258, 100, 258, 97, 99], (
        f'encode_chunk(b"aaabdaaabac"): expected [258, 100, 258, 97, 99], got {got}'
    )


def test_merges_apply_by_rank_not_left_to_right():
    """Merges {(98, 99): 256 "bc", (97, 98): 257 "ab"} on b"abc": rank 0 is bc, so [97, 256].

    Scanning left to right and taking the first pair that is any merge would give ab first,
    [257, 99], which is not what training did: bc was learned before ab.
    """
    tok = run(mod.BPETokenizer, {(98, 99): 256, (97, 98): 257})
    got = run(tok.encode_chunk, b"abc")
    assert got == [97, 256], (
        f'encode_chunk(b"abc") with bc=256 (rank 0), ab=257 (rank 1): expected [97, 256], got '
        f"{got}; likely cause: merges applied in the wrong order; always merge the pair of "
        "lowest rank present, wherever it is"
    )


@pytest.mark.parametrize("chunk", [b"", b"a", "é".encode(), "😀".encode(), b"\xff\x00"], ids=repr)
def test_encode_chunk_of_short_input(chunk):
    tok = run(mod.BPETokenizer, HAND)
    got = run(tok.encode_chunk, chunk)
    assert got == list(chunk), (
        f"encode_chunk({chunk!r}) with no applicable merge: expected the raw bytes {list(chunk)}, "
        f"got {got}; likely cause: special-casing short input, or ids that are not bytes"
    )


@pytest.mark.parametrize("pattern_name", ["gpt4", "gpt2"])
def test_ids_equal_tiktoken_on_the_fixtures(oracle_merges, shakespeare, unicode_text, pattern_name):
    merges, pattern = oracle_merges[pattern_name], PATTERNS[pattern_name]
    oracle = tiktoken_oracle(merges, pattern, special_ids(merges))
    tok = run(mod.BPETokenizer, merges, pattern)
    for name, text in (("shakespeare", shakespeare), ("unicode", unicode_text)):
        expected = oracle.encode_ordinary(text)
        got = run(tok.encode_ordinary, text)
        first = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), None)
        where = (
            ""
            if first is None
            else f" first difference at token {first}: expected "
            f"{expected[first]}, got {got[first]} near {text[max(0, first - 5) : first + 10]!r};"
        )
        assert got == expected, (
            f"encode_ordinary({name} fixture, {pattern_name} pattern, {len(merges)} merges): "
            f"{len(got)} ids vs tiktoken's {len(expected)};{where} likely cause: merges applied "
            "out of rank order, or splitting with another pattern than self.compiled"
        )


@pytest.mark.parametrize(
    "text",
    ["", "a", " ", "é", "😀", "👨‍👩‍👧‍👦", "🇫🇷", "e\u0301", "\r\n\t", "日本語のテキスト", "a" * 50],
    ids=repr,
)
def test_round_trip_short_and_unicode(oracle_merges, text):
    tok = run(mod.BPETokenizer, oracle_merges["gpt4"], PATTERNS["gpt4"])
    ids = run(tok.encode_ordinary, text)
    got = run(tok.decode, ids)
    assert got == text, (
        f"decode(encode_ordinary({text!r})) = {got!r}, ids {ids}; likely cause: decoding each "
        "token separately (an emoji spans several byte tokens) instead of joining all bytes first"
    )


def test_round_trip_long_text(oracle_merges, shakespeare, unicode_text):
    text = (shakespeare + unicode_text) * 3
    tok = run(mod.BPETokenizer, oracle_merges["gpt4"], PATTERNS["gpt4"])
    got = run(tok.decode, run(tok.encode_ordinary, text))
    assert got == text, (
        f"decode(encode_ordinary(fixtures x 3)) lost text: {len(got)} vs {len(text)} characters"
    )


def test_decode_joins_bytes_before_decoding():
    """😀 is F0 9F 98 80: four byte tokens that decode to one character only together."""
    tok = run(mod.BPETokenizer, {})
    got = run(tok.decode, [0xF0, 0x9F, 0x98, 0x80])
    assert got == "😀", (
        f"decode([0xF0, 0x9F, 0x98, 0x80]): expected '😀', got {got!r}; likely cause: decoding "
        "token by token; join all the bytes, then decode once"
    )
    got = run(tok.decode, [0xF0, 104, 105])
    assert got == "\ufffdhi", (
        f"decode([0xF0, 104, 105]) (a lone lead byte, then 'hi'): expected '\\ufffdhi', got "
        f"{got!r}; likely cause: decode with errors='replace', not 'strict' or 'ignore'"
    )


def test_encode_ordinary_caches_pre_tokens(oracle_merges):
    """Repeated words (" the", ",") are merged once: encode_ordinary stores ids per pre-token."""
    tok = run(mod.BPETokenizer, oracle_merges["gpt4"], PATTERNS["gpt4"])
    first = run(tok.encode_ordinary, "to be or not to be")
    assert " be" in tok.cache and tok.cache[" be"] == run(tok.encode_chunk, b" be"), (
        f"after encode_ordinary('to be or not to be'), tok.cache = {dict(list(tok.cache.items())[:4])}"
        "...: expected tok.cache[' be'] == encode_chunk(b' be'); likely cause: not caching "
        "each pre-token's ids (the benchmark compares your speed with tiktoken)"
    )
    assert run(tok.encode_ordinary, "to be or not to be") == first, "a cached encode changed"


def test_vocab_bytes_match_the_oracle(oracle_merges):
    merges = oracle_merges["gpt4"]
    expected = token_bytes(merges)
    got = run(mod.build_vocab, merges)
    bad = [i for i in expected if got.get(i) != expected[i]]
    assert not bad, (
        f"build_vocab(HF-trained merges): {len(bad)} tokens differ, first id {bad[0]}: expected "
        f"{expected[bad[0]]!r}, got {got.get(bad[0])!r}"
    )
