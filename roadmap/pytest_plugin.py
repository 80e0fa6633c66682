"""The roadmap's pytest plugin, loaded by the root conftest.py.

- `--impl exercises|solutions` (or env LLM_IMPL) picks the tree under test; the header names it.
- A check that reaches a stub's `NotImplementedError("w01.softmax: ...")` is reported as skipped
  with reason `todo: w01.softmax — ...`, so an untouched repository passes with everything todo.
- A check file whose week needs a missing extra is skipped as `needs extra hf: pip install ...`.
- With env LLM_TRACKER_EVENTS=FILE, every collection and test event is appended to FILE as one JSON
  line, flushed at once, so the tracker can tell which exercise was running if the process dies.
- With env LLM_CHECK_TIMES=FILE, every test phase's duration is appended to FILE (one JSON line:
  nodeid, when, duration), so `verify` can hold each exercise's stub run to its budget.
"""

import json
import linecache
import os
import re
from pathlib import Path

import pytest

from roadmap import ROOT
from roadmap.extras import install_hint, missing_extras
from roadmap.impl import ENV_VAR, TREES, current_tree, set_tree

TODO_PATTERN = re.compile(r"^(w\d\d\.[A-Za-z0-9_]+):\s*(.*)", re.DOTALL)
EVENTS_VAR = "LLM_TRACKER_EVENTS"
TIMES_VAR = "LLM_CHECK_TIMES"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--impl",
        choices=TREES,
        default=None,
        help=f"tree under test: exercises (your code, default) or solutions (the reference); env {ENV_VAR}",
    )


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # checks use tiny tensors: one thread avoids oversubscribing two cores (set before torch loads)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    impl = config.getoption("--impl")
    set_tree(impl or current_tree())
    path = os.environ.get(EVENTS_VAR)
    config._roadmap_events = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115


def pytest_unconfigure(config: pytest.Config) -> None:
    events = getattr(config, "_roadmap_events", None)
    if events is not None:
        events.close()


def pytest_report_header(config: pytest.Config) -> str:
    tree = current_tree()
    who = "your code" if tree == "exercises" else "the reference implementations"
    return f"llm-roadmap: testing the {tree} tree ({who}); switch with --impl=exercises|solutions"


# --- todo: a stub's NotImplementedError becomes a skip ------------------------------------------


def todo_reason(excinfo: pytest.ExceptionInfo | None) -> str | None:
    """`todo: w01.softmax — ...` if the exception is a roadmap stub's NotImplementedError."""
    if excinfo is None or not excinfo.errisinstance(NotImplementedError):
        return None
    match = TODO_PATTERN.match(str(excinfo.value))
    if match is None:
        return None
    exercise, what = match.groups()
    return f"todo: {exercise} — {what.strip()}"


_LEARNER_LINE: dict[str, str] = {}  # nodeid -> where the exception left the learner's code


