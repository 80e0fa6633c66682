"""Checks for w06.unigram_segment: Viterbi segmentation over log-probabilities, with byte fallback.

Oracles: hand-derived segmentations (derived in each docstring); a brute-force enumeration of every
segmentation of short seeded strings, which finds the best score and applies the docstring's tie
rule (the longest last piece, then the longest piece before it, ...); Python's own UTF-8 encoder
for the fallback bytes. sentencepiece itself is the oracle of w06.unigram_spm
(test_unigram_spm.py), which runs this segmenter on its models.
"""

import math
import random

from roadmap.impl import load

mod = load("week06_tokenizers.unigram")

# the docstring's example: four ways to cut "▁ab"
EXAMPLE = {"▁": -1.0, "a": -2.0, "b": -2.0, "ab": -2.5, "▁a": -2.5, "▁ab": -5.0}


def segment(text, pieces):
    try:
        got = mod.unigram_segment(text, pieces)
    except (TypeError, KeyError, IndexError, ValueError) as error:
        raise AssertionError(
            f"unigram_segment({text!r}, {pieces}) raised {type(error).__name__}: {error}; likely "
            "cause: a position the backtrack needs was never reached: try every end up to start "
            "+ the longest piece's length (inclusive), and add the unknown edge wherever no "
            "one-character piece starts"
        ) from error
    assert isinstance(got, list) and all(isinstance(p, str) for p in got), (
        f"unigram_segment({text!r}, ...) must return a list of piece strings, got {got!r}"
    )
    return got


def all_segmentations(text, pieces):
    """Every segmentation, as lists of (piece, score); a character with no single-character piece
    may also be taken alone as unknown (score min - 10, written as its UTF-8 bytes)."""
    unknown = min(pieces.values()) - 10.0
    if not text:
        return [[]]
    found = []
    for end in range(1, len(text) + 1):
        head = text[:end]
        options = [(head, pieces[head])] if head in pieces else []
        if end == 1 and head not in pieces:
            options = [(head, unknown)]
        for first in options:
            found.extend([first, *rest] for rest in all_segmentations(text[end:], pieces))
    return found


def brute_force(text, pieces):
    """The best segmentation by enumeration, ties by the docstring's rule: compare piece lengths
    from the end, longer first. Scores are summed front to back, as a Viterbi pass does."""

    def key(seg):
        score = 0.0
        for _, s in seg:
            score += s
        return (score, tuple(len(p) for p, _ in reversed(seg)))

    best = max(all_segmentations(text, pieces), key=key)
    out = []
    for piece, _ in best:
        known = piece in pieces
        out.extend([piece] if known else [f"<0x{b:02X}>" for b in piece.encode("utf-8")])
    return out


def score_of(pieces_out, pieces):
    return sum(pieces[p] for p in pieces_out if p in pieces)


def test_known_answer_best_of_four_segmentations():
    """ "▁ab": "▁" + "ab" = -1 - 2.5 = -3.5 beats "▁a" + "b" = -4.5, "▁ab" = -5 and
    "▁" + "a" + "b" = -5. Greedy longest-match-first would take "▁ab" (-5)."""
    got = segment("▁ab", EXAMPLE)
    if got == ["▁ab"]:
        cause = "greedy longest match is not Viterbi: compare the SUM of log-probs of every path"
    elif got == ["▁a", "b"]:
        cause = 'a longest-prefix-first choice: "▁a" + "b" (-4.5) loses to "▁" + "ab" (-3.5)'
    elif got == ["ab", "▁"]:
        cause = "the pieces come out in text order: reverse what the backtrack collects"
    elif got == ["▁", "a", "b"]:
        cause = "the best score is the HIGHEST sum of log-probabilities (they are negative)"
    elif any(p.startswith("<0x") for p in got):
        cause = (
            "every character here is a piece, yet bytes came out: some end was never tried; ends "
            "run up to min(len(text), start + longest piece length), INCLUSIVE"
        )
    else:
        cause = "keep, for every end position, the best score and where its last piece starts"
    assert got == ["▁", "ab"], (
        f'unigram_segment("▁ab", {EXAMPLE}): expected ["▁", "ab"] (score -3.5), got {got}; '
        f"likely cause: {cause}"
    )


