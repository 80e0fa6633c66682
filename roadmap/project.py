"""Shared plumbing for the weeks' projects: the command line, the report folder and the log line.

A project is `course/weekNN_topic/project.py` with `main(argv=None) -> int`. It calls the
learner's code through the seam (`--impl`, default exercises), writes its artifacts to
`reports/weekNN/` and, when it ran on the learner's code, a metrics line into `logs/weekNN.md`.
Run one with `python tracker.py project N [--short] [--impl solutions]`.
"""

import argparse
from pathlib import Path

from roadmap import ROOT
from roadmap.impl import TREES, current_tree, set_tree


def parser(week: int, description: str) -> argparse.ArgumentParser:
    """The arguments every project takes: --impl, --out, --short."""
    p = argparse.ArgumentParser(prog=f"python tracker.py project {week}", description=description)
    p.add_argument(
        "--impl",
        choices=TREES,
        default=None,
        help="tree to run: exercises (yours, default) or solutions",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="artifact folder (default reports/weekNN, or reports/weekNN/reference)",
    )
    p.add_argument(
        "--short",
        action="store_true",
        help="a quick run with the same artifacts, for CI and a first look",
    )
    return p


def setup(week: int, args: argparse.Namespace) -> Path:
    """Apply --impl and return the (created) artifact folder for this run."""
    if args.impl:
        set_tree(args.impl)
    out = args.out
    if out is None:
        out = ROOT / "reports" / f"week{week:02d}"
        if current_tree() == "solutions":
            out = out / "reference"
    out.mkdir(parents=True, exist_ok=True)
    return out


def add_run_dir_flag(p: argparse.ArgumentParser, name: str, what: str) -> None:
    """--run-dir for a project that writes its model (`what`) as a run; see run_dir."""
    p.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help=f"where {what} is written as a run (default runs/{name}, with -reference / -short "
        "for --impl solutions / --short)",
    )
    p.set_defaults(run_name=name)


def run_dir(args: argparse.Namespace) -> Path:
    """Where a project writes its model as a run: --run-dir if given, else runs/<name> (the name
    add_run_dir_flag was given), with "-reference" for the solutions tree and "-short" for --short,
    so a quick or reference run never overwrites the learner's full one (call after setup: it
    reads the tree in use)."""
    if args.run_dir is not None:
        return args.run_dir
    suffix = ("-reference" if current_tree() == "solutions" else "") + (
        "-short" if args.short else ""
    )
    return ROOT / "runs" / f"{args.run_name}{suffix}"


def record(week: int, line: str, out: Path) -> None:
    """Write the run's metrics line to OUT/metrics.txt and, for the learner's own code, to the log."""
    (out / "metrics.txt").write_text(line + "\n", encoding="utf-8")
    print(line)
    if current_tree() == "exercises" and out.resolve().is_relative_to(ROOT / "reports"):
        from roadmap.progress import add_metric

        add_metric(week, line)


def load_project(slug: str):
    """The project module of a week ("week01_tensors"): projects are given runtime, in course/."""
    import importlib

    return importlib.import_module(f"course.{slug}.project")
