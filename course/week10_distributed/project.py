"""Week 10 project: clean, dedup and shard a corpus, then train on 2 processes with your DDP.

1. Documents: tiny Shakespeare cut at blank lines (one speech per document), or a JSONL file of
   {"text": ...} records (`--corpus`; `--short` uses data/fixtures/week10/corpus.jsonl).
2. Your cleaning (normalize_text, passes_quality, blocklist_hits), exact and near dedup; the
   statistics and the dedup throughput go to dedup.md.
3. Your sharded tokenization (character vocabulary + an end-of-text id, uint16 shards, 1 and 2
   workers timed).
4. Training (course/week10_distributed/train.py): one process, then 2 processes with your DDP
   (`--parallel ddp`) and 2 with torch's DDP, same global batch; loss.md / loss.png compare the
   curves, scaling.md the tokens/s.
5. Beyond one machine (with torchrun only): two torchrun launchers started with your
   torchrun_argv, one per "node", 1 worker each, meet at a c10d rendezvous on 127.0.0.1 and train
   with your DDP; nodes.md lays their losses beside the 1-process run (course/.../nodes.py).
Full runs launch with torchrun (the real launcher); `--short` and `--launcher fork` fork the
processes from here (no torchrun start-up, no nodes.md), which is what the check runs.
Run: `python tracker.py project 10 [--short]` (your code) or `--impl solutions`.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course.data import fixture_path
from course.week05_gpt.data import CharTokenizer
from roadmap.impl import current_tree, load
from roadmap.project import parser, record, setup

FIXTURE = fixture_path("week10", "corpus.jsonl")
BLOCKLIST = fixture_path("week10", "blocklist.txt")


def load_documents(corpus: Path | None, short: bool) -> list[str]:
    """The raw documents: a JSONL corpus, or tiny Shakespeare's speeches."""
    if corpus is None and short:
        corpus = FIXTURE
    if corpus is not None:
        lines = Path(corpus).read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["text"] for line in lines if line.strip()]
    from course.data import dataset_path

    text = dataset_path("tinyshakespeare").read_text(encoding="utf-8")
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def clean_and_dedup(docs: list[str], blocklist: set[str], quality: dict) -> tuple[list[str], dict]:
    """The learner's filters in order; returns the kept documents and the statistics."""
    clean = load("week10_distributed.clean")
    dedup = load("week10_distributed.dedup")
    stats: dict = {"documents in": len(docs), "bytes in": sum(len(d.encode()) for d in docs)}
    normalised = [clean.normalize_text(d) for d in docs]
    reasons: dict[str, int] = {}
    kept = []
    for d in normalised:
        ok, why = clean.passes_quality(d, **quality)
        if ok:
            kept.append(d)
        else:
            reasons[why] = reasons.get(why, 0) + 1
    for why, n in sorted(reasons.items()):
        stats[f"dropped by quality: {why}"] = n
    before = len(kept)
    kept = [d for d in kept if not clean.blocklist_hits(d, blocklist)]
    stats["dropped by the blocklist"] = before - len(kept)
    nbytes = sum(len(d.encode()) for d in kept)
    start = time.perf_counter()
    exact = dedup.exact_dedup(kept)
    t_exact = time.perf_counter() - start
    stats["exact duplicates removed"] = len(kept) - len(exact)
    kept = [kept[i] for i in exact]
    start = time.perf_counter()
    near = dedup.near_dedup(kept, threshold=0.75, k=5, num_perm=128, bands=32, rows=4)
    t_near = time.perf_counter() - start
    stats["near duplicates removed (Jaccard >= 0.75)"] = len(kept) - len(near)
    kept = [kept[i] for i in near]
    stats["documents out"] = len(kept)
    stats["bytes out"] = sum(len(d.encode()) for d in kept)
    stats["exact dedup MB/s"] = nbytes / 1e6 / max(t_exact, 1e-9)
    stats["MinHash + LSH near dedup MB/s"] = nbytes / 1e6 / max(t_near, 1e-9)
    return kept, stats