def test_tie_goes_to_the_longer_last_piece():
    """ "▁a" with {"▁": -1, "a": -1, "▁a": -2}: both paths score -2; the last piece of ["▁a"] is
    longer. "abc" with a, b, c = -1 and ab, bc = -2: a+b+c, ab+c and a+bc all score -3; the longest
    last piece is "bc", so ["a", "bc"] (a rule that prefers a long FIRST piece gives ["ab", "c"])."""
    cases = [
        ("▁a", {"▁": -1.0, "a": -1.0, "▁a": -2.0}, ["▁a"]),
        ("abc", {"a": -1.0, "b": -1.0, "c": -1.0, "ab": -2.0, "bc": -2.0}, ["a", "bc"]),
        ("▁ab", {"▁": -1.0, "a": -1.0, "b": -1.0, "▁a": -2.0}, ["▁a", "b"]),
    ]
    for text, pieces, want in cases:
        got = segment(text, pieces)
        assert got == want, (
            f"unigram_segment({text!r}, {pieces}): every path scores the same; expected {want}, "
            f"got {got}; likely cause: the tie rule. On a tie the path whose LAST piece is longest "
            "wins (sentencepiece keeps the earliest start: replace only on a strictly greater "
            "score, trying starts from left to right)"
        )


def test_uncovered_characters_fall_back_to_utf8_bytes():
    """ "▁éa" with {"▁", "a"}: no piece covers "é" (U+00E9, UTF-8 C3 A9), so it comes out as
    "<0xC3>", "<0xA9>". The emoji is four bytes; a tab is "<0x09>"; two unknown characters in a row
    give all their bytes in order."""
    pieces = {"▁": -1.0, "a": -2.0}
    cases = [
        ("▁éa", ["▁", "<0xC3>", "<0xA9>", "a"]),
        ("▁😀", ["▁", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]),
        ("a\ta", ["a", "<0x09>", "a"]),
        ("éé", ["<0xC3>", "<0xA9>", "<0xC3>", "<0xA9>"]),
    ]
    for text, want in cases:
        got = segment(text, pieces)
        if any(p.lower() == w.lower() and p != w for p, w in zip(got, want)):
            cause = 'write each byte as "<0xNN>" with two upper-case hex digits ("<0xC3>")'
        elif "<0xE9>" in got:
            cause = "fallback pieces are the character's UTF-8 bytes, not its code point"
        elif "<0xA9>" in got and got.index("<0xA9>") < got.index("<0xC3>"):
            cause = "a character's bytes keep their order (C3 before A9)"
        elif any(p in ("<unk>", "é", "😀", "\t") for p in got):
            cause = "byte fallback: an uncovered character becomes its UTF-8 bytes, not <unk>"
        else:
            cause = "an uncovered character is one unknown edge, written as its bytes"
        assert got == want, (
            f"unigram_segment({text!r}, {pieces}): expected {want}, got {got}; likely cause: "
            f"{cause}"
        )


def test_byte_pieces_spell_utf8_bytes():
    got = mod.byte_pieces("é\t")
    assert got == ["<0xC3>", "<0xA9>", "<0x09>"], (
        f'byte_pieces("é\\t"): expected ["<0xC3>", "<0xA9>", "<0x09>"], got {got}; likely '
        'cause: one "<0xNN>" per UTF-8 byte, two upper-case hex digits'
    )
    assert mod.byte_pieces("") == [], "byte_pieces(''): expected []"


def test_a_longer_piece_covers_a_character_without_its_own_piece():
    """ "x" has no piece of its own, but "xa" is a piece: "▁xa" -> ["▁", "xa"] (-4), which beats
    "▁" + unknown x + "a" (-1 - 13 - 1 = -15). In "▁xb" nothing covers x: bytes "<0x78>"."""
    pieces = {"▁": -1.0, "a": -1.0, "b": -1.0, "xa": -3.0}
    got = segment("▁xa", pieces)
    assert got == ["▁", "xa"], (
        f'unigram_segment("▁xa", {pieces}): expected ["▁", "xa"], got {got}; likely cause: the '
        "unknown edge is added only where no ONE-character piece starts, and it is one more "
        "candidate, not a replacement of the longer pieces that start there"
    )
    got = segment("▁xb", pieces)
    assert got == ["▁", "<0x78>", "b"], (
        f'unigram_segment("▁xb", {pieces}): expected ["▁", "<0x78>", "b"], got {got}; likely '
        'cause: a position where no piece matches needs the unknown edge (its bytes, "<0x78>")'
    )


