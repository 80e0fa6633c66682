"""Checks for w18.errors: every error in OpenAI's shape, naming the field or the JSON problem.

The handlers run in a small FastAPI app built here (add_error_handlers, one route with a strict
body model, one raising APIError, one raising an HTTPException with a header), so these checks
need none of the week's other pieces. Oracles: Python's json module for line and column
(JSONDecodeError computes both from an offset), hand-written expected bodies.
"""

import json
import random
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from roadmap.impl import load

mod = load("week18_serving.errors")


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(strict=True)
    content: str = Field(strict=True)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_tokens: int = Field(16, strict=True, ge=1)
    messages: list[Message] = []


def client() -> tuple[TestClient, SimpleNamespace]:
    app = FastAPI()
    app.state.stats = SimpleNamespace(errors=0)
    mod.add_error_handlers(app)

    @app.post("/v1/x")
    async def x(body: Body):
        return {"ok": True}

    @app.get("/full")
    async def full():
        raise mod.APIError(429, "42 requests are already waiting", "rate_limit_error", "queue_full")

    @app.get("/teapot")
    async def teapot():
        raise HTTPException(418, "I'm a teapot", headers={"X-Tea": "earl grey"})

    return TestClient(app), app.state.stats


def post(c, text: str):
    return c.post("/v1/x", content=text.encode(), headers={"content-type": "application/json"})


def error_of(r, status: int) -> dict:
    assert r.status_code == status, f"expected status {status}, got {r.status_code}: {r.text[:300]}"
    body = r.json()
    err = body.get("error") if isinstance(body, dict) else None
    assert isinstance(err, dict) and set(err) == {"message", "type", "param", "code"}, (
        f"error body {body}: expected OpenAI's shape {{'error': {{message, type, param, code}}}}"
    )
    return err


def test_line_and_column_count_as_pythons_json_module_does():
    """JSONDecodeError(msg, doc, pos) computes lineno and colno from pos: the oracle, for every
    offset of texts with empty lines, a newline first and a newline last."""
    rng = random.Random(0)
    texts = ["x", "\n", '{"a": 1\n "b"}', "\n\nab\n", "ab\n\ncd"]
    texts += ["".join(rng.choice("ab\n") for _ in range(n)) for n in (7, 13, 30)]
    for text in texts:
        for offset in range(len(text) + 1):
            got = mod.line_and_column(text, offset)
            e = json.JSONDecodeError("", text, offset)
            assert tuple(got) == (e.lineno, e.colno), (
                f"line_and_column({text!r}, {offset}) = {got}, expected ({e.lineno}, {e.colno}) "
                "(both from 1; the character after a newline is column 1 of the next line); "
                "likely cause: counting newlines after the offset, or a column off by one"
            )


def test_a_bad_field_answers_400_with_param_the_fields_path():
    c, _ = client()
    for text, param in (
        ('{"max_tokens": 0}', "max_tokens"),
        ('{"max_tokens": "5"}', "max_tokens"),
        ('{"messages": [{"role": "user", "content": 5}]}', "messages.0.content"),
        (
            '{"messages": [{"role": "user", "content": "a"}, {"role": "user"}]}',
            "messages.1.content",
        ),
    ):
        err = error_of(post(c, text), 400)
        assert (err["type"], err["param"], err["code"]) == ("invalid_request_error", param, None), (
            f"body {text}: type/param/code {(err['type'], err['param'], err['code'])}, expected "
            f"('invalid_request_error', {param!r}, None); likely cause: param keeps 'body' or is "
            "not the loc joined with '.'"
        )
        assert err["message"].startswith(f"{param}: ") and len(err["message"]) > len(param) + 3, (
            f"body {text}: message {err['message']!r}; expected '{param}: <pydantic's msg>'"
        )


