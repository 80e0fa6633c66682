"""Benchmark: how fast the learner's loop is (edit, `python tracker.py`, read the table).

A throwaway copy of the repository is made as a fresh clone would be: every tracked file, the
exercises as shipped (roadmap/pristine.py), committed to a new git repository. Then, in one run on
the same machine:

- fresh clone: `python tracker.py` with no progress/ yet (untouched stubs are todo without running)
  vs `python tracker.py --rerun`, the full stub run it replaces (every ready check runs);
- one exercise edited (w01.softmax, the reference planted, a new comment each repeat so no stored
  result matches): `python tracker.py` vs that exercise's own `pytest checks/.../test_softmax.py`;
- nothing changed since the last run: `python tracker.py` again;
- watch, week 01: seconds from saving softmax.py (the reference, a new comment each repeat) to
  watch printing "w01.softmax passes", with the warm runner and with `--cold`, against saving and
  running `python tracker.py check w01.softmax` (a fresh Python, as `check` is).

Goals (issue 27): fresh clone <= 3 s and <= 5 % of the full stub run; after one edit <= the
exercise's own pytest time + 1 s; watch's result <= 1.5 s after the save (warm), against ~4 s for
`check`. `--overhead` adds the older table: the tracker (`--rerun`, so it
really runs) against plain pytest on the same check files, with weeks 01-04 filled in.

Run: `python -m benchmarks.tracker_speed [--repeat 3] [--overhead] [--only-watch]`; the load average is printed
beside the table (two shared cores: compare ratios, not seconds, between runs).
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
from roadmap.pristine import commit_all, copy_whole_course
from tests.test_tracker import watching

FILLED = ["week01_tensors", "week02_bigram", "week03_embeddings", "week04_attention"]
EDITED = "week01_tensors/softmax.py"  # the exercise w01.softmax
EDITED_CHECK = "checks/week01_tensors/test_softmax.py"


def make_clone(dest: Path) -> None:
    """Every tracked file, exercises as shipped, committed to a fresh git repository in `dest`."""
    copy_whole_course(dest)
    commit_all(dest, "clone")


def timed(cmd: list[str], cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("LLM_IMPL", "PYTEST_ADDOPTS")}
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {run.returncode}:\n{run.stdout}{run.stderr}")
    return elapsed


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def loop_table(clone: Path, repeat: int) -> None:
    py = sys.executable
    tracker = [py, "tracker.py"]
    pytest = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    fresh = float("inf")
    for _ in range(repeat):
        shutil.rmtree(clone / "progress", ignore_errors=True)
        fresh = min(fresh, timed(tracker, clone))
    print(f"fresh clone measured ({load()})", flush=True)
    full = timed([*tracker, "--rerun"], clone)  # minutes: once is enough
    print(f"full stub run measured ({load()})", flush=True)
    edit, own = float("inf"), float("inf")
    solution = (ROOT / "solutions" / EDITED).read_text(encoding="utf-8")
    for i in range(repeat):
        (clone / "exercises" / EDITED).write_text(f"{solution}\n# edit {i}\n", encoding="utf-8")
        edit = min(edit, timed(tracker, clone))
        own = min(own, timed([*pytest, EDITED_CHECK], clone))
    print(f"one edit measured ({load()})", flush=True)
    unchanged = min(timed(tracker, clone) for _ in range(repeat))
    print()
    print("| case | tracker (s) | baseline (s) | result | goal |")
    print("|---|---:|---:|---|---|")
    print(
        f"| fresh clone: `python tracker.py` vs the full stub run (`--rerun`) | {fresh:.2f} | "
        f"{full:.1f} | {100 * fresh / full:.1f} % | <= 3 s and <= 5 % |"
    )
    print(
        f"| one exercise edited (w01.softmax): `python tracker.py` vs `pytest {EDITED_CHECK}` | "
        f"{edit:.2f} | {own:.2f} | {edit - own:+.2f} s | <= pytest + 1 s |"
    )
    print(f"| nothing changed: `python tracker.py` again | {unchanged:.2f} | | | |")
    print(f"\n{load()} after the run", flush=True)


def watch_latency(clone: Path, repeat: int, *flags: str) -> list[float]:
    """Seconds from each save of softmax.py to `watch` printing its pass, one per repeat."""
    solution = (ROOT / "solutions" / EDITED).read_text(encoding="utf-8")
    seconds = []
    with watching(clone, *flags) as (wait_for, _):
        wait_for("watching exercises/", 300)  # first exercise checked: the learner is editing
        for i in range(repeat):
            (clone / "exercises" / EDITED).write_text(
                f"{solution}\n# watch {' '.join(flags)} {i}\n"
            )
            start = time.perf_counter()
            wait_for("w01.softmax passes", 300)
            seconds.append(time.perf_counter() - start)
            wait_for("watching exercises/", 300)  # it moved on to the next exercise: idle again
    return seconds


def watch_table(clone: Path, repeat: int) -> None:
    """Save-to-result seconds of watch (warm and --cold) and of check; the first warm save comes
    at once after watch started, while its runner is still importing, so it is shown apart."""
    solution = (ROOT / "solutions" / EDITED).read_text(encoding="utf-8")
    check = []
    for i in range(repeat):
        (clone / "exercises" / EDITED).write_text(f"{solution}\n# check {i}\n", encoding="utf-8")
        check.append(timed([sys.executable, "tracker.py", "check", "w01.softmax"], clone))
    print(f"check measured ({load()})", flush=True)
    warm = watch_latency(clone, repeat)
    print(f"warm watch measured ({load()})", flush=True)
    cold = watch_latency(clone, repeat, "--cold")
    print(f"cold watch measured ({load()})", flush=True)

    def spread(xs: list[float]) -> str:
        return f"{min(xs):.2f} (median {sorted(xs)[len(xs) // 2]:.2f}, max {max(xs):.2f})"

    print("\n| case | seconds: best (median, max) | goal |")
    print("|---|---|---|")
    print(
        f"| watch (warm), save softmax.py -> `w01.softmax passes` on screen | {spread(warm[1:])} | <= 1.5 s |"
    )
    print(
        f"| the first save, at once after starting watch (its runner still loading) | {warm[0]:.2f} | |"
    )
    print(f"| `watch --cold` (a fresh Python per run), every save | {spread(cold)} | |")
    print(f"| save, then `python tracker.py check w01.softmax` | {spread(check)} | ~4 s today |")
    print(f"\n{load()} after the run", flush=True)


def overhead_table(clone: Path, repeat: int) -> None:
    for week in FILLED:
        for src in (ROOT / "solutions" / week).glob("*.py"):
            shutil.copy2(src, clone / "exercises" / week / src.name)
    py = sys.executable
    pytest = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    ready = [f"checks/{w.slug}" for w in load_manifest().ready_weeks()]
    cases = [
        (
            "one exercise (w01.softmax)",
            [py, "tracker.py", "check", "w01.softmax", "--rerun"],
            [*pytest, EDITED_CHECK],
        ),
        ("one week (01)", [py, "tracker.py", "check", "1", "--rerun"], [*pytest, "checks/week01_tensors"]),
        ("one filled-in week (04)", [py, "tracker.py", "check", "4", "--rerun"], [*pytest, "checks/week04_attention"]),
        ("every ready week (status)", [py, "tracker.py", "--rerun"], [*pytest, *ready]),
    ]  # fmt: skip
    print("\n| case (weeks 01-04 filled in) | tracker --rerun (s) | pytest (s) | ratio |")
    print("|---|---:|---:|---:|")
    for name, tracker_cmd, pytest_cmd in cases:
        best_t = best_p = float("inf")
        for _ in range(repeat):
            best_t = min(best_t, timed(tracker_cmd, clone))
            best_p = min(best_p, timed(pytest_cmd, clone))
        print(f"| {name} | {best_t:.1f} | {best_p:.1f} | {best_t / best_p:.2f} |", flush=True)
    print(f"\n{load()} after the run", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="best of this many runs per timing")
    p.add_argument(
        "--overhead", action="store_true", help="also time the tracker against plain pytest"
    )
    p.add_argument("--only-watch", action="store_true", help="time only watch against check")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="llm-speed-") as tmp:
        clone = Path(tmp)
        make_clone(clone)
        print(f"{load()} before the run", flush=True)
        if not args.only_watch:
            loop_table(clone, args.repeat)
        watch_table(clone, args.repeat)
        if args.overhead:
            overhead_table(clone, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
