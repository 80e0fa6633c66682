"""Checks for w16.chunking: character, token and sentence chunks with overlap and source offsets.

Oracles: windows derived by hand, and properties every chunking must keep (text == the document's
slice, the promised overlap, every character covered, the tail never dropped).
"""

import pytest

from roadmap.impl import load

mod = load("week16_rag.chunking")

TAIL = (
    "the last window must reach the end of the text: stop after the window with start + size >= n, "
    "not before it (the tail must not be dropped)"
)


@pytest.mark.parametrize(
    "n, size, overlap, expected",
    [
        (10, 4, 1, [0, 3, 6]),  # 6 + 4 = 10 reaches the end: stop
        (11, 4, 2, [0, 2, 4, 6, 8]),  # 8 + 4 = 12 >= 11: [8, 11) is the short last window
        (12, 4, 0, [0, 4, 8]),  # no overlap: a plain partition
        (13, 4, 0, [0, 4, 8, 12]),  # one character left over makes a window of its own
        (3, 4, 1, [0]),  # shorter than one window
        (4, 4, 3, [0]),  # exactly one window: nothing more
        (7, 3, 2, [0, 1, 2, 3, 4]),  # step 1
        (0, 4, 1, []),  # nothing to cut
    ],
)
def test_window_starts_known_answers(n, size, overlap, expected):
    """Starts 0, s, 2s, ... with step s = size - overlap, up to the first window with
    start + size >= n (derived by hand in each case's comment)."""
    got = mod.window_starts(n, size, overlap)
    assert list(got) == expected, (
        f"window_starts({n}, size={size}, overlap={overlap}): expected {expected}, got {got}\n"
        f"  likely cause: step by size - overlap = {size - overlap}; {TAIL}; and make no window "
        "after the one that reached the end"
    )


@pytest.mark.parametrize("size, overlap", [(0, 0), (4, 4), (4, 5), (4, -1)])
def test_window_starts_refuses_bad_sizes(size, overlap):
    with pytest.raises(ValueError):
        mod.window_starts(10, size, overlap)
        pytest.fail(
            f"window_starts(10, size={size}, overlap={overlap}) returned instead of raising "
            "ValueError\n  likely cause: overlap >= size would never advance; size < 1 or "
            "overlap < 0 make no sense"
        )


def test_chunk_chars_docstring_example():
    got = mod.chunk_chars("abcdefghij", 4, 1, source="doc")
    expected = [("abcd", 0, 4), ("defg", 3, 7), ("ghij", 6, 10)]
    assert [(c.text, c.start, c.end) for c in got] == expected, (
        f"chunk_chars('abcdefghij', 4, 1): expected (text, start, end) {expected}, got "
        f"{[(c.text, c.start, c.end) for c in got]}\n  likely cause: {TAIL}"
    )
    assert all(c.source == "doc" for c in got), "chunk_chars(..., source='doc') lost the source"


TEXT = (
    "Retrieval finds passages. The model reads them! Does it cite them? It should, always.\n"
    "Overlap keeps answers whole: a fact cut in two by a boundary still appears in one chunk."
)


@pytest.mark.parametrize("size, overlap", [(7, 2), (16, 5), (50, 0), (31, 30), (200, 10)])
def test_chunk_chars_properties(size, overlap):
    """For every chunk: text == TEXT[start:end], length size (the last may be shorter); consecutive
    chunks share exactly `overlap` characters; together they cover every character; the last ends
    at len(TEXT)."""
    chunks = mod.chunk_chars(TEXT, size, overlap, source="s")
    what = f"chunk_chars(TEXT of {len(TEXT)} chars, {size}, {overlap})"
    assert chunks, f"{what} returned no chunk"
    for c in chunks:
        assert c.text == TEXT[c.start : c.end], (
            f"{what}: chunk {c} has text != TEXT[{c.start}:{c.end}]\n  likely cause: the offsets "
            "must be the slice the text was cut from (they are what a citation points at)"
        )
    for c in chunks[:-1]:
        assert c.end - c.start == size, f"{what}: chunk {c} is not {size} characters long"
    for a, b in zip(chunks, chunks[1:]):
        assert a.end - b.start == overlap, (
            f"{what}: chunks ({a.start}, {a.end}) and ({b.start}, {b.end}) share {a.end - b.start} "
            f"characters, expected {overlap}\n  likely cause: the next start is start + size - "
            "overlap"
        )
    assert chunks[0].start == 0 and chunks[-1].end == len(TEXT), (
        f"{what}: chunks span ({chunks[0].start}, {chunks[-1].end}), expected (0, {len(TEXT)})\n"
        f"  likely cause: {TAIL}"
    )
    assert len(chunks) == 1 or chunks[-2].end < len(TEXT), (
        f"{what}: the chunk before the last already reached the end; the last one is redundant\n"
        "  likely cause: stop after the first window that reaches the end"
    )


