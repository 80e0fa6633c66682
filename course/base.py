"""The course base model: one GPT, pre-trained by the week-09 trainer, that weeks 11-17 start from.

    python -m course.base                      # build (or find) the course base; prints its folder
    python -m course.base --short              # the tiny one the --short projects and CI use
    python -m course.base --impl exercises     # built by your week-06 BPE and week-09 code
    python -m course.base --prune              # delete the bases your code no longer builds

Each size is a week-09 TrainConfig (BASES). Its folder, runs/base/<size>-<hash>/, is a run
(course/runs.py) named by a content hash of the settings, the bytes of the training text and the
source files the trainer runs (BASE_CODE: the tree's GPT, BPE and week-09 pieces, and the given
trainer): the first project that needs it trains it (about 3 minutes for "course" on two quiet
cores, seconds for "short"); every later one loads it. Edit one of those files (your AdamW, say)
and the next project trains a new base from it; other files of those weeks do not count. Two
projects that need the same missing base at once take turns: the second loads what the first
built.

A project's `--base` takes this default ("course", or "short" with --short), a run directory
(any week's output, `runs/capstone/dpo/run`) or a GPT-2-family Hugging Face model (`gpt2`, online).
"""

import argparse
import contextlib
import dataclasses
import os
import time
from pathlib import Path

from roadmap import ROOT
from roadmap.impl import TREES, current_tree, set_tree

from .capstone.hashing import file_digest, hash_of, path_digests

try:  # a lock file keeps two processes from training the same base at once (POSIX)
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None

COURSE = dict(
    train_files=["tinyshakespeare", "wikitext2-valid"],
    val_files=["wikitext2-test"],
    vocab_size=1024,
    block_size=128,
    n_layer=4,
    n_head=4,
    n_embd=128,  # a multiple of 32: week 14's GGUF Q8_0 / Q4_0 blocks
    bias=True,  # GPT-2 has biases everywhere
    batch_size=12,
    max_steps=1200,
    learning_rate=2e-3,
    min_lr=2e-4,
    warmup_steps=100,
    eval_interval=300,
    eval_tokens=16384,
    log_interval=100,
    ckpt_interval=300,
    tensorboard=False,
    sample_tokens=100,
    max_minutes=0.0,  # no time budget: the same 1,200 steps and full final eval on any machine
    seed=1337,
)
SHORT = dict(
    train_files=["data/fixtures/week09/tiny_corpus.txt"],
    val_files=[],
    val_fraction=0.1,
    vocab_size=300,
    block_size=128,
    n_layer=2,
    n_head=2,
    n_embd=32,
    bias=True,
    batch_size=4,
    max_steps=20,
    learning_rate=3e-3,
    min_lr=3e-4,
    warmup_steps=3,
    eval_interval=0,
    log_interval=0,
    ckpt_interval=0,
    tensorboard=False,
    sample_tokens=0,
    seed=1337,
)
BASES = {"course": COURSE, "short": SHORT}
# the source files that build a base, and only those: the tree's modules the week-09 trainer
# loads (a new exercise file in these weeks does not retrain the base) and the given trainer
BASE_CODE = {
    "week05_gpt": ["model"],
    "week06_tokenizers": ["pairs", "patterns", "train", "tokenizer"],
    "week09_training": [
        "adamw",
        "schedule",
        "clip",
        "dataset",
        "checkpoint",
        "perplexity",
        "tracking",
    ],
}
TRAINER = [
    "week05_gpt/trainkit.py",
    "week09_training/train.py",
    "week09_training/fast.py",
    "week10_distributed/engine.py",
]


def base_code(tree: str) -> list[Path]:
    """The files of BASE_CODE (in `tree`), TRAINER and course/run*.py: what a base's name covers."""
    paths = [
        ROOT / tree / slug / f"{name}.py" for slug, names in BASE_CODE.items() for name in names
    ]
    paths += [ROOT / "course" / rel for rel in TRAINER]
    return paths + sorted((ROOT / "course").glob("run*.py"))


