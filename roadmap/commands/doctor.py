"""doctor: the learner's setup (Python, system, torch, extras, data, GPU, git), each with its fix."""

import importlib
import os
import platform
import shutil
import sys

from roadmap.manifest import Manifest
from roadmap.ui import esc, say


def cmd_doctor(args, manifest: Manifest) -> int:
    from roadmap.extras import EXTRAS, install_hint, missing_modules

    rows = []
    ok_py = sys.version_info >= (3, 11)
    rows.append(("python", ok_py, platform.python_version(), "install Python 3.11 or newer"))
    posix = os.name == "posix"
    rows.append(
        (
            "system",
            posix,
            platform.system(),
            "the tracker's runner needs Linux or macOS; on Windows use WSL "
            "(plain `pytest checks/...` works everywhere)",
        )
    )
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
        say(
            f"{mark} {name:<12} {esc(value)}"
            + (f"\n          fix: {esc(fix)}" if not ok and fix else "")
        )
        bad |= not ok and name in ("python", "torch", "system")
    return 1 if bad else 0
