"""Serve a model: the OpenAI-compatible API and the Gradio chat UI in one process, one command.

    python -m course.week18_serving.serve                      # a tiny random GPT, for a look
    python -m course.week18_serving.serve --model runs/w05     # a week-05/09/11/13 checkpoint
    python -m course.week18_serving.serve --api-key secret --port 8000

The API is at http://HOST:PORT/v1 (try the official client: OpenAI(base_url=..., api_key=...)),
the UI at http://HOST:PORT/ui, /health and /stats beside them. Binds 127.0.0.1 unless --host is
given (0.0.0.0 inside a container). Logs one JSON line per request.

With --api-key, the UI asks for the key first (a form at /ui/login that sets a cookie) and every
path under /ui, Gradio's own API routes included (/ui/gradio_api/run/..., /ui/gradio_api/call/...,
/ui/gradio_api/queue/join, ...), answers 401 without the cookie or `Authorization: Bearer KEY`:
the gate denies by default, so a route a later Gradio adds is closed too. Ctrl-C or SIGTERM stops
the server within 2 s (open streams are cut) and prints "llm-serve: stopped".
"""

import argparse
import gc
import hashlib
import html
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from urllib.parse import parse_qs

import torch

from roadmap.impl import load, set_tree
from solutions.week15_efficient_inference.engine import Engine

from .runtime import ByteTokenizer, load_run, tiny_model


def build(
    model_dir: Path | None,
    *,
    max_queue: int = 64,
    max_batch: int = 32,
    timeout: float = 60.0,
    api_key: str | None = None,
    model_name: str | None = None,
):
    """(app, worker, model name): the worker is started; stop it with worker.stop()."""
    worker_mod = load("week18_serving.worker")
    app_mod = load("week18_serving.app")
    if model_dir is not None:
        model, tok = load_run(model_dir)
        name = model_name or model_dir.name
    else:
        tok = ByteTokenizer()
        model = tiny_model(tok.vocab_size, block_size=1024, n_layer=2, n_embd=64)
        name = model_name or "tiny-random"
    engine = Engine(model, num_blocks=1024, block_size=16, max_running=max_batch)
    worker = worker_mod.EngineWorker(
        engine, max_queue=max_queue, max_batch=max_batch, timeout=timeout
    ).start()
    app = app_mod.create_app(
        worker, tok, model_name=name, block_size=model.config.block_size, api_key=api_key
    )
    return app, worker, name


