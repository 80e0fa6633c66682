"""The tracker's command line. `python tracker.py --help` lists the commands; plain
`python tracker.py` is `status`. The commands live in roadmap.commands, one module per family."""

import argparse
import os
import sys

from roadmap.commands.doctor import cmd_doctor
from roadmap.commands.learn import cmd_hint, cmd_list, cmd_next, cmd_solution
from roadmap.commands.maintain import (
    cmd_data,
    cmd_mistakes,
    cmd_notebooks,
    cmd_readme,
    cmd_verify,
)
from roadmap.commands.reflect import cmd_reflect
from roadmap.commands.reset import cmd_reset
from roadmap.commands.run import cmd_check, cmd_project, cmd_status
from roadmap.commands.watch import cmd_watch
from roadmap.impl import TREES, set_tree
from roadmap.manifest import NotInManifest, load_manifest
from roadmap.ui import esc, say

DEFAULT_TIMEOUT = 30.0


def cmd_capstone(rest: list[str]) -> int:
    from course.capstone import main as capstone

    return capstone(rest)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python tracker.py",
        description="LLM Roadmap's tracker: run your checks, see your progress, get hints.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def runs_checks(s: argparse.ArgumentParser, target_help: str) -> None:
        s.add_argument("target", nargs="?", help=target_help)
        s.add_argument(
            "--impl",
            choices=TREES,
            default="exercises",
            help="tree to check: exercises (yours, default) or solutions (the reference; "
            "never touches your progress)",
        )
        s.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per check")
        s.add_argument(
            "--rerun",
            action="store_true",
            help="run every check again instead of reusing results whose code did not change",
        )

    s = sub.add_parser("status", help="run every ready check, print the table, update progress/")
    runs_checks(s, "a week (1, 01, week01_tensors) or an exercise id (w01.softmax)")
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("check", help="run the checks of one week or exercise and show failures")
    runs_checks(s, "a week (1) or an exercise id (w01.softmax)")
    s.add_argument(
        "-v", "--verbose", action="store_true", help="show the full traceback of each failure"
    )
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("next", help="name the first unfinished exercise, its file and hint 1")
    s.set_defaults(func=cmd_next)
    s = sub.add_parser("list", help="every week and exercise with its recorded status")
    s.set_defaults(func=cmd_list)
    s = sub.add_parser("hint", help="show the next hint tier for an exercise")
    s.add_argument("id")
    s.set_defaults(func=cmd_hint)
    s = sub.add_parser("solution", help="show the reference for an exercise (recorded as a peek)")
    s.add_argument("id")
    s.set_defaults(func=cmd_solution)
    s = sub.add_parser(
        "reflect",
        help="a week's reflection questions (answered or not) in its log; all weeks' counts",
    )
    s.add_argument(
        "week", nargs="?", help="a week (2, 02, week02_bigram); none: every week's count"
    )
    s.set_defaults(func=cmd_reflect)
    s = sub.add_parser(
        "reset", help="restore an exercise's original stub functions (your file is backed up)"
    )
    s.add_argument("id")
    s.add_argument("--yes", action="store_true", help="do not ask")
    s.add_argument(
        "--whole-file",
        action="store_true",
        help="restore the whole file even when it holds other exercises too",
    )
    s.set_defaults(func=cmd_reset)
    s = sub.add_parser(
        "watch", help="rerun the current exercise's checks whenever a file in exercises/ changes"
    )
    s.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    s.add_argument("--once", action="store_true", help="check once and exit (for scripts)")
    s.add_argument(
        "--cold",
        action="store_true",
        help="start a fresh Python for every run instead of forking it from the warm runner",
    )
    s.set_defaults(func=cmd_watch)
    s = sub.add_parser(
        "project", help="run a week's project (other options go to the project: --short, --out)"
    )
    s.add_argument("week")
    s.add_argument("--impl", choices=TREES, default=None)
    s.set_defaults(func=cmd_project)
    s = sub.add_parser(
        "capstone",
        add_help=False,  # its options (--short, --from, --to, --resume, --help) go to the capstone
        help="your model through every stage, tokenizer to served chat; writes reports/SUMMARY.md",
    )
    s.set_defaults(func=cmd_capstone)
    s = sub.add_parser(
        "doctor", help="check Python, system, torch, extras, data and GPU, with fixes"
    )
    s.set_defaults(func=cmd_doctor)
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
    s.set_defaults(func=cmd_data)

    s = sub.add_parser(
        "verify", help="maintainers: manifest, mirror, twins, imports, solutions pass, stubs todo"
    )
    s.add_argument("target", nargs="?", help="limit the check runs to a week or an exercise")
    s.add_argument("--timeout", type=float, default=120.0)
    s.add_argument("--no-run", action="store_true", help="skip running the checks")
    s.add_argument(
        "--stubs-only", action="store_true", help="run only the stubs (must be todo), not solutions"
    )
    s.set_defaults(func=cmd_verify)
    s = sub.add_parser(
        "mistakes", help="maintainers: run the known-mistakes battery (each must be caught)"
    )
    s.add_argument("--week", default=None)
    s.add_argument("--sample", action="store_true", help="one mistake per exercise (CI)")
    s.add_argument(
        "--exercise", default=None, help="only this exercise's mistakes (e.g. w06.unigram)"
    )
    s.add_argument("--timeout", type=float, default=60.0)
    s.set_defaults(func=cmd_mistakes)
    s = sub.add_parser(
        "notebooks", help="maintainers: regenerate notebooks/ from the manifest and handouts"
    )
    s.add_argument("week", nargs="?")
    s.set_defaults(func=cmd_notebooks)
    s = sub.add_parser(
        "readme", help="maintainers: regenerate the README's week table from the manifest"
    )
    s.set_defaults(func=cmd_readme)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["status", *argv]  # `python tracker.py [--impl ...]` is `status`
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command not in ("project", "capstone") and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "project":
        args.impl_given = args.impl is not None
    elif getattr(args, "impl", None):
        set_tree(args.impl)
    manifest = load_manifest()
    try:
        if args.command == "project":
            return cmd_project(args, manifest, rest)
        if args.command == "capstone":
            return cmd_capstone(rest)
        return args.func(args, manifest)
    except NotInManifest as error:
        say(f"[red]{esc(error.args[0])}[/red]")
        return 2
    except BrokenPipeError:  # `python tracker.py list | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
