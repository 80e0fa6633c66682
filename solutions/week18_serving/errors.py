"""OpenAI's error shape for every error the server answers: bad fields, bad JSON, HTTP errors, API errors.

A client of an OpenAI-compatible server (the official `openai` library, every tool built on it)
reads errors as {"error": {"message", "type", "param", "code"}} and shows the message to a person:
the message must say what is wrong, and `param` which field. FastAPI's own answers differ: 422
with {"detail": [...]} for a body that fails validation, {"detail": "Not Found"} for an HTTP
error, and for a body that is not JSON a "param" holding a character offset. The three handlers
here answer every error in OpenAI's shape, and count it in /stats.
Check: `python tracker.py check w18.errors`
"""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None):
    """Given: OpenAI's error shape."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class APIError(Exception):
    """Given: raise it in a route to answer `status` with OpenAI's error shape."""

    def __init__(self, status: int, message: str, type_: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type_, self.code = status, message, type_, code


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """Where character `offset` of `text` is, as (line, column), both counted from 1.

    Python's json module counts so in its error messages (JSONDecodeError.lineno and .colno):
    a newline ends its line, so the character after it is column 1 of the next line.
    Example: line_and_column('{"a": 1\\n "b"}', 9) == (2, 2) (the space at offset 8 is column 1
    of line 2); line_and_column("x", 0) == (1, 1); offset == len(text) (the end) is allowed.
    """
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)  # rfind is -1 on the first line
    return line, column


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Answer a request that failed validation: 400, type "invalid_request_error".

    Reports the first of exc.errors() (pydantic's error dicts: "type", "loc", "msg", "ctx").
    - A body that is not JSON (type "json_invalid"; its loc is ("body", character offset), the
      JSON decoder's complaint is in ctx["error"], the text in exc.body): message "request body is
      not valid JSON: <complaint> at line L column C" (line_and_column of the offset), param None,
      code None. Example: '{"model": "tiny"\\n "x": 1}' -> "request body is not valid JSON:
      Expecting ',' delimiter at line 2 column 2".
    - Any other error names the field: param is its loc without the leading "body", joined with
      "." ("max_tokens", "messages.0.nmae"; None when nothing is left), the message "<param>:
      <msg>" (just <msg> without a param). An unknown field (type "extra_forbidden") has code
      "unknown_parameter", other errors code None. Example: {"model": "tiny", "prompt": "Hi",
      "foo": 1} -> 400 {"error": {"message": "foo: Extra inputs are not permitted", "type":
      "invalid_request_error", "param": "foo", "code": "unknown_parameter"}}.
    Counts the error: request.app.state.stats.errors += 1.
    """
    request.app.state.stats.errors += 1
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":  # subtle: its loc holds an offset, not a field
        line, column = line_and_column(exc.body or "", first["loc"][-1])
        message = f"request body is not valid JSON: {first['ctx']['error']} at line {line} column {column}"
        return JSONResponse(error_body(message, "invalid_request_error"), status_code=400)
    param = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
    msg = first.get("msg", "invalid request")
    message = f"{param}: {msg}" if param else msg
    code = "unknown_parameter" if first.get("type") == "extra_forbidden" else None
    return JSONResponse(error_body(message, "invalid_request_error", code, param), status_code=400)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Answer an HTTP error (404 for an unknown path, 405 for a wrong method, ...) in OpenAI's shape.

    The status stays exc.status_code; the message is str(exc.detail) ("Not Found"), type
    "invalid_request_error", param and code None; the exception's headers (e.g. `Allow` on a 405)
    are kept. Counts the error: request.app.state.stats.errors += 1.
    Example: GET /v2/nothing -> 404 {"error": {"message": "Not Found", "type":
    "invalid_request_error", "param": None, "code": None}}.
    """
    request.app.state.stats.errors += 1
    return JSONResponse(
        error_body(str(exc.detail), "invalid_request_error"),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def api_error(request: Request, exc: APIError) -> JSONResponse:
    """Answer an APIError a route raised: status exc.status, error_body(message, type_, code).

    param is None. Counts the error: request.app.state.stats.errors += 1.
    Example: APIError(429, "queue full", "rate_limit_error", "queue_full") -> 429 {"error":
    {"message": "queue full", "type": "rate_limit_error", "param": None, "code": "queue_full"}}.
    """
    request.app.state.stats.errors += 1
    return JSONResponse(error_body(exc.message, exc.type_, exc.code), status_code=exc.status)


def add_error_handlers(app: FastAPI) -> None:
    """Given: route every error of `app` through the three handlers above."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(APIError, api_error)
