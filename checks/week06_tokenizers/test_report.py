"""Checks for w06.report: readable token bytes, the merge table, the compression table.

Oracles: hand-written expected cells (each derivation in the test's docstring) and properties
(one row per merge, the char row has exactly len(text) tokens). Tables are read as GitHub renders
them (roadmap.markdown): any valid delimiter row (| --- |, | :-- | --: |, |:-:|), outer pipes and
spaces free; the cells are what must match.
"""

import pytest

from roadmap.impl import load
from roadmap.markdown import read_table

mod = load("week06_tokenizers.report")

AAABDAAABAC = [((97, 97), 4), ((97, 98), 2), ((256, 257), 2)]


def assert_table(got: str, header: list[str], body: list[list[str]], what: str, cause: str):
    got_header, got_body = read_table(got, what)
    assert got_header == header, f"{what}: header {got_header}, expected {header}"
    assert len(got_body) == len(body), f"{what}: {len(got_body)} rows, expected {len(body)}:\n{got}"
    for i, (mine, theirs) in enumerate(zip(got_body, body)):
        assert mine == theirs, (
            f"{what}: row {i} is {mine}, expected {theirs}; likely cause: {cause}"
        )


@pytest.mark.parametrize(
    "token,expected",
    [
        (b" the", "␣the"),
        (b"\n\n", "\\n\\n"),
        (b"\xe2\x82", "\\xe2\\x82"),
        (b"a|b", "a\\|b"),
        ("é".encode(), "é"),
        (b"\t\x00", "\\t\\x00"),
        ("\u200b".encode(), "\\u200b"),
    ],
    ids=repr,
)
def test_show_bytes_known_answers(token, expected):
    """Space -> ␣ (visible), | -> \\| (Markdown), half a UTF-8 character -> \\xNN, other
    non-printables (newline, tab, NUL, zero-width space) -> their Python escape."""
    got = mod.show_bytes(token)
    assert got == expected, (
        f"show_bytes({token!r}): expected {expected!r}, got {got!r}; likely cause: decode with "
        "errors='backslashreplace', then replace ' ' and '|', and escape characters for which "
        "str.isprintable() is False with .encode('unicode_escape')"
    )


def test_merge_table_known_answer():
    """aaabdaaabac: 256 = a+a (4), 257 = a+b (2), 258 = aa+ab = aaab (2)."""
    assert_table(
        mod.merge_table(AAABDAAABAC),
        ["rank", "id", "left", "right", "merged", "count"],
        [
            ["0", "256", "a", "a", "aa", "4"],
            ["1", "257", "a", "b", "ab", "2"],
            ["2", "258", "aa", "ab", "aaab", "2"],
        ],
        "merge_table(aaabdaaabac merges)",
        "the merged token is vocab[left] + vocab[right] shown with show_bytes; ids are 256 + rank",
    )


def test_merge_table_top_and_readable_bytes():
    merges = [((32, 116), 9), ((256, 104), 5), ((10, 10), 3)]
    got = mod.merge_table(merges, top=2)
    _, body = read_table(got, "merge_table(3 merges, top=2)")
    assert len(body) == 2, f"merge_table(3 merges, top=2): expected 2 rows, got\n{got}"
    assert body[1] == ["1", "257", "␣t", "h", "␣th", "5"], (
        f"merge_table row 1: expected | 1 | 257 | ␣t | h | ␣th | 5 |, got {body[1]}; likely "
        "cause: show_bytes not applied to the merged token, or ids not 256 + rank"
    )


def test_compression_table_known_answer():
    """ "héllo": 5 characters, 6 bytes (é is 2). char: 5 tokens, 6/5 = 1.20 bytes/token,
    1.00 chars/token; bpe [7, 8]: 2 tokens, 6/2 = 3.00, 5/2 = 2.50."""
    assert_table(
        mod.compression_table("héllo", {"bpe": [7, 8]}),
        ["tokenizer", "tokens", "bytes/token", "chars/token"],
        [["char", "5", "1.20", "1.00"], ["bpe", "2", "3.00", "2.50"]],
        'compression_table("héllo", {"bpe": [7, 8]})',
        "bytes are len(text.encode('utf-8')), characters len(text), two decimals",
    )


def test_compression_table_keeps_order(shakespeare):
    ids = list(shakespeare.encode())
    got = mod.compression_table(shakespeare, {"bytes": ids, "half": ids[::2]})
    names = [row[0] for row in read_table(got, "compression_table(text, {bytes, half})")[1]]
    assert names == ["char", "bytes", "half"], f"row order: expected char, bytes, half, got {names}"
