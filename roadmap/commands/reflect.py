"""reflect: the week's reflection questions, which of them you answered, and where (logs/weekNN.md)."""

from pathlib import Path

from roadmap import ROOT
from roadmap.manifest import Manifest, Week
from roadmap.progress import Progress, atomic_write, log_path, read_log, update_log
from roadmap.reflection import add_questions, answers
from roadmap.status import Status
from roadmap.ui import esc, say


def ask(week: Week, path: Path) -> str:
    """Make sure the log asks the week's questions (created as the tracker creates it when
    missing; otherwise only the missing questions are inserted); return its text."""
    if not path.exists():
        update_log(week, Progress(), path)
    text = read_log(path)
    new = add_questions(text, week.reflection)
    if new != text:
        atomic_write(path, new)
    return new


def cmd_reflect(args, manifest: Manifest) -> int:
    if args.week is None:
        say(
            "Reflection questions answered, per week (`python tracker.py reflect 2` shows week 02's):"
        )
        for week in manifest.ready_weeks():
            path = log_path(week)
            done = sum(bool(a) for a in answers(read_log(path), week.reflection).values())
            say(f"  {week.label} {esc(week.title):<50} {done}/{len(week.reflection)}")
        return 0
    week = manifest.week(args.week)
    if not week.reflection:
        say(f"Week {week.label} asks no reflection questions yet.")
        return 0
    path = log_path(week)
    got = answers(ask(week, path), week.reflection)
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    say(f"Week {week.label} — {esc(week.title)}: answer under each question's heading in {where}")
    for n, question in enumerate(week.reflection, 1):
        mark = Status.PASSING.mark if got[question] else Status.TODO.mark
        say(f"  {mark} {n}. {esc(question)}")
    return 0
