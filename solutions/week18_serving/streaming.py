"""From the worker's tokens to what the client reads: text pieces, then one JSON reply or a stream
of Server-Sent Events.

`text_pieces` turns a request's TokenStream into text: token bytes through week 08's UTF-8-safe
prefix (a character may straddle tokens), then week 18's StopStream (a stop string may straddle
pieces). It is the one place that sees a generation end, so it also closes the stream (a stop
string ends the generation; a client that went away frees its KV-cache blocks) and records the
request in /stats. The reply functions consume those pieces: `completion_body` joins them into
OpenAI's JSON object with its token usage, `completion_events` sends each as an SSE chunk
(`data: {json}\\n\\n`), then a chunk with the finish_reason, then `data: [DONE]\\n\\n`.
Reference: the OpenAI API reference (the completion, chat.completion and chat.completion.chunk
objects); WHATWG HTML 9.2 (Server-Sent Events).
Check: `python tracker.py check w18.pieces` (then w18.streaming)
"""

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable

from solutions.week08_inference.streaming import complete_prefix_length

from .stops import StopStream
from .worker import TokenStream


class ServerStats:
    """Given: the server's counters and recent latencies, for /stats."""

    def __init__(self):
        self.requests = 0  # generation requests the worker accepted
        self.errors = 0  # error responses sent
        self.cancelled = 0  # streams whose client went away before the end
        self.latencies: list[float] = []  # seconds, submit to the stream's end, last 1000
        self.ttfts: list[float] = []  # seconds, submit to the first token, last 1000

    def observe(self, latency: float, ttft: float | None) -> None:
        self.latencies = (self.latencies + [latency])[-1000:]
        if ttft is not None:
            self.ttfts = (self.ttfts + [ttft])[-1000:]


# --- w18.pieces ---------------------------------------------------------------------------------
async def text_pieces(
    stream: TokenStream,
    token_bytes: Callable[[int], bytes],
    stops: list[str],
    stats: ServerStats,
    info: dict,
) -> AsyncIterator[str]:
    """Yield the reply's text, piece by piece, as the stream's tokens arrive (`async for`).

    - Text: the tokens' bytes (token_bytes) decoded without ever splitting a UTF-8 character
      (bytes of an unfinished character wait for the next token; at the stream's end, whatever is
      left is decoded with errors="replace"), then cut by StopStream(stops): nothing from the first
      stop string on is yielded. Only non-empty pieces are yielded.
    - A stop string ends the generation: stop reading and close the stream at once.
    - However it ends, the stream is closed (stream.close(); closing an ended stream does nothing),
      also when the consumer stops early: the client went away and the generator is closed
      (aclose) or cancelled before its end. Only that last case counts in stats.cancelled (a stop
      string, eos or max_tokens is an end, not a cancellation).
    - At the end (any end), fill `info`: info["tokens"] = tokens read from the stream (every token
      the model generated for this reply, an eos token included), info["finish_reason"] = "stop"
      for a stop string or when stream.finish_reason is "eos", else "length"; and record
      stats.observe(latency, ttft) in seconds: latency = time.perf_counter() -
      stream.submit_time, ttft = stream.first_token_time - stream.submit_time (None when no token
      came).
    Example: tokens of "héllo STOP x" (one per UTF-8 byte: "é" is 2 tokens), stops ["STOP"] ->
    pieces that join to "héllo ", none containing U+FFFD; info == {"tokens": 11, "finish_reason":
    "stop"} (h, 2 bytes of é, l, l, o, space, S, T, O, P were read when "STOP" was seen).
    """
    stopper = StopStream(stops)
    pending = b""  # bytes of an unfinished UTF-8 character (week 08)
    info["tokens"] = 0
    ended = False  # reached an end (eos, length, a stop string) rather than abandoned
    try:
        async for token in stream:
            info["tokens"] += 1
            pending += token_bytes(token)
            cut = complete_prefix_length(pending)
            text, pending = pending[:cut].decode("utf-8", errors="replace"), pending[cut:]
            out = stopper.feed(text) if text else ""
            if out:
                yield out
            if stopper.stopped:
                break
        if not stopper.stopped:
            out = stopper.feed(pending.decode("utf-8", errors="replace")) + stopper.flush()
            if out:
                yield out
        ended = True
    finally:
        stream.close()  # subtle: a client that went away lands here: stop its generation
        if not ended:
            stats.cancelled += 1
        eos = stream.finish_reason == "eos"
        info["finish_reason"] = "stop" if stopper.stopped or eos else "length"
        first = stream.first_token_time
        ttft = None if first is None else first - stream.submit_time
        stats.observe(time.perf_counter() - stream.submit_time, ttft)


