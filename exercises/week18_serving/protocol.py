"""The OpenAI request bodies as pydantic models: JSON's types, the documented bounds, no unknown fields.

FastAPI validates every request body with these models before a route runs (the parsed JSON, with
`Model.model_validate`), answers a body that fails with the error handlers of errors.py, and
documents the models in /openapi.json. Pydantic's default "lax" mode converts what it can ("5" ->
5, false -> 0.0): an API that takes `"temperature": false` hides a client's bug, so every field
here takes only its own JSON type. A field the API does not know is an error too, as OpenAI answers
it: a typo like "max_token" must not quietly generate with the default.
Reference: the OpenAI API reference (completions, chat); vLLM's entrypoints/openai/protocol.py.
Check: `python tracker.py check w18.protocol`
"""

from typing import Annotated, Literal

from annotated_types import Interval
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

MAX_TOKENS = 4096  # the most new tokens one request may ask for
MAX_STOPS = 4  # stop strings per request, as OpenAI allows
MAX_SEED = 2**63 - 1  # seeds fit a signed 64-bit integer (torch.Generator.manual_seed)


def stop_strings(stop: str | list[str] | None) -> list[str]:
    """Given: a request's `stop` as a list. Example: None -> [], "x" -> ["x"], ["a", "b"] -> same."""
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else list(stop)


def request_models() -> tuple[type[BaseModel], type[BaseModel]]:
    """(CompletionRequest, ChatRequest): the bodies of POST /v1/completions and /v1/chat/completions.

    Both are pydantic models (FastAPI validates the parsed JSON with `Model.model_validate(obj)`)
    with these fields, each taking only its JSON type:

        model        string, at least 1 character                        required
        max_tokens   integer, 1 <= max_tokens <= MAX_TOKENS (4096)        default 16
        temperature  number, 0 <= temperature <= 2                        default 1.0
        top_p        number, 0 < top_p <= 1                               default 1.0
        stop         a string, a list of at most MAX_STOPS strings, null  default None
        n            integer, only 1                                      default 1
        stream       boolean                                              default False
        seed         integer, 0 <= seed <= MAX_SEED (2**63 - 1), or null  default None

    CompletionRequest adds `prompt` (string, at least 1 character, required); ChatRequest adds
    `messages` (a list of at least one message, required), each message exactly {"role": one of
    "system", "user", "assistant", "tool"; "content": string}.

    JSON's types, not Python's: "5" is not an integer, true is not an integer nor a number (bool is
    an int in Python), 2 is a number (read as 2.0), and 4.0 is an integer (JSON Schema's "integer"
    includes whole numbers written with a fraction; the model then holds the int 4), 4.5 is not.
    A field the models do not know, at any depth ("max_token", a message's "nmae"), is an error
    of pydantic's type "extra_forbidden" (the error handler turns it into code "unknown_parameter").

    Example: CompletionRequest.model_validate({"model": "tiny", "prompt": "Hi", "max_tokens":
    4.0}) has max_tokens == 4 (an int) and temperature == 1.0; the same with "max_tokens": 4097,
    "max_tokens": "5" or "max_token": 5 raises pydantic.ValidationError (the last one with an
    error {"type": "extra_forbidden", "loc": ("max_token",), ...}).

    Returns:
        the two model classes, (CompletionRequest, ChatRequest), named so.
    """
    # TODO(w18.protocol): return the two request models, which accept exactly the bodies the table above allows
    raise NotImplementedError(
        "w18.protocol: write request_models in exercises/week18_serving/protocol.py"
    )
