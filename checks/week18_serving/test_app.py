"""Checks for w18.api: the router and create_app assembled from the week's pieces: the routes,
the API key, /v1/models with model_info, /stats, request logs, and the whole request path.

Oracles: hand-derived responses. The app runs in-process (Starlette's TestClient) over a fake
worker whose streams replay a scripted byte sequence ("héllo wörld 🙂 STOP tail", one token per
UTF-8 byte, so characters straddle tokens), so every text and finish_reason is known exactly;
numpy.percentile for the percentiles. app.py imports protocol.py's request models, so until
w18.protocol is written these checks are todo too.
"""

import json
import logging

import numpy as np
import pytest
from fastapi.testclient import TestClient

from roadmap.impl import load
from solutions.week11_sft.formatting import render_chatml

from .support import BLOCK, FakeWorker, app_for

TEXT = "héllo wörld 🙂 STOP tail"  # 28 bytes
TOKENS = list(TEXT.encode("utf-8"))


def client(tokens=TOKENS, **kw):
    work = FakeWorker(tokens)
    return TestClient(app_for(work, **kw)), work  # app_for loads app.py: todo until protocol


def sse_data(resp) -> list[str]:
    body = resp.text
    assert body.endswith("data: [DONE]\n\n"), (
        f"a stream must end with 'data: [DONE]\\n\\n', got {body[-60:]!r}"
    )
    events = [e for e in body.split("\n\n") if e]
    for e in events:
        assert e.startswith("data: "), f"SSE event {e!r} does not start with 'data: '"
    return [e[len("data: ") :] for e in events]


def test_percentile_matches_numpy_linear_and_leaves_its_input_alone():
    mod = load("week18_serving.app")  # untouched protocol.py: todo here
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 100):
        xs = rng.exponential(size=n).tolist()
        before = list(xs)
        for q in (0, 5, 50, 95, 100):
            got, want = mod.percentile(xs, q), float(np.percentile(xs, q))
            assert got == pytest.approx(want, rel=1e-9), (
                f"percentile(n={n}, q={q}) = {got}, expected {want} (numpy linear: position "
                "(n - 1) * q / 100 between the sorted values)"
            )
        assert xs == before, (
            "percentile reordered the caller's list (the server's latencies are kept in arrival "
            "order, the last 1000); sort a copy"
        )
    assert mod.percentile([], 50) is None, "percentile([]) must be None"


def test_completion_json_text_usage_and_finish_reason():
    c, work = client()
    r = c.post("/v1/completions", json={"model": "tiny", "prompt": "Hi", "max_tokens": 40})
    assert r.status_code == 200, r.text
    body = r.json()
    ch = body["choices"][0]
    assert ch["text"] == TEXT and ch["finish_reason"] == "length", (
        f"completion: text {ch['text']!r} finish {ch['finish_reason']!r}; expected {TEXT!r} and "
        "'length'; likely cause: bytes decoded one token at a time (keep an unfinished UTF-8 "
        "character's bytes, week 08)"
    )
    assert body["object"] == "text_completion" and body["model"] == "tiny"
    n = len(TOKENS)
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": n, "total_tokens": n + 2}, (
        f"usage {body['usage']}, expected prompt 2 (bytes of 'Hi'), completion {n}"
    )
    prompt, params = work.calls[0]
    assert prompt == [72, 105] and params.max_new_tokens == 40 and params.eos_token_id == 256, (
        f"the worker got prompt {prompt}, max_new_tokens {params.max_new_tokens}, eos "
        f"{params.eos_token_id}; expected [72, 105], 40, tokenizer.eos_token_id 256"
    )


