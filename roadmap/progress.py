"""The learner's record: progress/progress.json, progress/PROGRESS.md and the auto section of logs/weekNN.md.

Every write is atomic (temp file + rename), and a log's text outside its two marker lines is the
learner's and is kept byte for byte: the tracker only inserts the week's reflection questions the
log lacks (roadmap/reflection.py), never changing a line that is there.
"""

import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path

from roadmap import ROOT
from roadmap.manifest import Exercise, Manifest, Week
from roadmap.status import Status

PROGRESS_DIR = ROOT / "progress"
LOGS_DIR = ROOT / "logs"
BEGIN = "<!-- tracker:begin — this section is rewritten by `python tracker.py`; write your notes outside it -->"
END = "<!-- tracker:end -->"
WORK_GAP_S = 30 * 60  # a longer pause between two attempts is a break, not work on the exercise


def now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def usual_mode() -> int:
    """The mode a plain `open(path, "w")` gives a new file: 0666 less the process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so that a crash leaves either the old file or the new one, never half.

    The file keeps its mode when it exists, else gets the user's usual one (0666 less the umask), not
    the 0600 of a temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else usual_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else ""


class Progress:
    """progress/progress.json: per exercise status, attempts, dates, hints shown, solution peeks."""

    def __init__(self, path: Path | None = None):
        self.path = path or PROGRESS_DIR / "progress.json"
        self.data: dict = {"version": 1, "exercises": {}, "metrics": {}}
        if self.path.exists():
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                backup = self.path.with_suffix(f".corrupt-{dt.datetime.now():%Y%m%d-%H%M%S}.json")
                os.replace(self.path, backup)  # keep the damaged file for the learner, start afresh
        self.data.setdefault("exercises", {})
        self.data.setdefault("metrics", {})

    def entry(self, exercise_id: str) -> dict:
        entry = self.data["exercises"].setdefault(exercise_id, {})
        for key, default in (
            ("status", Status.TODO.value),
            ("attempts", 0),
            ("first_seen", now()),
            ("first_passed", None),
            ("last_run", None),
            ("hints_shown", 0),
            ("solution_viewed", False),
        ):
            entry.setdefault(key, default)
        return entry

    def status(self, exercise_id: str) -> str:
        return self.data["exercises"].get(exercise_id, {}).get("status", "todo")

    def record_result(self, item: Exercise, status: str, message: str) -> bool:
        """Record one exercise's result; True when it was a new attempt."""
        entry = self.entry(item.id)
        stamp = now()
        # an attempt is a new version of the learner's code that was run and is no longer a stub:
        # the exercise's file, or for a project every file of the week it runs
        if item.kind == "exercise":
            digest = file_hash(item.path("exercises"))
        else:
            files = sorted((ROOT / "exercises" / item.slug).glob("*.py"))
            digest = hashlib.sha256("".join(file_hash(f) for f in files).encode()).hexdigest()[:16]
        attempt = status in (Status.PASSING, Status.FAILING, Status.ERROR) and digest != entry.get(
            "file_hash"
        )
        if attempt:
            entry["attempts"] += 1
        entry["file_hash"] = digest
        entry["status"] = Status(status).value
        entry["message"] = message
        entry["last_run"] = stamp
        if status == Status.PASSING and not entry["first_passed"]:
            entry["first_passed"] = stamp
        return attempt

    def record_results(self, items: list[Exercise], results: dict) -> None:
        """Record a run; the time since the learner's previous attempt goes to this run's attempts.

        That time is the learner's work on the exercises attempted now: from the previous attempt
        (any exercise) to this one, at most WORK_GAP_S (a longer pause is a break, counted as
        WORK_GAP_S of work), shared evenly when one run holds several attempts. A run that finds
        nothing new adds no time, so rerunning `python tracker.py` never inflates a week's time.
        """
        attempted = [
            item
            for item in items
            if self.record_result(item, results[item.id].status, results[item.id].message)
        ]
        if not attempted:
            return
        stamp = dt.datetime.now().astimezone()
        try:
            previous = dt.datetime.fromisoformat(self.data["last_attempt"])
            gap = min(max((stamp - previous).total_seconds(), 0.0), WORK_GAP_S)
        except (KeyError, TypeError, ValueError):
            gap = WORK_GAP_S  # the first attempt: its work started before any run we know of
        for item in attempted:
            entry = self.entry(item.id)
            entry["seconds"] = round(entry.get("seconds", 0.0) + gap / len(attempted), 1)
        self.data["last_attempt"] = stamp.isoformat(timespec="seconds")

    def add_metric(self, week: int, line: str) -> None:
        lines = self.data["metrics"].setdefault(f"{week:02d}", [])
        lines.append(f"{now()[:16].replace('T', ' ')} {line}")
        del lines[:-10]

    def save(self) -> None:
        atomic_write(self.path, json.dumps(self.data, indent=2, ensure_ascii=False) + "\n")


