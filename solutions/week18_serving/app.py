"""An OpenAI-compatible HTTP server on the engine worker: completions, chat, SSE streaming, stats.

Routes (the official `openai` client works against them):
    POST /v1/completions        {"model", "prompt", "max_tokens", "temperature", "top_p", "stop",
                                 "n", "stream", "seed"}
    POST /v1/chat/completions   the same with "messages" instead of "prompt"
    GET  /v1/models             the one served model
    GET  /health                {"status": "ok"}; never needs the API key
    GET  /stats                 requests, tokens, queue length, running, latency percentiles
Streaming replies are Server-Sent Events: one `data: {json}\\n\\n` event per piece of text, then
`data: [DONE]\\n\\n`. Errors use OpenAI's shape {"error": {"message", "type", "param", "code"}}.
Every response carries an `x-request-id` header, and every request is logged as one JSON line.
Check: `pytest checks/week18_serving/test_app.py` (and test_openai_client.py, test_schema.py,
test_load.py)
"""

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from annotated_types import Interval
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from solutions.week08_inference.streaming import complete_prefix_length
from solutions.week15_efficient_inference.engine import SamplingParams

from .chat import chat_prompt_ids
from .stops import StopStream
from .worker import EngineWorker, QueueFull

LOG = logging.getLogger("llm_serve")