def test_sampling_parameters_reach_the_engine():
    c, work = client()
    c.post(
        "/v1/completions",
        json={
            "model": "tiny",
            "prompt": "Hi",
            "max_tokens": 3,
            "temperature": 0.5,
            "top_p": 0.9,
            "seed": 7,
        },
    )
    c.post(
        "/v1/completions",
        json={"model": "tiny", "prompt": "Hi", "max_tokens": 3, "temperature": 0.0},
    )
    p1, p2 = work.calls[0][1], work.calls[1][1]
    assert (p1.temperature, p1.top_p, p1.seed) == (0.5, 0.9, 7), (
        f"SamplingParams temperature/top_p/seed = {(p1.temperature, p1.top_p, p1.seed)}, expected "
        "(0.5, 0.9, 7)"
    )
    assert p2.temperature == 0.0 and p2.top_p is None, (
        f"temperature 0, top_p default 1.0: got {p2.temperature}, top_p {p2.top_p}; expected "
        "0.0 and None (top_p 1.0 filters nothing)"
    )


def test_stop_strings_cut_the_text_and_finish_with_stop():
    c, _ = client()
    r = c.post(
        "/v1/completions",
        json={"model": "tiny", "prompt": "Hi", "max_tokens": 40, "stop": [" STOP", "zzz"]},
    )
    ch = r.json()["choices"][0]
    assert ch["text"] == "héllo wörld 🙂" and ch["finish_reason"] == "stop", (
        f"stop=[' STOP']: text {ch['text']!r}, finish {ch['finish_reason']!r}; expected "
        "'héllo wörld 🙂' and 'stop' (cut before the stop string, which is not returned)"
    )


def test_eos_finishes_with_stop():
    c, _ = client(tokens=[104, 105, 256, 120])
    r = c.post("/v1/completions", json={"model": "tiny", "prompt": "Hi", "max_tokens": 10})
    ch = r.json()["choices"][0]
    assert ch["text"] == "hi" and ch["finish_reason"] == "stop", (
        f"tokens h, i, eos: text {ch['text']!r}, finish {ch['finish_reason']!r}; expected 'hi' "
        "and 'stop' (OpenAI's name for a natural end: eos)"
    )


def test_streaming_completion_events_reassemble_the_text():
    c, _ = client()
    r = c.post(
        "/v1/completions", json={"model": "tiny", "prompt": "Hi", "max_tokens": 40, "stream": True}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), (
        f"stream=true: status {r.status_code}, content-type {r.headers.get('content-type')}"
    )
    data = sse_data(r)
    chunks = [json.loads(d) for d in data[:-1]]
    text = "".join(ch["choices"][0]["text"] for ch in chunks)
    assert text == TEXT, f"joined SSE texts {text!r}, expected {TEXT!r}"
    assert "\ufffd" not in text and len(chunks) > 5, (
        f"{len(chunks)} events: stream the text piece by piece, never a broken character"
    )
    assert [ch["choices"][0]["finish_reason"] for ch in chunks[-1:]] == ["length"], (
        "the last chunk before [DONE] carries the finish_reason"
    )
    assert all(ch["choices"][0]["finish_reason"] is None for ch in chunks[:-1]), (
        "finish_reason is None in every chunk but the last"
    )


def test_chat_uses_chatml_and_streams_deltas():
    c, work = client()
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    r = c.post("/v1/chat/completions", json={"model": "tiny", "messages": msgs, "max_tokens": 30})
    body = r.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"] == {
        "role": "assistant",
        "content": TEXT,
    }, f"chat completion body {body}"
    want = list(render_chatml(msgs, add_generation_prompt=True).encode())
    assert work.calls[0][0] == want, (
        "chat prompt: expected the ChatML rendering with the generation prompt (week 11), got "
        f"{bytes(work.calls[0][0])!r}"
    )
    r = c.post(
        "/v1/chat/completions",
        json={"model": "tiny", "messages": msgs, "max_tokens": 30, "stream": True},
    )
    chunks = [json.loads(d) for d in sse_data(r)[:-1]]
    assert chunks[0]["object"] == "chat.completion.chunk"
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}, (
        f"first chat chunk delta {chunks[0]['choices'][0]['delta']}, expected {{'role': 'assistant'}}"
    )
    text = "".join(ch["choices"][0]["delta"].get("content", "") for ch in chunks)
    assert text == TEXT, f"joined chat deltas {text!r}, expected {TEXT!r}"


