"""The tracker's commands. `python tracker.py --help` lists them; `python tracker.py` is `status`."""

import argparse
import importlib
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from roadmap import ROOT
from roadmap.impl import TREES, set_tree
from roadmap.manifest import Exercise, Manifest, NotInManifest, load_manifest
from roadmap.progress import (
    PROGRESS_DIR,
    Progress,
    atomic_write,
    now,
    render_progress_md,
    update_log,
)
from roadmap.ui import console, fancy, say, status_table

DEFAULT_TIMEOUT = 30.0


# --- running checks ------------------------------------------------------------------------------


def run_and_record(
    manifest: Manifest, items: list[Exercise], tree: str, timeout: float, record: bool
) -> dict:
    """Run the checks of `items`; with `record`, update progress/ and logs/ (never for the reference)."""
    from roadmap.runner import run_checks

    started = time.monotonic()
    if fancy():
        with console.status(f"running the checks of {len(items)} exercises against {tree}/ ..."):
            results = run_checks(items, tree, timeout)
    else:
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
        f"[dim]checked {len(items)} exercises against {tree}/ in {time.monotonic() - started:.1f} s[/dim]"
    )
    return results


def cmd_status(args, manifest: Manifest) -> int:
    items = manifest.select(args.target)
    results = run_and_record(manifest, items, args.impl, args.timeout, record=True)
    weeks = {item.week for item in items} if args.target else None
    status_table(
        manifest,
        {k: r.status for k, r in results.items()},
        {k: r.message for k, r in results.items()},
        weeks,
    )
    if args.impl == "exercises":
        say(
            "[dim]wrote progress/progress.json, progress/PROGRESS.md and logs/; `python tracker.py next` shows what to do next[/dim]"
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
        mark = {
            "passing": "[green]passing[/]",
            "failing": "[red]failing[/]",
            "error": "[bold red]error[/]",
            "todo": "[dim]todo[/]",
            "needs-extra": "[yellow]needs-extra[/]",
        }[result.status]
        counts = f"{result.passed} passed, {result.failed} failed, {result.todo} todo"
        say(f"{item.id:<24} {mark}  ({counts})")
        lines = result.details or ([result.message] if result.message else [])
        if result.status != "passing":
            for line in lines[:8]:
                say(
                    f"    {line}",
                )
        bad |= result.status in ("failing", "error")
    return 1 if bad else 0


# --- hints, solutions, reset, next, list ----------------------------------------------------------


def cmd_hint(args, manifest: Manifest) -> int:
    item = manifest.item(args.id)
    progress = Progress()
    entry = progress.entry(item.id)
    tier = min(entry["hints_shown"] + 1, len(item.hints))
    entry["hints_shown"] = max(entry["hints_shown"], tier)
    progress.save()
    names = ("nudge", "approach", "almost the answer")
    for n in range(1, tier + 1):
        say(
            f"[bold]Hint {n}/{len(item.hints)} ({names[n - 1]})[/bold] for {item.id}: {item.hints[n - 1]}"
        )
    if tier < len(item.hints):
        say(f"[dim]run `python tracker.py hint {item.id}` again for the next hint[/dim]")
    return 0


def cmd_solution(args, manifest: Manifest) -> int:
    item = manifest.item(args.id)
    path = item.path("solutions")
    progress = Progress()
    progress.entry(item.id)["solution_viewed"] = True
    progress.save()
    say(
        f"[bold]Reference for {item.id}[/bold]: solutions/{item.file} (recorded as a peek in progress/progress.json)"
    )
    text = path.read_text(encoding="utf-8")
    if fancy():
        from rich.syntax import Syntax

        console.print(Syntax(text, "python", line_numbers=True))
    else:
        print(text)
    return 0


def pristine_stub(item: Exercise) -> str:
    """The newest version of the exercise file in git history that is still the stub for `item`."""
    rel = f"exercises/{item.file}"
    try:
        shas = subprocess.run(
            ["git", "log", "--format=%H", "--", rel],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError) as error:
        raise RuntimeError(
            f"cannot read git history of {rel} ({error}); `reset` needs the repository's git history"
        ) from error
    for sha in shas:
        text = subprocess.run(
            ["git", "show", f"{sha}:{rel}"], cwd=ROOT, capture_output=True, text=True
        ).stdout
        if f"# TODO({item.id})" in text:
            return text
    raise RuntimeError(f"no stub of {item.id} found in the git history of {rel}")


def cmd_reset(args, manifest: Manifest) -> int:
    item = manifest.item(args.id)
    if item.kind != "exercise":
        say(f"{item.id} is a project; there is nothing of yours to reset")
        return 1
    path = item.path("exercises")
    stub = pristine_stub(item)
    sharing = [i.id for i in manifest.all_items() if i.file == item.file and i.id != item.id]
    say(
        f"This replaces exercises/{item.file} with the original stub"
        + (f" (the file also holds {', '.join(sharing)})" if sharing else "")
        + "."
    )
    if not args.yes:
        if not sys.stdin.isatty():
            say("Not a terminal: pass --yes to confirm.")
            return 1
        if input("Your current file is backed up first. Reset? [y/N] ").strip().lower() not in (
            "y",
            "yes",
        ):
            say("Nothing changed.")
            return 1
    if path.exists():
        backup = (
            PROGRESS_DIR
            / "backups"
            / f"{item.file.replace('/', '__')}.{now()[:19].replace(':', '')}.py"
        )
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, backup)
        say(f"backed up your version to {backup.relative_to(ROOT)}")
    atomic_write(path, stub)
    progress = Progress()
    progress.entry(item.id)["status"] = "todo"
    progress.save()
    say(f"exercises/{item.file} is the pristine stub again")
    return 0


