"""Week 15 project: how much the batched engine buys over serving one request at a time.

Serves the same mixed-length requests (all queued at once, greedy) with week 08's KV-cached loop,
one request after another, and with your engine (paged cache + continuous batching). Writes to the
out folder (default reports/week15/):
  throughput.md    tokens/s, p50/p95 latency and time to first token, sequential vs engine; whether
                   the greedy outputs agree; KV-cache memory, paged vs contiguous
  concurrency.png  engine throughput vs the number of requests allowed to run at once
The model is a week-05 GPT with random weights (speed does not depend on what the weights say).
Run: `python tracker.py project 15` (your code) or `python -m course.week15_efficient_inference.project
--impl solutions`. `--short` finishes in seconds. HF generate baselines and tiled vs naive attention:
`python benchmarks/week15_efficient_inference.py`.
"""

import time
from dataclasses import dataclass

import torch

from roadmap.impl import load
from roadmap.project import parser, record, setup
from solutions.week05_gpt.model import GPT, GPTConfig

from .measure import make_requests, markdown_table, run_engine, run_sequential


@dataclass
class ProjectConfig:
    n_layer: int = 4  # the model: the CPU preset's dimensions, with a longer context
    n_embd: int = 128
    n_head: int = 4
    block_size: int = 256
    vocab_size: int = 65
    requests: int = 32  # requests served, all queued at t0
    prompt_range: tuple[int, int] = (8, 64)  # prompt lengths, inclusive
    new_range: tuple[int, int] = (16, 128)  # new tokens per request, inclusive
    concurrency: tuple[int, ...] = (1, 2, 4, 8, 16, 32)  # max_running values for the plot
    num_blocks: int = 512  # engine cache: blocks of cache_block positions
    cache_block: int = 16
    seed: int = 0


SHORT = ProjectConfig(
    n_layer=2,
    n_embd=64,
    n_head=2,
    block_size=64,
    requests=8,
    prompt_range=(2, 16),
    new_range=(4, 24),
    concurrency=(2, 8),
    num_blocks=64,
    cache_block=8,
)


def memory_lines(cfg: ProjectConfig, peak_blocks: int, prompts, news) -> list[str]:
    """KV-cache bytes: paged peak vs contiguous slabs."""
    per_pos = 2 * cfg.n_layer * cfg.n_embd * 4  # keys and values, every layer, float32
    paged = peak_blocks * cfg.cache_block * per_pos
    slab = cfg.requests * cfg.block_size * per_pos
    exact = sum(len(p) + n for p, n in zip(prompts, news)) * per_pos
    mb = 1024 * 1024
    return [
        "| KV cache for all requests at once | MiB | vs paged |",
        "|---|---:|---:|",
        f"| paged, peak in use ({peak_blocks} blocks of {cfg.cache_block}) | {paged / mb:.2f} | 1.0x |",
        f"| contiguous, block_size {cfg.block_size} per request (week 08) | {slab / mb:.2f} | "
        f"{slab / paged:.1f}x |",
        f"| contiguous, each request's own prompt + max_new_tokens | {exact / mb:.2f} | "
        f"{exact / paged:.1f}x |",
    ]


def plot_concurrency(path, levels: list[int], tok_s: list[float], sequential: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(levels, tok_s, marker="o", label="engine")
    ax.axhline(sequential, color="grey", linestyle="--", label="sequential (week 08)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(levels, [str(c) for c in levels])
    ax.set_xlabel("max concurrent requests (max_running)")
    ax.set_ylabel("tokens / s")
    ax.set_title("Continuous batching: throughput vs concurrency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = parser(15, "Throughput/latency of the batched engine vs sequential generation.")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args(argv)
    out = setup(15, args)
    torch.set_num_threads(args.threads)
    cfg = SHORT if args.short else ProjectConfig()
    engine_mod = load("week15_efficient_inference.engine")
    start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    config = GPTConfig(
        block_size=cfg.block_size,
        vocab_size=cfg.vocab_size,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
    )
    model = GPT(config).eval()
    prompts, news = make_requests(
        cfg.requests, cfg.seed, cfg.vocab_size, cfg.prompt_range, cfg.new_range
    )
    kw = dict(num_blocks=cfg.num_blocks, block_size=cfg.cache_block)
    run_engine(engine_mod, model, prompts[:2], news[:2], **kw)  # warm-up: one-off allocations
    seq = run_sequential(model, prompts, news)
    eng = run_engine(engine_mod, model, prompts, news, max_running=max(cfg.concurrency), **kw)
    same = sum(a == b for a, b in zip(seq.outputs, eng.outputs))
    levels = list(cfg.concurrency)
    sweep = [
        run_engine(engine_mod, model, prompts, news, max_running=c, **kw).summary()["tok_s"]
        for c in levels
    ]
    plot_concurrency(out / "concurrency.png", levels, sweep, seq.summary()["tok_s"])
    speedup = eng.summary()["tok_s"] / seq.summary()["tok_s"]
    lines = [
        "# Batched engine vs one request at a time",
        "",
        f"GPT {cfg.n_layer} layers, C={cfg.n_embd}, block_size {cfg.block_size}, "
        f"{model.get_num_params() / 1e6:.2f}M parameters, random weights; {cfg.requests} requests, "
        f"prompts {cfg.prompt_range[0]}-{cfg.prompt_range[1]} tokens, {cfg.new_range[0]}-"
        f"{cfg.new_range[1]} new tokens, greedy, all queued at t0 (latency and time to first token "
        f"count from t0); {torch.get_num_threads()} torch thread(s), CPU.",
        "",
        *markdown_table([seq, eng], seq),
        "",
        f"Greedy outputs identical to the sequential loop: {same} of {cfg.requests} requests. "
        f"Engine: {eng.extra['steps']} steps, {eng.extra['preemptions']} preemptions.",
        "",
        "| max_running | tok/s |",
        "|---:|---:|",
        *(f"| {c} | {t:,.0f} |" for c, t in zip(levels, sweep)),
        "",
        *memory_lines(cfg, eng.extra["peak_blocks"], prompts, news),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    (out / "throughput.md").write_text(text, encoding="utf-8")
    record(
        15,
        f"engine {speedup:.1f}x sequential ({eng.summary()['tok_s']:,.0f} vs "
        f"{seq.summary()['tok_s']:,.0f} tok/s, {cfg.requests} requests) | identical "
        f"{same}/{cfg.requests} | {time.perf_counter() - start:.0f} s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
