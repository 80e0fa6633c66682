"""Checks for w08.streaming: text pieces from tokens, correct for multi-byte UTF-8 characters.

Oracles: bytes.decode of the whole stream, and Python's incremental UTF-8 decoder (codecs), run by
the check before your code, for what may be printed after each token. codecs' decoders are
switched off while your code runs: this exercise builds one.
"""

import codecs
import random

import torch

from roadmap.checking import forbid
from roadmap.impl import load

mod = load("week08_inference.streaming")

TEXT = "Héllo, wörld! 中文 🙂 ok ∑x² — naïve café 👩‍💻."
HOLD = (
    "hold back the bytes of an unfinished character: the last lead byte (0xC0.. 2 bytes, 0xE0.. 3, "
    "0xF0.. 4) tells how many bytes its character needs; decode only what comes before it"
)


def pieces_per_token(chunks: list[bytes]) -> list[str]:
    """Run stream_text over byte-chunk tokens; return the text emitted after each token (and the
    final flush as one more entry), by watching when the lazy token iterator is advanced."""
    vocab = dict(enumerate(chunks))
    emitted = [""] * (len(chunks) + 1)
    consumed = 0

    def tokens():
        nonlocal consumed
        for i in range(len(chunks)):
            consumed = i + 1
            yield i

    with forbid(
        "codecs.getincrementaldecoder",
        "codecs.iterdecode",
        exercise="w08.streaming",
        instead="a bytes buffer: emit its longest complete UTF-8 prefix, keep the rest",
    ):
        for piece in mod.stream_text(tokens(), vocab.__getitem__):
            assert isinstance(piece, str) and piece, (
                f"stream_text yielded {piece!r}; yield only non-empty str pieces"
            )
            emitted[consumed - 1 if consumed <= len(chunks) else -1] += piece
    return emitted


def expected_per_token(chunks: list[bytes]) -> list[str]:
    dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return [dec.decode(c) for c in chunks] + [dec.decode(b"", final=True)]


def test_a_split_character_waits_for_its_second_byte():
    """ "é" is C3 A9. Token 1 = "a" + C3 -> "a" only; token 2 = A9 -> "é"."""
    got = pieces_per_token([b"a\xc3", b"\xa9"])
    assert got[:2] == ["a", "é"], (
        f"stream_text([b'a\\xc3', b'\\xa9']) emitted {got[:2]} after each token, expected ['a', 'é']\n  likely cause: {HOLD}"
    )


def test_random_byte_splits_round_trip_without_replacement_characters():
    data = TEXT.encode("utf-8")
    rng = random.Random(0)
    for trial in range(30):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(5, 40)))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
        got = pieces_per_token(chunks)
        assert "".join(got) == TEXT, (
            f"trial {trial}: the joined pieces differ from the text:\n  expected {TEXT!r}\n  got      {''.join(got)!r}\n  likely cause: {HOLD}"
        )
        expected = expected_per_token(chunks)
        for i, (g, e) in enumerate(zip(got, expected)):
            assert g == e, (
                f"trial {trial}, after token {i} ({chunks[i] if i < len(chunks) else 'end'!r}): emitted {g!r}, expected {e!r} (every complete character, as soon as it is complete)\n  likely cause: {HOLD}"
            )


def test_invalid_bytes_at_the_end_are_flushed_as_replacement():
    got = pieces_per_token([b"ok", b"\xe4\xb8"])  # a 3-byte character cut after 2 bytes
    assert "".join(got) == "ok\ufffd", (
        f"stream ending in an unfinished character: expected 'ok\\ufffd' (flush the rest with errors='replace'), got {''.join(got)!r}"
    )


def test_character_tokens_from_a_char_vocabulary():
    """A char-level vocabulary (week 02/05): each token is one character, emitted at once."""
    chars = sorted(set(TEXT))
    ids = torch.tensor([chars.index(c) for c in TEXT])
    got = list(mod.stream_text(ids.tolist(), lambda i: chars[i].encode("utf-8")))
    assert got == list(TEXT), (
        f"char tokens should come out one character per piece, got {got[:8]}..."
    )