def test_chunk_tokens_spans():
    """7 ids, size 3, overlap 1: starts 0, 2, 4; 4 + 3 = 7 reaches the end -> (0,3) (2,5) (4,7).
    9 ids, size 4, overlap 1: starts 0, 3, 6; 6 + 4 = 10 >= 9 -> (6, 9) is clipped."""
    got = mod.chunk_tokens(list(range(100, 107)), 3, 1)
    assert [tuple(s) for s in got] == [(0, 3), (2, 5), (4, 7)], (
        f"chunk_tokens(7 ids, 3, 1): expected [(0, 3), (2, 5), (4, 7)], got {got}\n"
        "  likely cause: spans are positions in ids, not the ids themselves"
    )
    got = mod.chunk_tokens(list(range(9)), 4, 1)
    assert [tuple(s) for s in got] == [(0, 4), (3, 7), (6, 9)], (
        f"chunk_tokens(9 ids, 4, 1): expected [(0, 4), (3, 7), (6, 9)], got {got}\n"
        f"  likely cause: clip the last end at len(ids); {TAIL}"
    )


def test_chunk_sentences_docstring_example():
    """ "A a. B b. C c." has sentences (0,4) (5,9) (10,14). max_chars 9: chunk 1 = sentences 0-1
    (0..9, 9 chars); adding sentence 2 would make 14 > 9. Overlap 1: restart at sentence 1 ->
    sentences 1-2 (5..14, 9 chars), which holds the last sentence: stop."""
    got = mod.chunk_sentences("A a. B b. C c.", 9, 1, source="x")
    expected = [("A a. B b.", 0, 9), ("B b. C c.", 5, 14)]
    assert [(c.text, c.start, c.end) for c in got] == expected, (
        f"chunk_sentences('A a. B b. C c.', 9, 1): expected {expected}, got "
        f"{[(c.text, c.start, c.end) for c in got]}\n  likely cause: a chunk may be exactly "
        "max_chars long (<=); restart overlap_sentences sentences back; stop after the chunk "
        "holding the last sentence"
    )
    assert all(c.source == "x" for c in got), "chunk_sentences(..., source='x') lost the source"


def test_chunk_sentences_no_overlap_and_long_sentence():
    """Sentences of TEXT2: s0 "Short one." (0,10), s1 "A much longer sentence that does not fit."
    (11,52), s2 "Tiny." (53,58), s3 "End." (59,63). max_chars 20, overlap 0:
    s0 alone (s0+s1 spans 52 > 20); s1 alone although 41 > 20 (never cut); s2+s3 span 53..63 = 10."""
    text = "Short one. A much longer sentence that does not fit. Tiny. End."
    got = mod.chunk_sentences(text, 20, 0)
    expected = [(0, 10), (11, 52), (53, 63)]
    assert [(c.start, c.end) for c in got] == expected, (
        f"chunk_sentences(TEXT2, 20, 0): expected spans {expected}, got "
        f"{[(c.start, c.end) for c in got]}\n  likely cause: a sentence longer than max_chars is "
        "a chunk of its own; with overlap 0 the next chunk starts right after the previous one"
    )
    for c in got:
        assert c.text == text[c.start : c.end], f"chunk {c} has text != text[start:end]"


def test_chunk_sentences_overlap_always_advances():
    """Each sentence longer than max_chars: every chunk is one sentence; overlap 2 cannot step
    back past the previous start, so each sentence appears exactly once (the loop must end)."""
    text = "One two three. Four five six. Seven eight nine."
    got = mod.chunk_sentences(text, 5, 2)
    expected = [(0, 14), (15, 29), (30, 47)]
    assert [(c.start, c.end) for c in got] == expected, (
        f"chunk_sentences(3 long sentences, max_chars 5, overlap 2): expected {expected}, got "
        f"{[(c.start, c.end) for c in got]}\n  likely cause: the next chunk starts at "
        "max(j - overlap, i + 1): always at least one sentence later"
    )


def test_chunk_sentences_overlap_two():
    """Six 4-character sentences "S0." ... at 5-character strides: spans (5i, 5i + 3)... here
    "Aa." "Bb." "Cc." "Dd." "Ee." "Ff." -> (0,3) (4,7) (8,11) (12,15) (16,19) (20,23).
    max_chars 11 fits three sentences (0..11); overlap 2 restarts one sentence later:
    [0-2], [1-3], [2-4], [3-5] -> starts 0, 4, 8, 12; the last holds Ff. and ends at 23."""
    text = "Aa. Bb. Cc. Dd. Ee. Ff."
    got = mod.chunk_sentences(text, 11, 2)
    expected = [(0, 11), (4, 15), (8, 19), (12, 23)]
    assert [(c.start, c.end) for c in got] == expected, (
        f"chunk_sentences(6 sentences, 11, 2): expected {expected}, got "
        f"{[(c.start, c.end) for c in got]}\n  likely cause: restart overlap_sentences before the "
        "end of the previous chunk; stop after the chunk holding the last sentence"
    )
