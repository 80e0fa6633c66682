"""The incremental tracker (roadmap/cache.py), watch following the saved file, and honest summaries.

The end-to-end tests run `python tracker.py` on the week-01 copy of tests/test_tracker.py and read
what it printed ("ran N" counts the exercises whose checks actually ran) and wrote.
"""

import subprocess
import time

import pytest

from course.capstone.hashing import write_state
from course.capstone.presets import STAGES
from course.capstone.summary import capstone_lines, progress_lines
from roadmap.manifest import load_manifest
from roadmap.progress import WORK_GAP_S, Progress
from roadmap.runner import Result
from roadmap.status import Status
from tests import test_tracker
from tests.test_tracker import IDS, WEEK, plant, solution, statuses, tracker, watching

pytestmark = pytest.mark.timeout(300)  # a tracker run under load takes longer than the 60 s default
repo = test_tracker.repo  # the fixture: week 01 as shipped, in a fresh git repository


def ran(run: subprocess.CompletedProcess) -> int:
    """How many exercises' checks the run executed, from its summary line."""
    assert run.returncode in (0, 1), run.stdout + run.stderr
    line = next(line for line in run.stdout.splitlines() if line.startswith("checked "))
    if ": ran " in line:  # "checked 6 exercises ... in 4.1 s: ran 2, reused 4 (...)"
        return int(line.split(": ran ")[1].split(",")[0])
    return int(line.split()[1])  # "checked 6 exercises ... in 9.0 s": every one ran


def edited(text: str, old: str, new: str) -> str:
    assert old in text, f"the test's edit no longer applies: {old!r} is gone"
    return text.replace(old, new)


def test_a_fresh_clone_is_all_todo_without_running_a_check(repo):
    started = time.monotonic()
    run = tracker(repo)
    assert ran(run) == 0, run.stdout
    assert set(statuses(repo).values()) == {"todo"}, statuses(repo)
    assert "untouched stub" in run.stdout
    assert time.monotonic() - started < 30, "no check ran: this should take about a second"


def test_an_unchanged_result_is_reused_and_rerun_runs_it_again(repo):
    plant(repo, "softmax.py", solution("softmax.py"))
    first = tracker(repo)
    assert ran(first) >= 1 and statuses(repo)["w01.softmax"] == "passing", first.stdout
    again = tracker(repo)
    assert ran(again) == 0, again.stdout
    assert statuses(repo)["w01.softmax"] == "passing"
    fresh = tracker(repo, "--rerun")
    assert ran(fresh) == len(IDS) + 1, "--rerun runs every exercise and the project"
    assert statuses(repo)["w01.softmax"] == "passing"


def test_changed_code_never_keeps_its_old_pass(repo):
    plant(repo, "softmax.py", solution("softmax.py"))
    assert tracker(repo, "check", "w01.softmax").returncode == 0
    broken = edited(
        solution("softmax.py"),
        "    shifted = x - x.amax(dim=dim, keepdim=True)\n    e = shifted.exp()",
        "    e = x.exp()",
    )
    plant(repo, "softmax.py", broken)
    run = tracker(repo, "check", "w01.softmax")
    assert run.returncode == 1 and ran(run) == 1, run.stdout
    assert statuses(repo)["w01.softmax"] == "failing"


def test_a_change_in_an_imported_sibling_reruns_the_importer(repo):
    """cross_entropy.py imports log_softmax from softmax.py: breaking softmax breaks it too."""
    plant(repo, "softmax.py", solution("softmax.py"))
    plant(repo, "cross_entropy.py", solution("cross_entropy.py"))
    assert tracker(repo, "check", "w01.cross_entropy").returncode == 0
    plant(
        repo, "softmax.py", edited(solution("softmax.py"), "return shifted - ", "return shifted + ")
    )
    run = tracker(repo, "check", "w01.cross_entropy")
    assert ran(run) == 1 and statuses(repo)["w01.cross_entropy"] == "failing", run.stdout


def test_a_change_in_an_earlier_weeks_solution_reruns_the_exercise_importing_it(repo):
    """Exercises build on earlier weeks through `solutions.` imports; those files are in the key."""
    helper = repo / "solutions" / WEEK / "softmax.py"
    plant(
        repo,
        "cross_entropy.py",
        edited(
            solution("cross_entropy.py"),
            "from .softmax import log_softmax",
            f"from solutions.{WEEK}.softmax import log_softmax",
        ),
    )
    assert tracker(repo, "check", "w01.cross_entropy").returncode == 0
    helper.write_text(edited(helper.read_text(), "return shifted - ", "return shifted + "))
    run = tracker(repo, "check", "w01.cross_entropy")
    assert ran(run) == 1 and statuses(repo)["w01.cross_entropy"] == "failing", run.stdout


def test_a_changed_check_file_reruns_its_exercise(repo):
    plant(repo, "softmax.py", solution("softmax.py"))
    assert tracker(repo, "check", "w01.softmax").returncode == 0
    check = repo / "checks" / WEEK / "test_softmax.py"
    check.write_text(
        check.read_text() + "\n\ndef test_added_later():\n    assert False, 'a new promise'\n"
    )
    run = tracker(repo, "check", "w01.softmax")
    assert run.returncode == 1 and "a new promise" in run.stdout, run.stdout