def first_unfinished(manifest: Manifest, progress: Progress) -> Exercise | None:
    for item in manifest.all_items():
        if progress.status(item.id) != "passing":
            return item
    return None


def cmd_next(args, manifest: Manifest) -> int:
    progress = Progress()
    item = first_unfinished(manifest, progress)
    if item is None:
        say(
            "Everything that is ready is passing. Well done! New weeks appear as `coming` in `python tracker.py list`."
        )
        return 0
    entry = progress.entry(item.id)
    entry["hints_shown"] = max(entry["hints_shown"], 1)
    progress.save()
    where = (
        f"exercises/{item.file}"
        if item.kind == "exercise"
        else f"python tracker.py project {item.week}"
    )
    say(f"[bold]Next: {item.id}[/bold] — {item.title}  (status: {progress.status(item.id)})")
    say(f"  file:   {where}")
    if item.functions:
        say(f"  write:  {', '.join(item.functions)}")
    say(f"  check:  python tracker.py check {item.id}")
    say(f"  hint 1: {item.hints[0]}")
    return 0


def cmd_list(args, manifest: Manifest) -> int:
    progress = Progress()
    for week in manifest.weeks:
        say(
            f"[bold]Week {week.label}[/bold]  {week.title}  [dim]({week.phase}; {week.status})[/dim]"
        )
        for item in week.items() if week.ready else []:
            say(
                f"  {item.id:<24} {progress.status(item.id):<12} {item.title}  [dim]~{item.minutes} min, difficulty {item.difficulty}[/dim]"
            )
    return 0


# --- watch ------------------------------------------------------------------------------------------


def _snapshot() -> dict[Path, float]:
    return {p: p.stat().st_mtime for p in (ROOT / "exercises").rglob("*.py")}


def _read_key(timeout: float) -> str:
    import select

    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return sys.stdin.read(1).lower() if ready else ""


def cmd_watch(args, manifest: Manifest) -> int:
    interactive = sys.stdin.isatty()
    saved = None
    if interactive:
        import termios
        import tty

        saved = termios.tcgetattr(sys.stdin)
        tty.setcbreak(sys.stdin.fileno())
    try:
        seen: dict[Path, float] = {}
        item, runs = None, 0
        while True:
            progress = Progress()
            item = (
                first_unfinished(manifest, progress)
                if item is None or progress.status(item.id) == "passing"
                else item
            )
            if item is None:
                say("Everything that is ready is passing.")
                return 0
            snapshot = _snapshot()
            if snapshot != seen:
                seen = snapshot
                runs += 1
                say(f"\n[bold]{item.id}[/bold] — {item.title}  (exercises/{item.file})")
                result = run_and_record(manifest, [item], "exercises", args.timeout, record=True)[
                    item.id
                ]
                say(f"  status: {result.status}  {result.message}")
                for line in result.details[:5]:
                    say(f"    {line}")
                if result.status == "passing":
                    item = None
                    continue
                say(
                    "[dim]watching exercises/ for changes — \\[h] hint  \\[n] next exercise  \\[q] quit[/dim]"
                )
                if args.once:
                    return 0
            key = _read_key(1.0) if interactive else (time.sleep(1.0) or "")
            if key == "q":
                return 0
            if key == "h":
                cmd_hint(argparse.Namespace(id=item.id), manifest)
            if key == "n":
                items = manifest.all_items()
                rest = [
                    i for i in items[items.index(item) + 1 :] if progress.status(i.id) != "passing"
                ]
                item = rest[0] if rest else item
                seen = {}
    except KeyboardInterrupt:
        return 0
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)


