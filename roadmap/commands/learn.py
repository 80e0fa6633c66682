"""next, list, hint and solution: where to go, and help when stuck."""

from rich.syntax import Syntax

from roadmap.manifest import Exercise, Manifest
from roadmap.progress import Progress
from roadmap.status import Status
from roadmap.ui import console, esc, fancy, say

TIERS = ("nudge", "approach", "almost the answer")


def first_unfinished(manifest: Manifest, progress: Progress) -> Exercise | None:
    for item in manifest.all_items():
        if progress.status(item.id) != Status.PASSING:
            return item
    return None


def unfinished_prerequisites(item: Exercise, progress: Progress) -> list[str]:
    """The prerequisites of `item` that are not passing yet, in manifest order."""
    return [pre for pre in item.prerequisites if progress.status(pre) != Status.PASSING]


def cmd_next(args, manifest: Manifest) -> int:
    progress = Progress()
    item = first_unfinished(manifest, progress)
    if item is None:
        say(
            "Everything that is ready is passing. Well done! New weeks appear as `coming` in "
            "`python tracker.py list`."
        )
        return 0
    # hint 1 is shown for free: `hint` counts only the hints asked for
    where = (
        f"exercises/{item.file}"
        if item.kind == "exercise"
        else f"python tracker.py project {item.week}"
    )
    say(
        f"[bold]Next: {esc(item.id)}[/bold] — {esc(item.title)}  "
        f"(status: {progress.status(item.id)})"
    )
    needs = unfinished_prerequisites(item, progress)
    if needs:
        say(f"  needs:  {', '.join(needs)} first")
    say(f"  file:   {esc(where)}")
    if item.functions:
        say(f"  write:  {esc(', '.join(item.functions))}")
    say(f"  check:  python tracker.py check {item.id}")
    say(f"  hint 1: {esc(item.hints[0])}")
    return 0


def cmd_list(args, manifest: Manifest) -> int:
    progress = Progress()
    for week in manifest.weeks:
        say(
            f"[bold]Week {week.label}[/bold]  {esc(week.title)}  "
            f"[dim]({esc(week.phase)}; {week.status})[/dim]"
        )
        for item in week.items() if week.ready else []:
            say(
                f"  {item.id:<24} {progress.status(item.id):<12} {esc(item.title)}  "
                f"[dim]~{item.minutes} min, difficulty {item.difficulty}[/dim]"
            )
    return 0


def show_hints(item: Exercise, progress: Progress) -> None:
    """Show every hint up to the next tier and count it in progress/progress.json."""
    entry = progress.entry(item.id)
    tier = min(entry["hints_shown"] + 1, len(item.hints))
    entry["hints_shown"] = max(entry["hints_shown"], tier)
    progress.save()
    for n in range(1, tier + 1):
        say(
            f"[bold]Hint {n}/{len(item.hints)} ({TIERS[n - 1]})[/bold] for {esc(item.id)}: "
            f"{esc(item.hints[n - 1])}"
        )
    if tier < len(item.hints):
        say(f"[dim]run `python tracker.py hint {item.id}` again for the next hint[/dim]")


def cmd_hint(args, manifest: Manifest) -> int:
    show_hints(manifest.item(args.id), Progress())
    return 0


def cmd_solution(args, manifest: Manifest) -> int:
    item = manifest.item(args.id)
    tree = "solutions" if item.kind == "exercise" else "course"
    progress = Progress()
    progress.entry(item.id)["solution_viewed"] = True
    progress.save()
    say(
        f"[bold]Reference for {esc(item.id)}[/bold]: {tree}/{esc(item.file)} "
        f"(recorded as a peek in progress/progress.json)"
    )
    text = item.path(tree).read_text(encoding="utf-8")
    if fancy():
        console.print(Syntax(text, "python", line_numbers=True))
    else:
        print(text)
    return 0
