"""The course base model: one GPT, pre-trained by the week-09 trainer, that weeks 11-17 start from.

    python -m course.base                      # build (or find) the course base; prints its folder
    python -m course.base --short              # the tiny one the --short projects and CI use
    python -m course.base --impl exercises     # built by your week-06 BPE and week-09 code

Each size is a week-09 TrainConfig (BASES). Its folder, runs/base/<size>-<hash>/, is a run
(course/runs.py) named by a content hash of the settings, the bytes of the training text and the
week-05/06/09 source files of the tree that builds it: the first project that needs it trains it
(about 3 minutes for "course" on two quiet cores, seconds for "short"); every later one loads it.
Edit your week-09 code and the next project trains a new base from it.

A project's `--base` takes this default ("course", or "short" with --short), a run directory
(any week's output, `runs/capstone/dpo/run`) or a GPT-2-family Hugging Face model (`gpt2`, online).
"""

import argparse
import dataclasses
import os
import time
from pathlib import Path

from roadmap import ROOT
from roadmap.impl import TREES, current_tree, set_tree

from .capstone.hashing import code_digest, file_digest, hash_of

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
    max_minutes=15.0,
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
SLUGS = ["week05_gpt", "week06_tokenizers", "week09_training"]  # the code that builds a base


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
    runtime = [(p.name, file_digest(p)) for p in sorted((ROOT / "course").glob("run*.py"))]
    key = hash_of(
        {
            "settings": BASES[size],
            "files": files,
            "code": code_digest(tree, SLUGS),
            "runtime": runtime,
            "trainer": file_digest(ROOT / "course" / "week09_training" / "train.py"),
        }
    )[:12]
    out = ROOT / "runs" / "base" / f"{size}-{tree}-{key}"
    return dataclasses.replace(cfg, out_dir=str(out))


def base_run(size: str = "course", tree: str | None = None, say=print) -> Path:
    """The folder of the base model of `size` built by `tree`'s code; trained here if missing."""
    from .runs import is_run
    from .week09_training.train import train

    tree = tree or current_tree()  # the tree the project runs: yours unless --impl solutions
    cfg = base_config(size, tree)
    out = Path(cfg.out_dir)
    if is_run(out):
        return out
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m course.base", description=__doc__.split("\n")[0])
    p.add_argument("--short", action="store_true", help="the tiny base (seconds)")
    p.add_argument("--impl", choices=TREES, default="solutions")
    args = p.parse_args(argv)
    print(base_run("short" if args.short else "course", args.impl))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
