"""Maintainers' commands: verify, mistakes, data, notebooks, readme."""

import time

from roadmap import ROOT
from roadmap.manifest import Manifest
from roadmap.progress import atomic_write
from roadmap.ui import esc, say


def cmd_verify(args, manifest: Manifest) -> int:
    from roadmap.verify import verify

    items = manifest.select(args.target)
    started = time.monotonic()
    problems = verify(
        manifest, items, args.timeout, run=not args.no_run, stubs_only=args.stubs_only
    )
    for problem in problems:
        say(f"[red]✗[/] {esc(problem)}")
    elapsed = time.monotonic() - started
    if problems:
        say(f"\nverify: {len(problems)} problem(s) in {elapsed:.0f} s")
        return 1
    weeks = len(manifest.ready_weeks())
    say(
        f"verify: OK — {weeks} ready weeks, {len(items)} exercises and projects consistent, "
        f"{'' if args.no_run else 'stubs are todo, ' if args.stubs_only else 'solutions pass, stubs are todo, '}"
        f"in {elapsed:.0f} s"
    )
    return 0


def cmd_mistakes(args, manifest: Manifest) -> int:
    from roadmap.mistakes import mistakes_path, run_battery, table

    only = getattr(args, "exercise", None)
    if only:  # its week (an unknown id is an error, not an empty battery that passes)
        weeks = [manifest.week(manifest.item(only).week)]
    else:
        weeks = [manifest.week(args.week)] if args.week else manifest.ready_weeks()
    say(
        f"applying known mistakes to a copy of the reference ({'one per exercise' if args.sample else 'all'})"
    )
    outcomes = run_battery(weeks, args.sample, args.timeout, say, only)
    if only and not outcomes:
        say(
            f"[red]✗[/] {only} has no known mistakes in {mistakes_path(weeks[0]).relative_to(ROOT)}"
        )
        return 1
    print(table(outcomes))
    bad = [o for o in outcomes if o.status != "caught"]
    return 1 if bad else 0


def cmd_data(args, manifest: Manifest) -> int:
    from course.data import DATASETS, cache_dir, fetch

    if args.action == "list":
        for name, d in DATASETS.items():
            here = "cached" if (cache_dir() / d.mirror_path).exists() else "-"
            say(
                esc(f"{name:<22} {d.size / 1e6:6.2f} MB  {here:<7} {d.licence:<28} {d.description}")
            )
        return 0
    names = list(DATASETS) if args.all else args.names
    if not names:
        say("name one or more datasets (see `python tracker.py data list`) or pass --all")
        return 1
    for name in names:
        path = fetch(name, mirror=args.mirror, force=args.force)
        say(esc(f"{name}: {path} (sha256 verified)"))
    return 0


def cmd_notebooks(args, manifest: Manifest) -> int:
    from roadmap.notebook import path_for, render

    weeks = [manifest.week(args.week)] if args.week else manifest.ready_weeks()
    for week in weeks:
        path = path_for(week)
        atomic_write(path, render(week))
        say(f"wrote {path.relative_to(ROOT)}")
    return 0


def cmd_readme(args, manifest: Manifest) -> int:
    from roadmap.readme import README, render

    atomic_write(README, render(manifest, README.read_text(encoding="utf-8")))
    say("wrote the week table in README.md")
    return 0