# --- given: the request models (strict types and bounds) --------------------------------------
def _whole_float(value):
    """JSON Schema's "integer" includes 1.0: accept a whole float as an int, nothing else."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


JSONInt = Annotated[StrictInt, BeforeValidator(_whole_float)]  # no "5", no true, no 1.5


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a 400, as OpenAI answers

    model: str = Field(strict=True, min_length=1)
    max_tokens: JSONInt = Field(16, ge=1, le=4096)
    temperature: float = Field(1.0, strict=True, ge=0.0, le=2.0)
    top_p: float = Field(1.0, strict=True, gt=0.0, le=1.0)
    stop: StrictStr | Annotated[list[StrictStr], Field(max_length=4)] | None = None
    n: JSONInt = Field(1, ge=1, le=1)
    stream: bool = Field(False, strict=True)
    seed: Annotated[JSONInt, Interval(ge=0, le=2**63 - 1)] | None = None

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class CompletionRequest(_Sampling):
    prompt: str = Field(strict=True, min_length=1)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(strict=True)


class ChatRequest(_Sampling):
    messages: list[ChatMessage] = Field(strict=True, min_length=1)


def _error_schema(description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": {"type": "object"}},
                    "required": ["error"],
                }
            }
        },
    }


RESPONSES = {  # given: what the generation routes may answer, for the OpenAPI schema
    200: {
        "description": "JSON, or Server-Sent Events when stream is true",
        "content": {"application/json": {}, "text/event-stream": {}},
    },
    400: _error_schema("invalid request (bad JSON, bad field, prompt too long)"),
    401: _error_schema("missing or wrong API key"),
    404: _error_schema("unknown model"),
    429: _error_schema("the request queue is full"),
}


class ServerStats:
    """Given: counters and recent latencies for /stats."""

    def __init__(self):
        self.requests = 0
        self.errors = 0
        self.cancelled = 0  # streams whose client went away before the end
        self.latencies: list[float] = []  # seconds, whole request, last 1000
        self.ttfts: list[float] = []  # seconds to the first token, last 1000

    def observe(self, latency: float, ttft: float | None) -> None:
        self.latencies = (self.latencies + [latency])[-1000:]
        if ttft is not None:
            self.ttfts = (self.ttfts + [ttft])[-1000:]


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None):
    """Given: OpenAI's error shape."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class APIError(Exception):
    """Given: raise it in a route to answer `status` with OpenAI's error shape."""

    def __init__(self, status: int, message: str, type_: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type_, self.code = status, message, type_, code


# --- the exercise -------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0 <= q <= 100) with linear interpolation between order statistics.

    Sort the values; the percentile sits at position (n - 1) * q / 100; interpolate between the
    two neighbours (numpy.percentile's default "linear" method). None for an empty list.
    Example: percentile([1, 2, 3, 4], 50) == 2.5; percentile([5], 95) == 5.
    """
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def sse_event(data: dict | str) -> str:
    """One Server-Sent Event: "data: " + JSON of `data` (or the string as it is) + "\\n\\n".

    Example: sse_event({"a": 1}) == 'data: {"a": 1}\\n\\n'; sse_event("[DONE]") == "data: [DONE]\\n\\n".
    """
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"data: {payload}\n\n"


def create_app(
    worker: EngineWorker,
    tokenizer,
    *,
    model_name: str,
    block_size: int,
    api_key: str | None = None,
) -> FastAPI:
    """The FastAPI app. `worker` is started by the caller (or a lifespan of the caller's own).

    `tokenizer` has encode(str) -> list[int], token_bytes(id) -> bytes and eos_token_id (int or
    None). Rules (the checks test each):
    - Validation errors (bad JSON, wrong types, out of bounds, unknown fields, a body that is not
      UTF-8) answer 400 with type "invalid_request_error"; any HTTP error keeps its status in the
      error shape.
    - Every error message names what is wrong: a field's validation error names the field
      ("max_tokens: ..."), a 404 names the requested model, len(prompt) + max_tokens >
      block_size says "context", a 401 says "API key".
    - A field's validation error: param is the field's path without "body" ("max_tokens",
      "messages.0.name"). An unknown field (pydantic's "extra_forbidden": the request models
      forbid extras) also has code "unknown_parameter"; other validation errors have code None.
      Example: {"model": "tiny", "prompt": "Hi", "foo": 1} -> 400 {"error": {"message": "foo:
      Extra inputs are not permitted", "type": "invalid_request_error", "param": "foo", "code":
      "unknown_parameter"}}.
    - A body that is not JSON (pydantic's "json_invalid": loc ("body", character offset), the
      decoder's complaint in ctx["error"], the text in exc.body): the message is "request body
      is not valid JSON: <complaint> at line L column C" (both counted from 1, as Python's json
      module counts them), param None, code None. Example: '{"model": "tiny"\\n "x": 1}' ->
      "request body is not valid JSON: Expecting ',' delimiter at line 2 column 2".
    - When api_key is set, every /v1 route needs `Authorization: Bearer <api_key>`, else 401
      (type "authentication_error") and nothing is queued. /health and /stats never need it.
    - A model other than model_name: 404, code "model_not_found".
    - Prompt: completions encode `prompt`; chat uses chat.chat_prompt_ids with max_tokens =
      block_size - max_tokens (truncated chat memory). A prompt with len(prompt) + max_tokens >
      block_size: 400, code "context_length_exceeded", nothing queued.
    - SamplingParams(max_new_tokens=max_tokens, temperature, top_p (None when 1.0), eos_token_id
      = tokenizer.eos_token_id, seed); a full queue: 429, type "rate_limit_error".
    - Text: token bytes -> week 08's complete_prefix_length (UTF-8-safe) -> StopStream(stop, plus
      "<|im_end|>" for chat). When the StopStream stops, close the token stream (the generation
      stops). finish_reason: "stop" for eos or a stop string, "length" otherwise (length,
      timeout).
    - Non-streaming: {"id", "object": "text_completion" | "chat.completion", "created", "model",
      "choices": [{"index": 0, "text": ... | "message": {"role": "assistant", "content": ...},
      "finish_reason", "logprobs": None}], "usage": {"prompt_tokens", "completion_tokens",
      "total_tokens"}}.
    - Streaming (SSE): completions send {"object": "text_completion", "choices": [{"index": 0,
      "text": piece, "finish_reason": None}]} per non-empty piece; chat sends
      {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role":
      "assistant"}}]} first, then {"delta": {"content": piece}}; both end with a chunk with the
      finish_reason (and empty text / delta), then "data: [DONE]". A client that disconnects
      closes its stream (its blocks are freed).
    - /stats: {"requests", "errors", "cancelled", "tokens", "queue_length", "running",
      "latency_p50", "latency_p95", "ttft_p50", "ttft_p95"}: requests = generation requests
      accepted by the worker, errors = error responses sent (any 4xx/5xx from the handlers
      above), cancelled = streams whose client disconnected before the end (a stop string, eos or
      max_tokens is an end, not a cancellation; counted once the stream is closed), tokens /
      queue_length / running from the worker, latencies in seconds (None before any request),
      both counted from the stream's submit_time: latency to the stream's end, ttft to its
      first_token_time.
    - Middleware: the request id is the `x-request-id` header if given, else a new uuid4 hex;
      it is echoed in the response's `x-request-id` header and logged, once per request, as one
      JSON line at level INFO on logger "llm_serve": {"request_id", "method", "path", "status",
      "ms"}.
    """
    app = FastAPI(title="llm-roadmap server", version="1.0")
    stats = ServerStats()
    app.state.stats, app.state.worker = stats, worker

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        stats.errors += 1
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":  # its loc holds an offset, not a field
            text, pos = exc.body or "", first["loc"][-1]
            line, col = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
            why = f"{first['ctx']['error']} at line {line} column {col}"
            msg = f"request body is not valid JSON: {why}"
            return JSONResponse(error_body(msg, "invalid_request_error"), status_code=400)
        loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        msg = f"{loc}: {first.get('msg', 'invalid request')}" if loc else first.get("msg", "")
        code = "unknown_parameter" if first.get("type") == "extra_forbidden" else None
        return JSONResponse(error_body(msg, "invalid_request_error", code, loc), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        stats.errors += 1
        return JSONResponse(
            error_body(str(exc.detail), "invalid_request_error"),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),  # e.g. Allow on 405
        )

    @app.exception_handler(APIError)
    async def _api(request: Request, exc: APIError):
        stats.errors += 1
        return JSONResponse(error_body(exc.message, exc.type_, exc.code), status_code=exc.status)

    @app.middleware("http")
    async def _log(request: Request, call_next):
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        start = time.perf_counter()
        response = await call_next(request)
        response.headers["x-request-id"] = rid
        ms = round((time.perf_counter() - start) * 1000, 2)
        LOG.info(
            json.dumps(
                {
                    "request_id": rid,
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "ms": ms,
                }
            )
        )
        return response

    def check_key(request: Request) -> None:
        if api_key is None:
            return
        if request.headers.get("authorization", "") != f"Bearer {api_key}":
            raise APIError(
                401, "missing or invalid API key", "authentication_error", "invalid_api_key"
            )

    def start(req: _Sampling, prompt: list[int]):
        if req.model != model_name:
            raise APIError(
                404,
                f"model {req.model!r} does not exist; try {model_name!r}",
                "invalid_request_error",
                "model_not_found",
            )
        if len(prompt) + req.max_tokens > block_size:
            raise APIError(
                400,
                f"prompt ({len(prompt)} tokens) + max_tokens ({req.max_tokens}) exceeds the "
                f"context window of {block_size} tokens",
                "invalid_request_error",
                "context_length_exceeded",
            )
        params = SamplingParams(
            max_new_tokens=req.max_tokens,
            temperature=req.temperature,
            top_p=None if req.top_p >= 1.0 else req.top_p,
            eos_token_id=tokenizer.eos_token_id,
            seed=req.seed,
        )
        try:
            stream = worker.submit(prompt, params)
        except QueueFull as exc:
            raise APIError(429, str(exc), "rate_limit_error", "queue_full") from None
        stats.requests += 1
        return stream

    async def pieces(stream, stops: list[str], info: dict) -> AsyncIterator[str]:
        """Text pieces of a stream, stop strings applied; fills info (finish_reason, tokens)."""
        stopper = StopStream(stops)
        pending = b""  # bytes of an unfinished UTF-8 character (week 08)
        info["tokens"] = 0
        ended = False  # reached the end (eos, length, a stop string) rather than abandoned
        try:
            async for token in stream:
                info["tokens"] += 1
                pending += tokenizer.token_bytes(token)
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
            if not ended:  # the client went away mid-stream
                stats.cancelled += 1
            reason = stream.finish_reason
            info["finish_reason"] = "stop" if stopper.stopped or reason == "eos" else "length"
            latency = time.perf_counter() - stream.submit_time
            ttft = (
                None
                if stream.first_token_time is None
                else stream.first_token_time - stream.submit_time
            )
            stats.observe(latency, ttft)

    async def respond(req: _Sampling, prompt: list[int], stops: list[str], chat: bool):
        stream = start(req, prompt)
        cid = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
        created = int(time.time())
        obj = "chat.completion" if chat else "text_completion"
        info: dict = {}
        if not req.stream:
            text = "".join([p async for p in pieces(stream, stops, info)])
            choice = {"index": 0, "finish_reason": info["finish_reason"], "logprobs": None}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            return JSONResponse(
                {
                    "id": cid,
                    "object": obj,
                    "created": created,
                    "model": model_name,
                    "choices": [choice],
                    "usage": {
                        "prompt_tokens": len(prompt),
                        "completion_tokens": info["tokens"],
                        "total_tokens": len(prompt) + info["tokens"],
                    },
                }
            )

        def chunk(piece: str | None, finish: str | None, first: bool = False) -> str:
            if chat:
                delta = {"role": "assistant"} if first else ({"content": piece} if piece else {})
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
                kind = "chat.completion.chunk"
            else:
                choice = {
                    "index": 0,
                    "text": piece or "",
                    "finish_reason": finish,
                    "logprobs": None,
                }
                kind = "text_completion"
            return sse_event(
                {
                    "id": cid,
                    "object": kind,
                    "created": created,
                    "model": model_name,
                    "choices": [choice],
                }
            )

        async def events():
            if chat:
                yield chunk(None, None, first=True)
            async for piece in pieces(stream, stops, info):
                yield chunk(piece, None)
            yield chunk(None, info["finish_reason"])
            yield sse_event("[DONE]")

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/completions", responses=RESPONSES, dependencies=[Depends(check_key)])
    async def completions(req: CompletionRequest):
        return await respond(req, tokenizer.encode(req.prompt), req.stop_list(), chat=False)

    @app.post("/v1/chat/completions", responses=RESPONSES, dependencies=[Depends(check_key)])
    async def chat_completions(req: ChatRequest):
        messages = [m.model_dump() for m in req.messages]
        try:
            prompt = chat_prompt_ids(messages, tokenizer.encode, block_size - req.max_tokens)
        except ValueError as exc:
            raise APIError(
                400, str(exc), "invalid_request_error", "context_length_exceeded"
            ) from None
        return await respond(req, prompt, req.stop_list() + ["<|im_end|>"], chat=True)

    @app.get("/v1/models", responses={401: RESPONSES[401]}, dependencies=[Depends(check_key)])
    async def models():
        return {
            "object": "list",
            "data": [
                {"id": model_name, "object": "model", "created": 0, "owned_by": "llm-roadmap"}
            ],
        }

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/stats")
    async def get_stats():
        return {
            "requests": stats.requests,
            "errors": stats.errors,
            "cancelled": stats.cancelled,
            "tokens": worker.stats.tokens,
            "queue_length": worker.queue_length(),
            "running": worker.running(),
            "latency_p50": percentile(stats.latencies, 50),
            "latency_p95": percentile(stats.latencies, 95),
            "ttft_p50": percentile(stats.ttfts, 50),
            "ttft_p95": percentile(stats.ttfts, 95),
        }

    return app
