"""An OpenAI-compatible HTTP server on the engine worker: the routes, the API key, /stats, request logs.

Routes (the official `openai` client works against them):
    POST /v1/completions        {"model", "prompt", "max_tokens", "temperature", "top_p", "stop",
                                 "n", "stream", "seed"}
    POST /v1/chat/completions   the same with "messages" instead of "prompt"
    GET  /v1/models             the one served model
    GET  /health                {"status": "ok"}; never needs the API key
    GET  /stats                 requests, errors, tokens, queue, latency percentiles
The routes live on one module-level APIRouter and read what they need from `request.app.state`
(set by create_app): worker, tokenizer, model_name, block_size, api_key, model_info, stats. The
pieces they use are this week's other exercises: protocol.py (the request bodies), errors.py
(OpenAI's error shape), generation.py (starting a generation), streaming.py (text pieces, JSON
and SSE replies). Every response carries an `x-request-id` header, and every request is logged
as one JSON line.
Check: `python tracker.py check w18.api`
"""

import json
import logging
import time
import uuid

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from .errors import APIError, add_error_handlers
from .generation import chat_prompt, start_generation
from .protocol import request_models, stop_strings
from .streaming import ServerStats, completion_body, completion_events, text_pieces
from .worker import EngineWorker, TokenStream

LOG = logging.getLogger("llm_serve")
IM_END = "<|im_end|>"  # ChatML's end of a turn: a chat reply stops there
CompletionRequest, ChatRequest = request_models()  # w18.protocol


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


