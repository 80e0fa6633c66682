"""Checks for w18.streaming: one Server-Sent Event, the JSON reply with its usage, the SSE chunks.

The pieces are a scripted async generator that fills `info` only when it is exhausted (as
text_pieces does), so these checks need none of the week's other pieces, and a reply that reads
info too early fails. Oracles: hand-written objects from the docstrings; json.dumps for the event
payload; time.time() for `created` (seconds).
"""

import asyncio
import json
import time

from roadmap.impl import load

from .support import collect

mod = load("week18_serving.streaming")


async def scripted(
    pieces: list[str], info: dict, tokens: int, reason: str, seen: list | None = None
):
    """Yield `pieces`, then fill info, as text_pieces does at its end; `seen` counts pieces taken."""
    for piece in pieces:
        if seen is not None:
            seen.append(piece)
        yield piece
    info.update(tokens=tokens, finish_reason=reason)


def events_of(chat: bool, pieces: list[str], reason="length", model_name="my-model") -> list[str]:
    info: dict = {}
    gen = mod.completion_events(
        scripted(pieces, info, len(pieces), reason), info, chat=chat, model_name=model_name
    )
    return collect(gen)


def parse(events: list[str]) -> list[dict]:
    for e in events:
        assert e.startswith("data: ") and e.endswith("\n\n") and "\n" not in e[:-2], (
            f"event {e!r}: each must be one line 'data: <json>' followed by a blank line"
        )
    assert events and events[-1] == "data: [DONE]\n\n", (
        f"the stream ended with {events[-1:]!r}; expected 'data: [DONE]\\n\\n' last"
    )
    return [json.loads(e[len("data: ") : -2]) for e in events[:-1]]


def test_sse_event_format():
    cases = (
        ({"a": 1}, 'data: {"a": 1}\n\n'),
        ("[DONE]", "data: [DONE]\n\n"),
        ({"t": "é\nx"}, "data: " + json.dumps({"t": "é\nx"}) + "\n\n"),
    )
    for arg, want in cases:
        got = mod.sse_event(arg)
        assert got == want, (
            f"sse_event({arg!r}) = {got!r}, expected {want!r} ('data: ' + the JSON, or the string "
            "as it is, + a blank line: an event ends with two newlines)"
        )


def test_completion_body_joins_the_text_and_counts_usage_in_tokens():
    """The pieces 'Hé', 'llo' came from 9 tokens (info) after a 5-token prompt: usage counts
    tokens (9), not the 5 characters or the 6 bytes of the text."""
    info: dict = {}
    t0 = time.time()
    body = asyncio.run(
        mod.completion_body(
            scripted(["Hé", "llo"], info, 9, "length"),
            info,
            chat=False,
            model_name="my-model",
            prompt_tokens=5,
        )
    )
    want_choice = {"index": 0, "text": "Héllo", "finish_reason": "length", "logprobs": None}
    assert body.get("choices") == [want_choice], (
        f"choices {body.get('choices')}, expected [{want_choice}]"
    )
    want_usage = {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}
    assert body.get("usage") == want_usage, (
        f"usage {body.get('usage')}, expected {want_usage} (completion_tokens is info['tokens'], "
        "the tokens generated; total = prompt + completion)"
    )
    assert body["object"] == "text_completion" and body["model"] == "my-model", body
    assert body["id"].startswith("cmpl-") and len(body["id"]) > 10, f"id {body['id']!r}"
    assert isinstance(body["created"], int) and t0 - 5 <= body["created"] <= time.time() + 5, (
        f"created {body['created']!r}, expected the unix time in whole seconds (about {t0:.0f})"
    )


def test_chat_completion_body_has_a_message():
    info: dict = {}
    body = asyncio.run(
        mod.completion_body(
            scripted(["Hi", "!"], info, 3, "stop"),
            info,
            chat=True,
            model_name="tiny",
            prompt_tokens=12,
        )
    )
    want = {
        "index": 0,
        "message": {"role": "assistant", "content": "Hi!"},
        "finish_reason": "stop",
        "logprobs": None,
    }
    assert body.get("choices") == [want], f"chat choices {body.get('choices')}, expected [{want}]"
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-"), (
        f"chat body object {body['object']!r}, id {body['id']!r}"
    )
    assert body["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


def test_completion_events_one_chunk_per_piece_then_the_finish_then_done():
    chunks = parse(events_of(False, ["Hé", "llo", " w"], reason="length"))
    texts = [c["choices"][0]["text"] for c in chunks]
    assert texts == ["Hé", "llo", " w", ""], (
        f"completion chunk texts {texts}; expected one chunk per piece, then a last chunk with "
        "text '' carrying the finish_reason"
    )
    reasons = [c["choices"][0]["finish_reason"] for c in chunks]
    assert reasons == [None, None, None, "length"], (
        f"finish_reasons {reasons}; expected None in every chunk but the last"
    )
    assert {c["id"] for c in chunks} == {chunks[0]["id"]} and chunks[0]["id"].startswith("cmpl-"), (
        f"chunk ids {[c['id'] for c in chunks]}: one id for the whole stream, 'cmpl-...'"
    )
    assert len({c["created"] for c in chunks}) == 1 and isinstance(chunks[0]["created"], int)
    for c in chunks:
        assert c["object"] == "text_completion" and c["model"] == "my-model", c
        assert c["choices"][0]["index"] == 0 and c["choices"][0]["logprobs"] is None, c


def test_chat_events_start_with_the_role_then_content_deltas():
    chunks = parse(events_of(True, ["Hi", "!"], reason="stop"))
    deltas = [c["choices"][0]["delta"] for c in chunks]
    want = [{"role": "assistant"}, {"content": "Hi"}, {"content": "!"}, {}]
    assert deltas == want, (
        f"chat deltas {deltas}, expected {want} (the role first, a content delta per piece, an "
        "empty delta with the finish_reason last)"
    )
    reasons = [c["choices"][0]["finish_reason"] for c in chunks]
    assert reasons == [None, None, None, "stop"], f"chat finish_reasons {reasons}"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks), (
        f"objects {[c['object'] for c in chunks]}, expected 'chat.completion.chunk'"
    )
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")


def test_an_empty_reply_still_finishes_and_ends_with_done():
    for chat, n in ((False, 1), (True, 2)):
        chunks = parse(events_of(chat, [], reason="stop"))
        assert len(chunks) == n and chunks[-1]["choices"][0]["finish_reason"] == "stop", (
            f"{'chat' if chat else 'completion'} with no piece: {len(chunks)} chunks {chunks}; "
            f"expected {n} ({'the role chunk and ' if chat else ''}the finish chunk) then [DONE]"
        )


def test_events_go_out_as_the_pieces_arrive():
    """A stream that waits for the whole text before its first event is not streaming: when the
    first piece's event is out, the second piece must not have been taken yet."""

    async def go():
        info, seen = {}, []
        gen = mod.completion_events(
            scripted(["a", "b", "c"], info, 3, "length", seen), info, chat=False, model_name="m"
        )
        first = await gen.__anext__()
        taken = list(seen)
        await gen.aclose()
        return first, taken

    first, taken = asyncio.run(go())
    assert json.loads(first[len("data: ") :])["choices"][0]["text"] == "a" and taken == ["a"], (
        f"when the first event ({first!r}) was sent, the pieces taken were {taken}; expected ['a'] "
        "(send each piece's chunk as it arrives: `async for` over the pieces, yield inside)"
    )
