"""Checks for w18.project's server command (`llm-serve`): the API key guards the UI, shutdown is quick.

Own file, outside the 10 s budget (~30-40 s: a Gradio mount, a browser, two server processes).
- With --api-key, every route under /ui refuses a request without the key (401), Gradio's own API
  routes included: the check lists the mounted Gradio app's routes and calls each one (httpx via
  Starlette's TestClient, in-process), so a route a later Gradio adds is covered too.
- In headless Chromium (/usr/bin/chromium), /ui shows the key form, not the chat; a wrong key is
  refused; the right key opens the chat, which streams a reply.
- `python -m course.week18_serving.serve` stops within 2 s of SIGINT (an open stream) and of SIGTERM
  (with the UI), printing "llm-serve: stopped".
Each check calls your create_app (and ui.history_to_messages) first, so untouched stubs are todo at
once.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from course.week18_serving.runtime import CHROMIUM, launch_chromium
from roadmap import ROOT
from roadmap.checking import busy_factor, free_port, learner_first
from roadmap.impl import current_tree, load

from .support import FakeWorker, app_for
from .test_ui_browser import unlimited_address_space  # noqa: F401 - a fixture

KEY = "s3cret"
REPLY = "Only for key holders."


def guarded_app(work):
    """The app (your create_app) with the UI mounted behind the key, as llm-serve builds it."""
    app = app_for(work, api_key=KEY, block_size=1024)  # a stub raises here: todo
    learner_first(load("week18_serving.ui").history_to_messages, "Hi", [])
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from course.week18_serving.serve import mount_ui

    return mount_ui(app, "http://127.0.0.1:9/v1", "tiny", KEY)


def _walk(routes, prefix: str):
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI 0.16x keeps an included router whole
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "path"):
            yield prefix + route.path, getattr(route, "methods", None) or {"GET"}


def gradio_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route of the Gradio app mounted at /ui, path parameters filled."""
    mount = next(r for r in app.routes if getattr(r, "path", None) == "/ui")
    out = []
    for path, methods in _walk(mount.app.routes, "/ui"):
        for method in sorted(methods - {"HEAD"}):
            out.append((method, re.sub(r"\{[^}]+\}", "x", path)))
    return sorted(set(out))


def answer_within(client, method: str, path: str, headers: dict, seconds: float):
    """The status of one request, or a note when none came in `seconds` (an open event stream)."""
    got = []

    def call():
        try:
            got.append(
                client.request(method, path, headers=headers, json={"data": ["Hi"]}).status_code
            )
        except Exception as exc:  # noqa: BLE001 - an open route that broke is still open
            got.append(type(exc).__name__)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(seconds)
    return got[0] if got else f"no answer in {seconds} s (it streams: open)"


