"""Stop strings on a text stream: never send the client text that a stop string will cut off.

An OpenAI-style request may give `stop` strings: the reply ends just BEFORE the first occurrence
of any of them, and the stop string itself is not returned. When text arrives piece by piece
(tokens through week 08's UTF-8-safe `stream_text`), a stop string can straddle pieces: after
"Hello <|im" the server cannot know yet whether "<|im_end|>" follows, so it holds back "<|im" and
sends only "Hello ". Once the held-back text can no longer start a stop string, it is released.
Check: `python tracker.py check w18.stops`
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
    # TODO(w18.stops): return how many trailing characters of text could still grow into a stop string
    raise NotImplementedError(
        "w18.stops: write partial_stop_length in exercises/week18_serving/stops.py"
    )


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
        """Add `piece`; return the text that is now safe to send ("" if none).

        Safe: it precedes every stop string found so far and cannot become part of one. When the
        buffered text contains a stop string, return what precedes the earliest one (by start
        position) and set `stopped`; after a stop, always "".
        Example: s = StopStream(["<|im_end|>"]); s.feed("Hello <|im") == "Hello " (holds "<|im");
        s.feed("_end|> more") == "" and s.stopped; s.feed("x") == "".
        """
        # TODO(w18.stops): return the text that is now safe to send, stopping at the earliest stop string
        raise NotImplementedError(
            "w18.stops: write StopStream.feed in exercises/week18_serving/stops.py"
        )

    def flush(self) -> str:
        """The held-back text at the end of the generation ("" after a stop); holds nothing after.

        Example: s = StopStream(["STOP"]); s.feed("abST") == "ab"; s.flush() == "ST";
        s.flush() == "".
        """
        # TODO(w18.stops): return what is still held back ('' after a stop), holding nothing afterwards
        raise NotImplementedError(
            "w18.stops: write StopStream.flush in exercises/week18_serving/stops.py"
        )
