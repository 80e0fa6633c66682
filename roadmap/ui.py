"""Output: rich tables and bars in a terminal, plain text off a TTY or with NO_COLOR.

Text that comes from the manifest, the checks or the learner's code goes through `esc()` before it
reaches rich, so `x[i + 1 : i + T + 1]` prints as written instead of being read as markup.
"""

import os
import re
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from roadmap.manifest import Manifest
from roadmap.status import Status


def fancy() -> bool:
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )


console = Console(highlight=False, no_color=not fancy(), soft_wrap=not fancy())
_plain = Console(no_color=True, highlight=False)


def esc(text: object) -> str:
    """Learner-facing text made safe for rich markup."""
    return escape(str(text))


def say(text: str = "") -> None:
    """Print one line of rich markup: styled in a terminal, plain text elsewhere."""
    if fancy():
        console.print(text)
    else:
        print(_plain.render_str(text).plain if "[" in text else text)


def plural(n: int, word: str) -> str:
    """plural(1, "exercise") == "1 exercise"; plural(3, "exercise") == "3 exercises"."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def teaching_line(message: str) -> str:
    """One line for the status table: the check's message and its likely cause, never a dump."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0]
    name, _, rest = first.partition(": ")
    if (
        rest.startswith("assert ")
        or first.startswith("assert ")
        or rest.startswith("AssertionError")
    ):
        return f"{name}: failed; `python tracker.py check <id>` shows the details"
    cause = next((line for line in lines[1:] if line.startswith("likely cause")), "")
    line = first + (f" — {cause}" if cause else "")
    return re.sub(r"\s+", " ", line)[:220]


def status_table(manifest: Manifest, results: dict, weeks=None, progress=None) -> None:
    """One table per ready week (exercise, status, what to do next) and an overall bar.

    `results` maps exercise ids to runner Results; `progress`, when given, supplies the statuses
    of prerequisites for the "needs X first" note of exercises that are still todo.
    """
    all_items = manifest.all_items()
    statuses = {i.id: progress.status(i.id) for i in all_items} if progress is not None else {}
    statuses.update({k: r.status for k, r in results.items()})
    done = sum(statuses.get(i.id) == Status.PASSING for i in all_items)
    for week in manifest.weeks:
        if weeks is not None and week.number not in weeks:
            continue
        if not week.ready:
            say(f"Week {week.label}  {esc(week.title)}  [dim](coming)[/dim]")
            continue
        items = week.items()
        passed = sum(statuses.get(i.id) == Status.PASSING for i in items)
        header = f"Week {week.label}  {week.title}  {bar(passed, len(items))} {passed}/{len(items)}"
        rows = []
        for item in items:
            status = Status(statuses.get(item.id, Status.TODO))
            result = results.get(item.id)
            note = (
                "" if status == Status.PASSING or result is None else teaching_line(result.message)
            )
            if status == Status.TODO and progress is not None:
                needs = [p for p in item.prerequisites if progress.status(p) != Status.PASSING]
                if needs:
                    note = f"needs {', '.join(needs)} first"
            rows.append((item.id, status, note))
        if fancy():
            table = Table(title=esc(header), title_justify="left", show_lines=False, expand=False)
            table.add_column("exercise", no_wrap=True)
            table.add_column("status", no_wrap=True)
            table.add_column("next")
            for item_id, status, note in rows:
                table.add_row(item_id, f"[{status.style}]{status.mark} {status}[/]", esc(note))
            console.print(table)
        else:
            print(header)
            for item_id, status, note in rows:
                print(f"  {item_id:<24} {status:<12} {note}".rstrip())
    total = len(all_items)
    pct = 100 * done / total if total else 0
    say(f"\nOverall {bar(done, total, 30)} {done}/{total} exercises passing ({pct:.0f}%)")