# --- w18.streaming ------------------------------------------------------------------------------
def sse_event(data: dict | str) -> str:
    """One Server-Sent Event: "data: " + JSON of `data` (a str as it is) + a blank line.

    Example: sse_event({"a": 1}) == 'data: {"a": 1}\\n\\n'; sse_event("[DONE]") == "data: [DONE]\\n\\n".
    """
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"data: {payload}\n\n"


def _head(chat: bool, model_name: str, chunk: bool) -> dict:
    """Given: the fields every reply object starts with (a new id, the time in seconds)."""
    if chat:
        kind = "chat.completion.chunk" if chunk else "chat.completion"
    else:
        kind = "text_completion"
    prefix = "chatcmpl-" if chat else "cmpl-"
    return {
        "id": prefix + uuid.uuid4().hex,
        "object": kind,
        "created": int(time.time()),
        "model": model_name,
    }


async def completion_body(
    pieces: AsyncIterator[str], info: dict, *, chat: bool, model_name: str, prompt_tokens: int
) -> dict:
    """The non-streaming reply: every piece joined into one OpenAI object.

    `pieces` is text_pieces(...) (or any async iterator of str); `info` is the dict it fills by
    its end (info["tokens"], info["finish_reason"]). The object:
        {"id": "cmpl-<hex>" ("chatcmpl-<hex>" for chat), "object": "text_completion" (chat:
         "chat.completion"), "created": unix time in whole seconds, "model": model_name,
         "choices": [{"index": 0, "text": the text (chat: "message": {"role": "assistant",
         "content": the text}), "finish_reason": info["finish_reason"], "logprobs": None}],
         "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": info["tokens"],
         "total_tokens": their sum}}
    Usage counts tokens, not characters or bytes.
    Example: pieces "Hel", "lo" with info {"tokens": 4, "finish_reason": "length"},
    prompt_tokens 2 -> choices[0]["text"] == "Hello", usage {"prompt_tokens": 2,
    "completion_tokens": 4, "total_tokens": 6}.
    """
    text = "".join([piece async for piece in pieces])
    choice = {"index": 0, "finish_reason": info["finish_reason"], "logprobs": None}
    if chat:
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    completion_tokens = info["tokens"]
    return {
        **_head(chat, model_name, chunk=False),
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


async def completion_events(
    pieces: AsyncIterator[str], info: dict, *, chat: bool, model_name: str
) -> AsyncIterator[str]:
    """The streaming reply: Server-Sent Events (sse_event strings), one per piece as it arrives.

    Every chunk is {"id", "object", "created", "model", "choices": [choice]} with one id and one
    `created` for the whole stream. Completions ("object": "text_completion"): choice
    {"index": 0, "text": piece, "finish_reason": None, "logprobs": None} per piece. Chat
    ("object": "chat.completion.chunk"): first choice {"index": 0, "delta": {"role":
    "assistant"}, "finish_reason": None} before any piece, then {"index": 0, "delta": {"content":
    piece}, "finish_reason": None} per piece. Both then send a last chunk with
    info["finish_reason"] (text "" / delta {}), and end with sse_event("[DONE]").
    Example (chat, pieces "Hi", "!", finish "stop"): deltas {"role": "assistant"}, {"content":
    "Hi"}, {"content": "!"}, {} (finish_reason "stop"), then "data: [DONE]\\n\\n".
    """
    head = _head(chat, model_name, chunk=True)

    def chunk(piece: str | None, finish: str | None, first: bool = False) -> str:
        if chat:
            delta = {"role": "assistant"} if first else ({"content": piece} if piece else {})
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": piece or "", "finish_reason": finish, "logprobs": None}
        return sse_event({**head, "choices": [choice]})

    if chat:
        yield chunk(None, None, first=True)
    async for piece in pieces:
        yield chunk(piece, None)
    yield chunk(None, info["finish_reason"])
    yield sse_event("[DONE]")