def test_chat_stops_at_im_end():
    c, _ = client(tokens=list(b"ok<|im_end|>\nmore"))
    r = c.post(
        "/v1/chat/completions",
        json={"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 40},
    )
    ch = r.json()["choices"][0]
    assert ch["message"]["content"] == "ok" and ch["finish_reason"] == "stop", (
        f"a reply 'ok<|im_end|>...': got {ch['message']['content']!r} ({ch['finish_reason']}); "
        "expected 'ok' and 'stop' (chat adds '<|im_end|>' to the stop strings)"
    )


def assert_error(r, status, word, code=None):
    assert r.status_code == status, (
        f"expected {status} ({code or word or 'error'}), got {r.status_code}: {r.text[:300]}"
    )
    err = r.json().get("error")
    assert isinstance(err, dict) and {"message", "type", "param", "code"} <= set(err), (
        f"error body {r.json()}: expected OpenAI's shape {{'error': {{message, type, param, code}}}}"
    )
    assert word.lower() in err["message"].lower(), (
        f"error message {err['message']!r} lacks {word!r}"
    )
    if code is not None:
        assert err["code"] == code, f"error code {err['code']!r}, expected {code!r}"


def test_bad_requests_get_400_in_openai_shape_and_nothing_runs():
    c, work = client()
    url = "/v1/completions"
    ok = {"model": "tiny", "prompt": "Hi"}
    assert_error(c.post(url, json={**ok, "max_tokens": -1}), 400, "max_tokens")
    assert_error(c.post(url, json={**ok, "temperature": False}), 400, "temperature")
    assert_error(c.post(url, json={**ok, "temperature": 2.5}), 400, "temperature")
    assert_error(c.post(url, json={**ok, "n": 2}), 400, "n")
    assert_error(c.post(url, json={**ok, "max_tokens": "5"}), 400, "max_tokens")
    assert_error(
        c.post(url, content=b"{not json", headers={"content-type": "application/json"}), 400, "json"
    )
    assert_error(
        c.post(
            url,
            content=b'{"model": "tiny", "prompt": "\xff\xfe"}',
            headers={"content-type": "application/json"},
        ),
        400,
        "",
    )
    assert_error(
        c.post(url, json={**ok, "prompt": "x" * BLOCK}), 400, "context", "context_length_exceeded"
    )
    assert_error(
        c.post(url, json={"model": "gpt-4", "prompt": "Hi"}), 404, "gpt-4", "model_not_found"
    )
    assert work.calls == [], f"invalid requests reached the worker: {len(work.calls)} submits"


def test_a_full_queue_answers_429():
    c, work = client()
    work.full = True
    r = c.post("/v1/completions", json={"model": "tiny", "prompt": "Hi"})
    assert_error(r, 429, "")
    assert r.json()["error"]["type"] == "rate_limit_error", "429 has type rate_limit_error"


def test_api_key_is_required_on_v1_only():
    c, work = client(api_key="sekret")
    body = {"model": "tiny", "prompt": "Hi", "max_tokens": 2}
    chat = {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "sekret"}):
        assert_error(c.post("/v1/completions", json=body, headers=headers), 401, "key")
        assert_error(c.post("/v1/chat/completions", json=chat, headers=headers), 401, "key")
        assert_error(c.get("/v1/models", headers=headers), 401, "key")
    r = c.get("/v1/models")
    assert (r.json()["error"]["type"], r.json()["error"]["code"]) == (
        "authentication_error",
        "invalid_api_key",
    ), (
        f"401 error {r.json()['error']}: expected type 'authentication_error', code 'invalid_api_key'"
    )
    assert work.calls == [], "a request without the API key must not generate anything"
    assert c.get("/health").status_code == 200, "/health never needs the key"
    assert c.get("/stats").status_code == 200, "/stats never needs the key"
    ok = {"Authorization": "Bearer sekret"}
    r = c.post("/v1/completions", json=body, headers=ok)
    assert r.status_code == 200, f"with the right key: {r.status_code} {r.text[:200]}"
    assert c.get("/v1/models", headers=ok).status_code == 200, "/v1/models with the right key"
    c, work = client()  # no key configured: nothing is required
    r = c.post("/v1/completions", json=body)
    assert r.status_code == 200, f"a server without api_key refused a request: {r.status_code}"