# --- the exercise -------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0 <= q <= 100) of `values`, None for an empty list.

    numpy.percentile's default ("linear"): with the values sorted, the percentile sits at
    position (n - 1) * q / 100, between the two order statistics around it, linearly. `values`
    is left as it was (the server keeps its latencies in arrival order).
    Example: percentile([1, 2, 3, 4], 50) == 2.5; percentile([3, 1, 2], 100) == 3;
    percentile([5], 95) == 5; percentile([], 50) is None.
    """
    # TODO(w18.api): return numpy's linear percentile of the values (None when there are none)
    raise NotImplementedError("w18.api: write percentile in exercises/week18_serving/app.py")


def check_api_key(request: Request) -> None:
    """The /v1 routes' dependency: with request.app.state.api_key set, require the key.

    Accepted: the header `Authorization: Bearer <api_key>` exactly. Nothing is required when
    api_key is None. Being a dependency, it runs before the route, so a refused request queues
    nothing.
    Example: api_key "s3cret": "Bearer s3cret" passes; no header, "Bearer wrong" or "s3cret"
    raise.

    Raises:
        APIError: 401, type "authentication_error", code "invalid_api_key", a message with the
            words "API key".
    """
    # TODO(w18.api): let a request through only with the server's key, when it has one
    raise NotImplementedError("w18.api: write check_api_key in exercises/week18_serving/app.py")


async def log_requests(request: Request, call_next):
    """HTTP middleware: give every request an id, echo it, and log the request as one JSON line.

    The id is the request's `x-request-id` header if it has one, else a new uuid4 hex. The
    response (whatever call_next(request) returns, errors included) gets the header
    `x-request-id: <id>`; then one line is logged at level INFO on LOG (logger "llm_serve"): the
    JSON of {"request_id", "method", "path" (the URL path, no query), "status" (the response's
    status code), "ms" (milliseconds spent in call_next, a number)}.
    Example: GET /health with x-request-id abc -> response header x-request-id: abc, log line
    {"request_id": "abc", "method": "GET", "path": "/health", "status": 200, "ms": 0.41}.
    """
    # TODO(w18.api): tag the response with the request's id and log the request as one JSON line
    raise NotImplementedError("w18.api: write log_requests in exercises/week18_serving/app.py")


router = APIRouter()


@router.get("/v1/models", responses={401: RESPONSES[401]}, dependencies=[Depends(check_api_key)])
async def list_models(request: Request) -> dict:
    """The served model, as OpenAI lists models (state is request.app.state).

    {"object": "list", "data": [entry]} with entry = {"id": state.model_name, "object": "model",
    "created": 0, "owned_by": "llm-roadmap"} plus every field of state.model_info (a dict, maybe
    empty: what create_app's model_info said, e.g. {"random_weights": True} or {"format":
    "int8"}); model_info cannot change the four fields above.
    Example: model_name "tiny", model_info {"format": "int8", "id": "x"} -> data == [{"id":
    "tiny", "object": "model", "created": 0, "owned_by": "llm-roadmap", "format": "int8"}].
    """
    # TODO(w18.api): list the served model, with its model_info fields
    raise NotImplementedError("w18.api: write list_models in exercises/week18_serving/app.py")


@router.get("/stats")
async def get_stats(request: Request) -> dict:
    """The server's counters (state is request.app.state); never needs the API key.

    {"requests", "errors", "cancelled" (from state.stats), "tokens" (state.worker.stats.tokens),
    "queue_length" (state.worker.queue_length()), "running" (state.worker.running()),
    "latency_p50", "latency_p95" (percentile 50 and 95 of state.stats.latencies, seconds),
    "ttft_p50", "ttft_p95" (of state.stats.ttfts, seconds)}; a percentile is None before any
    request.
    Example: a fresh server -> {"requests": 0, "errors": 0, "cancelled": 0, "tokens": 0,
    "queue_length": 0, "running": 0, "latency_p50": None, ...}.
    """
    # TODO(w18.api): report the counters and the latency percentiles
    raise NotImplementedError("w18.api: write get_stats in exercises/week18_serving/app.py")


# --- given: the generation routes, assembled from the other exercises ---------------------------
@router.get("/health")
async def health() -> dict:
    return {"status": "ok"}


async def reply(request: Request, req, stream: TokenStream, prompt_tokens: int, stops, chat: bool):
    """The reply to a started generation: one JSON object, or Server-Sent Events."""
    state = request.app.state
    info: dict = {}
    pieces = text_pieces(stream, state.tokenizer.token_bytes, stops, state.stats, info)
    if req.stream:
        events = completion_events(pieces, info, chat=chat, model_name=state.model_name)
        return StreamingResponse(events, media_type="text/event-stream")
    body = await completion_body(
        pieces, info, chat=chat, model_name=state.model_name, prompt_tokens=prompt_tokens
    )
    return JSONResponse(body)


@router.post("/v1/completions", responses=RESPONSES, dependencies=[Depends(check_api_key)])
async def completions(req: CompletionRequest, request: Request):
    prompt = request.app.state.tokenizer.encode(req.prompt)
    stream = start_generation(request.app.state, req, prompt)
    return await reply(request, req, stream, len(prompt), stop_strings(req.stop), chat=False)


@router.post("/v1/chat/completions", responses=RESPONSES, dependencies=[Depends(check_api_key)])
async def chat_completions(req: ChatRequest, request: Request):
    state = request.app.state
    messages = [m.model_dump() for m in req.messages]
    prompt = chat_prompt(messages, state.tokenizer.encode, state.block_size, req.max_tokens)
    stream = start_generation(state, req, prompt)
    stops = stop_strings(req.stop) + [IM_END]
    return await reply(request, req, stream, len(prompt), stops, chat=True)


def create_app(
    worker: EngineWorker,
    tokenizer,
    *,
    model_name: str,
    block_size: int,
    api_key: str | None = None,
    model_info: dict | None = None,
) -> FastAPI:
    """Given: the FastAPI app serving `worker` (started by the caller) under `model_name`.

    `tokenizer` has encode(str) -> list[int], token_bytes(id) -> bytes and eos_token_id (int or
    None); `block_size` is the model's context window in tokens; with `api_key`, every /v1 route
    needs `Authorization: Bearer <api_key>`; `model_info`'s fields are added to the model's
    entry in GET /v1/models (e.g. {"random_weights": True, "description": "..."}).
    """
    app = FastAPI(title="llm-roadmap server", version="1.0")
    app.state.worker, app.state.tokenizer = worker, tokenizer
    app.state.model_name, app.state.block_size = model_name, block_size
    app.state.api_key, app.state.model_info = api_key, dict(model_info or {})
    app.state.stats = ServerStats()
    add_error_handlers(app)
    app.middleware("http")(log_requests)
    app.include_router(router)
    return app