def base_config(size: str, tree: str):
    """The week-09 TrainConfig of a base size, its out_dir the content-hashed folder."""
    from course.data import DATASETS, dataset_path

    from .week09_training.train import TrainConfig

    if size not in BASES:
        raise SystemExit(f"no base size {size!r}: choose one of {', '.join(BASES)}")
    cfg = TrainConfig(**BASES[size])
    files = []
    for source in cfg.train_files + cfg.val_files:
        path = dataset_path(source) if source in DATASETS else ROOT / source
        files.append((source, file_digest(path)))
    code = path_digests(base_code(tree))
    key = hash_of({"settings": BASES[size], "files": files, "code": code})[:12]
    out = ROOT / "runs" / "base" / f"{size}-{tree}-{key}"
    return dataclasses.replace(cfg, out_dir=str(out))


def base_run(size: str = "course", tree: str | None = None, say=print) -> Path:
    """The folder of the base model of `size` built by `tree`'s code; trained here if missing."""
    from .runs import is_run

    tree = tree or current_tree()  # the tree the project runs: yours unless --impl solutions
    cfg = base_config(size, tree)
    out = Path(cfg.out_dir)
    if is_run(out):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with _lock(out.parent / f".{out.name}.lock"):
        if is_run(out):  # another process built it while this one waited
            return out
        return _build(cfg, out, size, tree, say)


@contextlib.contextmanager
def _lock(path: Path):
    """Hold an exclusive lock on `path` (created if missing) for the block."""
    with open(path, "a+") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _build(cfg, out: Path, size: str, tree: str, say) -> Path:
    from .week09_training.train import train

    say(f"base: training the {size} base model with the {tree} tree's week-09 code -> {out}")
    start = time.perf_counter()
    previous = os.environ.get("LLM_IMPL")
    set_tree(tree)
    try:
        train(dataclasses.replace(cfg, resume=True))  # a killed build continues
    finally:  # the caller's tree again (or none, as before)
        if previous:
            set_tree(previous)
        else:
            os.environ.pop("LLM_IMPL", None)
    say(f"base: {size} base ready in {time.perf_counter() - start:.0f} s")
    return out


def resolve_base(base: str | None, short: bool, say=print) -> str:
    """What a project's --base names: None -> the course base (short one with --short), built on
    first use; else a run directory or a Hugging Face id, returned as given."""
    if base:
        return base
    return str(base_run("short" if short else "course", say=say))


def add_base_flag(parser: argparse.ArgumentParser) -> None:
    """--base for a project: where its model starts (see the module docstring)."""
    parser.add_argument(
        "--base",
        default=None,
        help="the model to start from: a run directory or a GPT-2-family Hugging Face id "
        "(default: the course base, built on first use by your week-06/09 code with --impl "
        "exercises; the short one with --short)",
    )


def stale_bases(root: Path | None = None) -> list[Path]:
    """Folders under runs/base/ that no size and tree builds today (older code, older settings).

    A size whose current name cannot be worked out (its dataset is missing here) keeps all its
    folders: nothing is called stale that cannot be shown to be."""
    root = root or ROOT / "runs" / "base"
    current, unknown = set(), set()
    for size in BASES:
        for tree in TREES:
            try:
                current.add(Path(base_config(size, tree).out_dir).name)
            except (OSError, RuntimeError, ValueError):
                unknown.add(size)
    return sorted(
        p
        for p in root.glob("*-*-*")
        if p.is_dir() and p.name not in current and p.name.split("-")[0] not in unknown
    )


def prune(root: Path | None = None, say=print) -> int:
    """Delete the stale bases under `root` (default runs/base/); today's bases are kept."""
    import shutil

    stale = stale_bases(root)
    for folder in stale:
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        shutil.rmtree(folder)
        (folder.parent / f".{folder.name}.lock").unlink(missing_ok=True)
        say(f"removed {folder.name} ({size / 2**20:.1f} MiB)")
    say(f"{len(stale)} stale base(s) removed")
    return len(stale)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m course.base", description=__doc__.split("\n")[0])
    p.add_argument("--short", action="store_true", help="the tiny base (seconds)")
    p.add_argument("--impl", choices=TREES, default="solutions")
    p.add_argument(
        "--prune", action="store_true", help="delete the bases no tree's current code builds"
    )
    args = p.parse_args(argv)
    if args.prune:
        prune()
        return 0
    print(base_run("short" if args.short else "course", args.impl))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