def test_a_body_error_without_a_field_has_param_none():
    """No body at all: pydantic's loc is just ("body",), so nothing names a field."""
    c, _ = client()
    err = error_of(c.post("/v1/x"), 400)
    assert err["param"] is None and err["message"] and not err["message"].startswith(":"), (
        f"a request without a body: param {err['param']!r}, message {err['message']!r}; expected "
        "param None and pydantic's msg alone"
    )
    err = error_of(post(c, "[1, 2]"), 400)
    assert err["param"] is None, f"a JSON list as the body: param {err['param']!r}, expected None"


def test_an_unknown_field_has_code_unknown_parameter_at_every_depth():
    c, _ = client()
    for text, param in (
        ('{"max_token": 5}', "max_token"),
        ('{"messages": [{"role": "user", "content": "x", "nmae": "a"}]}', "messages.0.nmae"),
    ):
        err = error_of(post(c, text), 400)
        assert (err["param"], err["code"]) == (param, "unknown_parameter"), (
            f"body {text}: param/code {(err['param'], err['code'])}, expected ({param!r}, "
            "'unknown_parameter'); likely cause: pydantic's 'extra_forbidden' error is not given "
            "the code"
        )
        assert param in err["message"], f"the message {err['message']!r} must name {param!r}"


@pytest.mark.parametrize(
    "text",
    [
        '{"max_tokens": 3',
        '{"max_tokens": 3,\n}',
        '{"max_tokens": 3,\n "messages": []\n "x": 1}',
        '\n\n  {"a" 1}',
        "{not json",
    ],
)
def test_malformed_json_names_the_problem_with_line_and_column(text):
    """Python's json module says where each body breaks (line, column, from 1); FastAPI's error
    carries only the character offset, which means nothing to a person."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        want = f"request body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
    c, _ = client()
    err = error_of(post(c, text), 400)
    assert (err["message"], err["param"], err["code"]) == (want, None, None), (
        f"malformed JSON {text!r}: message/param/code {(err['message'], err['param'], err['code'])}"
        f", expected ({want!r}, None, None); likely cause: pydantic's 'json_invalid' error handled "
        "like a field's (its loc holds the character offset, not a field) or the line and column "
        "counted differently from Python's json module"
    )
    assert err["type"] == "invalid_request_error"


def test_http_errors_keep_their_status_and_headers():
    c, _ = client()
    err = error_of(c.get("/nothing/here"), 404)
    assert err == {
        "message": "Not Found",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }, f"GET of an unknown path: {err}"
    r = c.get("/v1/x")
    err = error_of(r, 405)
    assert "POST" in r.headers.get("allow", ""), (
        f"405 Method Not Allowed: headers {dict(r.headers)}; expected the exception's Allow header "
        "kept (likely cause: the handler drops exc.headers)"
    )
    r = c.get("/teapot")
    err = error_of(r, 418)
    assert err["message"] == "I'm a teapot" and r.headers.get("x-tea") == "earl grey", (
        f"HTTPException(418, 'I'm a teapot', headers={{'X-Tea': ...}}): message {err['message']!r}"
        f", X-Tea {r.headers.get('x-tea')!r}; expected both kept"
    )
    r = c.post(
        "/v1/x", content=b'{"max_tokens": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    error_of(r, 400)  # not UTF-8: FastAPI raises an HTTPException(400)


def test_an_api_error_answers_its_own_status_type_and_code():
    c, _ = client()
    err = error_of(c.get("/full"), 429)
    want = {
        "message": "42 requests are already waiting",
        "type": "rate_limit_error",
        "param": None,
        "code": "queue_full",
    }
    assert err == want, f"APIError(429, ...): error {err}, expected {want}"


def test_every_error_response_counts_once_in_stats():
    c, stats = client()
    assert post(c, '{"max_tokens": 2}').status_code == 200, "a valid body must pass"
    assert stats.errors == 0, f"a successful request counted as an error ({stats.errors})"
    post(c, '{"max_tokens": 0}')
    post(c, "{not json")
    c.get("/nothing")
    c.get("/full")
    assert stats.errors == 4, (
        f"after 4 error responses (a bad field, bad JSON, 404, an APIError) stats.errors is "
        f"{stats.errors}; expected 4 (each handler counts its own: request.app.state.stats)"
    )