# --- doctor, verify, project, data, notebooks ------------------------------------------------------


def cmd_doctor(args, manifest: Manifest) -> int:
    from roadmap.extras import EXTRAS, install_hint, missing_modules

    rows = []
    ok_py = sys.version_info >= (3, 11)
    rows.append(("python", ok_py, platform.python_version(), "install Python 3.11 or newer"))
    try:
        torch = importlib.import_module("torch")
        rows.append(("torch", True, torch.__version__, ""))
        cuda = torch.cuda.is_available()
        rows.append(
            (
                "gpu",
                cuda,
                torch.cuda.get_device_name(0) if cuda else "none",
                "optional: every check runs on the CPU; GPU-only paths (CUDA fp16, bitsandbytes) skip with a reason",
            )
        )
    except ImportError:
        rows.append(
            (
                "torch",
                False,
                "missing",
                "pip install torch  (CPU only: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
            )
        )
    for extra in EXTRAS:
        missing = missing_modules(extra)
        rows.append(
            (
                f"extra {extra}",
                not missing,
                "ok" if not missing else f"missing {', '.join(missing)}",
                install_hint([extra]),
            )
        )
    from course.data import DATASETS, MIRROR_VAR, cache_dir

    mirror = os.environ.get(MIRROR_VAR)
    rows.append(("data mirror", True, mirror or f"not set (optional: {MIRROR_VAR}=DIR)", ""))
    cached = [name for name, d in DATASETS.items() if (cache_dir() / d.mirror_path).exists()]
    rows.append(
        ("data cache", True, f"{len(cached)}/{len(DATASETS)} datasets in {cache_dir()}", "")
    )
    rows.append(
        (
            "git",
            shutil.which("git") is not None,
            shutil.which("git") or "missing",
            "install git (used by `reset`)",
        )
    )
    bad = False
    for name, ok, value, fix in rows:
        mark = "[green]OK[/]     " if ok else "[red]MISSING[/]"
        say(f"{mark} {name:<12} {value}" + (f"\n          fix: {fix}" if not ok and fix else ""))
        bad |= not ok and name in ("python", "torch")
    return 1 if bad else 0


def cmd_verify(args, manifest: Manifest) -> int:
    from roadmap.verify import verify

    items = manifest.select(args.target)
    started = time.monotonic()
    problems = verify(manifest, items, args.timeout, run=not args.no_run)
    for problem in problems:
        say(f"[red]✗[/] {problem}")
    elapsed = time.monotonic() - started
    if problems:
        say(f"\nverify: {len(problems)} problem(s) in {elapsed:.0f} s")
        return 1
    weeks = len(manifest.ready_weeks())
    say(
        f"verify: OK — {weeks} ready weeks, {len(items)} exercises and projects consistent, "
        f"{'' if args.no_run else 'solutions pass, stubs are todo, '}in {elapsed:.0f} s"
    )
    return 0


def cmd_mistakes(args, manifest: Manifest) -> int:
    from roadmap.mistakes import run_battery, table

    weeks = [manifest.week(args.week)] if args.week else manifest.ready_weeks()
    say(
        f"applying known mistakes to a copy of the reference ({'one per exercise' if args.sample else 'all'})"
    )
    outcomes = run_battery(manifest, weeks, sample=args.sample, timeout=args.timeout, say=say)
    print(table(manifest, outcomes))
    bad = [o for o in outcomes if o.status != "caught"]
    return 1 if bad else 0


def cmd_project(args, manifest: Manifest, rest: list[str]) -> int:
    from roadmap.project import load_project

    week = manifest.week(args.week)
    if week.project is None:
        say(f"week {week.label} has no project yet")
        return 1
    argv = list(rest) + (["--impl", args.impl] if args.impl_given else [])
    return load_project(week.slug).main(argv)


def cmd_data(args, manifest: Manifest) -> int:
    from course.data import DATASETS, cache_dir, fetch

    if args.action == "list":
        for name, d in DATASETS.items():
            here = "cached" if (cache_dir() / d.mirror_path).exists() else "-"
            say(f"{name:<22} {d.size / 1e6:6.2f} MB  {here:<7} {d.licence:<28} {d.description}")
        return 0
    names = list(DATASETS) if args.all else args.names
    if not names:
        say("name one or more datasets (see `python tracker.py data list`) or pass --all")
        return 1
    for name in names:
        path = fetch(name, mirror=args.mirror, force=args.force)
        say(f"{name}: {path} (sha256 verified)")
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


