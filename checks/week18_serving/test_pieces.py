"""Checks for w18.pieces: a TokenStream becomes UTF-8-safe text pieces, cut at a stop string,
closed and recorded however it ends.

The streams are the worker's own TokenStreams filled by hand (support.token_stream: the ids a
close() reports are collected), so every text, token count, finish_reason and timing is known
exactly. Oracles: the bytes of the scripted text; hand counts of tokens; times planted in the
stream (submit 2 s ago, first token 0.5 s after it) for the units of the latency.
"""

import asyncio
import time

import pytest

from roadmap.impl import load

from .support import ByteTokenizer, collect, token_stream

mod = load("week18_serving.streaming")
TEXT = "héllo wörld 🙂 STOP tail"  # 28 bytes: é, ö 2 each, 🙂 4
TOKENS = list(TEXT.encode())
BYTES = ByteTokenizer().token_bytes


def pieces_of(stream, stops=(), token_bytes=BYTES, timeout=5.0):
    stats, info = mod.ServerStats(), {}
    out = collect(mod.text_pieces(stream, token_bytes, list(stops), stats, info), timeout)
    return out, info, stats


def test_pieces_join_to_the_text_and_never_split_a_character():
    stream, closed = token_stream(TOKENS, "length")
    out, info, stats = pieces_of(stream)
    assert "".join(out) == TEXT and all(out), (
        f"pieces {out} join to {''.join(out)!r}, expected {TEXT!r} (only non-empty pieces); likely "
        "cause: bytes decoded one token at a time (keep an unfinished UTF-8 character's bytes for "
        "the next token, week 08)"
    )
    assert not any("\ufffd" in p for p in out) and len(out) >= 20, (
        f"{len(out)} pieces {out[:6]}...: expected one piece per complete character as it arrives "
        "(>= 20 here), none holding U+FFFD"
    )
    assert info == {"tokens": 28, "finish_reason": "length"}, (
        f"info {info}, expected {{'tokens': 28, 'finish_reason': 'length'}}"
    )
    assert stats.cancelled == 0 and closed == [], (
        f"a stream that ran to its end: cancelled {stats.cancelled}, close() reached the worker "
        f"{len(closed)} times; expected 0 and 0 (an end is not a cancellation)"
    )


def test_token_counts_are_tokens_not_bytes_or_characters():
    """Five tokens of 1 to 5 bytes: info["tokens"] counts the tokens (5), not the 12 bytes or
    the 10 characters of the text."""
    table = {1: b"a", 2: b"\xc3", 3: b"\xa9bc", 4: "€d".encode(), 5: b"e"}
    stream, _ = token_stream([1, 2, 3, 4, 5], "length")
    out, info, _ = pieces_of(stream, token_bytes=table.__getitem__)
    assert "".join(out) == "aébc€de" and info["tokens"] == 5, (
        f"tokens of 1-5 bytes: text {''.join(out)!r}, info['tokens'] {info['tokens']}; expected "
        "'aébc€de' and 5 (usage counts tokens: one per token read from the stream)"
    )


def test_a_stop_string_ends_the_text_closes_the_stream_and_is_no_cancellation():
    stream, closed = token_stream(TOKENS, finish=None)  # the generation would go on
    try:
        out, info, stats = pieces_of(stream, stops=["zzz", " STOP"], timeout=2.0)
    except TimeoutError:
        pytest.fail(
            "text_pieces was still waiting for tokens 2 s after the stop string ' STOP' arrived; "
            "a stop string ends the generation: stop reading and close the stream"
        )
    assert "".join(out) == "héllo wörld 🙂", (
        f"stop ' STOP': text {''.join(out)!r}, expected 'héllo wörld 🙂' (cut before the stop "
        "string, which is not returned)"
    )
    assert info["finish_reason"] == "stop" and info["tokens"] == 23, (
        f"info {info}; expected finish_reason 'stop' and 23 tokens (read up to the P of STOP)"
    )
    assert closed == [0] and stats.cancelled == 0, (
        f"after the stop string: close() reached the worker {len(closed)} times, cancelled "
        f"{stats.cancelled}; expected 1 and 0 (close the stream to stop the generation; a stop "
        "string is an end, not a cancellation)"
    )


