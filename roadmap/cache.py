"""The tracker's memory: an exercise's result is reused while nothing it depends on changed.

Like make or ninja, but by content (pytest-testmon's idea applied to a whole exercise): the key of an
exercise is a hash over every file its result can depend on, and a result is reused only under the
same key. What goes into the key:

- the exercise's file and every repository file it imports, transitively (`import`/`from` statements,
  relative ones included, and seam names such as `load("week04_attention.attention")` or
  `"course.week09_training.train"`, followed into the exercises tree);
- its check files and what they import the same way, every file of its week's `checks/` and `course/`
  folders (conftest.py, support modules, Dockerfiles), and all of `data/fixtures/`;
- its manifest entry, the tracker itself (every file of `roadmap/`, the root conftest.py, pyproject.toml),
  the installed distributions and extras, the Python version and the per-check timeout.

A file that is absent is part of the key too ("-"), so creating a module that an import was missing
reruns what imported it. Only passing, failing and todo results are kept; errors (crashes, hangs,
import errors) always run again. The key is taken before and after the run and a result is stored
only if both agree, so a file saved while its checks ran is never credited with their result.

What the key cannot see: a module imported under a name computed at run time, and data files other
than the fixtures read by your code; `--rerun` covers those.

An untouched stub is todo without running anything: its exercise functions are byte for byte the
shipped ones (git's copy, roadmap/pristine.py). Without git history every exercise simply runs.

Everything lives in progress/cache.json; delete it or pass `--rerun` to start afresh.
"""

import ast
import hashlib
import json
import os
import re
import sys
from dataclasses import asdict
from pathlib import Path

from roadmap import ROOT
from roadmap.extras import EXTRAS, PRETEND_VAR, missing_extras
from roadmap.manifest import Exercise, Manifest
from roadmap.pristine import NoGitHistory, head_blobs, head_commit, is_pristine, pristine_bytes
from roadmap.progress import PROGRESS_DIR, atomic_write
from roadmap.runner import MEMORY_LIMIT_GB, Result, needs_extra
from roadmap.status import Status

CACHE_PATH = PROGRESS_DIR / "cache.json"
FORMAT = 1  # bump when the meaning of a stored entry changes
TREE = "exercises"  # only the learner's tree is cached; the reference never touches progress/
KEPT = (Status.PASSING, Status.FAILING, Status.TODO)
SEAM_NAME = re.compile(r"week\d\d_\w+(?:\.\w+)*")  # "week04_attention.attention", "week05_gpt"
MODULE_NAME = re.compile(r"(?:roadmap|course|exercises|solutions|checks)(?:\.\w+)+")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def module_files(module: str) -> list[str]:
    """Repository files importing `module` may execute: every package __init__.py on the way and
    the module itself, as a file or a package.

    Example: "exercises.week01_tensors.softmax" -> ["exercises/__init__.py",
    "exercises/week01_tensors/__init__.py", "exercises/week01_tensors/softmax/__init__.py",
    "exercises/week01_tensors/softmax.py"].
    """
    parts = module.split(".")
    files = ["/".join(parts[:i]) + "/__init__.py" for i in range(1, len(parts) + 1)]
    return files + ["/".join(parts) + ".py"]


