"""Checks for w18.stops: stop strings on a stream of text pieces.

Oracle: a brute-force re-derivation in the check: after the pieces received so far, the text that
may have been sent is the received text cut at the earliest stop string, or, with none, the
received text minus its longest suffix that is a proper prefix of a stop string.
"""

import random

from roadmap.impl import load

mod = load("week18_serving.stops")


def brute_hold(text, stops):
    best = 0
    for s in stops:
        for k in range(1, len(s)):
            if k <= len(text) and text[len(text) - k :] == s[:k]:
                best = max(best, k)
    return best


def safe_prefix(received, stops):
    hits = [received.find(s) for s in stops if s and s in received]
    if hits:
        return received[: min(hits)], True
    return received[: len(received) - brute_hold(received, [s for s in stops if s])], False


def test_partial_stop_length_examples():
    cases = [
        ("Hello <|im", ["<|im_end|>"], 4),
        ("abc", ["cd", "bcx"], 2),
        ("abc", ["x"], 0),
        ("abc", ["abc"], 0),  # a whole stop string is not a proper prefix
        ("aaa", ["aab"], 2),
        ("", ["ab"], 0),
        ("xa", ["", "ab"], 1),
    ]
    for text, stops, want in cases:
        got = mod.partial_stop_length(text, stops)
        assert got == want, (
            f"partial_stop_length({text!r}, {stops}) = {got}, expected {want} (the longest suffix "
            "of the text that is a proper prefix of a stop string: hold it back)"
        )


def run(pieces, stops):
    s = mod.StopStream(stops)
    sent, received = "", ""
    for i, p in enumerate(pieces):
        out = s.feed(p)
        assert isinstance(out, str)
        sent += out
        received += p
        want, stopped = safe_prefix(received, stops)
        assert s.stopped == stopped, (
            f"StopStream({stops}) after pieces {pieces[: i + 1]}: stopped={s.stopped}, expected "
            f"{stopped} (stop as soon as a stop string is complete, not before)"
        )
        if stopped:
            assert sent == want, (
                f"StopStream({stops}) after pieces {pieces[: i + 1]}: sent {sent!r}, expected "
                f"{want!r} (cut just before the EARLIEST stop string)"
            )
            return sent, s, i
        assert sent == want, (
            f"StopStream({stops}) after pieces {pieces[: i + 1]}: sent {sent!r}, expected {want!r} "
            "(send everything except a suffix that could still become a stop string: hold back "
            "only that)"
        )
    return sent + s.flush(), s, None


def test_random_splits_cut_at_the_earliest_stop():
    rng = random.Random(0)
    texts = [
        "Hello world<|im_end|>trailing",
        "abcabcabd and more",
        "no stop in here at all",
        "STOP at the start",
        "two: xyz then STOP then xyz",
    ]
    stop_sets = [["<|im_end|>"], ["abd", "cab"], ["zzz"], ["STOP"], ["STOP", "xyz"], ["z t"]]
    for text in texts:
        for stops in stop_sets:
            for _ in range(6):
                cuts = sorted(
                    rng.sample(range(1, len(text)), rng.randint(1, min(8, len(text) - 1)))
                )
                pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
                hits = [text.find(s) for s in stops if s in text]
                want = text[: min(hits)] if hits else text
                sent, s, _ = run(pieces, stops)
                if s.stopped:
                    sent += s.flush()
                assert sent == want, (
                    f"StopStream({stops}) over {pieces}: sent {sent!r}, expected {want!r} (cut "
                    "just before the EARLIEST stop string by position; the stop is not sent; "
                    "with no stop, flush returns the held-back rest)"
                )
                assert s.stopped == bool(hits), (
                    f"stopped={s.stopped} for {text!r} with {stops}, expected {bool(hits)}"
                )


def test_after_a_stop_nothing_more_is_sent():
    s = mod.StopStream(["END"])
    assert s.feed("abcEN") == "abc", "hold back 'EN' (it may become 'END'), send 'abc'"
    assert s.feed("Dxyz") == "" and s.stopped, "'END' completed: nothing more is sent, stopped"
    assert s.feed("more") == "" and s.flush() == "", "after a stop: feed and flush return ''"


def test_no_stops_passes_everything_through():
    s = mod.StopStream(None)
    assert [s.feed(p) for p in ["a", "bc", ""]] == ["a", "bc", ""] and s.flush() == "", (
        "with no stop strings every piece is sent at once"
    )


def test_held_back_text_is_released_when_it_cannot_be_a_stop():
    s = mod.StopStream(["<|im_end|>"])
    assert s.feed("Hi <|im") == "Hi ", "'<|im' could start '<|im_end|>': hold it"
    assert s.feed("_start") == "<|im_start", (
        "'<|im_start' can no longer become '<|im_end|>': release it"
    )
    assert s.feed("<") == "" and s.flush() == "<", "flush returns the held-back rest at the end"