def week_counts(manifest: Manifest, progress: Progress) -> tuple[int, int]:
    items = manifest.all_items()
    return sum(progress.status(i.id) == "passing" for i in items), len(items)


def render_progress_md(manifest: Manifest, progress: Progress) -> str:
    done, total = week_counts(manifest, progress)
    pct = 100 * done / total if total else 0
    lines = [
        "# Progress",
        "",
        f"**{done} of {total} exercises passing ({pct:.0f}%)** — updated {now()[:16].replace('T', ' ')} by `python tracker.py`.",
        "",
        "| week | title | done | status |",
        "|---|---|---|---|",
    ]
    for week in manifest.weeks:
        if not week.ready:
            lines.append(f"| {week.label} | {week.title} | — | coming |")
            continue
        items = week.items()
        passed = sum(progress.status(i.id) == "passing" for i in items)
        marks = "".join(Status(progress.status(i.id)).mark for i in items)
        lines.append(f"| {week.label} | {week.title} | {passed}/{len(items)} | {marks} |")
    lines += ["", "Legend: ✅ passing · ❌ failing · 💥 error · ⬜ todo · 📦 needs an extra", ""]
    for week in manifest.ready_weeks():
        lines += [
            f"## Week {week.label} — {week.title}",
            "",
            "| exercise | status | attempts | first passed | hints |",
            "|---|---|---|---|---|",
        ]
        for item in week.items():
            e = progress.data["exercises"].get(item.id, {})
            first = (e.get("first_passed") or "")[:10]
            lines.append(
                f"| `{item.id}` {item.title} | {Status(e.get('status', 'todo')).mark} "
                f"{e.get('status', 'todo')} | {e.get('attempts', 0)} | {first} | {e.get('hints_shown', 0)}/3 |"
            )
        lines.append("")
    return "\n".join(lines)


def render_log_section(week: Week, progress: Progress) -> str:
    lines = [
        BEGIN,
        "",
        f"_Last run: {now()[:16].replace('T', ' ')}_",
        "",
        "| exercise | status | attempts | first passed | hints | solution peeked |",
        "|---|---|---|---|---|---|",
    ]
    for item in week.items():
        e = progress.data["exercises"].get(item.id, {})
        lines.append(
            f"| `{item.id}` | {Status(e.get('status', 'todo')).mark} {e.get('status', 'todo')} | "
            f"{e.get('attempts', 0)} | {(e.get('first_passed') or '—')[:16].replace('T', ' ')} | "
            f"{e.get('hints_shown', 0)}/3 | {'yes' if e.get('solution_viewed') else 'no'} |"
        )
    metrics = progress.data["metrics"].get(week.label, [])
    if metrics:
        lines += ["", "**Project metrics** (latest last):", "", *[f"- {m}" for m in metrics]]
    lines += ["", END]
    return "\n".join(lines)


def marked_span(text: str) -> tuple[int, int] | None:
    """(start, stop) of the tracker's section in a log, markers included; None when the text has
    no intact BEGIN ... END pair."""
    start = text.find(BEGIN)
    stop = text.find(END, start + len(BEGIN)) if start != -1 else -1
    return (start, stop + len(END)) if stop != -1 else None


def log_path(week: Week) -> Path:
    """logs/weekNN.md, the week's log."""
    return LOGS_DIR / f"week{week.label}.md"


def read_log(path: Path) -> str:
    """A log's text with the learner's line endings as they are ("" when there is none)."""
    if not path.exists():
        return ""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def update_log(week: Week, progress: Progress, path: Path | None = None) -> Path:
    """Rewrite the auto section of logs/weekNN.md (or `path`) and add the week's reflection
    questions the log lacks (roadmap/reflection.py); every other byte of the file is kept."""
    from roadmap.reflection import add_questions  # it reads this module's markers

    path = path or log_path(week)
    section = render_log_section(week, progress)
    if not path.exists():
        text = (
            f"# Week {week.label} — {week.title}\n\n{section}\n\n## My notes\n\n"
            "Write what you learned, what confused you, and what you would try next. The tracker never "
            "changes anything outside the marked section; it only adds the week's questions below.\n"
        )
    else:
        text = read_log(path)
        span = marked_span(text)
        if span:
            text = text[: span[0]] + section + text[span[1] :]
        else:
            # no intact marker pair (edited away?): add a fresh section on top and keep every byte below it
            text = section + "\n\n" + text
    atomic_write(path, add_questions(text, week.reflection))
    return path


def add_metric(week: int, line: str) -> None:
    """Called by a project run on the learner's code: keep the line and refresh the week's log."""
    from roadmap.manifest import load_manifest

    progress = Progress()
    progress.add_metric(week, line)
    progress.save()
    update_log(load_manifest().week(week), progress)
