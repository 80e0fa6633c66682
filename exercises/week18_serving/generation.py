"""Starting a generation: check a request against the served model and its context window, then
hand it to the worker.

A request that cannot run must be refused before anything is queued, with an error the client
can act on: the wrong model name (404), a prompt that leaves no room for max_tokens in the
model's context window (400, "context_length_exceeded"), a full queue (429: try again later). A
request that can run becomes week 15's SamplingParams and a worker submission; its TokenStream
is what the reply reads (streaming.py).
`state` is the app's `app.state` (create_app in app.py sets it): state.worker (an EngineWorker,
week 18), state.tokenizer (encode(str) -> list[int], token_bytes(id) -> bytes, eos_token_id),
state.model_name, state.block_size (the model's context window, in tokens) and state.stats (a
streaming.ServerStats).
Check: `python tracker.py check w18.generation`
"""

from collections.abc import Callable

from solutions.week15_efficient_inference.engine import SamplingParams

from .chat import chat_prompt_ids
from .errors import APIError
from .worker import QueueFull, TokenStream


def chat_prompt(
    messages: list[dict], encode: Callable[[str], list[int]], block_size: int, max_tokens: int
) -> list[int]:
    """The chat's prompt ids: week 11's ChatML of the newest turns that leave room for max_tokens.

    The prompt and the reply share the context window: the prompt gets block_size - max_tokens
    tokens, and chat.chat_prompt_ids drops the oldest turns until it fits (keeping the system
    prompt and the newest turn).
    Example: block_size 128, max_tokens 8: the prompt has at most 120 tokens.

    Raises:
        APIError: 400, type "invalid_request_error", code "context_length_exceeded", a message
            with the word "context", when even the system prompt and the newest turn do not fit
            (chat_prompt_ids raises ValueError then).
    """
    # TODO(w18.generation): return the prompt ids of the newest turns that leave room for max_tokens
    raise NotImplementedError(
        "w18.generation: write chat_prompt in exercises/week18_serving/generation.py"
    )


def start_generation(state, req, prompt: list[int]) -> TokenStream:
    """Check `req` against the served model, submit it to state.worker, return its TokenStream.

    `req` is a validated request (protocol.py: model, max_tokens, temperature, top_p, seed);
    `prompt` its token ids. In this order, each refusal an APIError raised before anything is
    submitted:
    - req.model != state.model_name: 404, type "invalid_request_error", code "model_not_found",
      the message naming the requested model (and the served one).
    - an empty prompt (a tokenizer may drop every character it does not know): 400, type
      "invalid_request_error", code None, the message with the word "prompt".
    - len(prompt) + req.max_tokens > state.block_size: 400, code "context_length_exceeded", the
      message with the word "context" (a prompt that fills the window exactly is fine).
    Then worker.submit(prompt, SamplingParams(max_new_tokens=req.max_tokens,
    temperature=req.temperature, top_p=None when req.top_p is 1.0 (it filters nothing) else
    req.top_p, eos_token_id=state.tokenizer.eos_token_id, seed=req.seed)); a QueueFull from it:
    429, type "rate_limit_error", code "queue_full". An accepted request counts in
    state.stats.requests (refused ones do not).
    Example: model "tiny", block_size 128, prompt [72, 105], max_tokens 126 -> submitted with
    max_new_tokens 126; max_tokens 127 -> APIError(400, ..., "context_length_exceeded").

    Raises:
        APIError: as above.
    """
    # TODO(w18.generation): refuse what cannot run with the documented error, else submit it and return its stream
    raise NotImplementedError(
        "w18.generation: write start_generation in exercises/week18_serving/generation.py"
    )
