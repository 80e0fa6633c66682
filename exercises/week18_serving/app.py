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
    # TODO(w18.api): sort, position (n - 1) * q / 100, interpolate between the two neighbours
    raise NotImplementedError("w18.api: percentile")


def sse_event(data: dict | str) -> str:
    """One Server-Sent Event: "data: " + JSON of `data` (or the string as it is) + "\\n\\n".

    Example: sse_event({"a": 1}) == 'data: {"a": 1}\\n\\n'; sse_event("[DONE]") == "data: [DONE]\\n\\n".
    """
    # TODO(w18.api): 'data: ' + JSON (or the string) + a blank line
    raise NotImplementedError("w18.api: sse_event")


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
    # TODO(w18.api): error handlers, logging middleware, API-key dependency, the five routes, SSE streaming
    raise NotImplementedError("w18.api: create_app")
