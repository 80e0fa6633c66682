"""Timing helpers shared by the week-15 project and benchmark (given runtime, no twin).

Every runner serves the same requests, all queued at t0, and returns a `Run`: the outputs, when each
request produced its first token and when it finished (seconds after t0), and the wall time.
Throughput counts only the tokens each request asked for (padding and tokens generated past a
request's own length in a static batch do not count).
"""

import random
import statistics
import time
import weakref
from dataclasses import dataclass, field

import torch
from torch.overrides import TorchFunctionMode

from solutions.week05_gpt.model import GPT
from solutions.week08_inference.generate import iter_tokens_cached


@dataclass
class Run:
    name: str
    outputs: list[list[int]]
    first: list[float | None]  # time to first token per request (None: not observable)
    done: list[float]  # completion time per request
    wall: float
    extra: dict = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return sum(len(o) for o in self.outputs)

    def summary(self) -> dict:
        lat = sorted(self.done)
        firsts = [f for f in self.first if f is not None]
        return dict(
            tok_s=self.tokens / self.wall,
            p50=statistics.median(lat),
            p95=lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))],
            ttft50=statistics.median(firsts) if firsts else None,
        )


def make_requests(
    n: int, seed: int, vocab_size: int, prompt_range: tuple[int, int], new_range: tuple[int, int]
) -> tuple[list[list[int]], list[int]]:
    """n random prompts with lengths in prompt_range and output lengths in new_range (inclusive)."""
    rng = random.Random(seed)
    prompts = [
        [rng.randrange(vocab_size) for _ in range(rng.randint(*prompt_range))] for _ in range(n)
    ]
    return prompts, [rng.randint(*new_range) for _ in range(n)]


def run_sequential(model: GPT, prompts: list[list[int]], news: list[int]) -> Run:
    """One request after another with week 08's KV-cached greedy loop (batch 1)."""
    outputs, first, done = [], [], []
    t0 = time.perf_counter()
    for p, n in zip(prompts, news):
        out = []
        for tok in iter_tokens_cached(model, torch.tensor([p]), n):
            if not out:
                first.append(time.perf_counter() - t0)
            out.append(int(tok[0]))
        outputs.append(out)
        done.append(time.perf_counter() - t0)
    return Run("sequential, week-08 KV cache", outputs, first, done, time.perf_counter() - t0)


def run_engine(
    engine_mod,
    model: GPT,
    prompts: list[list[int]],
    news: list[int],
    *,
    max_running: int = 32,
    num_blocks: int = 512,
    block_size: int = 16,
) -> Run:
    """The batched engine (greedy), all requests submitted at t0; records peak blocks in use."""
    engine = engine_mod.Engine(
        model, num_blocks=num_blocks, block_size=block_size, max_running=max_running
    )
    t0 = time.perf_counter()
    ids = [
        engine.submit(p, engine_mod.SamplingParams(max_new_tokens=n)) for p, n in zip(prompts, news)
    ]
    first: dict[int, float] = {}
    done: dict[int, float] = {}
    peak = 0
    steps = 0
    while engine.has_unfinished():
        outs = engine.step()
        steps += 1
        now = time.perf_counter() - t0
        peak = max(peak, num_blocks - engine.cache.num_free_blocks)
        for o in outs:
            first.setdefault(o.request_id, now)
            if o.finished:
                done[o.request_id] = now
    wall = time.perf_counter() - t0
    outputs = [engine.sequences[i].output for i in ids]
    return Run(
        f"engine, max_running {max_running}",
        outputs,
        [first[i] for i in ids],
        [done[i] for i in ids],
        wall,
        extra=dict(peak_blocks=peak, steps=steps, preemptions=engine.scheduler.num_preemptions),
    )


def run_hf_single(hf, prompts: list[list[int]], news: list[int]) -> Run:
    """transformers' generate, one request at a time, greedy, exactly n new tokens each."""
    outputs, done = [], []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for p, n in zip(prompts, news):
            idx = torch.tensor([p])
            out = hf.generate(
                idx,
                attention_mask=torch.ones_like(idx),
                max_new_tokens=n,
                min_new_tokens=n,
                do_sample=False,
                pad_token_id=0,
            )
            outputs.append(out[0, len(p) :].tolist())
            done.append(time.perf_counter() - t0)
    return Run(
        "HF generate, one at a time", outputs, [None] * len(prompts), done, time.perf_counter() - t0
    )


def run_hf_static(hf, prompts: list[list[int]], news: list[int], batch: int = 8) -> Run:
    """transformers' generate on static batches in arrival order: prompts left-padded, every row
    runs for the batch's longest output; only each request's own tokens count."""
    outputs, done = [], []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for s in range(0, len(prompts), batch):
            ps, ns = prompts[s : s + batch], news[s : s + batch]
            width = max(len(p) for p in ps)
            idx = torch.tensor([[0] * (width - len(p)) + p for p in ps])
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in ps])
            out = hf.generate(
                idx,
                attention_mask=mask,
                max_new_tokens=max(ns),
                min_new_tokens=max(ns),
                do_sample=False,
                pad_token_id=0,
            )
            now = time.perf_counter() - t0
            for row, n in enumerate(ns):
                outputs.append(out[row, width : width + n].tolist())
                done.append(now)
    return Run(
        f"HF generate, static batches of {batch}",
        outputs,
        [None] * len(prompts),
        done,
        time.perf_counter() - t0,
    )


def markdown_table(runs: list[Run], baseline: Run) -> list[str]:
    """| method | tokens | tok/s | speedup | p50 | p95 | TTFT p50 | rows, speedup vs `baseline`."""
    base = baseline.summary()["tok_s"]
    lines = [
        "| method | new tokens | tok/s | vs sequential | p50 latency (s) | p95 latency (s) | TTFT p50 (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        s = r.summary()
        ttft = f"{s['ttft50']:.3f}" if s["ttft50"] is not None else "n/a"
        lines.append(
            f"| {r.name} | {r.tokens} | {s['tok_s']:,.0f} | {s['tok_s'] / base:.1f}x | "
            f"{s['p50']:.3f} | {s['p95']:.3f} | {ttft} |"
        )
    return lines


class PeakMemory(TorchFunctionMode):
    """Peak bytes of live tensors created by torch operations while active (CPU has no allocator
    statistics): each new storage counts from the operation that returns it until the returned
    tensor is garbage collected. Inputs created before the block do not count. An approximation
    (a view that outlives its base is not followed), good enough to tell O(T^2) from O(T)."""

    def __init__(self):
        super().__init__()
        self.live: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def _release(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key = storage.data_ptr()
                if key and key not in self.live:
                    self.live[key] = storage.nbytes()
                    self.current += storage.nbytes()
                    self.peak = max(self.peak, self.current)
                    weakref.finalize(t, self._release, key)
        return out


def attention_cost(fn, *args, repeats: int = 3) -> tuple[float, int]:
    """(median seconds, peak live bytes) of fn(*args) under torch.inference_mode."""
    times = []
    with torch.inference_mode():
        with PeakMemory() as mem:
            fn(*args)
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - t0)
    return statistics.median(times), mem.peak