def shard(docs: list[str], out: Path, docs_per_shard: int) -> tuple[Path, dict, CharTokenizer]:
    """Character tokenizer + end-of-text id; shards written with 1 worker (timed) and 2 (timed)."""
    shards = load("week10_distributed.shards")
    tok = CharTokenizer.from_text("".join(docs))
    eot = tok.vocab_size  # the id after the characters
    speed = {}
    target = out / "shards"
    for workers in (1, 2):
        folder = Path(tempfile.mkdtemp(prefix="w10shards")) if workers == 1 else target
        if workers == 2 and (target / "manifest.json").exists():
            (target / "manifest.json").unlink()  # a fresh run, not a resume
        start = time.perf_counter()
        manifest = shards.tokenize_to_shards(
            docs, folder, tok.encode, eot=eot, docs_per_shard=docs_per_shard, workers=workers
        )
        speed[workers] = manifest["total_tokens"] / (time.perf_counter() - start)
    manifest["vocab_size"] = eot + 1
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    tok.save(target)
    return target, dict(manifest=manifest, tokens_per_s=speed), tok


def run_training(data: Path, out: Path, args, train_args: list[str]) -> dict[str, dict]:
    """One process, then 2 x your DDP, then 2 x torch DDP (full runs only); results by label."""
    from course.week10_distributed import train

    runs = [("1 process", "none", 1), ("2 x your DDP", "ddp", 2)]
    if not args.short:
        runs.append(("2 x torch DDP", "torch-ddp", 2))
    results = {}
    for label, parallel, nproc in runs:
        result_file = out / f"run_{parallel}_{nproc}.json"
        argv = ["--data", str(data), "--parallel", parallel, "--out", str(result_file)]
        argv += ["--impl", current_tree()] + train_args
        if nproc == 1:
            train.train(train.arg_parser().parse_args(argv))
        elif args.launcher == "fork":
            train.launch_forked(argv, nproc)
        else:
            cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}"]
            cmd += ["-m", "course.week10_distributed.train"] + argv
            subprocess.run(cmd, check=True, cwd=Path(__file__).resolve().parents[2])
        results[label] = json.loads(result_file.read_text(encoding="utf-8"))
        result_file.unlink()
    return results