def test_every_ui_route_refuses_a_request_without_the_api_key():
    work = FakeWorker(list(REPLY.encode()))
    app = guarded_app(work)
    routes = gradio_routes(app)
    generating = {
        ("POST", "/ui/gradio_api/run/x"),
        ("POST", "/ui/gradio_api/call/x"),
        ("POST", "/ui/gradio_api/queue/join"),
    }
    assert generating <= set(routes), (
        f"the Gradio mount lacks routes this check expects: {sorted(generating - set(routes))}"
    )
    c = TestClient(app, raise_server_exceptions=False)  # an open route reports its status
    open_ = []
    for method, path in routes + [("GET", "/ui"), ("POST", "/ui/gradio_api/run/chat")]:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            status = answer_within(c, method, path, headers, seconds=5)
            if status != 401:
                open_.append(f"{method} {path} {headers or ''} -> {status}")
                if len(open_) >= 8:  # enough to tell; an open Gradio stream may never end
                    break
    assert not open_, (
        f"with --api-key, {len(open_)} UI route(s) answered without the key (expected 401 for "
        f"every one): {open_[:8]}; likely cause: the UI is mounted without serve.UIKeyGate"
    )
    assert work.calls == [], f"refused UI requests reached the worker: {work.calls}"
    r = c.get("/ui/gradio_api/info", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200, (
        f"GET /ui/gradio_api/info with 'Authorization: Bearer <key>': {r.status_code}, expected 200"
    )
    r = c.post("/ui/login", data={"key": "wrong"}, follow_redirects=False)
    assert r.status_code == 401 and "not this server" in r.text, (
        f"POST /ui/login with a wrong key: {r.status_code}, expected 401 and the form again"
    )
    r = c.post("/ui/login", data={"key": KEY}, follow_redirects=False)
    assert r.status_code == 303 and "HttpOnly" in r.headers.get("set-cookie", ""), (
        f"POST /ui/login with the key: {r.status_code} {r.headers.get('set-cookie')}, expected 303 "
        "to /ui/ and an HttpOnly cookie"
    )
    assert KEY not in r.headers["set-cookie"], "the UI cookie must not hold the key itself"
    assert c.get("/ui/gradio_api/info").status_code == 200, "the login cookie opens the UI's routes"


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no browser: /usr/bin/chromium is not installed (apt-get install -y chromium)",
)
def test_the_ui_asks_for_the_key_in_a_real_browser(unlimited_address_space):  # noqa: F811
    import uvicorn
    from playwright.sync_api import sync_playwright

    work = FakeWorker(list(REPLY.encode()))
    app_for(work, api_key=KEY)  # your create_app first: a stub is todo before any server starts
    learner_first(load("week18_serving.ui").history_to_messages, "Hi", [])
    from course.week18_serving.serve import mount_ui

    port = free_port()
    app = mount_ui(
        app_for(work, api_key=KEY, block_size=1024), f"http://127.0.0.1:{port}/v1", "tiny", KEY
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    out = ROOT / "reports" / "week18"
    out.mkdir(parents=True, exist_ok=True)
    try:
        for _ in range(500):
            if server.started:
                break
            time.sleep(0.02)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.goto(f"http://127.0.0.1:{port}/ui/", wait_until="domcontentloaded")
            key_box = page.locator("input[type=password]")
            key_box.wait_for(timeout=10000)
            assert page.get_by_text("Only for key holders").count() == 0
            status = page.evaluate(
                """async () => (await fetch('/ui/gradio_api/run/chat', {method: 'POST',
                headers: {'content-type': 'application/json'},
                body: JSON.stringify({data: ['Hi']})})).status"""
            )
            assert status == 401, (
                f"fetch('/ui/gradio_api/run/chat') from the page before the key: {status}, "
                "expected 401"
            )
            key_box.fill("wrong")
            key_box.press("Enter")
            page.get_by_text("not this server's API key").wait_for(timeout=10000)
            page.locator("input[type=password]").fill(KEY)
            page.locator("input[type=password]").press("Enter")
            box = page.get_by_role("textbox").first
            box.wait_for(timeout=30000)
            box.fill("Hello there")
            box.press("Enter")
            try:
                page.get_by_text(REPLY).first.wait_for(timeout=30000)
            finally:
                page.screenshot(path=str(out / "ui_key_check.png"))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert len(work.calls) == 1, (
        f"the worker got {len(work.calls)} requests; expected 1 (the message sent after the key)"
    )


def _serve_then_signal(sig: int, extra: list[str], stream: bool) -> tuple[float, str, int]:
    """Start llm-serve, wait for /health, optionally open a long stream, send `sig`; return
    (seconds from the signal to the process's exit, its output, its exit code)."""
    port = free_port()
    cmd = [sys.executable, "-m", "course.week18_serving.serve", "--port", str(port)]
    cmd += ["--random", "--api-key", KEY, "--impl", current_tree(), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert proc.poll() is None, f"llm-serve exited at start:\n{proc.stdout.read()[-2000:]}"
        if stream:
            body = {"model": "tiny-random", "prompt": "x", "max_tokens": 1000, "stream": True}
            headers = {"Authorization": f"Bearer {KEY}"}
            client = httpx.Client(base_url=base, timeout=30)
            r = client.send(
                client.build_request("POST", "/v1/completions", json=body, headers=headers),
                stream=True,
            )
            next(r.iter_lines())  # a stream is open and running
        start = time.monotonic()
        proc.send_signal(sig)
        try:
            output, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        return time.monotonic() - start, output, proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_llm_serve_stops_within_2_s_and_says_so():
    app_for(FakeWorker([]))  # your create_app first: a stub is todo before any process starts
    for sig, extra, stream in ((signal.SIGINT, ["--no-ui"], True), (signal.SIGTERM, [], False)):
        seconds, output, code = _serve_then_signal(sig, extra, stream)
        name = signal.Signals(sig).name
        limit = 2.0 * busy_factor()  # 2 s on a quiet machine
        assert "llm-serve: stopped" in output and seconds <= limit, (
            f"llm-serve {' '.join(extra)} after {name}"
            f"{' with a stream open' if stream else ''}: exited after {seconds:.2f} s (exit code "
            f"{code}); expected the line 'llm-serve: stopped' within {limit:.1f} s; "
            f"output:\n{output[-1500:]}"
        )
        assert "RANDOM WEIGHTS" in output, f"--random must say so at start:\n{output[-1500:]}"
