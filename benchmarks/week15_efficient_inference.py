"""Week 15 benchmark: the batched engine vs sequential generation vs HF generate; tiled vs naive
attention.

    python benchmarks/week15_efficient_inference.py [--impl solutions] [--threads 1] [--no-hf]

Part 1: 32 requests, prompts 8-64 tokens, 16-128 new tokens, greedy, all queued at t0, on a
week-05 GPT with the CPU preset's dimensions (4 layers, C=128, vocab 65; block_size 256 so every
request fits) and random weights. Methods: week 08's KV-cached loop one request at a time; the
batched engine (paged cache, continuous batching, max_running 32); transformers' generate one at a
time; generate on static left-padded batches of 8 (every row runs to its batch's longest request;
only each request's own tokens count). Each method runs `--repeats` times in turn and the table
shows the run with the median throughput. Goal: engine >= 5x sequential.
Part 2: tiled (flash_attention_forward, blocks of 128) vs naive attention, causal, B=1, H=4, D=32,
float32: median time and peak live bytes of the tensors each creates (measure.PeakMemory).
"""

import argparse
import os
import statistics

import torch

from course.week15_efficient_inference.measure import (
    attention_cost,
    make_requests,
    markdown_table,
    run_engine,
    run_hf_single,
    run_hf_static,
    run_sequential,
)
from roadmap.impl import TREES, load, set_tree
from solutions.week05_gpt.model import GPT, GPTConfig


def median_run(runs):
    speeds = [r.summary()["tok_s"] for r in runs]
    return runs[speeds.index(statistics.median_low(speeds))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", choices=TREES, default="solutions")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--requests", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-hf", action="store_true", help="skip the transformers baselines")
    p.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096])
    args = p.parse_args(argv)
    set_tree(args.impl)
    torch.set_num_threads(args.threads)
    engine_mod = load("week15_efficient_inference.engine")
    flash = load("week15_efficient_inference.flash_attention")
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs | torch {torch.__version__} "
        f"| {args.threads} thread(s) | impl {args.impl}"
    )
    torch.manual_seed(0)
    cfg = GPTConfig(block_size=256, vocab_size=65, n_layer=4, n_head=4, n_embd=128)
    model = GPT(cfg).eval()
    prompts, news = make_requests(args.requests, 0, 65, (8, 64), (16, 128))
    hf = None
    if not args.no_hf:
        from roadmap.checking import to_hf_gpt2

        hf = to_hf_gpt2(model.state_dict(), 65, 256, 4, 4, 128)
    run_engine(engine_mod, model, prompts[:4], news[:4])  # warm-up
    methods = {
        "sequential": lambda: run_sequential(model, prompts, news),
        "engine": lambda: run_engine(engine_mod, model, prompts, news, max_running=32),
    }
    if hf is not None:
        methods["hf_single"] = lambda: run_hf_single(hf, prompts, news)
        methods["hf_static"] = lambda: run_hf_static(hf, prompts, news, batch=8)
    runs = {name: [] for name in methods}
    for _ in range(args.repeats):
        for name, fn in methods.items():
            runs[name].append(fn())
    chosen = {name: median_run(rs) for name, rs in runs.items()}
    seq, eng = chosen["sequential"], chosen["engine"]
    print(
        f"\n{args.requests} requests, prompts 8-64, 16-128 new tokens ({seq.tokens} in all), greedy; "
        f"GPT 4 layers C=128 ({model.get_num_params() / 1e6:.2f}M), random weights; median of "
        f"{args.repeats} runs; engine {eng.extra['steps']} steps, peak {eng.extra['peak_blocks']} "
        f"blocks of 16\n"
    )
    print("\n".join(markdown_table(list(chosen.values()), seq)))
    same = sum(a == b for a, b in zip(seq.outputs, eng.outputs))
    print(f"\nengine outputs identical to sequential greedy: {same}/{args.requests}")
    if hf is not None:
        same_hf = sum(a == b for a, b in zip(seq.outputs, chosen["hf_single"].outputs))
        print(
            f"HF generate (one at a time) identical to sequential greedy: {same_hf}/{args.requests}"
        )
    speeds = {n: [r.summary()["tok_s"] for r in rs] for n, rs in runs.items()}
    print(
        "all runs, tok/s: " + "; ".join(f"{n} {[round(s) for s in v]}" for n, v in speeds.items())
    )

    print("\nTiled vs naive attention, causal, B=1, H=4, D=32, float32, blocks of 128\n")
    print("| T | naive (ms) | tiled (ms) | naive peak (MiB) | tiled peak (MiB) |")
    print("|---:|---:|---:|---:|---:|")
    mb = 1024 * 1024
    for T in args.lengths:
        g = torch.Generator().manual_seed(T)
        q, k, v = (torch.randn(1, 4, T, 32, generator=g) for _ in range(3))
        t_naive, m_naive = attention_cost(flash.naive_attention, q, k, v, True)
        t_tiled, m_tiled = attention_cost(flash.flash_attention_forward, q, k, v, True, 128, 128)
        print(
            f"| {T} | {t_naive * 1e3:,.1f} | {t_tiled * 1e3:,.1f} | {m_naive / mb:,.2f} | "
            f"{m_tiled / mb:,.2f} |",
            flush=True,
        )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
