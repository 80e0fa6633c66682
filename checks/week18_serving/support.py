"""Shared helpers of week 18's checks (not a test): a tiny model, a worker, a fake worker."""

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
        self.closed = []
        self.full = False

        class _S:
            tokens = 0

        self.stats = _S()

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
        return stream

    def queue_length(self):
        return 0

    def running(self):
        return 0


def app_for(work, *, api_key=None, tok=None, block_size=BLOCK):
    mod = load("week18_serving.app")
    return mod.create_app(
        work, tok or ByteTokenizer(), model_name="tiny", block_size=block_size, api_key=api_key
    )