def imported_files(rel: str, source: bytes) -> list[str]:
    """Repository files that the module at `rel` names, present or not (absent ones count too)."""
    try:
        tree = ast.parse(source, filename=rel)
    except (SyntaxError, ValueError):
        return []  # a file that does not parse imports nothing; its own bytes are in the key
    package = rel.removesuffix(".py").split("/")[:-1]
    if rel.endswith("/__init__.py"):
        package = rel.split("/")[:-1]
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                parent = ".".join(base + ([node.module] if node.module else []))
            else:
                parent = node.module or ""
            modules.add(parent)
            modules.update(f"{parent}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # a module named in a string: load("week04_attention.attention") through the seam,
            # load_project("week05_gpt"), or [python, "-m", "course.week09_training.train"]
            if SEAM_NAME.fullmatch(node.value):
                modules.add(f"{TREE}.{node.value}")
                if "." not in node.value:
                    modules.add(f"course.{node.value}.project")
            elif MODULE_NAME.fullmatch(node.value):
                modules.add(node.value)
    files: set[str] = set()
    for module in modules:
        top = module.split(".")[0]
        if top and (ROOT / top).is_dir():
            files.update(module_files(module))
    return sorted(files)


def _git_blob(data: bytes) -> str:
    """The id git gives `data` as a file (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _site_packages() -> list[str]:
    """Names of the installed distributions with their versions (`torch-2.5.1.dist-info`, ...)."""
    names: list[str] = []
    for entry in sys.path:
        if entry.endswith(("site-packages", "dist-packages")) and os.path.isdir(entry):
            names += [n for n in os.listdir(entry) if n.endswith((".dist-info", ".egg-link"))]
    return sorted(names)


class Files:
    """Content hashes of repository files, each read once per run; and what each file imports."""

    def __init__(self, imports: dict[str, list]):
        self.hashes: dict[str, str] = {}
        self.imports = imports  # rel -> [content hash, imported files], kept in the cache file

    def hash(self, rel: str) -> str:
        if rel not in self.hashes:
            try:
                self.hashes[rel] = _sha((ROOT / rel).read_bytes())
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                self.hashes[rel] = "-"
        return self.hashes[rel]

    def names(self, rel: str) -> list[str]:
        digest = self.hash(rel)
        known = self.imports.get(rel)
        if known is None or known[0] != digest:
            source = (ROOT / rel).read_bytes() if digest != "-" else b""
            known = self.imports[rel] = [digest, imported_files(rel, source)]
        return known[1]

    def closure(self, roots: list[str]) -> set[str]:
        """`roots` and every repository file they import, transitively."""
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            rel = stack.pop()
            if rel in seen:
                continue
            seen.add(rel)
            if rel.endswith(".py") and self.hash(rel) != "-":
                stack.extend(self.names(rel))
        return seen

    def folder(self, rel: str) -> list[str]:
        """Every file under repository folder `rel` (caches and bytecode left out)."""
        base = ROOT / rel
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(ROOT).as_posix()
            for p in base.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        )


class Stubs:
    """Which exercises are untouched stubs, from the shipped files (git) and their hashes.

    What is derived from a shipped file (its hash, the hash of each stub function) is kept in the
    cache under the HEAD commit, so a run after the first asks git one question: which commit is HEAD.
    """

    def __init__(self, manifest: Manifest, stored: dict):
        self.manifest = manifest
        self.head = head_commit()
        self.shipped: dict = stored.get("files", {}) if stored.get("head") == self.head else {}
        self.blobs: dict[str, str] | None = None  # read from git only when a file is new to us

    def to_json(self) -> dict:
        return {"head": self.head, "files": self.shipped}

    def _shipped(self, rel: str, current: bytes) -> dict | None:
        """{hash, stubs: {exercise id: {function: hash}}, outside: hash} of the shipped `rel`."""
        if rel not in self.shipped:
            if self.blobs is None:
                try:
                    self.blobs = head_blobs("exercises")  # one `git ls-tree` for every file
                except NoGitHistory:
                    self.blobs = {}
            if self.blobs.get(rel) == _git_blob(current) and is_pristine(
                rel, current.decode("utf-8", "replace")
            ):
                text = current  # as committed at HEAD with every TODO line: the shipped stub
            else:
                try:
                    text = pristine_bytes(rel)  # walks the file's history: only for edited files
                except (NoGitHistory, FileNotFoundError):
                    self.shipped[rel] = None
                    return None
            ids = [i.id for i in self.manifest.all_items() if f"exercises/{i.file}" == rel]
            self.shipped[rel] = {"hash": _sha(text), **_functions(text, ids)}
        return self.shipped[rel]

    def untouched(self, item: Exercise, files: Files) -> bool:
        """True when the exercise's code is exactly as shipped (for a project: its whole week)."""
        if self.head is None:
            return False
        if item.kind == "project":
            rels = [r for r in files.folder(f"exercises/{item.slug}") if r.endswith(".py")]
            return bool(rels) and all(self._whole_file(rel) for rel in rels)
        rel = f"exercises/{item.file}"
        current = (ROOT / rel).read_bytes() if (ROOT / rel).exists() else None
        if current is None:
            return False
        shipped = self._shipped(rel, current)
        stubs = shipped["stubs"].get(item.id, {}) if shipped else {}
        if not stubs or not all(_covered(f, stubs) for f in item.functions):
            return False  # no shipped stub of it: the committed file holds someone's code
        if _sha(current) == shipped["hash"]:
            return True
        if len(shipped["stubs"]) < 2:
            return False
        # subtle: in a file holding several exercises (week 05's model.py) the learner's work on a
        # neighbour leaves this exercise a stub, as long as nothing outside the stubs changed
        names = {i: list(functions) for i, functions in shipped["stubs"].items()}
        mine = _functions(current, list(names), names=names)
        return mine["outside"] == shipped["outside"] and (
            mine["stubs"].get(item.id) == shipped["stubs"][item.id]
        )

    def _whole_file(self, rel: str) -> bool:
        current = (ROOT / rel).read_bytes()
        shipped = self._shipped(rel, current)
        return shipped is not None and shipped["hash"] == _sha(current)


def _covered(name: str, stubs: dict) -> bool:
    """Whether manifest function `name` (a function, method or whole class) is among `stubs`."""
    return name in stubs or any(stub.startswith(f"{name}.") for stub in stubs)


def _functions(source: bytes, ids: list[str], names: dict | None = None) -> dict:
    """Hashes of each exercise's stub functions in `source` and of everything outside them.

    `names` (exercise id -> function names) says which functions to look at; without it they are the
    functions that raise the exercise's NotImplementedError in `source` (the shipped stub).
    """
    from roadmap.commands.reset import function_spans
    from roadmap.verify import stub_functions

    text = source.decode("utf-8", "replace")
    try:
        tree = ast.parse(text)
        spans = function_spans(text)
    except SyntaxError:
        return {"stubs": {}, "outside": "unparsable"}
    wanted = names or {i: sorted(stub_functions(tree, i)) for i in ids}
    lines = text.splitlines(keepends=True)
    stubs = {}
    for exercise, functions in wanted.items():
        if all(f in spans for f in functions):
            stubs[exercise] = {
                f: _sha("".join(lines[spans[f][0] - 1 : spans[f][1]]).encode()) for f in functions
            }
    outside = list(lines)
    every = [f for functions in wanted.values() for f in functions if f in spans]
    for f in sorted(every, key=lambda f: spans[f][0], reverse=True):  # bottom up keeps lines valid
        outside[spans[f][0] - 1 : spans[f][1]] = [f"<{f}>\n"]
    return {"stubs": stubs, "outside": _sha("".join(outside).encode())}


def todo_message(item: Exercise, manifest: Manifest) -> str:
    """What an untouched stub's checks would say, without running them."""
    if item.kind == "project":
        first = next(iter(manifest.week(item.week).exercises), None)
        start = f" (start with {first.id})" if first else ""
        return f"todo: {item.id} — the week's exercises are still the shipped stubs{start}"
    return f"todo: {item.id} — untouched stub: write {', '.join(item.functions)}"


class ResultCache:
    """progress/cache.json: results keyed by what they depend on, and the shipped stubs' hashes."""

    def __init__(self, manifest: Manifest, timeout: float, path: Path = CACHE_PATH):
        self.manifest, self.path = manifest, path
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            stored = {}
        if stored.get("format") != FORMAT:
            stored = {}
        self.results: dict[str, dict] = stored.get("results", {})
        self.imports: dict[str, list] = stored.get("imports", {})
        self.stubs = Stubs(manifest, stored.get("shipped", {}))
        self.common = self._common(timeout)

    def _common(self, timeout: float) -> str:
        """The part of every key that is not the exercise's own: tracker, installs, settings."""
        files = Files({})
        parts = [
            f"python {sys.version}",
            f"timeout {timeout:g}",
            f"memory {MEMORY_LIMIT_GB:g}",
            f"pretend {os.environ.get(PRETEND_VAR, '')}",
            f"missing {missing_extras(list(EXTRAS))}",
            *_site_packages(),
        ]
        for rel in (
            files.folder("roadmap")
            + files.folder("data/fixtures")
            + ["conftest.py", "pyproject.toml", "tracker.py"]
        ):
            parts.append(f"{rel} {files.hash(rel)}")
        return _sha("\n".join(parts).encode())

    def key(self, item: Exercise, files: Files | None = None) -> str:
        """The hash of everything `item`'s result depends on; `files` shares reads within one pass."""
        files = files or Files(self.imports)
        own = f"course/{item.file}" if item.kind == "project" else f"{TREE}/{item.file}"
        deps = files.closure([own, *item.checks])
        deps.update(files.folder(f"checks/{item.slug}"))
        deps.update(files.folder(f"course/{item.slug}"))
        entry = json.dumps(asdict(item), sort_keys=True)
        parts = [self.common, entry, *(f"{rel} {files.hash(rel)}" for rel in sorted(deps))]
        return _sha("\n".join(parts).encode())

    def lookup(
        self, items: list[Exercise], reuse: bool
    ) -> tuple[dict[str, Result], dict[str, str]]:
        """Results known without running (missing extras; with `reuse`, untouched stubs and stored
        results whose key still matches), and the keys of the items that must run."""
        known: dict[str, Result] = {}
        keys: dict[str, str] = {}
        files = Files(self.imports)
        for item in items:
            needs = needs_extra(item)
            if needs is not None:
                known[item.id] = needs
                continue
            checks_exist = all((ROOT / c).exists() for c in item.checks)
            if reuse and checks_exist and self.stubs.untouched(item, files):
                known[item.id] = Result(Status.TODO, todo_message(item, self.manifest))
                continue
            keys[item.id] = self.key(item, files)
            stored = self.results.get(item.id)
            if reuse and stored and stored["key"] == keys[item.id]:
                fields = {k: v for k, v in stored.items() if k not in ("key", "status")}
                known[item.id] = Result(Status(stored["status"]), **fields)
                del keys[item.id]
        return known, keys

    def store(
        self, items: list[Exercise], keys: dict[str, str], results: dict[str, Result]
    ) -> None:
        """Keep the results worth keeping whose dependencies did not change while they ran."""
        files = Files(self.imports)
        for item in items:
            self.results.pop(item.id, None)
            result = results[item.id]
            if result.status in KEPT and self.key(item, files) == keys[item.id]:
                kept = {"key": keys[item.id], **asdict(result)}
                for failure in kept["failures"]:
                    failure.pop("traceback", None)  # `check -v` runs afresh for the whole text
                self.results[item.id] = kept

    def save(self) -> None:
        data = {
            "format": FORMAT,
            "results": self.results,
            "imports": self.imports,
            "shipped": self.stubs.to_json(),
        }
        atomic_write(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")
