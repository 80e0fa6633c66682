"""The warm runner (roadmap/warm.py): runs forked from one process that loaded torch and pytest once
are as crash-proof as a fresh `python -m pytest`, and always import the learner's newest code.

The watch tests drive `python tracker.py watch` (warm by default) on the week-01 copy of
tests/test_tracker.py, save files as a learner would, and read what it printed and recorded.
"""

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from roadmap.runner import _run_pytest
from roadmap.warm import WarmRunner
from tests import test_tracker
from tests.test_tracker import IDS, WEEK, plant, solution, statuses

pytestmark = [
    pytest.mark.timeout(300),  # a tracker run under load takes longer than the 60 s default
    pytest.mark.skipif(sys.platform != "linux", reason="the warm runner forks only on Linux"),
]
repo = test_tracker.repo  # the fixture: week 01 as shipped, in a fresh git repository


@contextlib.contextmanager
def watching(root: Path, *args: str) -> Iterator[Callable[..., str]]:
    """tests/test_tracker.py's watching(), asserting that the warm runner started and never stopped."""
    with test_tracker.watching(root, *args) as (wait_for, everything):
        said = wait_for("watching exercises/")  # the first run (w01.shapes) waits for the server
        assert "warm runner:" in said, f"watch did not start its warm runner:\n{said}"
        yield wait_for
        assert not any("warm runner stopped" in line for line in everything), "".join(everything)


def test_hostile_files_under_warm_watch_mark_only_their_own_exercise(repo):
    """The same five hostile files as tests/test_tracker.py's cold run, saved while watch runs:
    os.abort at import, a 10**13-element allocation (RLIMIT_DATA), an infinite loop (--timeout 3),
    sys.exit at import, a syntax error. Each kills or fails only its forked child."""
    with watching(repo, "--timeout", "3") as wait_for:
        plant(repo, "shapes.py", "def split_heads(x, n_head)\n    return x\n")
        plant(repo, "masks.py", "import os\n\nos.abort()\n")
        allocate = "    torch.empty(10**13)\n    # shifting"
        plant(repo, "softmax.py", solution("softmax.py").replace("    # shifting", allocate, 1))
        hang = "    while True:\n        pass\n"
        plant(
            repo,
            "cross_entropy.py",
            solution("cross_entropy.py").replace("    V = logits.shape[-1]\n", hang),
        )
        plant(repo, "information.py", "import sys\n\nsys.exit(3)\n")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # watch may see the five saves in one run or in two
            wait_for("watching exercises/", seconds=max(1, deadline - time.monotonic()))
            if all(statuses(repo).get(i) == "error" for i in IDS):
                break
        got = json.loads((repo / "progress" / "progress.json").read_text())["exercises"]
        expect = {
            "w01.shapes": "SyntaxError",
            "w01.masks": "Abort",
            "w01.softmax": "allocate",
            "w01.cross_entropy": "Timeout",
            "w01.information": "SystemExit",
        }
        for exercise, fragment in expect.items():
            assert got[exercise]["status"] == "error", (exercise, got[exercise])
            assert fragment in got[exercise]["message"], (exercise, got[exercise]["message"])
        # the server outlived every crash: the next save is still forked from it and passes
        plant(repo, "softmax.py", solution("softmax.py"))
        wait_for("w01.softmax passes")


def test_a_file_saved_after_the_warm_runner_started_is_imported_fresh(repo):
    """Pass, then break, then fix the same file: every child imports the newest text, never a
    module the server kept (it holds no module of exercises/, solutions/ or checks/)."""
    right = solution("softmax.py")
    wrong = right.replace("e / e.sum(dim=dim, keepdim=True)", "e / e.sum()")
    assert wrong != right and len(wrong) != len(right), "a new size: the .pyc check cannot miss it"
    with watching(repo) as wait_for:
        plant(repo, "softmax.py", right)
        wait_for("w01.softmax passes")
        for text, verdict in ((wrong, "w01.softmax: failing"), (right, "w01.softmax passes")):
            plant(repo, "softmax.py", text)
            wait_for(f"saved exercises/{WEEK}/softmax.py")
            said = wait_for("watching exercises/")
            assert verdict in said, said


HANG = """
import signal


def test_hangs_where_pytest_timeout_cannot_reach_it():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # pytest-timeout's alarm never fires
    while True:
        pass
"""


def test_the_watchdog_kills_a_forked_child_and_the_server_serves_the_next_run(tmp_path):
    """A hang that pytest-timeout cannot stop is killed by the runner's watchdog (no new event for
    --timeout + 15 s): the server reports SIGKILL (-9) and forks the next run as before."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["roadmap.pytest_plugin"]\n')
    (tmp_path / "test_hang.py").write_text(HANG, encoding="utf-8")
    (tmp_path / "test_fine.py").write_text("def test_fine():\n    assert True\n", encoding="utf-8")
    warm = WarmRunner()
    try:
        events, output, code, killed = _run_pytest(
            [str(tmp_path / "test_hang.py")], [], "solutions", 1, warm
        )
        assert killed and code == -9, f"expected the watchdog's SIGKILL, got code {code}:\n{output}"
        assert events[-1]["ev"] == "start", "the events name the test that was running"
        _, output, code, killed = _run_pytest(
            [str(tmp_path / "test_fine.py")], [], "solutions", 1, warm
        )
        assert not killed and code == 0, f"the next run after a kill: code {code}:\n{output}"
        assert warm.proc is not None and warm.proc.poll() is None, "the server must still run"
    finally:
        warm.close()
