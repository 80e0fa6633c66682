"""Week 08 benchmark: tokens/s of the week-05 GPT without and with the KV cache, and speculative
decoding with a smaller draft model.

    python benchmarks/week08_inference.py [--impl solutions] [--threads 1] [--train-steps 150]

The cache tables use the CPU preset's dimensions (configs/shakespeare_char_cpu.json: 4 layers,
C=128, its block_size, vocab 65) with random weights: speed does not depend on what the weights
say. At batch 1 the speedup is capped by the block size (the uncached loop never runs more than
block_size positions per step), so a last table repeats batch 1 with a longer block. Speculative decoding does (the acceptance rate is how often the draft agrees with the
target), so that part first trains the target and a 1-layer draft briefly on tiny Shakespeare
(env LLM_DATA_MIRROR or `python tracker.py data fetch tinyshakespeare`). Goal: cache >= 8x at 500
new tokens.
"""

import argparse
import json
import os
import time
from pathlib import Path

import torch

from roadmap.impl import TREES, load, set_tree
from solutions.week05_gpt.model import GPT, GPTConfig

PRESET = Path(__file__).resolve().parents[1] / "configs" / "shakespeare_char_cpu.json"


def preset_config(vocab_size: int = 65, block_size: int | None = None) -> GPTConfig:
    dims = json.loads(PRESET.read_text()) if PRESET.exists() else {}
    return GPTConfig(
        block_size=block_size or dims.get("block_size", 128),
        vocab_size=vocab_size,
        n_layer=dims.get("n_layer", 4),
        n_head=dims.get("n_head", 4),
        n_embd=dims.get("n_embd", 128),
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", choices=TREES, default="solutions")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--lengths", type=int, nargs="+", default=[100, 500, 1000])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    p.add_argument(
        "--long-block", type=int, default=512, help="also batch 1 at this block_size (0: skip)"
    )
    p.add_argument("--train-steps", type=int, default=150, help="0 skips speculative decoding")
    p.add_argument("--k", type=int, default=4, help="drafted tokens per speculative round")
    args = p.parse_args(argv)
    set_tree(args.impl)
    torch.set_num_threads(args.threads)
    generate = load("week08_inference.generate")
    sampling = load("week08_inference.sampling")
    bench = load("week08_inference.benchmark")
    speculative = load("week08_inference.speculative")

    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs | torch {torch.__version__} "
        f"| {args.threads} thread(s) | impl {args.impl}"
    )
    torch.manual_seed(0)
    model = GPT(preset_config()).eval()
    c = model.config
    runs = [(model, batch) for batch in args.batch_sizes]
    if args.long_block:
        # same dims, longer context: the uncached step grows with the context, the cached one barely
        runs.append((GPT(preset_config(block_size=args.long_block)).eval(), 1))
    for model_b, batch in runs:
        cb = model_b.config
        print(
            f"\nKV cache: GPT {cb.n_layer} layers, C={cb.n_embd}, block_size {cb.block_size}, "
            f"{model_b.get_num_params() / 1e6:.2f}M parameters, random weights, batch {batch}, "
            "greedy; tok/s counts every row\n"
        )
        print("| new tokens | no cache (tok/s) | KV cache (tok/s) | speedup |")
        print("|---:|---:|---:|---:|")
        prompt = torch.zeros(batch, 1, dtype=torch.long)
        for n in args.lengths:
            slow = bench.tokens_per_second(
                lambda n=n, p=prompt, m=model_b: generate.generate_uncached(m, p, n)[:, 1:].numel(),
                repeats=1,
                warmup=0,
            )
            fast = bench.tokens_per_second(
                lambda n=n, p=prompt, m=model_b: generate.generate_cached(m, p, n)[:, 1:].numel(),
                repeats=3,
                warmup=1,
            )
            print(f"| {n} | {slow:,.0f} | {fast:,.0f} | {fast / slow:.1f}x |", flush=True)

    if args.train_steps <= 0:
        return 0
    from course.week05_gpt.data import CharTokenizer, load_text
    from course.week08_inference.project import train_char_gpt

    text = load_text(None)
    tok = CharTokenizer.from_text(text)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    start = time.perf_counter()
    target = train_char_gpt(ids, preset_config(tok.vocab_size), args.train_steps, 16, 1)
    draft_cfg = GPTConfig(
        block_size=c.block_size, vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=64
    )
    draft = train_char_gpt(ids, draft_cfg, args.train_steps, 16, 2)
    print(
        f"\nSpeculative decoding: target as above, draft 1 layer C=64 "
        f"({draft.get_num_params() / 1e6:.2f}M), both trained {args.train_steps} steps "
        f"({time.perf_counter() - start:.0f} s); temperature 1, k = {args.k}, no KV cache in either\n"
    )
    prompt = torch.zeros(1, 1, dtype=torch.long)
    print("| new tokens | target alone (tok/s) | speculative (tok/s) | acceptance | speedup |")
    print("|---:|---:|---:|---:|---:|")
    bs = c.block_size
    stats = {}
    for n in args.lengths[:2]:

        def alone(n=n):
            g = torch.Generator().manual_seed(0)
            generate.generate_uncached(
                target, prompt, n, sampling.SamplingParams(temperature=1.0), generator=g
            )
            return n

        def spec(n=n):
            g = torch.Generator().manual_seed(0)
            with torch.inference_mode():
                _, acc, prop = speculative.speculative_generate(
                    lambda x: target(x[:, -bs:])[0],
                    lambda x: draft(x[:, -bs:])[0],
                    prompt,
                    n,
                    k=args.k,
                    generator=g,
                )
            stats.update(rate=acc / prop)
            return n

        base = bench.tokens_per_second(alone, repeats=1, warmup=0)
        fast = bench.tokens_per_second(spec, repeats=1, warmup=0)
        print(
            f"| {n} | {base:,.0f} | {fast:,.0f} | {stats['rate']:.2f} | {fast / base:.1f}x |",
            flush=True,
        )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