def test_models_lists_the_served_model_with_its_model_info():
    c, _ = client(model_name="my-run")
    want = {"id": "my-run", "object": "model", "created": 0, "owned_by": "llm-roadmap"}
    got = c.get("/v1/models").json()
    assert got == {"object": "list", "data": [want]}, f"/v1/models {got}, expected [{want}]"
    info = {"random_weights": True, "description": "random weights", "id": "other", "object": "x"}
    c, _ = client(model_name="my-run", model_info=info)
    entry = c.get("/v1/models").json()["data"][0]
    assert entry.get("random_weights") is True and entry.get("description") == "random weights", (
        f"/v1/models entry {entry}: model_info's fields must be added to the served model's entry"
    )
    assert (entry["id"], entry["object"]) == ("my-run", "model"), (
        f"model_info {{'id': 'other', 'object': 'x'}} changed the entry to {entry}; the four base "
        "fields are always the server's (a client asks for the id it sees)"
    )


def test_stats_reports_the_worker_and_the_percentiles_of_each_list():
    c, work = client()
    work.stats.tokens, work.queued, work.active = 17, 3, 2
    stats = c.app.state.stats
    stats.latencies = [4.0, 1.0, 3.0, 2.0]
    stats.ttfts = [0.5, 0.1, 0.3]
    stats.cancelled = 2
    s = c.get("/stats").json()
    want = {
        "tokens": 17,
        "queue_length": 3,
        "running": 2,
        "cancelled": 2,
        "latency_p50": 2.5,
        "latency_p95": float(np.percentile([4.0, 1.0, 3.0, 2.0], 95)),
        "ttft_p50": 0.3,
        "ttft_p95": float(np.percentile([0.5, 0.1, 0.3], 95)),
    }
    got = {k: s.get(k) for k in want}
    assert got == pytest.approx(want), (
        f"/stats {got}, expected {want}: tokens / queue_length / running from the worker, "
        "cancelled from the app's stats, p50/p95 of stats.latencies and of stats.ttfts (seconds)"
    )


def test_models_health_and_stats():
    c, _ = client()
    assert c.get("/health").json() == {"status": "ok"}
    models = c.get("/v1/models").json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == ["tiny"], models
    s = c.get("/stats").json()
    assert s["requests"] == 0 and s["latency_p50"] is None, f"fresh /stats {s}"
    for _ in range(3):
        c.post("/v1/completions", json={"model": "tiny", "prompt": "Hi", "max_tokens": 3})
    c.post("/v1/completions", json={"model": "tiny", "prompt": "Hi", "max_tokens": 0})
    s = c.get("/stats").json()
    keys = {
        "requests",
        "errors",
        "cancelled",
        "tokens",
        "queue_length",
        "running",
        "latency_p50",
        "latency_p95",
        "ttft_p50",
        "ttft_p95",
    }
    assert keys <= set(s), f"/stats lacks {keys - set(s)}"
    assert s["requests"] == 3 and s["errors"] == 1, (
        f"/stats after 3 good and 1 bad request: requests {s['requests']}, errors {s['errors']}"
    )
    assert 0 <= s["latency_p50"] <= s["latency_p95"] and s["ttft_p50"] is not None, s
    assert 0 <= s["ttft_p50"] <= s["ttft_p95"] and s["ttft_p50"] <= s["latency_p95"], (
        f"/stats ttft_p50 {s['ttft_p50']}, ttft_p95 {s['ttft_p95']}, latency_p95 "
        f"{s['latency_p95']}: time to the first token is measured from when the request arrives, "
        "so it is >= 0 and never longer than the whole request"
    )