def test_the_unknown_edge_competes_with_longer_pieces():
    """ "x" has no one-character piece, so an unknown edge leaves it even though "xa" starts there:
    with {"▁": -1, "a": -1, "b": -12, "xa": -12, "ab": -0.1} and min = -12 (unknown: -22),
    "▁" + x + "ab" = -1 - 22 - 0.1 = -23.1 beats "▁" + "xa" + "b" = -1 - 12 - 12 = -25."""
    pieces = {"▁": -1.0, "a": -1.0, "b": -12.0, "xa": -12.0, "ab": -0.1}
    got = segment("▁xab", pieces)
    assert got == ["▁", "<0x78>", "ab"], (
        f'unigram_segment("▁xab", {pieces}): expected ["▁", "<0x78>", "ab"] (-23.1), got {got}; '
        "likely cause: the unknown edge is added wherever no ONE-character piece starts, even "
        "where longer pieces start, and it scores min(pieces.values()) - UNK_PENALTY"
    )


def test_pieces_are_matched_as_characters_not_bytes():
    """Piece lengths are in characters: "▁" is 3 UTF-8 bytes and "é" 2, yet "été" is a piece of 3
    characters: "▁" + "été" (-2.5) beats "▁é" + "t" + "é" (-3)."""
    pieces = {"▁é": -1.0, "▁": -1.0, "é": -1.0, "t": -1.0, "été": -1.5}
    got = segment("▁été", pieces)
    assert got == ["▁", "été"], (
        f'unigram_segment("▁été", {pieces}): expected ["▁", "été"], got {got}; likely cause: '
        "piece lengths counted in UTF-8 bytes instead of characters, or not every end up to the "
        "longest piece's length tried"
    )


def test_empty_text_has_no_pieces():
    got = segment("", EXAMPLE)
    assert got == [], f'unigram_segment("", pieces): expected [], got {got}'


def test_seeded_random_vocabularies_match_brute_force():
    """60 seeded vocabularies over "▁abc" (pieces up to 4 characters), 8 strings each of up to 7
    characters from "▁abcd" ("d" is never a piece). Integer scores make many exact ties (the tie
    rule decides), float scores none (the best sum decides)."""
    for seed in range(60):
        rng = random.Random(seed)
        pieces = {}
        for _ in range(rng.randint(2, 10)):
            piece = "".join(rng.choice("▁abc") for _ in range(rng.randint(1, 4)))
            pieces[piece] = float(-rng.randint(1, 4)) if seed % 2 else -rng.uniform(0.5, 6.0)
        for _ in range(8):
            text = "".join(rng.choice("▁abcd") for _ in range(rng.randint(1, 7)))
            want = brute_force(text, pieces)
            got = segment(text, pieces)
            if "".join(got) == "".join(want) and score_of(got, pieces) == score_of(want, pieces):
                cause = (
                    "the tie rule: among equal scores the LAST piece is the longest (then the one "
                    "before it); replace a position's best only on a strictly greater score"
                )
            elif score_of(got, pieces) < score_of(want, pieces):
                cause = (
                    f"a worse path was kept (score {score_of(got, pieces):.3f} < "
                    f"{score_of(want, pieces):.3f}): every piece that ENDS at a position must be "
                    "compared, including pieces up to the longest length"
                )
            else:
                cause = "the pieces must cover the text exactly once, in order"
            assert got == want, (
                f"unigram_segment({text!r}, {pieces}) (seed {seed}): expected {want}, got {got}; "
                f"likely cause: {cause}"
            )


def test_fixture_lines_round_trip(shakespeare, unicode_text):
    """A vocabulary from the Shakespeare fixture's commonest words and characters (log of their
    counts, normalised) segments every normalised line of both fixtures; the pieces (their bytes
    decoded back) spell the line, and the score is the brute force's on the short words."""
    counts = {}
    for word in shakespeare.split():
        counts["▁" + word] = counts.get("▁" + word, 0) + 1
    for ch in shakespeare.replace(" ", "▁").replace("\n", ""):
        counts[ch] = counts.get(ch, 0) + 1
    top = dict(sorted(counts.items(), key=lambda kv: -kv[1])[:150])
    total = sum(top.values())
    pieces = {p: math.log(c / total) for p, c in top.items()}
    for line in (shakespeare + unicode_text).splitlines():
        text = "".join("▁" + w for w in line.split(" ") if w)
        got = segment(text, pieces)
        raw = b"".join(
            bytes([int(p[3:5], 16)]) if p.startswith("<0x") and p not in pieces else p.encode()
            for p in got
        )
        assert raw.decode("utf-8", errors="replace") == text, (
            f"unigram_segment({text[:40]!r}...): the pieces do not spell the text back: "
            f"{got[:12]}...; likely cause: a character lost or doubled at an unknown edge"
        )
        for word in text.split("▁")[1:4]:
            if 0 < len(word) < 9:
                want = brute_force("▁" + word, pieces)
                got_word = segment("▁" + word, pieces)
                assert got_word == want, (
                    f"unigram_segment({'▁' + word!r}): expected {want}, got {got_word}"
                )
