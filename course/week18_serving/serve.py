"""Serve a model: the OpenAI-compatible API and the Gradio chat UI in one process, one command.

    python -m course.week18_serving.serve                      # a tiny random GPT, for a look
    python -m course.week18_serving.serve --model runs/w05     # a week-05/09/11/13 checkpoint
    python -m course.week18_serving.serve --api-key secret --port 8000

The API is at http://HOST:PORT/v1 (try the official client: OpenAI(base_url=..., api_key=...)),
the UI at http://HOST:PORT/ui, /health and /stats beside them. Binds 127.0.0.1 unless --host is
given (0.0.0.0 inside a container). Logs one JSON line per request.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

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


def mount_ui(app, base_url: str, name: str, api_key: str | None):
    import gradio as gr
    from openai import OpenAI

    ui = load("week18_serving.ui")
    client = OpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0)
    return gr.mount_gradio_app(app, ui.build_ui(client, name), path="/ui")


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
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        worker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