def test_request_ids_are_echoed_and_logged_as_json(caplog):
    c, _ = client(api_key="k")
    with caplog.at_level(logging.INFO, logger="llm_serve"):
        r = c.get("/health?probe=1", headers={"x-request-id": "abc123"})
        r2 = c.get("/health")
        r3 = c.get("/v1/models", headers={"x-request-id": "no-key"})
    assert r.headers.get("x-request-id") == "abc123", "echo the client's x-request-id"
    rid = r2.headers.get("x-request-id")
    assert rid and rid != "abc123", "a request without x-request-id gets a fresh id"
    assert r3.status_code == 401 and r3.headers.get("x-request-id") == "no-key", (
        f"an error response (401) carries x-request-id {r3.headers.get('x-request-id')!r}; "
        "expected 'no-key': every response gets the header"
    )
    lines = [json.loads(rec.getMessage()) for rec in caplog.records if rec.name == "llm_serve"]
    assert [ln.get("request_id") for ln in lines] == ["abc123", rid, "no-key"], (
        f"log lines {lines}: expected one JSON line per request with its request_id"
    )
    first, last = lines[0], lines[2]
    assert (first["method"], first["path"], first["status"]) == ("GET", "/health", 200), (
        f"log line {first}: expected method GET, path '/health' (no query string), status 200"
    )
    assert last["status"] == 401 and last["path"] == "/v1/models", (
        f"log line {last}: the status logged is the response's (401)"
    )
    assert all(isinstance(ln["ms"], int | float) and 0 <= ln["ms"] < 60_000 for ln in lines), (
        f"'ms' values {[ln['ms'] for ln in lines]}: milliseconds as a number"
    )


def test_chat_memory_truncates_long_conversations():
    c, work = client()
    msgs = [{"role": "system", "content": "S"}]
    for i in range(10):
        msgs += [
            {"role": "user", "content": f"question {i} " * 3},
            {"role": "assistant", "content": f"answer {i} " * 3},
        ]
    msgs.append({"role": "user", "content": "last"})
    r = c.post("/v1/chat/completions", json={"model": "tiny", "messages": msgs, "max_tokens": 8})
    assert r.status_code == 200, r.text[:300]
    prompt = bytes(work.calls[0][0]).decode()
    assert prompt.startswith("<|im_start|>system\nS<|im_end|>") and "last" in prompt, (
        "truncated chat: keep the system prompt and the newest turn"
    )
    assert len(work.calls[0][0]) + 8 <= BLOCK and "question 0" not in prompt, (
        f"prompt of {len(work.calls[0][0])} tokens + 8 must fit block_size {BLOCK}, oldest dropped"
    )


def test_unknown_fields_get_400_naming_the_field_and_nothing_runs():
    """OpenAI answers 400 for a field it does not know; a silently ignored typo ("max_token")
    would generate with the default instead. The request models forbid extras; the handler must
    name the field in param and say code "unknown_parameter"."""
    c, work = client()
    cases = (
        ("/v1/completions", {"model": "tiny", "prompt": "Hi", "max_token": 5}, "max_token"),
        (
            "/v1/chat/completions",
            {"model": "tiny", "messages": [{"role": "user", "content": "x", "nmae": "a"}]},
            "messages.0.nmae",
        ),
    )
    for url, body, field in cases:
        r = c.post(url, json=body)
        assert_error(r, 400, field)
        err = r.json()["error"]
        assert (err["type"], err["param"], err["code"]) == (
            "invalid_request_error",
            field,
            "unknown_parameter",
        ), (
            f"POST {url} with the unknown field {field!r}: type/param/code "
            f"{(err['type'], err['param'], err['code'])}, expected ('invalid_request_error', "
            f"{field!r}, 'unknown_parameter'); likely cause: param is not the field's path without "
            "'body', or pydantic's 'extra_forbidden' error is not given the code"
        )
    assert work.calls == [], f"requests with unknown fields reached the worker: {work.calls}"


