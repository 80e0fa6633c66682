"""The known-mistakes battery: plausible learner bugs that each exercise's checks must catch.

Each week keeps its mistakes beside its checks, in `checks/weekNN_topic/mistakes.toml`:

    [[mistakes]]
    exercise = "w01.softmax"               # whose checks must catch it
    name = "no_max_shift"                  # short, unique within the exercise
    promise = "stable for logits near 1000: subtract the row max before exp"   # what it breaks
    cause = "max"                          # the failure message should contain this (case-insensitive)
    gross = false                          # right shape, wrong values (zeros, the input, a constant)?
    old = "s = x - x.amax(dim=dim, keepdim=True)"   # text that occurs exactly once in the reference
    new = "s = x"                          # what the learner wrote instead
    # file = "week01_tensors/softmax.py"   # optional: defaults to the exercise's file

`python tracker.py mistakes [--week N] [--sample]` copies the repository to a temporary folder once,
applies each mistake to the copy's reference tree, runs only that exercise's own checks against it and
reports caught / missed per exercise and week, and whether the failure names the mistake's cause.
`--sample` runs the first mistake of every exercise (what CI runs); the full battery is a benchmark.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from roadmap import ROOT
from roadmap.manifest import Manifest, Week

COPY_IGNORE = shutil.ignore_patterns(
    ".git", "__pycache__", "*.pyc", "runs", "cache", "reports", "progress", "logs", "notebooks"
)


@dataclass
class Mistake:
    exercise: str
    name: str
    promise: str
    old: str
    new: str
    cause: str = ""
    gross: bool = False
    file: str = ""  # inside solutions/; "" means the exercise's file


@dataclass
class Outcome:
    mistake: Mistake
    status: str  # "caught", "missed", "stale" (its `old` text is not in the reference exactly once)
    cause_named: bool = False
    message: str = ""


def mistakes_path(week: Week) -> Path:
    return ROOT / "checks" / week.slug / "mistakes.toml"


def load_mistakes(week: Week) -> list[Mistake]:
    path = mistakes_path(week)
    if not path.exists():
        return []
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    files = {item.id: item.file for item in week.exercises}
    mistakes = []
    for entry in raw.get("mistakes", []):
        mistake = Mistake(**entry)
        if not mistake.file:
            mistake.file = files.get(mistake.exercise, "")
        mistakes.append(mistake)
    return mistakes


def check_battery(manifest: Manifest) -> list[str]:
    """For verify: every mistake names a known exercise and its `old` text occurs once."""
    problems = []
    for week in manifest.ready_weeks():
        ids = {item.id for item in week.exercises}
        rel = mistakes_path(week).relative_to(ROOT)
        seen = set()
        for m in load_mistakes(week):
            key = (m.exercise, m.name)
            if m.exercise not in ids:
                problems.append(f"{rel}: mistake {m.name!r} names unknown exercise {m.exercise!r}")
                continue
            if key in seen:
                problems.append(f"{rel}: mistake {m.exercise}/{m.name} is listed twice")
            seen.add(key)
            source = ROOT / "solutions" / m.file
            count = source.read_text(encoding="utf-8").count(m.old) if source.exists() else 0
            if count != 1:
                problems.append(
                    f"{rel}: mistake {m.exercise}/{m.name}: its `old` text occurs {count} times in "
                    f"solutions/{m.file}, not exactly once"
                )
    return problems


def _run_one(copy: Path, mistake: Mistake, checks: list[str], timeout: float) -> Outcome:
    target = copy / "solutions" / mistake.file
    original = target.read_text(encoding="utf-8")
    if original.count(mistake.old) != 1:
        return Outcome(mistake, "stale", message=f"`old` is not in solutions/{mistake.file} once")
    target.write_text(original.replace(mistake.old, mistake.new), encoding="utf-8")
    try:
        env = {
            k: v for k, v in os.environ.items() if k not in ("LLM_TRACKER_EVENTS", "PYTEST_ADDOPTS")
        }
        env.update(LLM_IMPL="solutions", OMP_NUM_THREADS="1")
        cmd = [sys.executable, "-m", "pytest", *checks, "-q", "-x", "--impl=solutions"]
        cmd += ["-p", "no:cacheprovider", "--tb=short", "-o", "addopts=", f"--timeout={timeout:g}"]
        run = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True)
    finally:
        target.write_text(original, encoding="utf-8")
    output = run.stdout + run.stderr
    failed = run.returncode not in (0, 5) and (" failed" in output or " error" in output)
    lines = [line[2:].strip() for line in output.splitlines() if line.startswith("E ")]
    message = lines[0] if lines else ""
    named = bool(mistake.cause) and mistake.cause.lower() in output.lower()
    return Outcome(mistake, "caught" if failed else "missed", named, message[:200])


def run_battery(
    weeks: list[Week],
    sample: bool = False,
    timeout: float = 60.0,
    say=print,
    only: str | None = None,
) -> list[Outcome]:
    """Apply every mistake of `weeks` (of exercise `only` if given) in a temporary copy and run that
    exercise's checks."""
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="llm-mistakes-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
        for week in weeks:
            checks = {item.id: item.checks for item in week.exercises}
            done: set[str] = set()
            for mistake in load_mistakes(week):
                if (sample and mistake.exercise in done) or (only and mistake.exercise != only):
                    continue
                done.add(mistake.exercise)
                outcome = _run_one(copy, mistake, checks.get(mistake.exercise, []), timeout)
                outcomes.append(outcome)
                mark = {"caught": "caught", "missed": "MISSED", "stale": "STALE"}[outcome.status]
                named = (
                    ""
                    if outcome.status != "caught"
                    else (", cause named" if outcome.cause_named else ", cause NOT named")
                )
                say(f"  {mark:<7} {mistake.exercise}/{mistake.name}{named}")
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    """A Markdown table: per week, mistakes run, caught, gross caught, cause named."""
    rows = [
        "| week | mistakes | caught | gross caught | cause named | missed |",
        "|---|---:|---:|---:|---:|---|",
    ]
    by_week: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_week.setdefault(o.mistake.exercise[:3], []).append(o)
    for week, items in sorted(by_week.items()):
        caught = [o for o in items if o.status == "caught"]
        gross = [o for o in items if o.mistake.gross]
        gross_caught = [o for o in gross if o.status == "caught"]
        named = [o for o in caught if o.cause_named]
        missed = ", ".join(
            f"{o.mistake.exercise}/{o.mistake.name}" for o in items if o.status != "caught"
        )
        rows.append(
            f"| {week[1:]} | {len(items)} | {len(caught)} ({100 * len(caught) / len(items):.0f}%) "
            f"| {len(gross_caught)}/{len(gross)} | {len(named)}/{len(caught)} | {missed or '-'} |"
        )
    return "\n".join(rows)
