"""Run checks in a pytest subprocess and classify each exercise: todo, failing, passing, error, needs-extra.

One pytest process runs every selected check file (fast). Its plugin writes one JSON line per event,
so when the process dies (os.abort at import, a hang the watchdog kills, the OOM killer), the runner
knows which file was importing or which test was running: that exercise is "error", and a new process
picks up where the last one stopped. A learner's file can therefore never stop the tracker.
`watch` passes a warm runner (roadmap/warm.py): the same pytest run, forked from a process that has
torch and pytest loaded already, instead of a new Python.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from roadmap import ROOT
from roadmap.extras import install_hint, missing_extras
from roadmap.manifest import Exercise
from roadmap.status import Status

if TYPE_CHECKING:
    from roadmap.warm import WarmRunner

ERROR_PATTERNS = re.compile(
    r"Timeout|MemoryError|can't allocate memory|out of memory|SystemExit|Fatal Python error", re.I
)
MEMORY_LIMIT_GB = float(os.environ.get("LLM_TRACKER_MEMORY_GB", "16"))
# every run's options (the warm runner loads its plugins with the same); addopts= ignores pyproject's
PYTEST_OPTIONS = "-q -p no:cacheprovider -p no:hypothesispytest --no-header -o addopts=".split()


@dataclass
class Result:
    """What one exercise's checks said."""

    status: Status
    message: str = ""
    passed: int = 0
    failed: int = 0
    todo: int = 0
    details: list[str] = field(default_factory=list)  # one line per failing check
    # per failing check: test, message, where (the learner's file:line: code) and traceback
    failures: list[dict] = field(default_factory=list)


