"""Content hashes that decide whether a capstone stage must run again.

A stage's hash covers: its preset fields (presets.STAGE_FIELDS), the hashes of the stages it reads
(so a changed pre-training reruns everything after it), the bytes of its input files (datasets,
fixtures) and the source files of its week in the tree under test (your exercises, or the
solutions): edit your week-11 code and the SFT stage and what follows it run again.
A finished stage leaves `<stage>/stage.json` ({"hash", "seconds", "metrics", ...}), written last
and atomically; a stage whose folder lacks it (killed midway) is not finished.

Example: hash_of({"a": 1}) == hash_of({"a": 1}) and != hash_of({"a": 2}).
"""

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from roadmap import ROOT
from roadmap.progress import atomic_write

STATE = "stage.json"


def hash_of(value) -> str:
    """sha256 (first 16 hex digits) of a JSON-able value, keys sorted."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (first 16 hex digits); "" when it does not exist."""
    if not path.is_file():
        return ""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def path_digests(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """(path relative to the repository, file_digest) of each of `paths`, in their order."""
    return [(str(path.relative_to(ROOT)), file_digest(path)) for path in paths]


def code_digest(tree: str, slugs: list[str]) -> str:
    """One digest of every .py file of `tree/<slug>/` and of the week's given runtime in course/."""
    folders = [ROOT / base / slug for slug in slugs for base in (tree, "course")]
    return hash_of(path_digests(p for folder in folders for p in sorted(folder.glob("*.py"))))


def read_state(stage_dir: Path) -> dict | None:
    """The finished stage's record, or None (never run, killed midway, or unreadable)."""
    path = stage_dir / STATE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def write_state(stage_dir: Path, state: dict) -> None:
    atomic_write(stage_dir / STATE, json.dumps(state, indent=2, default=str) + "\n")
