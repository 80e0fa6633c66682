"""Checks for w02.char_tokenizer: vocabulary, encode/decode, unknown characters, save/load.

Oracle: Python's own sorted(set(text)) and str indexing; hand-derived ids for a short word.
"""

import json
import random

import pytest

from roadmap.impl import load

mod = load("week02_bigram.char_tokenizer")
CharTokenizer = mod.CharTokenizer

POOL = "abcXYZ \n\t.,;:!?'\"-0123456789éß漢字🙂"


def random_text(seed: int, length: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(POOL) for _ in range(length))


def test_hello_known_answer():
    """set("hello") sorted is e < h < l < o, so e=0, h=1, l=2, o=3 and "hello" -> [1, 0, 2, 2, 3]."""
    tok = CharTokenizer.from_text("hello")
    assert tok.chars == ["e", "h", "l", "o"], (
        f"CharTokenizer.from_text('hello').chars: expected ['e', 'h', 'l', 'o'], got {tok.chars}; "
        "likely cause: the vocabulary must be the distinct characters sorted, not in order of appearance"
    )
    got = tok.encode("hello")
    assert got == [1, 0, 2, 2, 3], f"encode('hello'): expected [1, 0, 2, 2, 3], got {got}"
    assert tok.vocab_size == 4, f"vocab_size: expected 4, got {tok.vocab_size}"


@pytest.mark.parametrize("seed,length", [(0, 1), (1, 37), (2, 500)])
def test_vocabulary_is_sorted_distinct_characters(seed, length):
    text = random_text(seed, length)
    tok = CharTokenizer.from_text(text)
    assert tok.chars == sorted(set(text)), (
        f"from_text(random text of {length} chars).chars: expected sorted(set(text)) = "
        f"{sorted(set(text))[:8]}..., got {tok.chars[:8]}...; likely cause: unsorted or repeated characters"
    )
    shuffled = "".join(random.Random(seed).sample(text, len(text)))
    assert CharTokenizer.from_text(shuffled).chars == tok.chars, (
        "from_text gave a different vocabulary for the same characters in another order: "
        "sort the set so ids depend only on which characters occur"
    )


@pytest.mark.parametrize("seed,length", [(3, 1), (4, 64), (5, 1000)])
def test_round_trip_and_ids_match_positions_in_vocab(seed, length):
    text = random_text(seed, length)
    tok = CharTokenizer.from_text(text)
    ids = tok.encode(text)
    expected = [sorted(set(text)).index(c) for c in text]
    assert ids == expected, (
        f"encode(text): first ids {ids[:10]}, expected {expected[:10]} (each id is the "
        "character's index in the sorted vocabulary)"
    )
    assert all(type(i) is int for i in ids), "encode should return a list of Python ints"
    back = tok.decode(ids)
    assert back == text, f"decode(encode(text)) != text: got {back[:40]!r}, expected {text[:40]!r}"


def test_empty_text_round_trips():
    tok = CharTokenizer.from_text("abc")
    assert tok.encode("") == [], f"encode(''): expected [], got {tok.encode('')}"
    assert tok.decode([]) == "", f"decode([]): expected '', got {tok.decode([])!r}"


def test_unknown_character_is_an_error_naming_it():
    tok = CharTokenizer.from_text("hello")
    with pytest.raises(ValueError) as info:
        tok.encode("help")
    message = str(info.value)
    assert "'p'" in message and "3" in message, (
        f"encode('help') with vocabulary 'ehlo' raised ValueError({message!r}); the message should "
        "name the character ('p') and its position (3)"
    )


def test_unknown_character_maps_to_unk_when_chosen():
    tok = CharTokenizer.from_text("hello", unk="?")
    assert "?" in tok.chars, (
        f"from_text('hello', unk='?').chars = {tok.chars}: the unk character must join the vocabulary"
    )
    q = tok.chars.index("?")
    got = tok.encode("help!")
    expected = [tok.chars.index(c) for c in "hel"] + [q, q]
    assert got == expected, (
        f"encode('help!') with unk='?': expected {expected}, got {got}; likely cause: unknown "
        "characters must become the unk id, not be dropped or raise"
    )
    assert tok.decode(got) == "hel??", f"decode: expected 'hel??', got {tok.decode(got)!r}"
    tok = CharTokenizer.from_text("hello", unk="~")  # '~' sorts last: its id is 4, not 0
    got = tok.encode("hex")
    assert got == [1, 0, 4], (
        f"encode('hex') with vocabulary ['e', 'h', 'l', 'o', '~'] and unk='~': expected "
        f"[1, 0, 4], got {got}; likely cause: an unknown character must become the unk "
        "character's id (self.stoi[self.unk]), not id 0"
    )


def test_decode_rejects_out_of_range_ids():
    tok = CharTokenizer.from_text("abc")
    for bad in ([3], [-1], [7]):
        try:
            got = tok.decode(bad)
        except ValueError:
            continue
        raise AssertionError(
            f"decode({bad}) with a vocabulary of 3 ids returned {got!r}; an id outside 0..2 must "
            "raise ValueError (no wrapping, no negative indexing)"
        )


def test_save_load_round_trip(tmp_path):
    text = random_text(6, 300)
    tok = CharTokenizer.from_text(text, unk="\x00")
    path = tmp_path / "tok.json"
    tok.save(path)
    json.loads(path.read_text(encoding="utf-8"))  # a readable JSON file, not a pickle
    loaded = CharTokenizer.load(path)
    assert loaded.chars == tok.chars, (
        f"CharTokenizer.load(save(...)).chars differ: {loaded.chars[:6]} vs {tok.chars[:6]}"
    )
    assert loaded.unk == tok.unk, (
        f"load(save(...)).unk: expected {tok.unk!r}, got {loaded.unk!r}; save the unk too"
    )
    probe = text[:50] + "Ω"
    assert loaded.encode(probe) == tok.encode(probe), "the loaded tokenizer encodes differently"


def test_load_keeps_the_saved_id_order(tmp_path):
    """The saved list is the id order: a vocabulary built by hand in any order survives save/load."""
    tok = CharTokenizer(["c", "a", "b"])
    tok.save(tmp_path / "tok.json")
    loaded = CharTokenizer.load(tmp_path / "tok.json")
    got = loaded.encode("abc")
    assert got == [1, 2, 0], (
        f"CharTokenizer(['c', 'a', 'b']) saved and loaded encodes 'abc' as {got}, expected "
        "[1, 2, 0]; likely cause: load re-sorts the characters, but the saved list is the id "
        "order and must be kept as it is"
    )
