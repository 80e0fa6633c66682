"""status, check and project: run checks, record progress, print what to do next."""

import time

from roadmap.manifest import Exercise, Manifest
from roadmap.progress import PROGRESS_DIR, Progress, atomic_write, render_progress_md, update_log
from roadmap.runner import Result
from roadmap.status import Status
from roadmap.ui import console, esc, plural, say, status_table


def run_and_record(
    manifest: Manifest, items: list[Exercise], tree: str, timeout: float, record: bool
) -> dict[str, Result]:
    """Run the checks of `items`; with `record`, update progress/ and logs/ (never for the reference)."""
    from roadmap.runner import run_checks

    started = time.monotonic()
    with console.status(
        f"running the checks of {plural(len(items), 'exercise')} against {tree}/ ..."
    ):
        results = run_checks(items, tree, timeout)
    if record and tree == "exercises":
        progress = Progress()
        for item in items:
            progress.record_result(item, results[item.id].status, results[item.id].message)
        progress.save()
        atomic_write(PROGRESS_DIR / "PROGRESS.md", render_progress_md(manifest, progress))
        for week in {item.week for item in items}:
            update_log(manifest.week(week), progress)
    say(
        f"[dim]checked {plural(len(items), 'exercise')} against {tree}/ "
        f"in {time.monotonic() - started:.1f} s[/dim]"
    )
    return results


def cmd_status(args, manifest: Manifest) -> int:
    items = manifest.select(args.target)
    results = run_and_record(manifest, items, args.impl, args.timeout, record=True)
    weeks = {item.week for item in items} if args.target else None
    progress = Progress() if args.impl == "exercises" else None
    status_table(manifest, results, weeks, progress)
    if args.impl == "exercises":
        from course.capstone import write_summary

        write_summary(manifest, progress)
        say(
            "[dim]wrote progress/progress.json, progress/PROGRESS.md, logs/ and reports/SUMMARY.md; "
            "`python tracker.py next` shows what to do next[/dim]"
        )
    return 0


def cmd_check(args, manifest: Manifest) -> int:
    items = manifest.select(args.target)
    results = run_and_record(
        manifest, items, args.impl, args.timeout, record=args.impl == "exercises"
    )
    bad = False
    for item in items:
        result = results[item.id]
        counts = (
            f"{result.passed} passed, {result.failed} failed, {result.todo} todo"
            if result.passed + result.failed + result.todo
            else ""
        )
        say(
            f"{esc(item.id):<24} [{result.status.style}]{result.status}[/]"
            + (f"  ({counts})" if counts else "")
        )
        lines = result.details or ([result.message] if result.message else [])
        if result.status != Status.PASSING:
            for line in lines[:8]:
                say(f"    {esc(line)}")
        bad |= result.status in (Status.FAILING, Status.ERROR)
    return 1 if bad else 0


def cmd_project(args, manifest: Manifest, rest: list[str]) -> int:
    from roadmap.project import load_project

    week = manifest.week(args.week)
    if week.project is None:
        say(f"week {week.label} has no project yet")
        return 1
    argv = list(rest) + (["--impl", args.impl] if args.impl_given else [])
    return load_project(week.slug).main(argv)
