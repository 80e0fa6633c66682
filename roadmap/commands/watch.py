"""watch: rerun checks whenever you save a file in exercises/, starting with the file you saved.

A save reruns the exercise that lives in the saved file, then the exercises whose code imports it
(a week's later files build on its earlier ones), and names the file that triggered the run.
Results that nothing changed are reused (roadmap/cache.py), so only what the save touched runs.
With nothing saved yet it checks the first unfinished exercise; after a pass it moves on to the
next one. Keys (in a terminal): h for the next hint, n to skip to the next exercise, q to quit.

Runs are forked from a warm runner (roadmap/warm.py) that loaded torch and pytest once, so a save
shows its result in about a second instead of the ~4 s of a fresh Python; `--cold` starts a fresh
Python per run, as `check` does.
"""

import sys
import time

from roadmap import ROOT
from roadmap.cache import TREE, Files
from roadmap.commands.learn import first_unfinished, show_hints
from roadmap.commands.run import failure_lines, run_and_record
from roadmap.manifest import Exercise, Manifest
from roadmap.progress import Progress
from roadmap.status import Status
from roadmap.ui import esc, say
from roadmap.warm import start as start_warm

POLL_S = 0.2  # how often exercises/ is looked at: a save is seen within this
KEYS = "[dim]watching exercises/ for changes: press h for a hint, n for the next exercise, q to quit[/dim]"


def _snapshot() -> dict[str, tuple[float, int]]:
    """exercises-relative path -> (mtime, size) of every Python file under exercises/."""
    found = {}
    for path in (ROOT / TREE).rglob("*.py"):
        try:
            stat = path.stat()
        except FileNotFoundError:  # saved by an editor that writes a temporary file and renames
            continue
        found[path.relative_to(ROOT).as_posix()] = (stat.st_mtime, stat.st_size)
    return found


def changed(before: dict, after: dict) -> list[str]:
    """Files added, removed or modified between two snapshots, newest first."""
    paths = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(paths, key=lambda p: after.get(p, (0.0, 0))[0], reverse=True)


def affected(manifest: Manifest, saved: list[str]) -> list[Exercise]:
    """The exercises a save touches: those living in the saved files, then those importing them.

    Example: saving exercises/week05_gpt/model.py gives w05.layernorm ... w05.generate (the file's
    own exercises, manifest order), then w05.train_loop, whose train.py imports model.py.
    """
    # only a week's own files import its exercises (roadmap/impl.py), so only those weeks are read
    weeks = {rel.split("/")[1] for rel in saved if rel.count("/") >= 2}
    exercises = [i for i in manifest.all_items() if i.kind == "exercise" and i.slug in weeks]
    own = [item for item in exercises if f"{TREE}/{item.file}" in saved]
    files = Files({})
    importers = [
        item
        for item in exercises
        if item not in own and files.closure([f"{TREE}/{item.file}"]) & set(saved)
    ]
    return own + importers


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


def _announce(item: Exercise) -> None:
    say(f"\n[bold]{esc(item.id)}[/bold] — {esc(item.title)}  ({esc(where(item))})")


def _report(items: list[Exercise], results: dict, last_report: dict) -> None:
    for item in items:
        result = results[item.id]
        lines = failure_lines(result, verbose=False, limit=5) if result.failures else []
        lines = lines or ([result.message] if result.message else [])
        report = (result.status, tuple(lines))
        if result.status == Status.PASSING:
            say(f"[green]✅ {esc(item.id)} passes.[/green]")
        elif report != last_report.get(item.id):  # the same failure again is not news
            say(f"  {esc(item.id)}: {result.status}")
            for line in lines:
                say(f"    {esc(line)}")
        else:
            say(f"  [dim]{esc(item.id)}: {result.status} (same as before)[/dim]")
        last_report[item.id] = report


def cmd_watch(args, manifest: Manifest) -> int:
    keys = Keys()
    warm = None if args.cold or args.once else start_warm()
    if warm is not None:
        say("[dim]warm runner: torch and pytest load once, every run is forked from it[/dim]")
    try:
        seen = _snapshot()
        item: Exercise | None = None
        saved: list[str] | None = []  # files saved since the last run; [] checks `item`, None waits
        last_report: dict[str, tuple] = {}
        while True:
            progress = Progress()
            if item is None:
                item = first_unfinished(manifest, progress)
                if item is None:
                    say("Everything that is ready is passing. Well done!")
                    return 0
                _announce(item)
                saved = []
            if saved is not None:
                items = affected(manifest, saved) if saved else []
                if saved:
                    names = ", ".join(saved[:3]) + (" ..." if len(saved) > 3 else "")
                    runs = ", ".join(i.id for i in items) or f"{item.id} (no exercise lives there)"
                    say(f"\n[bold]saved {esc(names)}[/bold]: checking {esc(runs)}")
                items = items or [item]
                results = run_and_record(
                    manifest, items, TREE, args.timeout, record=True, warm=warm
                )
                _report(items, results, last_report)
                saved = None
                if item.id in results and results[item.id].status == Status.PASSING:
                    say("On to the next exercise.")
                    item = None
                    if not args.once:
                        continue
                say(KEYS)
                if args.once:
                    return 0
            key = keys.read(POLL_S)
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
                    _announce(item)
                    saved = []
            now = _snapshot()
            if saved is None and now != seen:
                saved = changed(seen, now)
            seen = now
    except KeyboardInterrupt:
        return 0
    finally:
        keys.close()
        if warm is not None:
            warm.close()