def run_two_nodes(data: Path, out: Path, train_args: list[str], single: list[float]) -> float:
    """2 launchers x 1 worker with your torchrun_argv and your DDP; writes nodes.md (the losses
    beside the 1-process run, the launch's wall time and the load average); the largest gap."""
    from course.week10_distributed import nodes

    argv = ["--data", str(data), "--parallel", "ddp", "--impl", current_tree()] + train_args
    load_before = os.getloadavg()[0]
    result = nodes.train_on_nodes(argv, out / "run_nodes.json", nnodes=2, nproc_per_node=1)
    (out / "run_nodes.json").unlink()
    gap = max(abs(a - b) for a, b in zip(single, result["losses"]))
    lines = [
        "# Two nodes on one machine: 2 torchrun launchers x 1 worker vs 1 process",
        "",
        "Each node ran (your torchrun_argv; `torchrun` is this Python's torch.distributed.run):",
        "",
        f"    {shlex.join(result['argv'])}",
        "",
        *nodes.loss_table(single, result["losses"], "2 nodes x 1 (your DDP)"),
        "",
        f"Launch wall time {result['wall_s']:.1f} s (start-up included), load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after, {os.cpu_count()} cores.",
    ]
    (out / "nodes.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return gap


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for (label, r), style in zip(results.items(), ("-", "--", ":")):
        ax.plot(range(1, len(r["losses"]) + 1), r["losses"], style, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (global batch)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = parser(10, "Clean, dedup and shard a corpus; train on 2 processes with your DDP.")
    p.add_argument("--corpus", type=Path, default=None, help="JSONL of {'text': ...} documents")
    p.add_argument("--steps", type=int, default=None, help="training steps")
    p.add_argument(
        "--launcher",
        choices=("torchrun", "fork"),
        default=None,
        help="how to start the 2 processes (default: torchrun, fork with --short)",
    )
    args = p.parse_args(argv)
    out = setup(10, args)
    args.launcher = args.launcher or ("fork" if args.short else "torchrun")
    start = time.perf_counter()
    blocklist = {w.strip() for w in BLOCKLIST.read_text().splitlines() if w.strip() and w[0] != "#"}
    docs = load_documents(args.corpus, args.short)
    quality = dict(min_words=8, max_symbol_ratio=0.15, max_mean_word_length=12.0)
    kept, stats = clean_and_dedup(docs, blocklist, quality)
    data, shard_info, tok = shard(kept, out, docs_per_shard=8 if args.short else 200)
    steps = args.steps or (6 if args.short else 200)
    dims = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "32"]
    if not args.short:
        dims = ["--n-layer", "2", "--n-head", "4", "--n-embd", "128", "--block-size", "128"]
    train_args = ["--steps", str(steps), "--global-batch", "8" if args.short else "16"] + dims
    results = run_training(data, out, args, train_args)

    lines = [
        "# Cleaning and dedup",
        "",
        f"Quality rules: {quality} (others at their defaults).",
        "",
    ]
    lines += ["| stage | value |", "|---|---:|"]
    lines += [
        f"| {k} | {v:,.2f} |" if isinstance(v, float) else f"| {k} | {v:,} |"
        for k, v in stats.items()
    ]
    m = shard_info["manifest"]
    lines += [
        "",
        f"Shards: {len(m['shards'])} files, {m['total_tokens']:,} tokens, vocabulary "
        f"{m['vocab_size']} (characters + end of text).",
        "",
        "| tokenization workers | tokens/s |",
        "|---:|---:|",
    ]
    lines += [f"| {w} | {s:,.0f} |" for w, s in shard_info["tokens_per_s"].items()]
    (out / "dedup.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

    single = results["1 process"]["losses"]
    mine = results["2 x your DDP"]["losses"]
    gap = max(abs(a - b) for a, b in zip(single, mine))
    gap10 = max(abs(a - b) for a, b in zip(single[:10], mine[:10]))
    loss_lines = [
        "# Loss: 2 processes with your DDP vs 1 process, same global batch",
        "",
        f"Largest per-step difference: {gap:.2e}; over the first 10 steps: {gap10:.2e}. Float32: "
        "the ranks sum in another order than one process, and AdamW slowly amplifies the "
        "difference; a wrong DDP (no broadcast, summed gradients, shared rows) differs from step 1.",
        "",
        "| step | " + " | ".join(results) + " |",
        "|---:|" + "---:|" * len(results),
    ]
    n = len(single)
    for i in sorted({0, 1, 2, n // 2, n - 1}):
        loss_lines.append(
            f"| {i + 1} | " + " | ".join(f"{r['losses'][i]:.4f}" for r in results.values()) + " |"
        )
    (out / "loss.md").write_text("\n".join(loss_lines) + "\n", encoding="utf-8")
    plot(results, out / "loss.png")

    base = results["1 process"]["tokens_per_s"]
    scale = [
        "# Scaling: tokens/s on this machine, same global batch",
        "",
        f"Launcher: {args.launcher}; one torch thread per process; steps after the first.",
        "",
        "| run | tokens/s | vs 1 process |",
        "|---|---:|---:|",
    ]
    scale += [
        f"| {label} | {r['tokens_per_s']:,.0f} | {r['tokens_per_s'] / base:.2f}x |"
        for label, r in results.items()
    ]
    (out / "scaling.md").write_text("\n".join(scale) + "\n", encoding="utf-8")
    print("\n".join(lines + [""] + loss_lines + [""] + scale))
    nodes = ""
    if args.launcher == "torchrun":
        node_gap = run_two_nodes(data, out, train_args, single)
        nodes = f" | 2 nodes loss gap {node_gap:.1e}"
    two = results["2 x your DDP"]["tokens_per_s"] / base
    record(
        10,
        f"dedup kept {stats['documents out']}/{stats['documents in']} docs | 2-process DDP "
        f"loss gap {gap:.1e}, {two:.2f}x tokens/s{nodes} | {time.perf_counter() - start:.0f} s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
