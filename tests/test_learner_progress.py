"""The README's test command passes at any point of the course, whatever the learner has written.

A scratch copy of the repository (its tracked files, committed to a fresh git history as shipped)
gets a learner's week-01 progress: one right file committed, one wrong file left uncommitted. The
tracker's own tests then run inside that copy and must still pass: they copy the shipped stubs from
git (roadmap/pristine.py), never the working tree's exercises/.
"""

import os
import shutil
import subprocess
import sys

import pytest

from roadmap import ROOT
from roadmap.pristine import commit_all, copy_whole_course

pytestmark = pytest.mark.timeout(900)

WEEK = "exercises/week01_tensors"
# the tracker tests that read exercises/ through their fixture, and the reset test
TESTS = "fresh_clone or one_correct_file or hint_solution_next_and_reset"


def test_tracker_tests_pass_with_a_learners_progress_in_exercises(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the repository's git history")
    scratch = tmp_path / "clone"
    copy_whole_course(scratch)  # as a fresh clone: the shipped stubs, not this checkout's
    commit_all(scratch)
    right = (ROOT / "solutions/week01_tensors/softmax.py").read_text(encoding="utf-8")
    (scratch / WEEK / "softmax.py").write_text(right, encoding="utf-8")
    commit_all(scratch, "my softmax")  # the learner commits one file
    wrong = (ROOT / "solutions/week01_tensors/masks.py").read_text(encoding="utf-8")
    wrong = wrong.replace("torch.tril(", "torch.triu(")  # a wrong answer, not committed
    (scratch / WEEK / "masks.py").write_text(wrong, encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if k not in ("LLM_IMPL", "PYTEST_ADDOPTS")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_tracker.py", "-q", "-p", "no:cacheprovider"]
        + ["-k", TESTS, "--impl=solutions"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=850,
    )
    assert run.returncode == 0, (
        "with a learner's right and wrong week-01 files in exercises/, the tracker's own tests "
        f"fail: they must copy the shipped stubs from git, not the working tree\n{run.stdout[-3000:]}"
    )
    assert "3 passed" in run.stdout, run.stdout[-2000:]
