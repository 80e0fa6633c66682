"""Output: rich tables and bars in a terminal, plain text off a TTY or with NO_COLOR."""

import os
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from roadmap.manifest import Manifest
from roadmap.progress import STATUS_MARK

STYLE = {
    "passing": "green",
    "failing": "red",
    "error": "bold red",
    "todo": "dim",
    "needs-extra": "yellow",
}


def fancy() -> bool:
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )


console = Console(highlight=False, no_color=not fancy(), soft_wrap=not fancy())


def say(text: str = "") -> None:
    """Print a line; rich markup is shown in a terminal and stripped elsewhere."""
    if fancy():
        console.print(text)
    else:
        print(Console(no_color=True).render_str(text).plain if "[" in text else text)


def bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def status_table(
    manifest: Manifest, statuses: dict[str, str], messages: dict[str, str], weeks=None
) -> None:
    """One table per ready week (exercise, status, what to do next) and an overall bar."""
    all_items = manifest.all_items()
    done = sum(statuses.get(i.id) == "passing" for i in all_items)
    for week in manifest.weeks:
        if weeks is not None and week.number not in weeks:
            continue
        if not week.ready:
            say(f"Week {week.label}  {week.title}  [dim](coming)[/dim]")
            continue
        items = week.items()
        passed = sum(statuses.get(i.id) == "passing" for i in items)
        header = f"Week {week.label}  {week.title}  {bar(passed, len(items))} {passed}/{len(items)}"
        if fancy():
            table = Table(title=header, title_justify="left", show_lines=False, expand=False)
            table.add_column("exercise", no_wrap=True)
            table.add_column("status", no_wrap=True)
            table.add_column("next")
            for item in items:
                status = statuses.get(item.id, "todo")
                table.add_row(
                    item.id,
                    f"[{STYLE[status]}]{STATUS_MARK[status]} {status}[/]",
                    escape(messages.get(item.id, "") if status != "passing" else ""),
                )
            console.print(table)
        else:
            print(header)
            for item in items:
                status = statuses.get(item.id, "todo")
                note = messages.get(item.id, "") if status != "passing" else ""
                print(f"  {item.id:<24} {status:<12} {note}".rstrip())
    total = len(all_items)
    pct = 100 * done / total if total else 0
    say(f"\nOverall {bar(done, total, 30)} {done}/{total} exercises passing ({pct:.0f}%)")
