"""Trainer speed by torch thread count, quiet and under load: where `--threads 0` (auto) comes from.

    python -m benchmarks.trainer_threads                        # both trainers, 1 and 2 threads, 0 and 1 busy
    python -m benchmarks.trainer_threads --busy 0 2 --steps 30

Each cell is a fresh trainer process on its CPU preset (tiny-gpt-train: configs/shakespeare_char_cpu.json;
llm-train: configs/week09_cpu.toml) for `--steps` steps; ms/step is the trainer's own figure (tokens per
step / tok/s in metrics.json, train steps only). `--busy N` starts N `while True: pass` processes for
the run, to see what other work on the machine does to each thread count. The load average (`uptime`,
1 min) is printed beside every cell: on a shared machine "quiet" is only as quiet as it was.
Needs the datasets (`LLM_DATA_MIRROR=DIR` or `python tracker.py data fetch ...`).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from roadmap import ROOT

TRAINERS = {
    "tiny-gpt-train": (
        "course.week05_gpt.train",
        ["--config", "configs/shakespeare_char_cpu.json", "--eval-iters", "1", "--sample-tokens", "1"],
        16 * 64,
        "tok_per_s",
    ),
    "llm-train": (
        "course.week09_training.train",
        ["--config", "configs/week09_cpu.toml", "--eval-interval", "0", "--no-final-eval",
         "--sample-tokens", "0", "--no-tensorboard", "--ckpt-interval", "0"],
        12 * 64,
        "tokens_per_s",
    ),
}  # fmt: skip


def load_average() -> float:
    return os.getloadavg()[0]


def run(name: str, threads: int, steps: int, out: Path) -> float:
    """ms/step of `steps` steps of trainer `name` with `threads` torch threads, in a fresh process."""
    module, args, tokens_per_step, key = TRAINERS[name]
    cmd = [sys.executable, "-m", module, *args, "--max-steps", str(steps)]
    cmd += ["--threads", str(threads), "--out-dir", str(out), "--impl", "solutions"]
    subprocess.run(
        cmd, cwd=ROOT, check=True, capture_output=True, env={**os.environ, "NO_COLOR": "1"}
    )
    return 1000 * tokens_per_step / json.loads((out / "metrics.json").read_text())[key]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="train steps per cell")
    p.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="thread counts to compare"
    )
    p.add_argument("--busy", type=int, nargs="+", default=[0, 1], help="busy processes per row")
    p.add_argument("--trainers", nargs="+", default=list(TRAINERS), choices=list(TRAINERS))
    args = p.parse_args(argv)
    print(f"| trainer | busy processes | {' | '.join(f'{t} thread(s)' for t in args.threads)} |")
    print("|---|---:|" + "---:|" * len(args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.trainers:
            run(name, 1, 1, Path(tmp) / name)  # prepares the data (BPE) once, outside the timings
            for busy in args.busy:
                hogs = [
                    subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(busy)
                ]
                try:
                    cells = []
                    for threads in args.threads:
                        ms = run(name, threads, args.steps, Path(tmp) / name)
                        cells.append(f"{ms:,.0f} ms/step (load {load_average():.1f})")
                finally:
                    for hog in hogs:
                        hog.kill()
                        hog.wait()
                print(f"| {name} | {busy} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
