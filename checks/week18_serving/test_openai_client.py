"""Checks for w18.api with the official `openai` client on the real engine worker.

Oracle: a plain greedy loop over the model (support.greedy) decoded from bytes; the streamed pieces
must reassemble to the non-streaming text. Once in-process (TestClient as the client's
http_client), once over a real uvicorn socket on 127.0.0.1.
"""

import threading
import time

import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

from course.week18_serving.runtime import ByteTokenizer

from .support import app_for, engine, greedy, model, worker

TOK = ByteTokenizer()


@pytest.fixture(scope="module")
def served():
    m = model()
    w = worker(engine(m))
    app = app_for(w)  # your create_app and run_once first: an untouched stub is todo here,
    w.run_once(wait=0)  # not an exception in the worker's thread
    w.start()
    yield m, w, app
    w.stop()


def expected_text(m, prompt: str, n: int) -> str:
    return TOK.decode(greedy(m, TOK.encode(prompt), n, eos=TOK.eos_token_id))


def check_client(c: OpenAI, m, where: str):
    r = c.completions.create(model="tiny", prompt="Hello", max_tokens=12, temperature=0)
    want = expected_text(m, "Hello", 12)
    assert r.choices[0].text == want, (
        f"{where}: completions.create text {r.choices[0].text!r}, expected the greedy text {want!r}"
    )
    pieces = [
        ch.choices[0].text
        for ch in c.completions.create(
            model="tiny", prompt="Hello", max_tokens=12, temperature=0, stream=True
        )
    ]
    assert "".join(pieces) == want, (
        f"{where}: the stream reassembles to {''.join(pieces)!r}, expected {want!r}"
    )
    msgs = [{"role": "user", "content": "Hi"}]
    r = c.chat.completions.create(model="tiny", messages=msgs, max_tokens=10, temperature=0)
    deltas = [
        ch.choices[0].delta.content or ""
        for ch in c.chat.completions.create(
            model="tiny", messages=msgs, max_tokens=10, temperature=0, stream=True
        )
    ]
    assert "".join(deltas) == r.choices[0].message.content, (
        f"{where}: chat stream {''.join(deltas)!r} != non-streaming {r.choices[0].message.content!r}"
    )
    assert [x.id for x in c.models.list().data] == ["tiny"]


def test_openai_client_in_process(served):
    m, _, app = served
    c = OpenAI(base_url="http://testserver/v1", api_key="none", http_client=TestClient(app))
    check_client(c, m, "in-process")


def test_openai_client_over_a_real_socket(served):
    import uvicorn

    m, _, app = served
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        c = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)
        check_client(c, m, f"uvicorn on 127.0.0.1:{port}")
    finally:
        server.should_exit = True
        t.join(timeout=5)
