"""Shared helpers of week 18's checks (not a test): a tiny model, a worker, a fake worker, a
scripted token stream, a fake app state."""

import asyncio
from types import SimpleNamespace

import torch

from course.week18_serving.runtime import ByteTokenizer, tiny_model
from roadmap.impl import load
from solutions.week15_efficient_inference.engine import Engine

BLOCK = 128


def model():
    return tiny_model(257, block_size=BLOCK, n_layer=2, n_embd=32, seed=0)


def greedy(m, prompt: list[int], n: int, eos: int | None = None) -> list[int]:
    """Independent oracle: the plain greedy loop, full forward each step."""
    ids = list(prompt)
    out = []
    with torch.no_grad():
        for _ in range(n):
            logits = m(torch.tensor([ids]))[0][0, -1]
            t = int(logits.argmax())
            out.append(t)
            ids.append(t)
            if t == eos:
                break
    return out


def engine(m=None, **kw):
    kw = {"num_blocks": 256, "block_size": 16, "max_running": 32, **kw}
    return Engine(m if m is not None else model(), **kw)


def worker(eng=None, **kw):
    mod = load("week18_serving.worker")
    return mod.EngineWorker(eng if eng is not None else engine(), **kw)


class FakeWorker:
    """Stands in for EngineWorker in app checks: each submit gets the scripted tokens at once.

    Records every (prompt, params); `finish` is the stream's finish reason ("length" default);
    finish=None leaves the stream open after the scripted tokens (a generation still running,
    until the app closes it: its id is then in `closed`).
    """

    def __init__(self, tokens: list[int], finish: str | None = "length"):
        self.tokens, self.finish = tokens, finish
        self.calls = []
        self.streams = []  # the TokenStream of each call
        self.closed = []
        self.full = False
        self.queued, self.active = 0, 0  # what queue_length() and running() report
        self.stats = SimpleNamespace(tokens=0)

    def submit(self, prompt, params):
        wmod = load("week18_serving.worker")
        if self.full:
            raise wmod.QueueFull("full")
        self.calls.append((list(prompt), params))
        stream = wmod.TokenStream(len(self.calls) - 1, self.closed.append)
        reason = self.finish
        for t in self.tokens[: params.max_new_tokens]:
            stream.push(t)
            if t == params.eos_token_id:
                reason = "eos"
                break
        if reason is not None:
            stream.finish(reason)
        self.streams.append(stream)
        return stream

    def queue_length(self):
        return self.queued

    def running(self):
        return self.active


def app_for(work, *, api_key=None, tok=None, block_size=BLOCK, model_name="tiny", model_info=None):
    """Your create_app over `work` (a FakeWorker or an EngineWorker); loads app.py, so an untouched
    protocol.py (imported there) is todo here."""
    mod = load("week18_serving.app")
    return mod.create_app(
        work,
        tok or ByteTokenizer(),
        model_name=model_name,
        block_size=block_size,
        api_key=api_key,
        model_info=model_info,
    )


def token_stream(tokens: list[int], finish: str | None = "length", stream_id: int = 0):
    """(a worker TokenStream holding `tokens`, the list its close() appends its id to).

    finish=None leaves it open after the tokens (a generation still running)."""
    closed: list[int] = []
    stream = load("week18_serving.worker").TokenStream(stream_id, closed.append)
    for t in tokens:
        stream.push(t)
    if finish is not None:
        stream.finish(finish)
    return stream, closed


def state(work=None, *, tok=None, model_name="tiny", block_size=BLOCK):
    """A stand-in for app.state: worker, tokenizer, model_name, block_size, stats."""
    stats = load("week18_serving.streaming").ServerStats()
    return SimpleNamespace(
        worker=work if work is not None else FakeWorker([]),
        tokenizer=tok or ByteTokenizer(),
        model_name=model_name,
        block_size=block_size,
        stats=stats,
    )


def collect(agen, timeout: float = 5.0) -> list:
    """Every item of an async iterator, in a fresh event loop (TimeoutError past `timeout` s)."""

    async def go():
        return [x async for x in agen]

    return asyncio.run(asyncio.wait_for(go(), timeout))
