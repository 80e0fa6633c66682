"""Stop strings on a text stream: never send the client text that a stop string will cut off.

An OpenAI-style request may give `stop` strings: the reply ends just BEFORE the first occurrence
of any of them, and the stop string itself is not returned. When text arrives piece by piece
(tokens through week 08's UTF-8-safe `stream_text`), a stop string can straddle pieces: after
"Hello <|im" the server cannot know yet whether "<|im_end|>" follows, so it holds back "<|im" and
sends only "Hello ". Once the held-back text can no longer start a stop string, it is released.
Check: `pytest checks/week18_serving/test_stops.py`
"""


def partial_stop_length(text: str, stops: list[str]) -> int:
    """Length of the longest suffix of `text` that is a PROPER prefix of some stop string.

    That suffix must be held back: the next piece may complete the stop string. A whole stop
    string is not a proper prefix (it is found by the caller's search instead); "" stops are
    ignored.
    Examples: partial_stop_length("Hello <|im", ["<|im_end|>"]) == 4;
        partial_stop_length("abc", ["cd", "bcx"]) == 2 ("bc" could become "bcx");
        partial_stop_length("abc", ["x"]) == 0.
    """
    # TODO(w18.stops): for each stop string, the longest k < len(stop) with text ending in stop[:k]; return the largest
    raise NotImplementedError("w18.stops: partial_stop_length")


class StopStream:
    """Feed text pieces, get back the text that is safe to send; stop at the first stop string.

    Usage: for each piece, `out = s.feed(piece)` (send `out` if non-empty; once `s.stopped` is
    True, stop generating and ignore further pieces); at the end of the generation, `s.flush()`
    returns the held-back rest. The concatenation of everything returned equals the whole text cut
    just before the EARLIEST occurrence (by start position) of any stop string, or the whole text
    if none occurs; every returned piece is sent as soon as it can no longer be part of a stop
    string (partial_stop_length decides what is held back).
    """

    def __init__(self, stops: list[str] | None = None):
        self.stops = [s for s in (stops or []) if s]
        self.buffer = ""  # received, not yet returned
        self.stopped = False

    def feed(self, piece: str) -> str:
        """Add `piece`; return the newly safe text ("" if none). After a stop: always ""."""
        # TODO(w18.stops): append to the buffer; cut at the earliest stop string (then stopped); else return all but the held-back suffix
        raise NotImplementedError("w18.stops: feed")

    def flush(self) -> str:
        """The held-back text at the end of the generation ("" after a stop)."""
        # TODO(w18.stops): return the held-back rest ('' after a stop) and empty the buffer
        raise NotImplementedError("w18.stops: flush")