# --- argument parsing ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python tracker.py",
        description="LLM Roadmap: run your checks and track your progress.",
    )
    sub = p.add_subparsers(dest="command")

    def with_run_options(sp):
        sp.add_argument(
            "--impl",
            choices=TREES,
            default="exercises",
            help="tree to check (default: exercises, your code)",
        )
        sp.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT,
            help="seconds per check before it counts as an error",
        )
        return sp

    s = with_run_options(
        sub.add_parser(
            "status",
            help="run every ready check, print the table, update progress/ and logs/ (default)",
        )
    )
    s.add_argument(
        "target", nargs="?", help="a week number or an exercise id (default: everything ready)"
    )
    s = with_run_options(
        sub.add_parser(
            "check", help="run one week's or one exercise's checks and show the messages"
        )
    )
    s.add_argument(
        "target", help="a week number (4, 04, week04_attention) or an exercise id (w04.attention)"
    )
    sub.add_parser("hint", help="show the next hint tier for an exercise").add_argument("id")
    sub.add_parser(
        "solution", help="show the reference implementation (recorded as a peek)"
    ).add_argument("id")
    s = sub.add_parser("reset", help="restore an exercise's pristine stub (your file is backed up)")
    s.add_argument("id")
    s.add_argument("--yes", action="store_true", help="do not ask")
    sub.add_parser("next", help="name the first unfinished exercise, its file and hint 1")
    sub.add_parser("list", help="every week and exercise with its recorded status")
    s = sub.add_parser(
        "watch", help="rerun the current exercise's checks whenever a file in exercises/ changes"
    )
    s.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    s.add_argument("--once", action="store_true", help="check once and exit (for scripts)")
    sub.add_parser("doctor", help="check Python, torch, extras, data and GPU, with fixes")
    s = sub.add_parser(
        "verify", help="maintainers: manifest, twins, solutions pass, stubs todo, notebooks fresh"
    )
    s.add_argument("target", nargs="?", help="limit the check runs to a week or an exercise")
    s.add_argument("--timeout", type=float, default=120.0)
    s.add_argument("--no-run", action="store_true", help="skip running the checks")
    s = sub.add_parser(
        "mistakes", help="maintainers: run the known-mistakes battery (each must be caught)"
    )
    s.add_argument("--week", default=None)
    s.add_argument("--sample", action="store_true", help="one mistake per exercise (CI)")
    s.add_argument("--timeout", type=float, default=60.0)
    s = sub.add_parser(
        "project", help="run a week's project (other options go to the project: --short, --out)"
    )
    s.add_argument("week")
    s.add_argument("--impl", choices=TREES, default=None)
    s = sub.add_parser("data", help="datasets: list, or fetch NAME... [--mirror DIR]")
    s.add_argument("action", choices=["list", "fetch"])
    s.add_argument("names", nargs="*")
    s.add_argument("--all", action="store_true")
    s.add_argument(
        "--mirror",
        default=None,
        help="copy from this local directory instead of downloading (env LLM_DATA_MIRROR)",
    )
    s.add_argument("--force", action="store_true")
    sub.add_parser(
        "notebooks", help="maintainers: regenerate notebooks/ from the manifest and handouts"
    ).add_argument("week", nargs="?")
    sub.add_parser(
        "readme", help="maintainers: regenerate the README's week table from the manifest"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["status", *argv]  # `python tracker.py [--impl ...]` is `status`
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command != "project" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "project":
        args.impl_given = args.impl is not None
    elif getattr(args, "impl", None):
        set_tree(args.impl)
    manifest = load_manifest()
    commands = {
        "status": cmd_status,
        "check": cmd_check,
        "hint": cmd_hint,
        "solution": cmd_solution,
        "reset": cmd_reset,
        "next": cmd_next,
        "list": cmd_list,
        "watch": cmd_watch,
        "doctor": cmd_doctor,
        "verify": cmd_verify,
        "mistakes": cmd_mistakes,
        "data": cmd_data,
        "notebooks": cmd_notebooks,
        "readme": cmd_readme,
    }
    try:
        if args.command == "project":
            return cmd_project(args, manifest, rest)
        return commands[args.command](args, manifest)
    except NotInManifest as error:
        say(f"[red]{error.args[0]}[/red]")
        return 2
    except BrokenPipeError:  # `python tracker.py list | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
