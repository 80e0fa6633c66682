"""The tracker, end to end, on a throwaway copy of the repository holding week 01 only.

Each test copies the machinery and week 01 into tmp_path (with its own git history, for `reset`),
plants learner code, runs `python tracker.py ...` as a learner would, and reads what it printed and
wrote. These are maintainers' tests: `pytest tests` (they also run under `pytest --impl=solutions`).
"""

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from roadmap import ROOT
from roadmap.manifest import load_manifest
from roadmap.pristine import NoGitHistory, commit_all, copy_course, pristine_bytes

pytestmark = pytest.mark.timeout(300)  # a tracker run under load takes longer than the 60 s default

WEEK = "week01_tensors"
COPY = [
    "roadmap",
    "README.md",
    "notebooks/week01_tensors.ipynb",
    "course/__init__.py",
    "course/data.py",
    "course/capstone",
    f"course/{WEEK}",
    "curriculum",
    "tracker.py",
    "conftest.py",
    "pyproject.toml",
    "exercises/__init__.py",
    "solutions/__init__.py",
    "checks/__init__.py",
    f"exercises/{WEEK}",
    f"solutions/{WEEK}",
    f"checks/{WEEK}",
]
# week 01's exercises, as its manifest lists them
IDS = [item.id for item in load_manifest().week(WEEK).exercises]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the repository with week 01 as the only ready week, committed to a fresh git repo.

    Its exercises are the stubs as shipped (from git), whatever the learner has written in this
    checkout, so these tests pass at any point of the course.
    """
    root = tmp_path / "repo"
    try:
        copy_course(COPY, root)
    except NoGitHistory as error:
        pytest.skip(f"the tracker's tests copy the shipped stubs from git: {error}")
    # only week 01 stays ready, so the copy does not depend on other weeks' files
    for path in (root / "curriculum").glob("week*.toml"):
        if path.stem != WEEK:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace('status = "ready"', 'status = "coming"'), encoding="utf-8")
    commit_all(root)
    return root


def tracker(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LLM_IMPL", "PYTEST_ADDOPTS", "LLM_TRACKER_EVENTS")
    }
    return subprocess.run(
        [sys.executable, "tracker.py", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@contextlib.contextmanager
def watching(root: Path, *args: str) -> Iterator[tuple[Callable[..., str], list[str]]]:
    """Run `python tracker.py watch` in `root`; yields (wait_for(fragment) -> the output up to it,
    every line printed so far)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LLM_IMPL", "PYTEST_ADDOPTS")}
    proc = subprocess.Popen(
        [sys.executable, "tracker.py", "watch", *args],
        cwd=root,
        env=dict(env, PYTHONUNBUFFERED="1"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    everything: list[str] = []

    def wait_for(fragment: str, seconds: float = 180) -> str:
        seen, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            everything.append(line)
            if fragment in line:
                return "".join(seen)
        raise AssertionError(
            f"watch never printed {fragment!r}; it printed:\n{''.join(everything)}"
        )

    try:
        yield wait_for, everything
    finally:
        proc.kill()
        proc.wait()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def statuses(root: Path) -> dict[str, str]:
    data = json.loads((root / "progress" / "progress.json").read_text())
    return {k: v["status"] for k, v in data["exercises"].items()}


def plant(root: Path, name: str, text: str) -> None:
    (root / "exercises" / WEEK / name).write_text(text, encoding="utf-8")


def solution(name: str) -> str:
    return (ROOT / "solutions" / WEEK / name).read_text(encoding="utf-8")


def test_fresh_clone_is_all_todo_and_writes_progress(repo):
    run = tracker(repo)
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(statuses(repo).values()) == {"todo"}, statuses(repo)
    assert (repo / "progress" / "PROGRESS.md").read_text().startswith("# Progress")
    assert "Week 18" in run.stdout and "coming" in run.stdout, "all 18 weeks must be listed"
    assert "\x1b[" not in run.stdout, (
        "output off a terminal must be plain text, without ANSI escapes"
    )
    log = (repo / "logs" / "week01.md").read_text()
    assert "tracker:begin" in log and "## My notes" in log and "## Reflection" in log
    usual = 0o666 & ~current_umask()
    for path in (repo / "progress" / "PROGRESS.md", repo / "logs" / "week01.md"):
        mode = path.stat().st_mode & 0o777
        assert mode == usual, (
            f"{path.relative_to(repo)} has mode {mode:o}, expected {usual:o} (0666 less the umask): "
            "a file written through mkstemp keeps 0600 unless it is chmod-ed"
        )


def test_one_correct_file_turns_exactly_that_exercise_passing(repo):
    plant(repo, "softmax.py", solution("softmax.py"))
    assert tracker(repo).returncode == 0
    got = statuses(repo)
    assert got["w01.softmax"] == "passing", got
    assert all(got[i] == "todo" for i in IDS if i != "w01.softmax"), got


@pytest.mark.parametrize(
    "file,old,new,exercise,fragment",
    [
        (
            "softmax.py",
            "    shifted = x - x.amax(dim=dim, keepdim=True)\n    e = shifted.exp()",
            "    e = x.exp()",
            "w01.softmax",
            "subtract the max",
        ),
        (
            "masks.py",
            "torch.tril(torch.ones(T, T, dtype=torch.bool))",
            "torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)",
            "w01.masks",
            "diagonal",
        ),
    ],
)
def test_a_classic_bug_fails_with_a_message_naming_the_cause(
    repo, file, old, new, exercise, fragment
):
    source = solution(file)
    assert old in source
    plant(repo, file, source.replace(old, new))
    run = tracker(repo, "check", exercise)
    assert run.returncode == 1, run.stdout
    assert "failing" in run.stdout and fragment in run.stdout, run.stdout


def test_broken_learner_files_are_errors_and_do_not_stop_the_tracker(repo):
    plant(repo, "shapes.py", "def split_heads(x, n_head)\n    return x\n")
    plant(repo, "masks.py", "import os\n\nos.abort()\n")
    plant(
        repo,
        "softmax.py",
        solution("softmax.py").replace(
            '    """\n    # shifting', '    """\n    torch.empty(10**13)\n    # shifting'
        ),
    )
    plant(
        repo,
        "cross_entropy.py",
        solution("cross_entropy.py").replace(
            "    V = logits.shape[-1]\n", "    while True:\n        pass\n"
        ),
    )
    plant(repo, "information.py", "import sys\n\nsys.exit(3)\n")
    run = tracker(repo, "--timeout", "3", timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    got = statuses(repo)
    assert all(got[i] == "error" for i in IDS), got
    messages = json.loads((repo / "progress" / "progress.json").read_text())["exercises"]
    expect = {
        "w01.shapes": "SyntaxError",
        "w01.masks": "Abort",
        "w01.softmax": "allocate",
        "w01.cross_entropy": "Timeout",
        "w01.information": "SystemExit",
    }
    for exercise, fragment in expect.items():
        assert fragment in messages[exercise]["message"], (exercise, messages[exercise]["message"])
    assert "exercises/week01_tensors/shapes.py:1" in messages["w01.shapes"]["message"]


def test_one_crashing_file_leaves_the_others_reported_normally(repo):
    for name in ("shapes.py", "softmax.py", "cross_entropy.py", "information.py"):
        plant(repo, name, solution(name))
    plant(repo, "masks.py", "import os\n\nos.abort()\n")
    assert tracker(repo).returncode == 0
    got = statuses(repo)
    assert got["w01.masks"] == "error", got
    assert all(got[i] == "passing" for i in IDS if i != "w01.masks"), got


def test_learner_notes_in_logs_survive_byte_for_byte(repo):
    assert tracker(repo).returncode == 0
    log = repo / "logs" / "week01.md"
    text = log.read_text()
    start, end = (
        text.index("<!-- tracker:begin"),
        text.index("<!-- tracker:end -->") + len("<!-- tracker:end -->"),
    )
    before, after = (
        "My opening thoughts, ünïcode ✓\r\n\n",
        "\n\nI learned that view != reshape.\n  trailing spaces  \n",
    )
    log.write_bytes((before + text[start:end] + after).encode())
    plant(repo, "softmax.py", solution("softmax.py"))
    assert tracker(repo).returncode == 0
    new = log.read_bytes()
    below = new.split(b"<!-- tracker:end -->")[1]
    assert new.startswith(before.encode()) and below.startswith(after.encode()), new
    assert below[len(after.encode()) :].startswith(b"\n## Reflection"), (
        "the week's reflection questions go after the notes, nothing of them in between"
    )
    assert b"passing" in new
    # markers deleted by the learner: their text is kept whole and a fresh section is added
    log.write_bytes(b"only my notes\n")
    assert tracker(repo).returncode == 0
    assert log.read_text().split("<!-- tracker:end -->")[1].startswith("\n\nonly my notes\n")


def test_reference_runs_never_touch_progress_or_logs(repo):
    run = tracker(repo, "check", "1", "--impl", "solutions")
    assert run.returncode == 0, run.stdout
    assert "passing" in run.stdout
    assert not (repo / "progress" / "progress.json").exists()
    assert not (repo / "logs").exists()


def test_hint_solution_next_and_reset(repo):
    for tier in (1, 2, 3, 3):
        run = tracker(repo, "hint", "w01.softmax")
        assert f"Hint {tier}/3" in run.stdout, run.stdout
    data = json.loads((repo / "progress" / "progress.json").read_text())
    assert data["exercises"]["w01.softmax"]["hints_shown"] == 3
    run = tracker(repo, "solution", "w01.softmax")
    assert "x.amax" in run.stdout
    assert json.loads((repo / "progress" / "progress.json").read_text())["exercises"][
        "w01.softmax"
    ]["solution_viewed"]
    run = tracker(repo, "next")
    assert "w01.shapes" in run.stdout and "exercises/week01_tensors/shapes.py" in run.stdout
    plant(repo, "softmax.py", "# my attempt\n")
    assert tracker(repo, "reset", "w01.softmax").returncode == 1, (
        "reset must ask (or need --yes) off a terminal"
    )
    assert tracker(repo, "reset", "w01.softmax", "--yes").returncode == 0
    assert (repo / "exercises" / WEEK / "softmax.py").read_bytes() == pristine_bytes(
        f"exercises/{WEEK}/softmax.py"
    )
    backups = list((repo / "progress" / "backups").iterdir())
    assert len(backups) == 1 and backups[0].read_text() == "# my attempt\n"


def test_verify_names_a_twin_whose_signature_drifted(repo):
    path = repo / "solutions" / WEEK / "softmax.py"
    path.write_text(
        path.read_text().replace(
            "def softmax(x: torch.Tensor, dim: int = -1)",
            "def softmax(x: torch.Tensor, dim: int = 0)",
        )
    )
    run = tracker(repo, "verify", "--no-run")
    assert run.returncode == 1
    assert "solutions/week01_tensors/softmax.py" in run.stdout and "identical" in run.stdout, (
        run.stdout
    )


def test_a_week_whose_extra_is_missing_is_needs_extra_not_failing(repo):
    manifest = repo / "curriculum" / f"{WEEK}.toml"
    manifest.write_text(manifest.read_text().replace("extras = []", 'extras = ["serve"]', 1))
    env_run = subprocess.run(
        [sys.executable, "tracker.py"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, LLM_PRETEND_MISSING="serve"),
    )
    assert env_run.returncode == 0, env_run.stdout + env_run.stderr
    assert set(statuses(repo).values()) == {"needs-extra"}, statuses(repo)
    assert 'pip install -e ".[serve]"' in env_run.stdout
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-q", "-p", "no:cacheprovider"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, LLM_PRETEND_MISSING="serve"),
    )
    assert pytest_run.returncode == 0, pytest_run.stdout
    assert "needs extra serve" in pytest_run.stdout, pytest_run.stdout


def test_verify_fails_a_check_that_builds_a_slow_oracle_before_the_stub(repo, monkeypatch):
    """A 3 s oracle before the stub's call fails verify's stub budget (0.3 s here, so the budget
    that verify stretches by the load average still holds below the sleep at load 20)."""
    monkeypatch.setenv("LLM_STUB_BUDGET_S", "0.3")
    check = repo / "checks" / WEEK / "test_softmax.py"
    text = check.read_text()
    slow = (
        "def test_softmax_known_answer():\n    __import__('time').sleep(3)  # a slow oracle first\n"
    )
    check.write_text(text.replace("def test_softmax_known_answer():\n", slow, 1))
    assert tracker(repo, "readme").returncode == 0  # the copy's week table says "coming"
    run = tracker(repo, "verify", "--stubs-only", "1", timeout=240)
    assert run.returncode == 1, run.stdout
    assert "w01.softmax's checks took" in run.stdout and "untouched stub" in run.stdout, run.stdout
    assert "w01.masks's checks took" not in run.stdout, run.stdout


def test_mistakes_of_an_unknown_exercise_is_an_error_not_an_empty_pass():
    import argparse

    from roadmap.commands.maintain import cmd_mistakes
    from roadmap.manifest import NotInManifest

    args = argparse.Namespace(week=None, exercise="w01.nope", sample=False, timeout=1.0)
    with pytest.raises(NotInManifest):
        cmd_mistakes(args, load_manifest())


def test_the_tracker_knows_every_extra_of_pyproject_and_all_installs_them():
    """roadmap/extras.py mirrors pyproject's optional dependencies; `all` is every extra but llama
    (and dev's own `all`), so a new extra cannot be left out of either."""
    from roadmap.extras import EXTRAS

    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert set(groups) - {"all"} == set(EXTRAS), "roadmap/extras.py and pyproject.toml differ"
    (everything,) = groups["all"]
    listed = set(everything.split("[")[1].rstrip("]").split(","))
    assert listed == set(EXTRAS) - {"llama"}, f"`all` installs {sorted(listed)}"
