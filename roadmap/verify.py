"""`python tracker.py verify`: the maintainers' proof that the course is consistent.

1. The manifest: unique ids, files and checks exist, three hints, known prerequisites, TODO lines,
   3-5 reflection questions per ready week.
2. Twins: each exercise file and its solution have the same imports, signatures, docstrings and given
   code (compared as ASTs with the learner's function bodies removed).
3. Every check passes on the solutions, and every exercise reports todo as shipped, within
   STUB_BUDGET_S of check time (setup, call and teardown; imports not counted).
4. Each ready week has its handout and an up-to-date notebook.
5. The mirror: `solutions/weekNN/` holds exactly the files of `exercises/weekNN/` (minus the handout).
6. The import rule (see roadmap.impl): exercises and solutions import earlier weeks only from
   `solutions` and never `exercises.` of another week; checks reach their own week through the seam,
   never `solutions.`/`exercises.` of their week.
7. The one stub form: every stub has a docstring, exactly one one-line `# TODO(<id>): ...` and raises
   `NotImplementedError("<id>: write <qualname> in exercises/<file>")`; every exercise module's
   docstring ends with the line: Check: `python tracker.py check <id>`.
Each problem is printed with the file and the fix; the exit code is non-zero if there is any.
"""

import ast
import io
import json
import os
import re
import tempfile
import tokenize
from collections.abc import Sequence
from pathlib import Path

from roadmap import ROOT
from roadmap.manifest import Exercise, Manifest, Week
from roadmap.mistakes import check_battery
from roadmap.notebook import handout_path, path_for, render
from roadmap.reflection import normal


def stub_functions(tree: ast.Module, exercise_id: str) -> set[str]:
    """Qualified names of functions whose body raises the stub's NotImplementedError("<id>: ...")."""
    names: set[str] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                for sub in ast.walk(child):
                    if (
                        isinstance(sub, ast.Raise)
                        and isinstance(sub.exc, ast.Call)
                        and getattr(sub.exc.func, "id", "") == "NotImplementedError"
                        and sub.exc.args
                        and isinstance(sub.exc.args[0], ast.Constant | ast.JoinedStr)
                        and ast.unparse(sub.exc.args[0]).strip("f'\"").startswith(f"{exercise_id}:")
                    ):
                        names.add(prefix + child.name)
                        break

    visit(tree, "")
    return names