UI_COOKIE = "llm_ui_key"
LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LLM Roadmap: API key</title></head>
<body style="font-family: sans-serif; max-width: 30em; margin: 4em auto">
<h1>This server needs its API key</h1>
<p>{note}</p>
<form method="post" action="{action}">
<label>API key <input type="password" name="key" autocomplete="current-password" autofocus></label>
<button type="submit">Open the chat</button>
</form></body></html>
"""


class UIKeyGate:
    """ASGI middleware: with an API key, every path under `prefix` needs the key (deny by default).

    Accepted: the cookie set by POST {prefix}/login with the right key (it holds a digest of the
    key, not the key), or `Authorization: Bearer KEY` (for gradio_client and curl). Refused: a GET
    of a page gets the key form (401); any other request 401 in OpenAI's error shape; a websocket is
    closed (1008). Paths outside `prefix` (the API has its own check) pass through untouched.
    """

    def __init__(self, app, api_key: str, prefix: str = "/ui"):
        self.app, self.key, self.prefix = app, api_key, prefix
        self.token = hashlib.sha256(f"llm-roadmap ui key:{api_key}".encode()).hexdigest()

    def _guarded(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def _allowed(self, headers: dict[str, str]) -> bool:
        bearer = headers.get("authorization", "")
        cookies = dict(
            part.strip().split("=", 1)
            for part in headers.get("cookie", "").split(";")
            if "=" in part
        )
        return secrets.compare_digest(bearer, f"Bearer {self.key}") or secrets.compare_digest(
            cookies.get(UI_COOKIE, ""), self.token
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or not self._guarded(scope["path"]):
            return await self.app(scope, receive, send)
        from starlette.requests import Request
        from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["type"] == "http" and scope["path"] == self.prefix + "/login":
            if scope["method"] == "POST":
                body = (await Request(scope, receive).body()).decode("utf-8", errors="replace")
                given = parse_qs(body).get("key", [""])[0]
                if secrets.compare_digest(given, self.key):
                    response = RedirectResponse(self.prefix + "/", status_code=303)
                    response.set_cookie(
                        UI_COOKIE, self.token, path=self.prefix, httponly=True, samesite="strict"
                    )
                    return await response(scope, receive, send)
                page = self._page("That is not this server's API key. Try again.")
                return await HTMLResponse(page, status_code=401)(scope, receive, send)
            page = self._page("Enter the key the server was started with (--api-key).")
            return await HTMLResponse(page, status_code=401)(scope, receive, send)
        if self._allowed(headers):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        if scope["method"] == "GET" and "text/html" in headers.get("accept", ""):
            page = self._page("Enter the key the server was started with (--api-key).")
            return await HTMLResponse(page, status_code=401)(scope, receive, send)
        body = {
            "error": {
                "message": f"missing or invalid API key: {self.prefix} needs the server's key "
                f"(log in at {self.prefix}/login or send 'Authorization: Bearer KEY')",
                "type": "authentication_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        return await JSONResponse(body, status_code=401)(scope, receive, send)

    def _page(self, note: str) -> str:
        return LOGIN_PAGE.format(note=html.escape(note), action=f"{self.prefix}/login")


def mount_ui(app, base_url: str, name: str, api_key: str | None):
    """Mount the Gradio UI at /ui; with `api_key`, behind UIKeyGate (the UI's own client sends
    the key to /v1, so a visitor must prove they have it before the UI will generate)."""
    import gradio as gr
    from openai import OpenAI

    ui = load("week18_serving.ui")
    client = OpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0)
    app = gr.mount_gradio_app(app, ui.build_ui(client, name), path="/ui")
    if api_key:
        app.add_middleware(UIKeyGate, api_key=api_key)
    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="llm-serve", description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=None, help="a run folder with ckpt.pt")
    p.add_argument("--model-name", default=None, help="the id clients ask for")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1 only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--api-key",
        default=os.environ.get("LLM_API_KEY"),
        help="require 'Authorization: Bearer KEY' on /v1 (default $LLM_API_KEY)",
    )
    p.add_argument("--no-ui", action="store_true", help="serve the API only")
    p.add_argument("--max-queue", type=int, default=64)
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    p.add_argument("--impl", choices=("exercises", "solutions"), default=None)
    p.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    args = p.parse_args(argv)
    if args.impl:
        set_tree(args.impl)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    import uvicorn

    app, worker, name = build(
        args.model,
        max_queue=args.max_queue,
        max_batch=args.max_batch,
        timeout=args.timeout,
        api_key=args.api_key or None,
        model_name=args.model_name,
    )
    if not args.no_ui:
        local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        app = mount_ui(app, f"http://{local}:{args.port}/v1", name, args.api_key)
    print(
        f"serving {name!r}: API http://{args.host}:{args.port}/v1"
        + ("" if args.no_ui else f", UI http://{args.host}:{args.port}/ui")
        + " (Ctrl-C stops it)",
        flush=True,
    )
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=1
    )
    # subtle: uvicorn catches SIGINT/SIGTERM, shuts down, then raises the signal again for the
    # previous handler: make SIGTERM raise KeyboardInterrupt too, so both end in the except below
    # (the default SIGTERM action would kill the process before the worker stops and the line prints)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server = uvicorn.Server(config)
        server.run()
    except KeyboardInterrupt:  # the signal that stopped it: a normal end
        # the process is about to exit: spare it the collector's last passes over torch's and
        # Gradio's objects (~2 s of a 2-core machine's time after this line, measured)
        gc.freeze()
    finally:
        worker.stop()
    print("llm-serve: stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
