"""Checks for w06.save_load: the plain-text tokenizer file, written and read back.

Oracles: the exact file for a hand-made tokenizer (the format in the docstring of save), and round
trips: same merges in the same order, same pattern and specials, same ids on the fixtures.
"""

import json

from checks.week06_tokenizers.oracles import PATTERNS, special_ids
from roadmap.impl import load

mod = load("week06_tokenizers.tokenizer")

HAND = {(97, 97): 256, (97, 98): 257, (256, 257): 258}


def test_file_format_known_answer(tmp_path):
    """Three merges of "aaabdaaabac", specials <BOS>=259, <EOS>=260, pattern 'a+' (JSON-quoted)."""
    tok = mod.BPETokenizer(HAND, "a+", {"<BOS>": 259, "<EOS>": 260})
    path = tmp_path / "hand.txt"
    tok.save(path)
    expected = "\n".join(
        [
            "week06-bpe v1",
            'pattern "a+"',
            "specials 2",
            '"<BOS>" 259',
            '"<EOS>" 260',
            "merges 3",
            "97 97",
            "97 98",
            "256 257",
        ]
    )
    got = path.read_text(encoding="utf-8")
    want, have = expected.split("\n"), got.rstrip("\n").split("\n")
    at = next((i for i, (w, h) in enumerate(zip(want, have)) if w != h), min(len(want), len(have)))
    first = want[at] if at < len(want) else ""
    cause = (
        "strings (the pattern, each special) are JSON-quoted with json.dumps"
        if '"' in first
        else "see the format in the docstring of save (one merge per line as 'left right', in "
        "rank order)"
    )
    assert got.rstrip("\n") == expected, (
        f"save(): expected the file\n{expected}\ngot\n{got}\nfirst difference at line {at + 1}: "
        f"expected {first!r}; likely cause: {cause}"
    )


def test_round_trip_keeps_everything(tmp_path, oracle_merges, shakespeare, unicode_text):
    """The GPT-4 pattern has quotes, backslashes and \\r\\n: JSON quoting must keep them exact."""
    merges = oracle_merges["gpt4"]
    specials = {**special_ids(merges), "<my special>": 9999}
    tok = mod.BPETokenizer(merges, PATTERNS["gpt4"], specials)
    path = tmp_path / "bpe.txt"
    tok.save(path)
    try:
        back = mod.BPETokenizer.load(path)
    except (KeyError, IndexError, ValueError) as error:
        raise AssertionError(
            f"BPETokenizer.load(save(tok)) raised {type(error).__name__}: {error}; likely cause: "
            "load does not parse what save wrote. Merges must be written in rank order (a merge "
            "only uses earlier ids); a special with a space ('<my special>') is split at its LAST "
            "space"
        ) from error
    assert list(back.merges.items()) == list(merges.items()), (
        f"load(save(tok)).merges differ from the saved merges ({len(back.merges)} vs "
        f"{len(merges)}); likely cause: merges out of rank order, or ids not 256 + line number"
    )
    assert back.pattern == PATTERNS["gpt4"], (
        f"load(save(tok)).pattern: expected {PATTERNS['gpt4']!r}, got {back.pattern!r}; likely "
        "cause: writing the pattern unquoted (use json.dumps / json.loads)"
    )
    assert back.special_tokens == specials, (
        f"load(save(tok)).special_tokens: expected {specials}, got {back.special_tokens}; likely "
        "cause: a special with a space inside ('<my special>'): split the line at its LAST space"
    )
    text = shakespeare + "<|endoftext|>" + unicode_text
    assert back.encode(text) == tok.encode(text), "load(save(tok)) encodes differently"


def test_empty_tokenizer_round_trip(tmp_path):
    tok = mod.BPETokenizer({}, PATTERNS["gpt2"], {})
    tok.save(tmp_path / "empty.txt")
    back = mod.BPETokenizer.load(tmp_path / "empty.txt")
    assert back.merges == {} and back.special_tokens == {}, (
        f"load(save(tokenizer without merges or specials)): got merges {back.merges}, specials "
        f"{back.special_tokens}"
    )
    assert json.loads(json.dumps(back.pattern)) == PATTERNS["gpt2"], (
        "load(save(tok)) with the GPT-2 pattern came back with another pattern; likely cause: "
        "the pattern line is not read back (json.loads of what follows 'pattern ')"
    )