def limit_resources() -> None:  # runs in the child, before exec (or pytest.main when warm)
    os.setsid()  # own process group, so the watchdog can kill everything it started
    try:
        import resource

        limit = int(MEMORY_LIMIT_GB * 2**30)
        # subtle: RLIMIT_DATA counts memory actually mapped for writing; RLIMIT_AS would also count
        # address space that is only reserved, which kills Chromium (week 18's browser check)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _crash_line(output: str) -> str:
    """The most telling line of a dead process's output."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.search(r"(Error|Exit|Exception|Fatal Python error|Aborted|Killed)\b", line):
            return line.removeprefix("INTERNALERROR> ").strip()
    return lines[-1] if lines else "no output"


def _where(text: str) -> str:
    """ " (exercises/week01_tensors/softmax.py:12)" for the deepest learner-tree frame in a traceback."""
    found = re.findall(r"((?:exercises|solutions)/[\w/]+\.py)(?:\", line |:)(\d+)", text)
    return f" ({found[-1][0]}:{found[-1][1]})" if found else ""


def _run_pytest(
    files: list[str], deselect: list[str], tree: str, timeout: float, warm: "WarmRunner | None"
) -> tuple[list[dict], str, int | None, bool]:
    """One pytest process over `files`; returns (events, output, returncode, killed_by_watchdog)."""
    with tempfile.TemporaryDirectory(prefix="llm-roadmap-") as tmp:
        events_path, out_path = Path(tmp) / "events.jsonl", Path(tmp) / "output.txt"
        args = [
            *files,
            *PYTEST_OPTIONS,
            "--continue-on-collection-errors",
            f"--impl={tree}",
            f"--timeout={timeout:g}",
        ]
        for nodeid in deselect:
            args += ["--deselect", nodeid]
        env = dict(
            os.environ, LLM_TRACKER_EVENTS=str(events_path), LLM_IMPL=tree, PYTHONFAULTHANDLER="1"
        )
        env.pop("PYTEST_ADDOPTS", None)
        with open(out_path, "w") as out:
            proc = warm.run(args, env, out_path) if warm is not None else None
            if proc is None:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "pytest", *args],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=limit_resources,
                )
            killed, last_size, last_change = False, -1, time.monotonic()
            inactivity = timeout + 15
            try:
                while proc.poll() is None:
                    time.sleep(0.05)
                    size = events_path.stat().st_size if events_path.exists() else 0
                    if size != last_size:
                        last_size, last_change = size, time.monotonic()
                    elif time.monotonic() - last_change > inactivity:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                        killed = True
            except BaseException:  # Ctrl-C: stop the checks too, not only the tracker
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
        events = []
        if events_path.exists():
            for line in events_path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line cut short by a crash
        return (
            events,
            out_path.read_text(encoding="utf-8", errors="replace"),
            proc.returncode,
            killed,
        )


def needs_extra(item: Exercise) -> Result | None:
    """The needs-extra result of an item whose extras are not all installed, else None."""
    missing = missing_extras(item.extras)
    if not missing:
        return None
    return Result(Status.NEEDS_EXTRA, f"needs extra {','.join(missing)}: {install_hint(missing)}")


def run_checks(
    items: list[Exercise], tree: str, timeout: float = 30.0, warm: "WarmRunner | None" = None
) -> dict[str, Result]:
    """Run the checks of `items` against `tree` and classify each item (forked from `warm` if given)."""
    results: dict[str, Result] = {}
    files: list[str] = []
    for item in items:
        needs = needs_extra(item)
        if needs is not None:
            results[item.id] = needs
            continue
        files.extend(item.checks)

    tests: dict[str, dict] = {}  # nodeid -> worst result event
    file_errors: dict[str, str] = {}
    file_skips: dict[str, str] = {}
    deselect: list[str] = []
    pending = []
    for f in files:
        if (ROOT / f).exists():
            pending.append(f)
        else:
            file_errors[f] = f"check file {f} is missing"
    while pending:
        events, output, code, killed = _run_pytest(pending, deselect, tree, timeout, warm)
        open_files: dict[str, bool] = {}
        open_test = None
        finished = False
        for ev in events:
            kind = ev["ev"]
            if kind == "collect_start":
                open_files[ev["path"]] = True
            elif kind == "collect_done":
                open_files.pop(ev["path"], None)
                if ev["outcome"] == "failed":
                    msg = ev.get("msg", "could not import")
                    file_errors[ev["path"]] = msg + _where(ev.get("text", ""))
                elif ev["outcome"] == "skipped":
                    file_skips[ev["path"]] = ev.get("msg", "skipped")
            elif kind == "start":
                open_test = ev["nodeid"]
            elif kind == "result":
                prev = tests.get(ev["nodeid"])
                if prev is None or prev["outcome"] == "passed" or ev["outcome"] == "failed":
                    tests[ev["nodeid"]] = ev
            elif kind == "end":
                open_test = None
            elif kind == "finish":
                finished = True
        why = (
            f"was stopped after no progress for {timeout + 15:.0f} s (an infinite loop?)"
            if killed
            else f"died (exit code {code}): {_crash_line(output)}"
        )
        if open_files:
            culprit = next(iter(open_files))
            file_errors[culprit] = f"the check process {why} while importing for {culprit}"
            pending = [f for f in pending if f != culprit]
            continue
        if open_test is not None and not finished:
            tests[open_test] = {
                "nodeid": open_test,
                "outcome": "failed",
                "when": "call",
                "crash": True,
                "msg": f"the check process {why} while running {open_test}",
            }
            deselect.append(open_test)
            crashed_file = open_test.split("::")[0]
            pending = pending[pending.index(crashed_file) :] if crashed_file in pending else []
            continue
        if not finished and not events:
            for f in pending:
                file_errors.setdefault(f, f"pytest could not start: {_crash_line(output)}")
        break

    for item in items:
        if item.id in results:
            continue
        results[item.id] = _classify(item, tests, file_errors, file_skips)
    return results


def _classify(
    item: Exercise, tests: dict[str, dict], file_errors: dict[str, str], file_skips: dict[str, str]
) -> Result:
    errors = [file_errors[c] for c in item.checks if c in file_errors]
    if errors:
        return Result(Status.ERROR, errors[0])
    mine = [ev for nodeid, ev in tests.items() if nodeid.split("::")[0] in item.checks]
    skips = [file_skips[c] for c in item.checks if c in file_skips]
    if not mine:
        if skips:
            status = Status.NEEDS_EXTRA if skips[0].startswith("needs extra") else Status.TODO
            return Result(status, skips[0])
        return Result(Status.ERROR, f"no checks ran from {', '.join(item.checks)}")
    result = Result(Status.PASSING)
    failures, todos = [], []
    for ev in mine:
        if ev["outcome"] == "passed":
            result.passed += 1
        elif ev["outcome"] == "failed":
            result.failed += 1
            name = ev["nodeid"].split("::", 1)[-1]
            where = ev.get("where", "")
            at = f" (at {where.split(': ')[0]})" if where else ""
            failures.append((ev, f"{name}: {ev.get('msg', '')}{at}"))
            result.failures.append(
                {
                    "test": name,
                    "message": ev.get("msg", ""),
                    "where": where,
                    "traceback": ev.get("text", ""),
                }
            )
        elif ev.get("msg", "").startswith("todo: "):
            result.todo += 1
            todos.append(ev["msg"])
        elif ev.get("msg", "").startswith("needs extra"):
            skips.append(ev["msg"])
    result.details = [line for _, line in failures]
    hard = [
        line for ev, line in failures if ev.get("crash") or ERROR_PATTERNS.search(ev.get("msg", ""))
    ]
    if hard:
        result.status, result.message = Status.ERROR, hard[0]
    elif failures:
        result.status, result.message = Status.FAILING, failures[0][1]
    elif todos:
        result.status, result.message = Status.TODO, todos[0]
    elif result.passed == 0 and skips:
        result.status, result.message = Status.NEEDS_EXTRA, skips[0]
    elif result.passed == 0:
        result.status, result.message = Status.TODO, "every check was skipped"
    return result
