"""Week 18 project: serve the model (API + UI) over a real socket and measure it under load.

Starts the server of `serve.py` (your worker, app and UI through the seam) on 127.0.0.1 in a
background thread, then:
  load.md           throughput, p50/p95 latency and time to first token at 1/8/32 concurrent
                    streaming clients (httpx over the socket; a ~3x+ gain from batching is the point)
  agent.md          agent transcripts: a scripted model on calculator tools, and your served model
                    driving the same loop through the API (a small model mostly fails: that is fine)
  ui.png            the Gradio UI in headless Chromium after one exchange (skipped without
                    /usr/bin/chromium, and in --short runs unless --screenshot)
The model: `--model RUN` (a run directory or a GPT-2-family Hugging Face dir/id), else your newest
run (as `llm-serve` picks it), else the course base (course/base.py, built on first use); `--short`
serves the short course base unless --model is given.
Run: `python tracker.py project 18`. `--short` starts, runs a few requests and a small load table,
and stops.
"""

import asyncio
import json
import os
import threading
import time
from pathlib import Path

import httpx
import torch

from course.base import resolve_base
from roadmap.checking import free_port
from roadmap.impl import load
from roadmap.project import parser, record, setup

from .runtime import CHROMIUM, launch_chromium
from .serve import build, mount_ui, newest_model


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