def learner_line(excinfo: pytest.ExceptionInfo) -> str:
    """`exercises/week01_tensors/softmax.py:12: e = x.exp()`: the deepest frame of the traceback in
    a tree under test, with its line of code ("" when the exception never passed through one)."""
    for entry in reversed(excinfo.traceback):
        rel = _rel(entry.path)
        if rel.startswith(("exercises/", "solutions/")):
            code = linecache.getline(str(entry.path), entry.lineno + 1).strip()
            return f"{rel}:{entry.lineno + 1}: {code}"
    return ""


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A stub's NotImplementedError becomes a skip with reason `todo: ...`, reported at once.

    Returning the report here skips pytest's own traceback formatting, which on a fresh clone (every
    check reaching a stub) was about half of the run's time.
    """
    reason = todo_reason(call.excinfo)
    if reason is None:
        if call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
            _LEARNER_LINE[item.nodeid] = learner_line(call.excinfo)
        return None  # pytest's own report
    path, lineno, _ = item.reportinfo()
    return pytest.TestReport(
        item.nodeid,
        item.location,
        {x: 1 for x in item.keywords},
        "skipped",
        (str(path), (lineno or 0) + 1, reason),
        call.when,
        [],
        call.duration,
        call.start,
        call.stop,
        item.user_properties,
    )


# --- extras: a week that needs a missing extra is skipped, not failed ----------------------------


class NeedsExtra(pytest.File):
    """Stands in for a check module whose week needs an extra that is not installed."""

    reason: str = ""

    def collect(self):
        raise pytest.skip.Exception(self.reason, allow_module_level=True)


def _extras_by_check() -> dict[Path, list[str]]:
    from roadmap.manifest import load_manifest

    table: dict[Path, list[str]] = {}
    for exercise in load_manifest().all_items():
        for check in exercise.checks:
            table[(ROOT / check).resolve()] = exercise.extras
    return table


_EXTRAS_CACHE: dict[Path, list[str]] | None = None


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector):
    global _EXTRAS_CACHE
    if _EXTRAS_CACHE is None:
        _EXTRAS_CACHE = _extras_by_check()
    missing = missing_extras(_EXTRAS_CACHE.get(Path(module_path).resolve(), []))
    if not missing:
        return None
    node = NeedsExtra.from_parent(parent, path=module_path)
    node.reason = f"needs extra {','.join(missing)}: {install_hint(missing)}"
    return node


# --- events for the tracker --------------------------------------------------------------------


def _emit(config: pytest.Config, **event) -> None:
    events = getattr(config, "_roadmap_events", None)
    if events is not None:
        events.write(json.dumps(event) + "\n")
        events.flush()  # the OS keeps flushed lines even if this process dies next


def _rel(path) -> str:
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def first_line(report) -> str:
    """The line a learner should read first: the exception message of the failure."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return longrepr[2].removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return crash.message.strip()
    text = str(longrepr or "").strip()
    errors = [line[2:].strip() for line in text.splitlines() if line.startswith("E ")]
    return (errors[-1] if errors else text.splitlines()[-1] if text else "").strip()


def pytest_collectstart(collector: pytest.Collector) -> None:
    if isinstance(collector, pytest.File):
        _emit(collector.config, ev="collect_start", path=_rel(collector.path))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if not report.nodeid.endswith(".py"):
        return
    event = {"ev": "collect_done", "path": report.nodeid, "outcome": report.outcome}
    if not report.passed:
        event["msg"] = first_line(report)
        event["text"] = str(report.longrepr)[-4000:]
    _emit(_CONFIG.get("config"), **event)


_CONFIG: dict[str, pytest.Config] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config


def pytest_runtest_logstart(nodeid: str, location) -> None:
    _emit(_CONFIG.get("config"), ev="start", nodeid=nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    times = os.environ.get(TIMES_VAR)
    if times:
        line = {"nodeid": report.nodeid, "when": report.when, "duration": report.duration}
        with open(times, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
    if report.when != "call" and report.passed:
        return
    event = {
        "ev": "result",
        "nodeid": report.nodeid,
        "when": report.when,
        "outcome": report.outcome,
    }
    if not report.passed:
        event["msg"] = first_line(report)
        event["text"] = str(report.longrepr)[-12000:]  # `check -v` prints it
        where = _LEARNER_LINE.pop(report.nodeid, "")
        if where:
            event["where"] = where
    _emit(_CONFIG.get("config"), **event)


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    _emit(_CONFIG.get("config"), ev="end", nodeid=nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _emit(session.config, ev="finish", exitstatus=int(exitstatus))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and skipped:
        session.exitstatus = (
            pytest.ExitCode.OK
        )  # every check file skipped as needs-extra: nothing failed


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """One line per exercise that is still todo or needs an extra, instead of one per check."""
    todo: dict[str, tuple[str, int]] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith("todo: ") or reason.startswith("needs extra"):
            key = reason.split(" — ")[0] if reason.startswith("todo: ") else reason
            first, count = todo.get(key, (reason, 0))
            todo[key] = (first, count + 1)
    if todo:
        terminalreporter.section("todo and needs-extra")
        for first, count in todo.values():
            terminalreporter.write_line(f"{first}  ({count} check{'s' if count != 1 else ''})")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Checks marked `gpu` skip with a reason where no CUDA device exists (CI never has one)."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(
            reason="needs a CUDA GPU: this machine has none (the CPU path is checked instead)"
        )
        for item in gpu_items:
            item.add_marker(skip)
