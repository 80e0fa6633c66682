"""reset: bring back the original stub of one exercise; the learner's file is backed up first.

When a file holds several exercises (week 02's train.py, say), only the functions of the exercise
being reset are restored; its neighbours keep the learner's code.
"""

import ast
import shutil
import sys

from roadmap import ROOT
from roadmap.manifest import Exercise, Manifest
from roadmap.pristine import pristine_bytes
from roadmap.progress import PROGRESS_DIR, Progress, atomic_write, now
from roadmap.status import Status
from roadmap.ui import esc, say
from roadmap.verify import stub_functions


def pristine_stub(item: Exercise) -> str:
    """The exercise file as shipped: the newest committed version still holding all its stubs."""
    try:
        return pristine_bytes(f"exercises/{item.file}").decode("utf-8")
    except FileNotFoundError as error:
        raise RuntimeError(f"{item.id}: {error}") from error


def function_spans(source: str) -> dict[str, tuple[int, int]]:
    """Qualified name -> (first line, last line), 1-based, decorators included."""
    spans: dict[str, tuple[int, int]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                spans[prefix + child.name] = (first, child.end_lineno or child.lineno)

    visit(ast.parse(source), "")
    return spans


def restore_functions(current: str, pristine: str, names: set[str]) -> str:
    """`current` with the functions `names` replaced by their text in `pristine`.

    Raises ValueError naming what is missing when `current` does not parse or lacks a function.
    """
    try:
        mine = function_spans(current)
    except SyntaxError as error:
        raise ValueError(f"your file does not parse ({error.msg}, line {error.lineno})") from error
    theirs = function_spans(pristine)
    missing = sorted(n for n in names if n not in mine)
    if missing:
        raise ValueError(f"your file no longer defines {', '.join(missing)}")
    lines, stub_lines = current.splitlines(keepends=True), pristine.splitlines(keepends=True)
    for name in sorted(
        names, key=lambda n: mine[n][0], reverse=True
    ):  # bottom up keeps lines valid
        (a, b), (c, d) = mine[name], theirs[name]
        lines[a - 1 : b] = stub_lines[c - 1 : d]
    return "".join(lines)


def cmd_reset(args, manifest: Manifest) -> int:
    item = manifest.item(args.id)
    if item.kind != "exercise":
        say(f"{esc(item.id)} is a project; there is nothing of yours to reset")
        return 1
    path = item.path("exercises")
    pristine = pristine_stub(item)
    sharing = [i.id for i in manifest.all_items() if i.file == item.file and i.id != item.id]
    names = stub_functions(ast.parse(pristine), item.id)
    if sharing and path.exists() and not args.whole_file:
        try:
            text = restore_functions(path.read_text(encoding="utf-8"), pristine, names)
        except ValueError as error:
            say(
                f"Cannot restore only {esc(item.id)}'s functions: {esc(error)}. The file also holds "
                f"{', '.join(sharing)}; `python tracker.py reset {item.id} --whole-file` restores "
                "the whole file (all of them) after a backup."
            )
            return 1
        what = f"the stubs of {', '.join(sorted(names))} in exercises/{item.file} (its neighbours {', '.join(sharing)} keep your code)"
    else:
        text = pristine
        what = f"exercises/{item.file} with the original stub" + (
            f" (the file also holds {', '.join(sharing)})" if sharing else ""
        )
    say(f"This restores {esc(what)}.")
    if not args.yes:
        if not sys.stdin.isatty():
            say("Not a terminal: pass --yes to confirm.")
            return 1
        answer = input("Your current file is backed up first. Reset? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            say("Nothing changed.")
            return 1
    if path.exists():
        stamp = now()[:19].replace(":", "")
        backup = PROGRESS_DIR / "backups" / f"{item.file.replace('/', '__')}.{stamp}.py"
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, backup)
        say(f"backed up your version to {backup.relative_to(ROOT)}")
    atomic_write(path, text)
    progress = Progress()
    progress.entry(item.id)["status"] = Status.TODO.value
    progress.save()
    say(f"{esc(item.id)} is the pristine stub again")
    return 0