async def one(client, name, i, max_tokens):
    body = {
        "model": name,
        "prompt": f"Request {i}: once upon a time",
        "max_tokens": max_tokens,
        "temperature": 0.8,
        "seed": i,
        "stream": True,
    }
    t0 = time.perf_counter()
    ttft = None
    async with client.stream("POST", "/v1/completions", json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if line.startswith("data: {") and ttft is None:
                ttft = time.perf_counter() - t0
    return time.perf_counter() - t0, ttft


async def load_level(base, name, clients, requests, max_tokens, headers):
    async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as c:
        sem = asyncio.Semaphore(clients)

        async def guarded(i):
            async with sem:
                return await one(c, name, i, max_tokens)

        t0 = time.perf_counter()
        res = await asyncio.gather(*(guarded(i) for i in range(requests)), return_exceptions=True)
        wall = time.perf_counter() - t0
    ok = [r for r in res if not isinstance(r, BaseException)]
    errors = len(res) - len(ok)
    lat = [r[0] for r in ok]
    ttft = [r[1] for r in ok if r[1] is not None]
    return dict(
        clients=clients,
        requests=requests,
        errors=errors,
        tps=len(ok) * max_tokens / wall,
        p50=percentile(lat, 50),
        p95=percentile(lat, 95),
        ttft50=percentile(ttft, 50),
        ttft95=percentile(ttft, 95),
    )


def agent_transcripts(base, name, headers, short):
    agent = load("week18_serving.agent")
    reg = agent.ToolRegistry()
    num = {"type": "number"}
    reg.register(
        "add",
        "Add two numbers.",
        {"type": "object", "properties": {"a": num, "b": num}, "required": ["a", "b"]},
        lambda a, b: a + b,
    )
    reg.register(
        "multiply",
        "Multiply two numbers.",
        {"type": "object", "properties": {"a": num, "b": num}, "required": ["a", "b"]},
        lambda a, b: a * b,
    )
    script = iter(
        [
            '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}</tool_call>',
            '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>',
            '<tool_call>{"name": "multiply", "arguments": {"a": 5, "b": 7}}</tool_call>',
            "(2 + 3) * 7 = 35",
        ]
    )
    scripted = agent.run_agent(lambda ms: next(script), reg, "What is (2 + 3) * 7?", max_steps=6)
    from openai import OpenAI

    client = OpenAI(
        base_url=base + "/v1", api_key=headers.get("Authorization", "x")[7:] or "x", max_retries=0
    )

    def served(ms):
        try:
            r = client.chat.completions.create(
                model=name, messages=ms, max_tokens=24, temperature=0
            )
        except Exception as exc:  # noqa: BLE001 - e.g. the transcript outgrew the context window
            return f"(the server refused: {exc})"
        return r.choices[0].message.content

    real = agent.run_agent(served, reg, "What is (2 + 3) * 7?", max_steps=2 if short else 4)
    lines = ["# Agent transcripts", ""]
    for title, res in (
        ("Scripted model (recovers from a malformed call)", scripted),
        (f"Served model {name!r} through the API", real),
    ):
        lines += [
            f"## {title}",
            "",
            f"stopped: {res.stopped}, steps: {res.steps}, answer: {res.answer!r}",
            "",
        ]
        for m in res.messages[1:]:
            lines += [f"**{m['role']}**: `{json.dumps(m['content'])[:300]}`", ""]
    return lines, scripted


def screenshot(port, out: Path, api_key: str | None = None) -> str:
    if not CHROMIUM.exists():
        return f"skipped: {CHROMIUM} is not installed"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        page = b.new_page(viewport={"width": 1000, "height": 700})
        page.goto(f"http://127.0.0.1:{port}/ui/", wait_until="domcontentloaded")
        if api_key:  # the UI asks for the key first (serve.UIKeyGate)
            page.locator("input[type=password]").fill(api_key)
            page.locator("input[type=password]").press("Enter")
        box = page.get_by_role("textbox").first
        box.wait_for(timeout=30000)
        box.fill("Hello! Who are you?")
        box.press("Enter")
        page.wait_for_timeout(4000)
        page.screenshot(path=str(out / "ui.png"))
        b.close()
    return f"saved {out / 'ui.png'}"


def main(argv: list[str] | None = None) -> int:
    p = parser(18, "Serve the model with API + UI; load table, agent transcript, UI screenshot.")
    p.add_argument("--model", default=None, help="a run directory (default: your newest run)")
    p.add_argument("--api-key", default=None, help="require this bearer key on /v1")
    p.add_argument("--screenshot", action="store_true", help="take the UI screenshot in --short")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    out = setup(18, args)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    start = time.perf_counter()
    model = args.model
    if model is None and not args.short:
        try:
            model = newest_model()
        except SystemExit:  # no run yet: the course base
            model = None
    if model is None:
        model = resolve_base(None, args.short)
    print(f"serving {model}")
    app, worker, name = build(model, api_key=args.api_key, max_queue=128)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    shot = args.screenshot or not args.short
    if shot:
        app = mount_ui(app, base + "/v1", name, args.api_key)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    try:
        for _ in range(500):
            if server.started:
                break
            time.sleep(0.02)
        levels = [(1, 4), (8, 16), (32, 32)] if args.short else [(1, 8), (8, 32), (32, 96)]
        max_tokens = 16 if args.short else 48
        rows = [asyncio.run(load_level(base, name, c, n, max_tokens, headers)) for c, n in levels]
        lines, scripted = agent_transcripts(base, name, headers, args.short)
        (out / "agent.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        shot_note = (
            screenshot(port, out, args.api_key) if shot else "skipped in --short (use --screenshot)"
        )
        stats = httpx.get(base + "/stats").json()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        worker.stop()
    table = [
        f"# Load test: {name}, {max_tokens} new tokens per request, streaming, 127.0.0.1",
        "",
        f"{torch.get_num_threads()} torch thread(s); engine max_running 32; temperature 0.8.",
        "",
        "| concurrent clients | requests | errors | tokens/s | p50 latency (s) | p95 latency (s) "
        "| TTFT p50 (s) | TTFT p95 (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        table.append(
            f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['tps']:,.0f} | "
            f"{r['p50']:.3f} | {r['p95']:.3f} | {r['ttft50']:.3f} | {r['ttft95']:.3f} |"
        )
    gain = rows[-1]["tps"] / rows[0]["tps"]
    table += [
        "",
        f"Batching gain, 32 clients vs 1: {gain:.1f}x. UI screenshot: {shot_note}.",
        "",
        f"/stats after the run: `{json.dumps(stats)}`",
        "",
    ]
    text = "\n".join(table)
    print(text)
    (out / "load.md").write_text(text, encoding="utf-8")
    errors = sum(r["errors"] for r in rows)
    record(
        18,
        f"serve {rows[-1]['tps']:,.0f} tok/s at 32 clients ({gain:.1f}x of 1) | "
        f"errors {errors} | agent {scripted.stopped} | {time.perf_counter() - start:.0f} s",
        out,
    )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
