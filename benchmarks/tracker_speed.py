"""Benchmark: the tracker against plain pytest on the same check files.

A throwaway copy of the repository is made with weeks 01-04 filled in (the reference solutions copied
over the stubs, as a learner who finished them) and everything else as shipped (stubs: todo). Then,
alternating, best of `--repeat` runs each:

- one exercise:  `python tracker.py check w01.softmax`  vs  `pytest checks/week01_tensors/test_softmax.py`
- one week:      `python tracker.py check 1`            vs  `pytest checks/week01_tensors`
- a filled-in week: `python tracker.py check 4`         vs  `pytest checks/week04_attention`
- everything:    `python tracker.py` (status, every ready week) vs `pytest checks`

Run: `python -m benchmarks.tracker_speed [--repeat 3]`. Goal (course-layout issue): the tracker
within 1.3x of pytest; a week's checks <= 10 s and one exercise <= 3 s on two cores.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from roadmap import ROOT
from roadmap.manifest import load_manifest

FILLED = ["week01_tensors", "week02_bigram", "week03_embeddings", "week04_attention"]


def make_copy(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for week in FILLED:
        for src in (ROOT / "solutions" / week).glob("*.py"):
            shutil.copy2(src, dest / "exercises" / week / src.name)


def timed(cmd: list[str], cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("LLM_IMPL", "PYTEST_ADDOPTS")}
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    py = sys.executable
    pytest = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    folders = [f"checks/{w}" for w in FILLED]
    ready = [f"checks/{w.slug}" for w in load_manifest().ready_weeks()]
    cases = [
        (
            "one exercise (w01.softmax)",
            [[py, "tracker.py", "check", "w01.softmax"]],
            [[*pytest, "checks/week01_tensors/test_softmax.py"]],
        ),
        ("one week (01)", [[py, "tracker.py", "check", "1"]], [[*pytest, "checks/week01_tensors"]]),
        ("one filled-in week (04)", [[py, "tracker.py", "check", "4"]], [[*pytest, folders[3]]]),
        ("every ready week (status)", [[py, "tracker.py"]], [[*pytest, *ready]]),
    ]
    with tempfile.TemporaryDirectory(prefix="llm-speed-") as tmp:
        copy = Path(tmp)
        make_copy(copy)
        print("| case | tracker (s) | pytest (s) | ratio |")
        print("|---|---:|---:|---:|")
        for name, tracker_cmds, pytest_cmds in cases:
            best_t, best_p = float("inf"), float("inf")
            for _ in range(args.repeat):
                best_t = min(best_t, sum(timed(c, copy) for c in tracker_cmds))
                best_p = min(best_p, sum(timed(c, copy) for c in pytest_cmds))
            print(f"| {name} | {best_t:.1f} | {best_p:.1f} | {best_t / best_p:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
