"""Week 09 project: pre-train the course GPT on the CPU preset within a time budget, fp32 and bf16.

Runs the trainer (course/week09_training/train.py, on the tree chosen by --impl) twice with the same
settings and budget, once in float32 and once with bf16 autocast, and writes to the out folder
(default reports/week09/):
  curves.png  loss and perplexity curves of the fp32 run (train and val)
  tb/         its TensorBoard run (`tensorboard --logdir reports/week09/tb`)
  metrics.md  fp32 vs bf16: steps, tokens/s, train loss, val loss and perplexity (whole split)
  samples.md  a sample of each run
  optimizers.md, optimizers.png  SGD, momentum, Nesterov and AdamW on one short run (optimizers.py)
Run: `python tracker.py project 9` (your code) or `python -m course.week09_training.project --impl
solutions`. `--short` trains a tiny model on the week's fixture text for a few steps (seconds).
`--scaling` runs the scaling ladder instead (scaling_ladder.py: a dozen tiny models, the fitted
L(N, D), OUT/scaling/); with `--short` in seconds.
"""

import json
import shutil

from course.data import fixture_path
from roadmap import ROOT
from roadmap.impl import current_tree
from roadmap.project import parser, record, setup

from . import optimizers, train

PRESET = ROOT / "configs" / "week09_cpu.toml"
SHORT = [
    "--train-files", str(fixture_path("week09", "tiny_corpus.txt")),
    "--val-fraction", "0.1",
    "--vocab-size", "300",
    "--block-size", "16",
    "--n-layer", "2",
    "--n-head", "2",
    "--n-embd", "32",
    "--batch-size", "4",
    "--max-steps", "12",
    "--warmup-steps", "3",
    "--eval-interval", "4",
    "--eval-tokens", "128",
    "--ckpt-interval", "0",
    "--sample-tokens", "20",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = parser(9, "Pre-train the course GPT on the CPU preset, fp32 and bf16.")
    p.add_argument("--minutes", type=float, default=6.0, help="time budget per run (full mode)")
    p.add_argument("--threads", type=int, default=0, help="torch threads per run (0: default)")
    p.add_argument("--scaling", action="store_true", help="run the scaling ladder instead")
    args = p.parse_args(argv)
    out = setup(9, args)
    if args.scaling:  # a separate experiment, with its own folder OUT/scaling/
        from .scaling_ladder import run_ladder

        return run_ladder(out, short=args.short, threads=args.threads)
    runs = out / "runs"
    if args.short:
        common = SHORT
    else:
        common = ["--config", str(PRESET), "--max-minutes", str(args.minutes)]
    common = [*common, "--impl", current_tree(), "--threads", str(args.threads)]
    results = {}
    for name, flag in (("fp32", "--no-bf16"), ("bf16", "--bf16")):
        run_dir = runs / name
        if run_dir.exists():
            shutil.rmtree(run_dir)
        code = train.main([*common, flag, "--out-dir", str(run_dir)])
        if code != 0:
            return code
        results[name] = json.loads((run_dir / "metrics.json").read_text())
    fp32_dir = runs / "fp32"
    shutil.copy(fp32_dir / "curves.png", out / "curves.png")
    if (out / "tb").exists():
        shutil.rmtree(out / "tb")
    shutil.copytree(fp32_dir / "tb", out / "tb")
    rows = [
        "| run | steps | tokens/s | train loss | val loss (nats/token) | val perplexity | minutes |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in results.items():
        rows.append(
            f"| {name} | {m['steps']} | {m['tokens_per_s']:,.0f} | {m['train_loss']:.4f} | "
            f"{m['val_loss']:.4f} | {m['val_ppl']:.2f} | {m['minutes']:.1f} |"
        )
    preset = "the week's fixture text (--short)" if args.short else f"{PRESET.name}"
    (out / "metrics.md").write_text(
        f"# Week 09: fp32 vs bf16\n\nSettings: {preset}; tree {current_tree()}; val is the whole "
        "held-out split, nats per BPE token.\n\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    samples = ["# Week 09 samples (temperature 0.8)\n"]
    for name in results:
        text = (runs / name / "sample.txt").read_text(encoding="utf-8")
        samples += [f"## {name}\n", "```text", text, "```\n"]
    (out / "samples.md").write_text("\n".join(samples), encoding="utf-8")
    # SGD, momentum, Nesterov and AdamW on the same short run, on the fp32 run's tokens
    optimizers.compare(runs / "fp32" / "data", out, short=args.short, threads=args.threads)
    f32, b16 = results["fp32"], results["bf16"]
    record(
        9,
        f"pretrain val {f32['val_loss']:.4f} fp32 / {b16['val_loss']:.4f} bf16 | "
        f"{f32['tokens_per_s']:,.0f} / {b16['tokens_per_s']:,.0f} tok/s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
