"""The course as shipped: the stubs of `exercises/` as git recorded them, whatever the learner wrote since.

Tests that build a throwaway copy of the course (the tracker's own tests, say) copy exercises from
here, so their result never depends on how far the learner has got; `reset` restores from here too.
A file of `exercises/` is pristine in the newest commit where it still holds every `# TODO(id)` of
the exercises the manifest puts in it (a learner who commits their work is fine). Files that hold no
exercise (handouts, `__init__.py`, given helpers) come from HEAD. Everything outside `exercises/` is
the maintainer's and is copied from the working tree as it is.
"""

import shutil
import subprocess
from functools import cache
from pathlib import Path

from roadmap import ROOT
from roadmap.manifest import load_manifest

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


class NoGitHistory(RuntimeError):
    """The checkout has no git history to read the shipped stubs from (a zip download, say)."""


def _git(*args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise NoGitHistory(
            f"cannot read the git history of {ROOT} (git {' '.join(args)}: {error}); "
            "the shipped stubs come from it: clone the repository with git"
        ) from error


@cache
def _todo_markers() -> dict[str, tuple[str, ...]]:
    """exercises-relative file -> the `# TODO(id)` lines of the exercises it holds."""
    markers: dict[str, list[str]] = {}
    for item in load_manifest().all_items():
        if item.kind == "exercise":
            markers.setdefault(f"exercises/{item.file}", []).append(f"# TODO({item.id})")
    return {rel: tuple(found) for rel, found in markers.items()}


def is_pristine(rel: str, text: str) -> bool:
    """True when `text` still holds every TODO marker of the exercises in file `rel`."""
    return all(marker in text for marker in _todo_markers().get(rel, ()))


@cache
def pristine_bytes(rel: str) -> bytes:
    """The shipped content of repository file `rel` (under exercises/).

    Raises NoGitHistory without git, FileNotFoundError when no commit holds a stub of it.
    """
    shas = _git("log", "--format=%H", "--", rel).stdout.split()
    if rel not in _todo_markers():  # a handout or helper: as committed
        shas = shas[:1]
    for sha in shas:
        blob = subprocess.run(["git", "show", f"{sha}:{rel}"], cwd=ROOT, capture_output=True)
        if blob.returncode == 0 and is_pristine(rel, blob.stdout.decode("utf-8", "replace")):
            return blob.stdout
    raise FileNotFoundError(f"no commit holds the stub of {rel} with all its TODO lines")


def head_commit() -> str | None:
    """The commit HEAD names, or None without git history."""
    try:
        return _git("rev-parse", "HEAD").stdout.strip()
    except NoGitHistory:
        return None


def head_blobs(under: str) -> dict[str, str]:
    """Repository file -> git's blob id, for every file git tracks at HEAD under path `under`."""
    out = _git("ls-tree", "-r", "-z", "HEAD", "--", under).stdout
    blobs = {}
    for line in filter(None, out.split("\0")):
        meta, _, rel = line.partition("\t")
        blobs[rel] = meta.split()[-1]
    return blobs


def copy_course(paths: list[str], dst: Path) -> None:
    """Copy repository paths (files or folders) into `dst`; `exercises/...` as shipped.

    Files the learner added under exercises/ are left out; everything else is the working tree.
    """
    for rel in paths:
        src, out = ROOT / rel, dst / rel
        if rel == "exercises" or rel.startswith("exercises/"):
            files = list(head_blobs(rel))
            if not files:
                raise FileNotFoundError(f"git tracks nothing under {rel}")
            for file in files:
                (dst / file).parent.mkdir(parents=True, exist_ok=True)
                (dst / file).write_bytes(pristine_bytes(file))
        elif src.is_dir():
            shutil.copytree(src, out, ignore=IGNORE, dirs_exist_ok=True)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out)


def copy_whole_course(dst: Path) -> None:
    """Every file git tracks (as the working tree has it; deleted ones left out), exercises as shipped."""
    copy_course(["exercises"], dst)
    others = [rel for rel in head_blobs(".") if not rel.startswith("exercises/")]
    copy_course([rel for rel in others if (ROOT / rel).is_file()], dst)


def commit_all(root: Path, message: str = "as shipped") -> None:
    """Make `root` a fresh git repository with everything in it committed (what `reset` and the
    tracker's cache read the shipped stubs from)."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", message], cwd=root, check=True)
