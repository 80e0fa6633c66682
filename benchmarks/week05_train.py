"""Benchmark: validation loss of the week-05 character GPT after a fixed wall-clock budget on CPU.

    python -m benchmarks.week05_train                    # 5 and 10 minutes, 2 threads (~15 min)
    python -m benchmarks.week05_train --minutes 2 --threads 2 --config configs/shakespeare_char_cpu.json

Each budget is a separate run of tiny-gpt-train with `--max-minutes M`: the learning-rate schedule
decays over the budget, so every run ends at min_lr. Prints a Markdown table (val loss, steps,
tokens/s) and writes it to runs/bench_week05/results.md. For scale: nanoGPT's CPU "baby GPT" reports
val 1.88 after about 3 minutes on a laptop. Run it on a quiet machine: other load skews tokens/s.
"""

import argparse
import json
import os
from pathlib import Path

from course.week05_gpt import train
from roadmap import ROOT


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "shakespeare_char_cpu.json"))
    p.add_argument("--minutes", type=float, nargs="+", default=[5.0, 10.0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "bench_week05")
    p.add_argument("extra", nargs="*", help="more tiny-gpt-train flags after --, e.g. -- --bf16")
    args = p.parse_args(argv)
    rows = []
    for minutes in args.minutes:
        run = args.out / f"{minutes:g}min"
        flags = ["--config", args.config, "--out-dir", str(run), "--max-minutes", str(minutes)]
        flags += ["--threads", str(args.threads), "--max-steps", "1000000", *args.extra]
        train.main([*flags, "--impl", "solutions"])
        m = json.loads((run / "metrics.json").read_text())
        rows.append(
            f"| {minutes:g} | {m['val']:.4f} | {m['train']:.4f} | {m['steps']} | "
            f"{m['tok_per_s'] / 1e3:.1f}k | {m['parameters'] / 1e6:.2f}M |"
        )
    table = "\n".join(
        [
            f"# week05 char GPT on CPU ({args.threads} threads, {Path(args.config).name}, "
            f"load avg {os.getloadavg()[0]:.1f} at the end)",
            "",
            "| minutes | val loss | train loss | steps | tokens/s | params |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
