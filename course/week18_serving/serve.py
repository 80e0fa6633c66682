"""Serve a model: the OpenAI-compatible API and the Gradio chat UI in one process, one command.

    llm-serve                                   # your newest model (see below), and says which
    llm-serve --model runs/capstone/dpo/run     # a run (course/runs.py) or a GPT-2-family HF dir
    llm-serve --model runs/week11_sft --int8    # the same run with week 14's Int8Linear layers
    llm-serve --gguf runs/capstone/quantize/model-Q8_0.gguf   # a GGUF file through llama.cpp
    llm-serve --random                          # a tiny random byte model, for a look
    llm-serve --api-key secret --port 8000

With no --model, llm-serve serves the learner's newest model: the capstone's final stage
(runs/capstone/dpo/run) when it exists, else the newest run under runs/ ($LLM_RUNS_DIR if set;
week 09's trainer, the course base and the weeks' projects each write one). A random model is
served only with --random, and then /v1/models ("random_weights": true) and the UI say so
plainly. An answer ends at the tokenizer's end of turn: <|im_end|> for a chat tokenizer, else
<|endoftext|> (--eos TOKEN: another).

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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import torch

from course.runs import RunError, find_runs, is_run, load_run, read_card
from roadmap import ROOT
from roadmap.impl import load, set_tree
from solutions.week15_efficient_inference.engine import Engine

from .runtime import ByteTokenizer, tiny_model

RANDOM_NOTE = (
    "**Random weights.** This model was never trained: it shows the server, and its answers are "
    "noise. Serve a model you trained with `llm-serve --model RUN` (or plain `llm-serve` once "
    "you have one: `python tracker.py capstone --short` makes one in a minute)."
)
NO_MODEL = """llm-serve: no trained model under {root} yet, and --random was not given.
  Make one:  python tracker.py capstone --short      (every stage, about a minute)
             python -m course.base --short           (the course base, seconds)
  Or look at the server with a random model:  llm-serve --random"""


@dataclass
class Served:
    """What a server serves: the engine, its tokenizer, the id clients ask for, what to tell."""

    engine: object
    tok: object
    name: str
    info: dict = field(default_factory=dict)  # extra fields of its /v1/models entry
    note: str | None = None  # shown above the chat in the UI


def newest_model(runs_root: Path | None = None) -> Path:
    """The learner's newest model: the capstone's final stage, else the newest run under runs/.

    Raises:
        SystemExit: no run at all (the message says how to make one, or to ask for --random).
    """
    root = runs_root or Path(os.environ.get("LLM_RUNS_DIR") or ROOT / "runs")
    final = root / "capstone" / "dpo" / "run"
    if is_run(final):
        return final
    runs = find_runs(root)
    if not runs:
        raise SystemExit(NO_MODEL.format(root=root))
    return runs[0]


def open_model(
    model: Path | str | None = None,
    *,
    random: bool = False,
    int8: bool = False,
    gguf: Path | None = None,
    eos: str | None = None,
    max_batch: int = 32,
    model_name: str | None = None,
) -> Served:
    """The engine and tokenizer for what the flags name (see the module docstring)."""
    if [random, gguf is not None, model is not None].count(True) > 1:
        raise SystemExit("llm-serve: --model, --gguf and --random each name a model: give one")
    if random:
        tok = ByteTokenizer()
        net = tiny_model(tok.vocab_size, block_size=1024, n_layer=2, n_embd=64)
        info = {"random_weights": True, "description": "random weights: not a trained model"}
        engine = Engine(net, num_blocks=1024, block_size=16, max_running=max_batch)
        return Served(engine, tok, model_name or "tiny-random", info, RANDOM_NOTE)
    if gguf is not None:
        from .llama_backend import LlamaEngine, LlamaTokenizer, load_llama

        llm = load_llama(Path(gguf))
        tok = LlamaTokenizer(llm, eos)
        info = {"format": "gguf", "source": str(gguf), "backend": "llama.cpp"}
        return Served(LlamaEngine(llm), tok, model_name or Path(gguf).stem, info)
    source = model if model is not None else newest_model()
    try:
        net, tok = load_run(source)
    except RunError as e:
        raise SystemExit(f"llm-serve: {e}") from e
    card = read_card(source) if Path(source).is_dir() else {}
    info = {"format": "fp32", "source": str(source)}
    info.update({k: card[k] for k in ("made_by", "base") if card.get(k)})
    if int8:  # week 14: every Linear of the blocks in your Int8Linear (the tied head stays float)
        library = load("week14_quantization.library")
        int8_linear = load("week14_quantization.int8_linear")
        net = library.replace_linears(net, int8_linear.Int8Linear.from_linear).eval()
        info["format"] = "int8"
    if eos is not None:
        if eos not in tok.special_tokens:
            raise SystemExit(f"llm-serve: --eos {eos!r} is not a special token of {source}")
        tok.end_of_turn = eos
    path = Path(source)
    name = model_name or (f"{path.parent.name}-run" if path.name == "run" else path.name)
    engine = Engine(net, num_blocks=1024, block_size=16, max_running=max_batch)
    return Served(engine, tok, name, info)


def build(
    model_dir: Path | str | None = None,
    *,
    random: bool = False,
    int8: bool = False,
    gguf: Path | None = None,
    eos: str | None = None,
    max_queue: int = 64,
    max_batch: int = 32,
    timeout: float = 60.0,
    api_key: str | None = None,
    model_name: str | None = None,
):
    """(app, worker, model name): the worker is started; stop it with worker.stop().
    app.state.ui_note is what the UI shows above the chat (the random model's warning)."""
    served = open_model(
        model_dir, random=random, int8=int8, gguf=gguf, eos=eos, max_batch=max_batch,
        model_name=model_name,
    )  # fmt: skip
    worker_mod = load("week18_serving.worker")
    app_mod = load("week18_serving.app")
    worker = worker_mod.EngineWorker(
        served.engine, max_queue=max_queue, max_batch=max_batch, timeout=timeout
    ).start()
    app = app_mod.create_app(
        worker,
        served.tok,
        model_name=served.name,
        block_size=served.engine.model.config.block_size,
        api_key=api_key,
        model_info=served.info,
    )
    app.state.ui_note = served.note
    return app, worker, served.name


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


def mount_ui(app, base_url: str, name: str, api_key: str | None, note: str | None = None):
    """Mount the Gradio UI at /ui; with `api_key`, behind UIKeyGate (the UI's own client sends
    the key to /v1, so a visitor must prove they have it before the UI will generate). `note`
    (default: app.state.ui_note, which build sets for a random model) shows above the chat."""
    import gradio as gr
    from openai import OpenAI

    ui = load("week18_serving.ui")
    client = OpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0)
    note = note or getattr(app.state, "ui_note", None)
    blocks = ui.build_ui(client, name, note=note) if note else ui.build_ui(client, name)
    app = gr.mount_gradio_app(app, blocks, path="/ui")
    if api_key:
        app.add_middleware(UIKeyGate, api_key=api_key)
    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="llm-serve", description=__doc__.split("\n")[0])
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--model",
        default=None,
        help="a run directory or a GPT-2-family Hugging Face dir/id (default: your newest run)",
    )
    what.add_argument("--gguf", type=Path, default=None, help="a GGUF file, run by llama.cpp")
    what.add_argument("--random", action="store_true", help="a tiny model with random weights")
    p.add_argument("--int8", action="store_true", help="week 14's Int8Linear in every block")
    p.add_argument("--eos", default=None, help="the special token that ends an answer")
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

    if args.int8 and (args.gguf or args.random):
        p.error("--int8 quantizes a run: use it with --model (or the default model)")
    app, worker, name = build(
        args.model,
        random=args.random,
        int8=args.int8,
        gguf=args.gguf,
        eos=args.eos,
        max_queue=args.max_queue,
        max_batch=args.max_batch,
        timeout=args.timeout,
        api_key=args.api_key or None,
        model_name=args.model_name,
    )
    if not args.no_ui:
        local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        app = mount_ui(app, f"http://{local}:{args.port}/v1", name, args.api_key)
    info = app.state.model_info
    what = (
        "RANDOM WEIGHTS (--random): not a trained model"
        if info.get("random_weights")
        else f"{info.get('format')} from {info.get('source')}"
        + (f" (made by {info['made_by']})" if info.get("made_by") else "")
    )
    print(f"llm-serve: model {name!r}: {what}", flush=True)
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
