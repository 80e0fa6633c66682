"""status, check and project: run checks, record progress, print what to do next."""

import time
from typing import TYPE_CHECKING

from roadmap.cache import ResultCache
from roadmap.manifest import Exercise, Manifest
from roadmap.progress import PROGRESS_DIR, Progress, atomic_write, render_progress_md, update_log
from roadmap.runner import Result
from roadmap.status import Status
from roadmap.ui import console, esc, plural, say, status_table

if TYPE_CHECKING:
    from roadmap.warm import WarmRunner


def run_and_record(
    manifest: Manifest,
    items: list[Exercise],
    tree: str,
    timeout: float,
    record: bool,
    rerun: bool = False,
    warm: "WarmRunner | None" = None,
) -> dict[str, Result]:
    """Run the checks of `items`; with `record`, update progress/ and logs/ (never for the reference).

    On your own tree a result is reused while nothing it depends on changed, and an untouched stub is
    todo without running (roadmap/cache.py); `rerun` runs every check again. `warm` (watch's) forks
    each run from a process with torch and pytest loaded (roadmap/warm.py).
    """
    from roadmap.runner import run_checks

    started = time.monotonic()
    cache = ResultCache(manifest, timeout) if tree == "exercises" else None
    known, keys = cache.lookup(items, reuse=not rerun) if cache else ({}, {})
    to_run = [item for item in items if item.id not in known]
    results = dict(known)
    if to_run:
        with console.status(
            f"running the checks of {plural(len(to_run), 'exercise')} against {tree}/ ..."
        ):
            results.update(run_checks(to_run, tree, timeout, warm))
    if cache is not None:
        cache.store([item for item in to_run if item.id in keys], keys, results)
        cache.save()
    if record and tree == "exercises":
        progress = Progress()
        progress.record_results(items, results)
        progress.save()
        atomic_write(PROGRESS_DIR / "PROGRESS.md", render_progress_md(manifest, progress))
        for week in {item.week for item in items}:
            update_log(manifest.week(week), progress)
    reused = len(items) - len(to_run)
    say(
        f"[dim]checked {plural(len(items), 'exercise')} against {tree}/ "
        f"in {time.monotonic() - started:.1f} s"
        + (
            f": ran {len(to_run)}, reused {reused} (untouched stubs, or nothing they depend on "
            "changed since their last run; --rerun runs them all)"
            if reused
            else ""
        )
        + "[/dim]"
    )
    return results


def cmd_status(args, manifest: Manifest) -> int:
    items = manifest.select(args.target)
    results = run_and_record(
        manifest, items, args.impl, args.timeout, record=True, rerun=args.rerun
    )
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
        manifest,
        items,
        args.impl,
        args.timeout,
        record=args.impl == "exercises",
        rerun=args.rerun or args.verbose,  # a reused result keeps no traceback to show
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
        if result.status != Status.PASSING:
            for line in (
                failure_lines(result, args.verbose) if result.failures else [result.message]
            ):
                say(f"    {esc(line)}")
        bad |= result.status in (Status.FAILING, Status.ERROR)
    return 1 if bad else 0


def failure_lines(result: Result, verbose: bool, limit: int = 8) -> list[str]:
    """What went wrong, each distinct failure once: the message, then where it left your code.

    Checks that failed the same way (same message, same line of yours) are one entry naming them
    all; with `verbose`, each entry is followed by its full traceback.
    """
    groups: dict[tuple[str, str], list[dict]] = {}
    for failure in result.failures:
        groups.setdefault((failure["message"], failure["where"]), []).append(failure)
    lines: list[str] = []
    for (message, where), same in list(groups.items())[:limit]:
        if len(same) == 1:
            lines.append(f"{same[0]['test']}: {message}")
        else:
            names = ", ".join(f["test"] for f in same[:2]) + (", ..." if len(same) > 2 else "")
            lines.append(f"{message}  ({len(same)} checks: {names})")
        if where:
            location, _, code = where.partition(": ")
            lines += [f"  at {location}", f"      {code}"]
        if verbose:
            lines += [f"  {line}" for line in same[0].get("traceback", "").splitlines()]
    if len(groups) > limit:
        lines.append(f"... and {len(groups) - limit} more")
    if not verbose and any(f["where"] for f in result.failures):
        lines.append("(`--verbose` shows the full traceback)")
    return lines


def cmd_project(args, manifest: Manifest, rest: list[str]) -> int:
    from roadmap.project import load_project

    week = manifest.week(args.week)
    if week.project is None:
        say(f"week {week.label} has no project yet")
        return 1
    argv = list(rest) + (["--impl", args.impl] if args.impl_given else [])
    return load_project(week.slug).main(argv)