@pytest.mark.parametrize(
    ("reason", "want"), [("eos", "stop"), ("length", "length"), ("timeout", "length")]
)
def test_finish_reason_is_stop_for_eos_else_length(reason, want):
    stream, _ = token_stream([104, 105, 256] if reason == "eos" else [104, 105], reason)
    out, info, _ = pieces_of(stream)
    assert "".join(out) == "hi" and info["finish_reason"] == want, (
        f"a stream that ended with {reason!r}: text {''.join(out)!r}, finish_reason "
        f"{info['finish_reason']!r}; expected 'hi' and {want!r} (OpenAI's 'stop' is a natural end: "
        "eos or a stop string)"
    )


def test_held_back_text_and_an_unfinished_character_come_out_at_the_end():
    stream, _ = token_stream(list(b"ab<|im"), "length")
    out, _, _ = pieces_of(stream, stops=["<|im_end|>"])
    assert "".join(out) == "ab<|im", (
        f"'ab<|im' then the end, stop '<|im_end|>': text {''.join(out)!r}, expected 'ab<|im' (what "
        "was held back for a possible stop string is released when the stream ends: flush)"
    )
    stream, _ = token_stream(list(b"ab\xc3"), "length")
    out, _, _ = pieces_of(stream)
    assert "".join(out) == "ab\ufffd", (
        f"'ab' + the first byte of 'é', then the end: {''.join(out)!r}; expected 'ab\\ufffd' (the "
        "unfinished character's bytes decoded with errors='replace' at the end)"
    )


def test_a_consumer_that_leaves_early_closes_the_stream_and_counts_one_cancellation():
    """Both ways a client leaves: the generator is closed after the first piece (aclose), or the
    task reading it is cancelled while it waits for the next token."""

    async def close_early(stats, info):
        stream, closed = token_stream(list(b"abc"), finish=None)
        gen = mod.text_pieces(stream, BYTES, [], stats, info)
        first = await gen.__anext__()
        await gen.aclose()
        return first, closed

    async def cancel_waiting(stats, info):
        stream, closed = token_stream(list(b"abc"), finish=None)

        async def read():
            return [p async for p in mod.text_pieces(stream, BYTES, [], stats, info)]

        task = asyncio.ensure_future(read())
        await asyncio.sleep(0.05)  # it has read a, b, c and waits for more
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return None, closed

    for how, run in (("closed after a piece", close_early), ("cancelled", cancel_waiting)):
        stats, info = mod.ServerStats(), {}
        _, closed = asyncio.run(run(stats, info))
        assert closed == [0] and stats.cancelled == 1, (
            f"a consumer that left early ({how}): close() reached the worker {len(closed)} times, "
            f"stats.cancelled {stats.cancelled}; expected 1 and 1; likely cause: the stream is not "
            "closed, or not counted, in a `finally` (closing or cancelling a generator runs its "
            "finally, not the code after the loop)"
        )
        assert "finish_reason" in info and "tokens" in info, (
            f"a consumer that left early ({how}): info {info} lacks finish_reason / tokens"
        )


def test_latency_and_ttft_are_recorded_in_seconds_from_the_submit():
    stream, _ = token_stream(list(b"ok"), "length")
    stream.submit_time = time.perf_counter() - 2.0  # submitted 2 s ago
    stream.first_token_time = stream.submit_time + 0.5  # its first token came 0.5 s later
    out, _, stats = pieces_of(stream)
    assert len(stats.latencies) == 1 and 2.0 <= stats.latencies[0] < 2.0 + 30, (
        f"stats.latencies {stats.latencies} for a request submitted 2 s ago; expected one latency "
        "of about 2 (seconds, from stream.submit_time to the end; not milliseconds)"
    )
    assert stats.ttfts == [pytest.approx(0.5)], (
        f"stats.ttfts {stats.ttfts}; expected [0.5]: first_token_time - submit_time, in seconds"
    )
    stream, _ = token_stream([], "length")
    out, info, stats = pieces_of(stream)
    assert out == [] and info["tokens"] == 0 and stats.ttfts == [] and len(stats.latencies) == 1, (
        f"a stream with no token: pieces {out}, info {info}, ttfts {stats.ttfts}, latencies "
        f"{stats.latencies}; expected [], tokens 0, no ttft (None is not recorded), one latency"
    )