def test_a_hostile_file_marks_only_its_own_exercise_and_is_never_reused(repo):
    for name in ("shapes.py", "softmax.py", "cross_entropy.py", "information.py"):
        plant(repo, name, solution(name))
    plant(repo, "masks.py", "import os\n\nos.abort()\n")
    assert tracker(repo).returncode == 0
    got = statuses(repo)
    assert got["w01.masks"] == "error", got
    assert all(got[i] == "passing" for i in IDS if i != "w01.masks"), got
    again = tracker(repo)
    assert 1 <= ran(again) <= 2, "the error (and the project that imports it) run again, only they"
    assert statuses(repo) == got


def test_an_exception_in_learner_code_names_the_line_once(repo):
    plant(repo, "softmax.py", solution("softmax.py"))
    buggy = edited(solution("cross_entropy.py"), "flat.clamp(min=0)[:, None]", "flat.clamp(min=0)")
    plant(repo, "cross_entropy.py", buggy)
    run = tracker(repo, "check", "w01.cross_entropy")
    assert run.returncode == 1
    assert run.stdout.count("Index tensor must have the same number of dimensions") == 1, run.stdout
    assert f"at exercises/{WEEK}/cross_entropy.py:" in run.stdout, run.stdout
    assert "logp.gather(1, flat.clamp(min=0))" in run.stdout, "the learner's line of code"
    verbose = tracker(repo, "check", "w01.cross_entropy", "-v")
    assert "def test_" in verbose.stdout and "E       RuntimeError" in verbose.stdout, (
        "--verbose shows the full traceback"
    )


def test_watch_reruns_the_exercise_of_the_saved_file_and_its_importers(repo):
    with watching(repo) as (wait_for, _):
        wait_for("watching exercises/")  # the first check (w01.shapes, an untouched stub) is done
        plant(repo, "softmax.py", solution("softmax.py"))
        said = wait_for("watching exercises/")
        assert f"saved exercises/{WEEK}/softmax.py" in said, said
        assert "checking w01.softmax, w01.cross_entropy" in said, said
        assert "w01.softmax passes" in said, said


def test_summary_time_counts_only_attempts_on_each_weeks_exercises(tmp_path):
    """Checking untouched weeks adds no time; a new version of an exercise adds the time since the
    previous attempt (WORK_GAP_S for the first one), to its own week only."""
    manifest = load_manifest()
    items = manifest.all_items()
    progress = Progress(tmp_path / "progress.json")
    week1 = manifest.week(1)
    first = week1.exercises[0]
    results = {item.id: Result(Status.TODO) for item in items}
    results[first.id] = Result(Status.FAILING)
    progress.record_results(items, results)
    progress.record_results(items, results)  # the same code again: not an attempt, no time
    assert progress.entry(first.id)["seconds"] == WORK_GAP_S
    rows = {line.split(" | ")[0]: line for line in progress_lines(manifest, progress, tmp_path)}
    assert f" {WORK_GAP_S // 60} min " in rows["| 01"], rows["| 01"]
    for week in manifest.ready_weeks()[1:]:
        assert "| — |" in rows[f"| {week.label}"], rows[f"| {week.label}"]


def test_summary_capstone_total_is_the_time_its_stages_took(tmp_path):
    """A rerun that skips every stage took no time itself; the total is what the stages took."""
    runs = tmp_path / "runs"
    names = list(STAGES)[:2]
    for name, seconds in zip(names, (12.5, 30.0)):
        write_state(runs / name, {"stage": name, "hash": "h", "seconds": seconds, "metrics": {}})
    total = next(line for line in capstone_lines(runs, tmp_path) if line.startswith("| total"))
    assert f"| 2/{len(STAGES)} done | 42.5 |" in total, total


def test_a_neighbours_work_in_a_shared_file_leaves_an_exercise_an_untouched_stub():
    """Week 05's model.py holds five exercises: writing LayerNorm.forward (w05.layernorm) leaves
    w05.block's stub untouched, but any change outside the stubs (an import) counts for all."""
    from roadmap.cache import _functions
    from roadmap.pristine import NoGitHistory, pristine_bytes

    rel = "exercises/week05_gpt/model.py"
    try:
        shipped = pristine_bytes(rel)
    except NoGitHistory as error:
        pytest.skip(f"needs the shipped stubs from git: {error}")
    manifest = load_manifest()
    ids = [i.id for i in manifest.week(5).exercises if f"exercises/{i.file}" == rel]
    before = _functions(shipped, ids)
    names = {i: list(functions) for i, functions in before["stubs"].items()}
    assert set(names["w05.layernorm"]) == {"LayerNorm.forward"}, names
    text = shipped.decode()
    start = text.index("    def forward", text.index("class LayerNorm"))
    end = text.index("\n\n\n", start)
    mine = text[:start] + "    def forward(self, x):\n        return x" + text[end:]
    after = _functions(mine.encode(), ids, names=names)
    assert after["outside"] == before["outside"]
    assert after["stubs"]["w05.block"] == before["stubs"]["w05.block"]
    assert after["stubs"]["w05.layernorm"] != before["stubs"]["w05.layernorm"]
    touched = _functions(("import os\n" + mine).encode(), ids, names=names)
    assert touched["outside"] != before["outside"], "a change outside the stubs concerns them all"