def skeleton(tree: ast.Module, stubs: set[str]) -> ast.Module:
    """The module with the bodies of `stubs` reduced to their docstrings (changes `tree` in place)."""

    def strip(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                strip(child, f"{prefix}{child.name}.")
            elif (
                isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                and prefix + child.name in stubs
            ):
                doc = ast.get_docstring(child, clean=False)
                child.body = [ast.Expr(ast.Constant(doc))] if doc is not None else [ast.Pass()]

    strip(tree, "")
    return tree


def first_difference(a: ast.Module, b: ast.Module) -> str:
    """A readable pointer to where two skeletons differ."""
    la, lb = ast.unparse(a).splitlines(), ast.unparse(b).splitlines()
    for x, y in zip(la, lb):
        if x != y:
            return f"exercise: {x.strip()!r} vs solution: {y.strip()!r}"
    return f"one file has {abs(len(la) - len(lb))} more lines of code"


def check_manifest(manifest: Manifest) -> list[str]:
    problems: list[str] = []
    ids: set[str] = set()
    all_ids = {item.id for week in manifest.weeks for item in week.items()}
    owners: dict[str, str] = {}
    for week in manifest.weeks:
        if not re.fullmatch(rf"week{week.number:02d}_[a-z0-9_]+", week.slug):
            problems.append(
                f"curriculum/index.toml: week {week.number} slug {week.slug!r} must be week{week.number:02d}_<topic>"
            )
        if week.status not in ("ready", "coming"):
            problems.append(
                f"curriculum/{week.slug}.toml: week {week.label} status {week.status!r} must be 'ready' or 'coming'"
            )
        if not week.ready:
            continue
        if not handout_path(week).exists():
            problems.append(
                f"{handout_path(week).relative_to(ROOT)}: missing; write the week's handout"
            )
        if week.project is None:
            problems.append(
                f"curriculum/{week.slug}.toml: week {week.label} is ready but has no [project]"
            )
        problems += reflection_problems(week)
        for tree in ("exercises", "solutions", "checks"):
            init = ROOT / tree / week.slug / "__init__.py"
            if not init.exists():
                problems.append(f"{init.relative_to(ROOT)}: missing; every folder is a package")
        for item in week.items():
            where = f"curriculum/{week.slug}.toml [{item.id}]"
            if item.id in ids:
                problems.append(f"{where}: duplicate id")
            ids.add(item.id)
            if not re.fullmatch(rf"w{week.number:02d}\.[a-z0-9_]+", item.id):
                problems.append(f"{where}: id must look like w{week.number:02d}.name")
            if not item.file.startswith(f"{week.slug}/"):
                problems.append(f"{where}: file {item.file!r} must live in {week.slug}/")
            if len(item.hints) != 3 or not all(h.strip() for h in item.hints):
                problems.append(
                    f"{where}: needs exactly three non-empty hints (nudge, approach, almost the answer)"
                )
            for pre in item.prerequisites:
                if pre not in all_ids:
                    problems.append(f"{where}: prerequisite {pre!r} is not an exercise id")
            if not 1 <= item.difficulty <= 3:
                problems.append(f"{where}: difficulty must be 1, 2 or 3")
            if not item.checks:
                problems.append(f"{where}: lists no checks")
            for check in item.checks:
                if not (ROOT / check).exists():
                    problems.append(f"{check}: listed for {item.id} but missing")
                if check in owners:
                    problems.append(
                        f"{check}: listed for both {owners[check]} and {item.id}; give each exercise its own check file"
                    )
                owners[check] = item.id
            trees = ("exercises", "solutions") if item.kind == "exercise" else ("course",)
            for tree in trees:
                if not item.path(tree).exists():
                    problems.append(f"{tree}/{item.file}: missing (listed for {item.id})")
            if item.kind == "exercise" and item.path("exercises").exists():
                text = item.path("exercises").read_text(encoding="utf-8")
                if f"# TODO({item.id})" not in text:
                    problems.append(f"exercises/{item.file}: no `# TODO({item.id}): ...` line")
                if not re.search(rf"NotImplementedError\(\s*f?[\"']{re.escape(item.id)}:", text):
                    problems.append(
                        f'exercises/{item.file}: no `raise NotImplementedError("{item.id}: ...")`'
                    )
        for check in sorted((ROOT / "checks" / week.slug).glob("test_*.py")):
            rel = check.relative_to(ROOT).as_posix()
            if rel not in owners:
                problems.append(
                    f"{rel}: not listed under any exercise's checks in curriculum/{week.slug}.toml"
                )
    return problems


def reflection_problems(week: Week) -> list[str]:
    """A ready week asks 3-5 reflection questions, each one distinct line of at most 200
    characters: each becomes a heading of the learner's log (roadmap/reflection.py)."""
    where = f"curriculum/{week.slug}.toml: reflection"
    questions = week.reflection
    problems = []
    if not 3 <= len(questions) <= 5:
        problems.append(f"{where}: has {len(questions)} questions; a ready week asks 3 to 5")
    for q in questions:
        if not q.strip() or "\n" in q or len(q) > 200:
            problems.append(
                f"{where}: {q[:40]!r}... must be one non-empty paragraph of at most 200 characters "
                "(it becomes a heading of logs/weekNN.md)"
            )
    if len({normal(q) for q in questions}) < len(questions):
        problems.append(f"{where}: a question is listed twice")
    return problems


def check_twins(manifest: Manifest) -> list[str]:
    problems: list[str] = []
    files: dict[str, set[str]] = {}
    for item in manifest.all_items():
        if item.kind == "exercise":
            files.setdefault(item.file, set()).add(item.id)
    for file, exercise_ids in files.items():
        ex_path, sol_path = ROOT / "exercises" / file, ROOT / "solutions" / file
        if not (ex_path.exists() and sol_path.exists()):
            continue
        try:
            ex_tree = ast.parse(ex_path.read_text(encoding="utf-8"))
            sol_tree = ast.parse(sol_path.read_text(encoding="utf-8"))
        except SyntaxError as error:
            problems.append(f"{file}: does not parse ({error})")
            continue
        stubs = set().union(*(stub_functions(ex_tree, i) for i in exercise_ids))
        for item in manifest.all_items():
            if item.file == file:
                for fn in item.functions:
                    if not any(
                        s == fn or s.startswith(fn + ".") or s.endswith("." + fn) for s in stubs
                    ):
                        problems.append(
                            f"exercises/{file}: {fn} (listed for {item.id}) is not a stub raising "
                            f'NotImplementedError("{item.id}: ...")'
                        )
        ex_skel, sol_skel = skeleton(ex_tree, stubs), skeleton(sol_tree, stubs)
        if ast.dump(ex_skel) != ast.dump(sol_skel):
            problems.append(
                f"exercises/{file} and solutions/{file} differ outside the learner's function bodies "
                f"({first_difference(ex_skel, sol_skel)}); make imports, signatures, docstrings and given code identical"
            )
    return problems


def check_notebooks(manifest: Manifest) -> list[str]:
    problems = []
    for week in manifest.ready_weeks():
        path = path_for(week)
        if not path.exists() or path.read_text(encoding="utf-8") != render(week):
            problems.append(
                f"{path.relative_to(ROOT)}: missing or stale; run `python tracker.py notebooks`"
            )
    return problems


def check_readme(manifest: Manifest) -> list[str]:
    from roadmap.readme import README, render

    text = README.read_text(encoding="utf-8")
    try:
        fresh = render(manifest, text) == text
    except ValueError:
        return ["README.md: the weeks:begin / weeks:end marker lines are missing"]
    return [] if fresh else ["README.md: the week table is stale; run `python tracker.py readme`"]


def _tree_files(folder) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def check_mirror(manifest: Manifest) -> list[str]:
    """Both trees hold the same files for every week (the handout README.md is the exercise's own)."""
    problems = []
    for week in manifest.weeks:
        ex_dir, sol_dir = ROOT / "exercises" / week.slug, ROOT / "solutions" / week.slug
        if not (ex_dir.exists() or sol_dir.exists()):
            continue
        ex = _tree_files(ex_dir) - {"README.md"} if ex_dir.exists() else set()
        sol = _tree_files(sol_dir) if sol_dir.exists() else set()
        for rel in sorted(sol - ex):
            problems.append(
                f"solutions/{week.slug}/{rel}: has no twin in exercises/{week.slug}/; code without a "
                f"twin (projects, commands, helpers) belongs in course/{week.slug}/"
            )
        for rel in sorted(ex - sol):
            problems.append(
                f"exercises/{week.slug}/{rel}: has no twin in solutions/{week.slug}/; add the reference"
            )
    return problems


def _imports(path) -> list[tuple[int, str]]:
    """(line, module) for every absolute import in a Python file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _week_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1].startswith("week") else None


def check_imports(manifest: Manifest) -> list[str]:
    """The import rule of roadmap.impl, file by file."""
    problems = []
    for tree in ("exercises", "solutions", "checks"):
        for path in sorted((ROOT / tree).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            own = path.relative_to(ROOT / tree).parts[0]
            for line, module in _imports(path):
                top, week = module.split(".")[0], _week_of(module)
                if top not in ("exercises", "solutions"):
                    continue
                if tree != "checks" and top == "exercises":
                    problems.append(
                        f"{rel}:{line}: imports {module}; earlier weeks' building blocks come from "
                        f"`solutions` (so any week can be started first), never from `exercises`"
                    )
                elif tree != "checks" and week == own:
                    problems.append(
                        f"{rel}:{line}: imports {module}; use a relative import (`from .x import y`) "
                        f"inside a week, so both trees stay twins"
                    )
                elif tree == "checks" and (top == "exercises" or week == own or week is None):
                    problems.append(
                        f"{rel}:{line}: imports {module}; checks reach the code under test through "
                        f'the seam (`load("{own}.<module>")`), never a tree directly'
                    )
                elif week is not None and week > own:
                    problems.append(f"{rel}:{line}: imports {module}, a later week than {own}")
    return problems


COMMAND = re.compile(r"`((?:python -m )?pytest [^`]+|python tracker\.py check [^`]+)`")


def check_commands(manifest: Manifest) -> list[str]:
    """Every command quoted in a stub or handout works when pasted from the repository root."""
    problems = []
    known = {item.id for week in manifest.weeks for item in week.items()}
    known |= {w.slug for w in manifest.weeks} | {str(w.number) for w in manifest.weeks}
    known |= {w.label for w in manifest.weeks}
    files = [p for w in manifest.ready_weeks() for p in (ROOT / "exercises" / w.slug).glob("*.*")]
    for path in sorted(files):
        if path.suffix not in (".py", ".md"):
            continue
        for command in COMMAND.findall(path.read_text(encoding="utf-8")):
            words = command.split()
            if "tracker.py" in command:
                targets = [w for w in words[3:] if not w.startswith("-")]
                bad = [w for w in targets[:1] if w not in known]
            else:
                paths = [w.split("::")[0] for w in words if w.startswith(("checks/", "tests/"))]
                bad = [w for w in paths if not (ROOT / w).exists()]
                if not paths:
                    bad = [command]
            if bad:
                problems.append(
                    f"{path.relative_to(ROOT)}: `{command}` does not work when pasted "
                    f"({', '.join(bad)} unknown); prefer `python tracker.py check wNN.id`"
                )
    return problems


TODO_LINE = re.compile(r"# TODO\((w\d{2}\.[a-z0-9_]+)\): \S")
CHECK_LINE = re.compile(
    r"Check: `python tracker\.py check (w\d{2}\.[a-z0-9_]+)`(?: \(then (w\d{2}\.[a-z0-9_]+(?:, w\d{2}\.[a-z0-9_]+)*)\))?"
)


def _comments(source: str) -> dict[int, str]:
    """Line -> the comment on it, for every comment in `source`."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {tok.start[0]: tok.string for tok in tokens if tok.type == tokenize.COMMENT}


def _raises_not_implemented(node: ast.AST) -> list[ast.Raise]:
    """The `raise NotImplementedError...` statements inside `node`."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Raise) and sub.exc is not None:
            exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
            if getattr(exc, "id", "") == "NotImplementedError":
                found.append(sub)
    return found


def _stubs(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(qualified name, node) of every function or method that raises NotImplementedError."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                if _raises_not_implemented(child):
                    found.append((prefix + child.name, child))

    visit(tree, "")
    return found


def _check_line_problems(tree: ast.Module, rel: str, ids: Sequence[str]) -> list[str]:
    """The module docstring's last line is: Check: `python tracker.py check <id>`, with <id> an
    exercise of this file; a file of several exercises may name the others after it, in the form
    ` (then w04.sdpa, w04.mha)`."""
    want = f"Check: `python tracker.py check {ids[0]}`"
    doc = ast.get_docstring(tree, clean=False)
    if doc is None:
        return [f"{rel}:1: no module docstring; say what the file builds and end with {want}"]
    lines = doc.splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=0)
    where = f"{rel}:{tree.body[0].lineno + last}"
    text = lines[last].strip() if lines else ""
    match = CHECK_LINE.fullmatch(text)
    if match is None:
        return [f"{where}: the module docstring must end with the line {want} (found {text!r})"]
    named = [match[1]] + (match[2].split(", ") if match[2] else [])
    strangers = [i for i in named if i not in ids]
    if strangers:
        return [
            f"{where}: the Check line names {', '.join(strangers)}, not an exercise of this file "
            f"({', '.join(ids)})"
        ]
    return []


def stub_form_problems(source: str, rel: str, ids: Sequence[str]) -> list[str]:
    """Where one exercise file breaks the one stub form, as "file:line: what is wrong".

    `rel` is the file's repository path ("exercises/week01_tensors/softmax.py"); `ids` are the
    exercises the manifest lists for it, in order (empty for a file that holds none: then any stub
    in it is reported, and no Check line is asked for). The form, for every function or method that
    raises NotImplementedError:

        def f(...):
            '''The contract: shapes, a worked example, what it raises.'''
            # TODO(wNN.id): one line saying what to achieve, never how
            raise NotImplementedError("wNN.id: write f in exercises/weekNN_topic/file.py")
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    comments = _comments(source)
    problems = _check_line_problems(tree, rel, ids) if ids else []
    known = ", ".join(ids) or "none: the manifest lists no exercise for this file"
    for qualname, fn in _stubs(tree):
        head = f"{rel}:{fn.lineno}: {qualname}"
        if ast.get_docstring(fn) is None:
            problems.append(
                f"{head} is a stub without a docstring; state its contract there (what it returns, "
                "shapes, a worked example, what it raises)"
            )
        todos = [
            (line, text)
            for line, text in sorted(comments.items())
            if fn.lineno <= line <= fn.end_lineno and "TODO" in text
        ]
        todo_id = None
        for line, text in todos:
            match = TODO_LINE.match(text)
            if match is None:
                problems.append(
                    f"{rel}:{line}: {qualname}'s TODO must read `# TODO(<exercise id>): <what to "
                    f"achieve>`, found {text[:60]!r}"
                )
                continue
            if match[1] not in ids:
                problems.append(
                    f"{rel}:{line}: {qualname}'s TODO names {match[1]}, not an exercise of this "
                    f"file ({known})"
                )
            todo_id = todo_id or match[1]
            following = lines[line].strip() if line < len(lines) else ""
            if following.startswith("#"):
                problems.append(
                    f"{rel}:{line + 1}: {qualname}'s TODO goes on over a second comment line; say "
                    "what to achieve in one line (the how belongs in the hints)"
                )
        if not todos:
            problems.append(
                f"{head} has no `# TODO(<exercise id>): ...` line; add one saying what to achieve"
            )
        elif len(todos) > 1:
            problems.append(
                f"{rel}:{todos[1][0]}: {qualname} has {len(todos)} TODO lines; keep exactly one"
            )
        for node in _raises_not_implemented(fn):
            args = node.exc.args if isinstance(node.exc, ast.Call) else []
            message = args[0].value if args and isinstance(args[0], ast.Constant) else None
            stub_id = todo_id or (message or "").split(":")[0]
            stub_id = stub_id if stub_id in ids else (ids[0] if ids else "wNN.id")
            want = f"{stub_id}: write {qualname} in {rel}"
            if message != want or len(args) != 1:
                found = ast.unparse(node.exc)
                problems.append(
                    f'{rel}:{node.lineno}: {qualname} must raise NotImplementedError("{want}"), '
                    f"found {found[:90]}"
                )
    return problems


def check_stub_form(manifest: Manifest) -> list[str]:
    """The one stub form (`stub_form_problems`) in every Python file of exercises/."""
    ids: dict[str, list[str]] = {}
    for item in manifest.all_items():
        if item.kind == "exercise":
            ids.setdefault(item.file, []).append(item.id)
    problems = []
    for path in sorted((ROOT / "exercises").rglob("*.py")):
        file = path.relative_to(ROOT / "exercises").as_posix()
        try:
            problems += stub_form_problems(
                path.read_text(encoding="utf-8"), f"exercises/{file}", ids.get(file, [])
            )
        except SyntaxError:
            continue  # check_twins reports it
    return problems


STUB_BUDGET_S = 2.0  # an untouched stub must say todo this fast, whatever its oracle costs


def stub_seconds(items: list[Exercise], times_file: Path) -> dict[str, float]:
    """Exercise id -> seconds its checks spent in setup, call and teardown (imports excluded)."""
    owner = {check: item.id for item in items for check in item.checks}
    seconds = dict.fromkeys((item.id for item in items), 0.0)
    if times_file.exists():
        for line in times_file.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
            item_id = owner.get(event["nodeid"].split("::")[0])
            if item_id is not None:
                seconds[item_id] += event["duration"]
    return seconds


def check_runs(
    manifest: Manifest, items: list[Exercise], timeout: float, stubs_only: bool = False
) -> list[str]:
    from roadmap.checking import busy_factor
    from roadmap.pytest_plugin import TIMES_VAR
    from roadmap.runner import run_checks

    problems = []
    reference = {} if stubs_only else run_checks(items, "solutions", timeout)
    for item_id, result in reference.items():
        if result.status != "passing":
            detail = "; ".join(result.details[:3]) or result.message
            problems.append(f"solutions: {item_id} is {result.status}, not passing: {detail[:400]}")
    with tempfile.TemporaryDirectory(prefix="llm-roadmap-times-") as tmp:
        times_file = Path(tmp) / "times.jsonl"
        os.environ[TIMES_VAR] = str(times_file)
        stubs = {}
        try:
            # subtle: one process per week, so a library that an earlier week's check imported does
            # not hide the cost of importing it again (as a learner's `check` of one week pays it)
            for week in sorted({item.week for item in items}):
                mine = [item for item in items if item.week == week]
                stubs.update(run_checks(mine, "exercises", timeout))
        finally:
            del os.environ[TIMES_VAR]
        seconds = stub_seconds(items, times_file)
    for item_id, result in stubs.items():
        if result.status != "todo":
            detail = result.message or "; ".join(result.details[:3])
            problems.append(
                f"exercises: {item_id} is {result.status} as shipped, must be todo "
                f'(the stub must raise NotImplementedError("{item_id}: ...") before anything fails): {detail[:400]}'
            )
    budget = float(os.environ.get("LLM_STUB_BUDGET_S", STUB_BUDGET_S)) * busy_factor()
    ranked = sorted(seconds.items(), key=lambda kv: -kv[1])
    for item_id, spent in ranked:
        if spent > budget:
            problems.append(
                f"exercises: {item_id}'s checks took {spent:.1f} s on the untouched stub (budget "
                f"{budget:.1f} s at load {os.getloadavg()[0]:.1f}): call the learner's function before building the oracle (a lazy "
                "fixture: request.getfixturevalue after the first call)"
            )
    print("slowest exercises on the stubs: " + ", ".join(f"{i} {s:.2f} s" for i, s in ranked[:3]))
    return problems


def verify(
    manifest: Manifest,
    items: list[Exercise],
    timeout: float,
    run: bool = True,
    stubs_only: bool = False,
) -> list[str]:
    """Every problem found, as one line each naming the file and the fix.

    The checks run (solutions pass; stubs todo) only when the static checks found nothing, or when
    `items` is a subset (one week being built while another is not consistent yet). `stubs_only`
    skips the solutions run, for CI, which runs the solutions with plain pytest anyway.
    """
    problems = (
        check_manifest(manifest)
        + check_twins(manifest)
        + check_notebooks(manifest)
        + check_readme(manifest)
        + check_mirror(manifest)
        + check_imports(manifest)
        + check_battery(manifest)
        + check_commands(manifest)
        + check_stub_form(manifest)
    )
    subset = len(items) < len(manifest.all_items())
    if run and (not problems or subset):
        problems += check_runs(manifest, items, timeout, stubs_only)
    elif run:
        problems.append("(checks were not run: fix the problems above first)")
    return problems
