"""A streaming decoder: turn tokens into text pieces as they arrive, without breaking characters.

A byte-level tokenizer (GPT-2, tiktoken, week 06) can split one character across tokens: "é" is
the two UTF-8 bytes C3 A9, and an emoji is four. Decoding each token on its own would print
replacement characters (U+FFFD); a streaming decoder holds back an incomplete character's bytes
until the rest arrives.
Check: `python tracker.py check w08.streaming`
"""

from collections.abc import Callable, Iterable, Iterator


def utf8_char_length(lead: int) -> int:
    """Bytes in the UTF-8 character that starts with byte `lead` (1 to 4); 0 for a continuation.

    0xxxxxxx -> 1, 110xxxxx -> 2, 1110xxxx -> 3, 11110xxx -> 4, 10xxxxxx (continuation) -> 0.
    Example: utf8_char_length(0xC3) == 2 ("é" is C3 A9).
    """
    if lead < 0x80:
        return 1
    if lead < 0xC0:
        return 0
    if lead < 0xE0:
        return 2
    if lead < 0xF0:
        return 3
    return 4


def complete_prefix_length(buffer: bytes) -> int:
    """Length of the longest prefix of `buffer` that does not end inside a UTF-8 character.

    Only the last (at most 3) bytes can belong to an unfinished character: find the last lead
    byte and check whether its character is complete.
    Example: b"a\\xc3" -> 1 (the \\xc3 waits for its second byte); b"a\\xc3\\xa9" -> 3.
    """
    # TODO(w08.streaming): return how many leading bytes of buffer form whole characters
    raise NotImplementedError(
        "w08.streaming: write complete_prefix_length in exercises/week08_inference/streaming.py"
    )


def stream_text(tokens: Iterable[int], token_bytes: Callable[[int], bytes]) -> Iterator[str]:
    """Yield text pieces as tokens arrive; "".join(pieces) == b"".join(bytes).decode("utf-8").

    After each token, emit every complete character received so far (possibly "" is skipped, so a
    token that only starts a character yields nothing yet). At the end, flush what is left with
    errors="replace". Built from scratch on complete_prefix_length: `codecs.getincrementaldecoder`
    and `codecs.iterdecode` (the library's streaming decoders) are off-limits in the check.

    Args:
        tokens: token ids, possibly a lazy generator that produces them one at a time.
        token_bytes: the bytes of one token id.

    Yields:
        non-empty str pieces, in order.

    Example: tokens whose bytes are b"a", b"\\xc3", b"\\xa9b" yield "a", then nothing, then "éb";
    a stream that ends on b"\\xc3" alone flushes the replacement character U+FFFD.
    """
    # TODO(w08.streaming): yield the tokens' text as soon as each character is complete
    raise NotImplementedError(
        "w08.streaming: write stream_text in exercises/week08_inference/streaming.py"
    )
