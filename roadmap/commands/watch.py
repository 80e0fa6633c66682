"""watch: rerun the current exercise's checks whenever a file in exercises/ changes.

After a pass it says so and moves to the next unfinished exercise at once. Keys (in a terminal):
press h for the next hint, n to skip to the next exercise, q to quit.
"""

import sys
import time
from pathlib import Path

from roadmap import ROOT
from roadmap.commands.learn import first_unfinished, show_hints
from roadmap.commands.run import run_and_record
from roadmap.manifest import Exercise, Manifest
from roadmap.progress import Progress
from roadmap.status import Status
from roadmap.ui import esc, say

KEYS = "[dim]watching exercises/ for changes: press h for a hint, n for the next exercise, q to quit[/dim]"


def _snapshot() -> dict[Path, float]:
    return {p: p.stat().st_mtime for p in (ROOT / "exercises").rglob("*.py")}


def where(item: Exercise) -> str:
    """The file to edit, or for a project the command that runs it (its file is not yours)."""
    if item.kind == "exercise":
        return f"exercises/{item.file}"
    return f"runs with `python tracker.py project {item.week}` on your week-{item.week:02d} code"


class Keys:
    """Single key presses without Enter where the terminal allows it (POSIX); else none."""

    def __init__(self):
        self.saved = None
        if not sys.stdin.isatty():
            return
        try:
            import termios
            import tty
        except ImportError:  # Windows: watch still reruns, without keys
            return
        self.saved = termios.tcgetattr(sys.stdin)
        tty.setcbreak(sys.stdin.fileno())

    def read(self, timeout: float) -> str:
        if self.saved is None:
            time.sleep(timeout)
            return ""
        import select

        ready, _, _ = select.select([sys.stdin], [], [], timeout)
        return sys.stdin.read(1).lower() if ready else ""

    def close(self) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, self.saved)


def cmd_watch(args, manifest: Manifest) -> int:
    keys = Keys()
    try:
        seen: dict[Path, float] = {}
        item: Exercise | None = None
        last_report: tuple = ()
        while True:
            progress = Progress()
            if item is None:
                item = first_unfinished(manifest, progress)
                if item is None:
                    say("Everything that is ready is passing. Well done!")
                    return 0
                say(f"\n[bold]{esc(item.id)}[/bold] — {esc(item.title)}  ({esc(where(item))})")
                seen, last_report = {}, ()
            snapshot = _snapshot()
            if snapshot != seen:
                seen = snapshot
                result = run_and_record(manifest, [item], "exercises", args.timeout, record=True)
                result = result[item.id]
                if result.status == Status.PASSING:
                    say(f"[green]✅ {esc(item.id)} passes.[/green] On to the next exercise.")
                    item = None
                    continue
                lines = result.details[:5] or ([result.message] if result.message else [])
                report = (result.status, tuple(lines))
                if report != last_report:  # the same failure again is not news
                    say(f"  status: {result.status}")
                    for line in lines:
                        say(f"    {esc(line)}")
                    last_report = report
                else:
                    say(f"  [dim]status: {result.status} (same as before)[/dim]")
                say(KEYS)
                if args.once:
                    return 0
            key = keys.read(1.0)
            if key == "q":
                return 0
            if key == "h":
                show_hints(item, Progress())
            if key == "n":
                items = manifest.all_items()
                later = [
                    i for i in items[items.index(item) + 1 :] if progress.status(i.id) != "passing"
                ]
                if later:
                    item = later[0]
                    say(f"\n[bold]{esc(item.id)}[/bold] — {esc(item.title)}  ({esc(where(item))})")
                    seen, last_report = {}, ()
    except KeyboardInterrupt:
        return 0
    finally:
        keys.close()