def test_malformed_json_names_the_problem_with_line_and_column_not_an_offset():
    """The body below breaks on line 2: after '"Hi"' a ',' is missing. Python's json module (the
    oracle) says where: line 2, column 17 (counted from 1). FastAPI's error carries only the
    character offset (34): reporting it as param "34" tells a client nothing."""
    text = '{"model": "tiny",\n "prompt": "Hi" "max_tokens": 3}'
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        want = f"request body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
    c, work = client()
    r = c.post(
        "/v1/completions", content=text.encode(), headers={"content-type": "application/json"}
    )
    assert_error(r, 400, "json")
    err = r.json()["error"]
    assert err["message"] == want and err["param"] is None, (
        f"malformed JSON {text!r}: message {err['message']!r}, param {err['param']!r}; expected "
        f"{want!r} and param None; likely cause: pydantic's 'json_invalid' error handled like a "
        "field's (its loc holds the character offset, not a field: count the line and column in "
        "exc.body)"
    )
    assert work.calls == []


def _asgi_stream_then_disconnect(app, body: dict) -> list[dict]:
    """POST `body` to /v1/completions with stream true over raw ASGI; the client reads the first
    piece of the body, then disconnects (what a closed browser tab or a Ctrl-C does)."""
    import asyncio

    async def go():
        first = asyncio.Event()
        inbox = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]
        sent = []

        async def receive():
            if inbox:
                return inbox.pop(0)
            await first.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)
            if message["type"] == "http.response.body" and message.get("body"):
                first.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/completions",
            "raw_path": b"/v1/completions",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await asyncio.wait_for(app(scope, receive, send), timeout=5)
        return sent

    return asyncio.run(go())


def test_stats_counts_a_client_that_disconnects_mid_stream_and_nothing_else():
    """Three streams: one runs to max_tokens, one stops at a stop string (the app closes it
    itself), one loses its client after the first piece. Only the last is a cancellation."""
    work = FakeWorker(TOKENS, finish=None)  # streams stay open after the scripted tokens
    app = app_for(work)
    c = TestClient(app)
    done = FakeWorker(TOKENS)
    c_done = TestClient(app_for(done))
    r1 = c_done.post(
        "/v1/completions", json={"model": "tiny", "prompt": "Hi", "max_tokens": 5, "stream": True}
    )
    r2 = c.post(
        "/v1/completions",
        json={"model": "tiny", "prompt": "Hi", "max_tokens": 40, "stream": True, "stop": "STOP"},
    )
    assert r1.status_code == r2.status_code == 200, (r1.text[:200], r2.text[:200])
    s1, s2 = c_done.get("/stats").json(), c.get("/stats").json()
    assert "cancelled" in s1, f"/stats {s1} lacks 'cancelled'"
    assert s1["cancelled"] == 0 and s2["cancelled"] == 0, (
        f"/stats cancelled {s1['cancelled']} after a stream that ran to max_tokens, "
        f"{s2['cancelled']} after one cut by a stop string; expected 0 and 0 (an end is not a "
        "cancellation; likely cause: counting every stream.close())"
    )
    sent = _asgi_stream_then_disconnect(app, {"model": "tiny", "prompt": "Hi", "stream": True})
    assert any(m.get("body") for m in sent if m["type"] == "http.response.body"), (
        f"the streaming request sent no body before the client left: {sent[:2]}"
    )
    s = c.get("/stats").json()
    assert s["cancelled"] == 1 and len(work.closed) == 2, (
        f"a client disconnected mid-stream: /stats cancelled {s['cancelled']}, streams closed "
        f"{len(work.closed)}; expected cancelled 1 and both open streams closed (the stop string's "
        "and the abandoned one); likely cause: nothing counts the stream that ends because its "
        "client went away (the generator is closed or cancelled before its end: count it in the "
        "finally that closes the stream)"
    )
