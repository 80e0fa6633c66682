"""Week 10 benchmark: data-parallel scaling on this machine, and the data pipeline's throughput.

    python benchmarks/week10_distributed.py [--impl solutions] [--steps 30] [--skip-train]

1. Training: the week-05 GPT (2 layers, C=128, T=128, vocab of tiny Shakespeare's characters) on
   shards of tiny Shakespeare, global batch 16, one torch thread per process: 1 process
   (`--parallel none`) vs `torchrun --nproc_per_node=2` with the learner's DDP and with torch's
   DistributedDataParallel. tokens/s over the steps after the first. Goals: 2 processes >= 1.6x one
   process on 2 free cores; the learner's DDP within 10% of torch's DDP.
2. Dedup: WikiText-2 (validation) cut into paragraphs, with 10% planted exact copies and 10% near
   copies (one word changed): exact dedup and MinHash + LSH near dedup (128 hash functions,
   32 bands x 4 rows) in MB/s of input text.
3. Sharded tokenization of the same text (character ids, 200 paragraphs per shard) with 1 and 2
   worker processes, in tokens/s.
Needs the datasets (env LLM_DATA_MIRROR or `python tracker.py data fetch tinyshakespeare
wikitext2-valid`).
"""

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.data import dataset_path  # noqa: E402
from course.week05_gpt.data import CharTokenizer  # noqa: E402
from roadmap.impl import TREES, current_tree, load, set_tree  # noqa: E402


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.split()) >= 5]


def bench_data(docs: list[str]) -> list[str]:
    dedup = load("week10_distributed.dedup")
    shards = load("week10_distributed.shards")
    r = random.Random(0)
    planted = list(docs)
    for d in r.sample(docs, len(docs) // 10):
        planted.append(d)
    for d in r.sample(docs, len(docs) // 10):
        w = d.split()
        w[r.randrange(len(w))] = "CHANGED"
        planted.append(" ".join(w))
    r.shuffle(planted)
    mb = sum(len(d.encode()) for d in planted) / 1e6
    lines = [
        f"Dedup input: {len(planted):,} paragraphs ({len(docs):,} WikiText-2 validation "
        f"paragraphs + {len(docs) // 10} exact + {len(docs) // 10} near copies), {mb:.2f} MB.",
        "",
        "| step | documents kept | seconds | MB/s |",
        "|---|---:|---:|---:|",
    ]
    start = time.perf_counter()
    kept = dedup.exact_dedup(planted)
    t = time.perf_counter() - start
    lines.append(f"| exact (SHA-256) | {len(kept):,} | {t:.2f} | {mb / t:,.1f} |")
    start = time.perf_counter()
    near = dedup.near_dedup([planted[i] for i in kept], threshold=0.8)
    t = time.perf_counter() - start
    lines.append(f"| MinHash + LSH near dedup | {len(near):,} | {t:.2f} | {mb / t:,.2f} |")
    tok = CharTokenizer.from_text("".join(docs))
    lines += ["", "| tokenization workers | tokens | seconds | tokens/s |", "|---:|---:|---:|---:|"]
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as d:
            start = time.perf_counter()
            m = shards.tokenize_to_shards(
                docs, d, tok.encode, eot=tok.vocab_size, docs_per_shard=200, workers=workers
            )
            t = time.perf_counter() - start
        lines.append(
            f"| {workers} | {m['total_tokens']:,} | {t:.2f} | {m['total_tokens'] / t:,.0f} |"
        )
    return lines


def bench_train(steps: int) -> list[str]:
    shards = load("week10_distributed.shards")
    text = dataset_path("tinyshakespeare").read_text(encoding="utf-8")
    docs = paragraphs(text)
    tok = CharTokenizer.from_text(text)
    data = Path(tempfile.mkdtemp(prefix="w10bench"))
    shards.tokenize_to_shards(docs, data, tok.encode, eot=tok.vocab_size, docs_per_shard=500)
    common = ["--data", str(data), "--steps", str(steps), "--global-batch", "16"]
    common += ["--n-layer", "2", "--n-head", "4", "--n-embd", "128", "--block-size", "128"]
    common += ["--impl", current_tree()]
    runs = [("1 process", "none", 1), ("2 x your DDP", "ddp", 2), ("2 x torch DDP", "torch-ddp", 2)]
    results = {}
    for label, parallel, n in runs:
        out = data / f"{parallel}.json"
        argv = ["-m", "course.week10_distributed.train", "--parallel", parallel, "--out", str(out)]
        if n == 1:
            cmd = [sys.executable] + argv + common
        else:
            cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={n}"]
            cmd += argv + common
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
        wall = time.perf_counter() - start
        results[label] = json.loads(out.read_text()) | {"wall": wall}
    base = results["1 process"]["tokens_per_s"]
    torch_ddp = results["2 x torch DDP"]["tokens_per_s"]
    lines = [
        f"Training: week-05 GPT, 2 layers, C=128, T=128, global batch 16, {steps} steps "
        "(tokens/s over steps 2..), one torch thread per process.",
        "",
        "| run | tokens/s | vs 1 process | vs torch DDP | final loss | wall s (with start-up) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, r in results.items():
        tps = r["tokens_per_s"]
        lines.append(
            f"| {label} | {tps:,.0f} | {tps / base:.2f}x | {tps / torch_ddp:.2f}x | "
            f"{r['losses'][-1]:.4f} | {r['wall']:.1f} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--impl", choices=TREES, default="solutions")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--skip-train", action="store_true")
    args = p.parse_args(argv)
    set_tree(args.impl)
    import torch

    torch.set_num_threads(1)
    lines = [f"# Week 10 benchmark ({args.impl})", ""]
    if not args.skip_train:
        lines += bench_train(args.steps) + [""]
    docs = paragraphs(dataset_path("wikitext2-valid").read_text(encoding="utf-8"))
    lines += bench_data(docs)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
