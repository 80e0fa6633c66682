"""Chunking: cut documents into overlapping pieces that keep their character offsets for citation.

A retriever ranks chunks, not whole documents: short enough to embed well (MiniLM reads 256 tokens)
and to fit several into a prompt, overlapping so that an answer cut by a boundary still appears whole
in one chunk. Every chunk remembers where it came from (`source`, `start`, `end`), so an answer can
cite the exact span. Reference: LangChain's RecursiveCharacterTextSplitter (chunk_size,
chunk_overlap) and LlamaIndex's SentenceSplitter.
Check: `python tracker.py check w16.chunking`
"""

import re
from dataclasses import dataclass

SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


@dataclass(frozen=True)
class Chunk:
    """A piece of a source document: `text == document[start:end]`."""

    text: str
    start: int  # character offset of the first character in the document
    end: int  # one past the last character
    source: str = ""  # the document's id


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of `text`, surrounding whitespace excluded.

    A sentence ends after a run of `.`, `!` or `?` that is followed by whitespace or the end of the
    text; text after the last such mark is a final sentence. Given code, not an exercise.
    Example: "Hi there. Bye!" -> [(0, 9), (10, 14)].
    """
    spans = []
    pos = 0
    for match in SENTENCE_END.finditer(text):
        spans.append((pos, match.end()))
        pos = match.end()
    spans.append((pos, len(text)))
    out = []
    for start, end in spans:
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            left = start + len(piece) - len(piece.lstrip())
            out.append((left, left + len(stripped)))
    return out


def window_starts(n: int, size: int, overlap: int) -> list[int]:
    """Start positions of windows of `size` items over `n` items, consecutive windows sharing `overlap`.

    Windows start at 0, size - overlap, 2 (size - overlap), ...; the last window is the first one
    that reaches the end (start + size >= n), so it may be shorter than `size` and the tail of the
    sequence is never dropped. n == 0 gives [].
    Example: n=10, size=4, overlap=1 -> [0, 3, 6] (windows [0, 4), [3, 7), [6, 10)).
    n=11, size=4, overlap=2 -> [0, 2, 4, 6, 8] ([8, 11) is the short last one).

    Raises:
        ValueError: size < 1, overlap < 0 or overlap >= size.
    """
    if size < 1 or overlap < 0 or overlap >= size:
        raise ValueError(
            f"need size >= 1 and 0 <= overlap < size, got size={size}, overlap={overlap}"
        )
    # Step by size - overlap; stop at the first window that covers the last item.
    starts = []
    start = 0
    while start < n:
        starts.append(start)
        if start + size >= n:
            break
        start += size - overlap
    return starts


def chunk_chars(text: str, size: int, overlap: int, source: str = "") -> list[Chunk]:
    """Cut `text` into chunks of `size` characters, consecutive chunks sharing `overlap` characters.

    Windows as in `window_starts` (the last chunk may be shorter; nothing at the end is dropped);
    each chunk is `Chunk(text[start:end], start, end, source)` with end = min(start + size,
    len(text)).
    Example: "abcdefghij", size 4, overlap 1 -> "abcd" (0, 4), "defg" (3, 7), "ghij" (6, 10).

    Raises:
        ValueError: as `window_starts`.
    """
    # Offsets are the point: the chunk text is always the document's slice.
    return [
        Chunk(text[s : min(s + size, len(text))], s, min(s + size, len(text)), source)
        for s in window_starts(len(text), size, overlap)
    ]


def chunk_tokens(ids: list[int], size: int, overlap: int) -> list[tuple[int, int]]:
    """Token windows: (start, end) spans into `ids`, `size` tokens each, sharing `overlap`.

    Same windows as `window_starts` over len(ids); end = min(start + size, len(ids)). Map a span to
    characters with the tokenizer's offsets when you need to cite it.
    Example: 7 ids, size 3, overlap 1 -> [(0, 3), (2, 5), (4, 7)].

    Raises:
        ValueError: as `window_starts`.
    """
    n = len(ids)
    return [(s, min(s + size, n)) for s in window_starts(n, size, overlap)]


def chunk_sentences(
    text: str, max_chars: int, overlap_sentences: int = 1, source: str = ""
) -> list[Chunk]:
    """Pack whole sentences (`sentence_spans`) into chunks of at most `max_chars` characters.

    A chunk starts at a sentence and takes the following sentences while the chunk, measured from
    the first sentence's start to the last one's end, stays <= max_chars; a single sentence longer
    than max_chars is a chunk of its own (never cut). The next chunk starts `overlap_sentences`
    sentences before the end of the previous one, but always at least one sentence later than it
    (so the loop ends). The chunk after the one holding the last sentence is not made.
    Example: sentences "A a." "B b." "C c." (spans (0,4), (5,9), (10,14)), max_chars 9, overlap 1
    -> "A a. B b." (0, 9), "B b. C c." (5, 14).

    Returns:
        Chunks with text == text[start:end], in order; [] for text without a sentence.
    """
    spans = sentence_spans(text)
    chunks = []
    i = 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and spans[j][1] - spans[i][0] <= max_chars:
            j += 1
        start, end = spans[i][0], spans[j - 1][1]
        chunks.append(Chunk(text[start:end], start, end, source))
        if j == len(spans):
            break
        # subtle: step back overlap_sentences, but always move forward by at least one sentence.
        i = max(j - overlap_sentences, i + 1)
    return chunks
