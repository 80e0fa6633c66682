"""`python tracker.py capstone`: run the stages in order, skip the unchanged ones, write SUMMARY.md.

    python tracker.py capstone --short --impl solutions    # every stage on a tiny model (CI)
    python tracker.py capstone                             # the --budget preset, your code
    python tracker.py capstone --from sft --to dpo         # rerun SFT, LoRA and DPO only
    python tracker.py capstone --gpu --nproc 2             # GPT-2 124M sized, DDP pre-training

A stage is skipped when its content hash (hashing.py) equals the one its last finished run
recorded; a stage killed midway has no record and runs again (with --resume, an interrupted
pre-training continues from its last checkpoint). After the last stage, outside --short, the
final model is served (API + UI) on 127.0.0.1 until Ctrl-C.
"""

import argparse
import dataclasses
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from roadmap import ROOT
from roadmap.impl import TREES, current_tree, set_tree

from .hashing import code_digest, file_digest, hash_of, read_state, write_state
from .presets import COMMON, STAGE_FIELDS, STAGES, load_preset

ESTIMATE_S = {
    "short": dict(tokenizer=1, pretrain=15, sft=1, lora=6, dpo=1, quantize=1, evaluate=4, rag=1,
                  serve=5),
    "budget": dict(tokenizer=60, pretrain=1200, sft=240, lora=180, dpo=120, quantize=30,
                   evaluate=300, rag=60, serve=10),
}  # fmt: skip  # seconds per stage for the ETA until a stage has run once (short: measured under
# load; budget: estimates, pre-training from the first 70 steps on a loaded two-core machine)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python tracker.py capstone",
        description="Your model through every stage: tokenizer, pre-training, SFT, LoRA, DPO, "
        "quantisation + GGUF, evaluation, RAG index and serving; writes reports/SUMMARY.md.",
    )
    p.add_argument("--impl", choices=TREES, default=None, help="exercises (yours) or solutions")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--short", action="store_true", help="a tiny configuration (CI, ~minutes)")
    size.add_argument("--budget", action="store_true", help="two CPU cores, ~30 min (default)")
    size.add_argument("--gpu", action="store_true", help="GPT-2 124M sized, on CUDA")
    size.add_argument("--preset", default=None, help="a TOML file of Preset overrides")
    p.add_argument("--from", dest="first", choices=list(STAGES), default=None,
                   help="rerun this stage and the later ones even if unchanged")  # fmt: skip
    p.add_argument("--to", dest="last", choices=list(STAGES), default=None,
                   help="stop after this stage")  # fmt: skip
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted pre-training from its checkpoint")  # fmt: skip
    p.add_argument("--nproc", type=int, default=None, help="pre-training processes (torchrun)")
    p.add_argument("--out", type=Path, default=None, help="stage folders (default runs/capstone)")
    p.add_argument("--summary", type=Path, default=None, help="default reports/SUMMARY.md")
    p.add_argument("--no-serve", action="store_true", help="do not serve at the end")
    p.add_argument("--serve", action="store_true", help="serve at the end in --short too")
    p.add_argument("--no-ui", action="store_true", help="serve the API only")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--halt-in", default="", help=argparse.SUPPRESS)  # tests: kill -9 mid-stage
    return p


def stage_hashes(preset, tree: str) -> dict[str, str]:
    """Each stage's content hash: its fields, its inputs' bytes, its week's code, its upstream."""
    from .stages import source_path

    inputs = {
        "tokenizer": preset.pretrain_text + [preset.instructions],
        "pretrain": preset.pretrain_text,
        "sft": [preset.instructions],
        "lora": [preset.instructions],
        "dpo": [preset.instructions],
        "quantize": [preset.eval_text],
        "evaluate": [preset.eval_text],
        "rag": [preset.instructions],
        "serve": [],
    }
    hashes: dict[str, str] = {}
    for name, (_, slugs, upstream) in STAGES.items():
        fields = {k: getattr(preset, k) for k in COMMON + STAGE_FIELDS[name]}
        hashes[name] = hash_of(
            {
                "stage": name,
                "fields": fields,
                "inputs": [file_digest(source_path(s)) for s in inputs[name]],
                "code": code_digest(tree, slugs),
                "tree": tree,
                "upstream": [hashes[u] for u in upstream],
            }
        )
    return hashes


class Bar:
    """One progress line per stage: a rich bar over the stages with the elapsed time and the ETA
    (each stage's last time, or the preset's estimate, scaled by this run's pace once a quarter of
    the estimated work is done).
    Printed, not live, so a stage's own bar (the week-09 trainer's) can run under it. Plain text
    when not a terminal or with NO_COLOR."""

    def __init__(self, weights: dict[str, float]):
        self.weights = weights
        self.total = sum(weights.values())
        self.done_weight = 0.0
        self.started = time.perf_counter()
        self.console = None
        if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
            from rich.console import Console

            self.console = Console()

    def say(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, highlight=False, markup=False)
        else:
            print(text, flush=True)

    def start(self, i: int, n: int, name: str) -> None:
        elapsed = time.perf_counter() - self.started
        left = self.total - self.done_weight
        if self.done_weight >= 0.25 * self.total:  # enough done to judge this machine's pace
            left *= elapsed / self.done_weight
        line = (
            f"[{i}/{n}] {name} (week {STAGES[name][0]}) | elapsed {elapsed / 60:.1f} min | "
            f"ETA {left / 60:.1f} min"
        )
        if self.console is None:
            print(line, flush=True)
            return
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        grid = Table.grid(padding=(0, 1))
        grid.add_row(
            "[bold]capstone", ProgressBar(self.total or 1, self.done_weight, width=30), line
        )
        self.console.print(grid)

    def done(self, name: str) -> None:
        self.done_weight += self.weights[name]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.impl:
        set_tree(args.impl)
    tree = current_tree()
    name = "short" if args.short else "gpu" if args.gpu else args.preset or "budget"
    preset = load_preset(name)
    if args.nproc:
        preset = dataclasses.replace(preset, nproc=args.nproc)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # one line per stage, not bars
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch

    if preset.threads:
        torch.set_num_threads(preset.threads)
    from . import stages

    runs = args.out or ROOT / "runs" / "capstone"
    summary_path = args.summary or ROOT / "reports" / "SUMMARY.md"
    order = list(STAGES)
    first = order.index(args.first) if args.first else 0
    last = order.index(args.last) if args.last else len(order) - 1
    selected = order[first : last + 1]
    try:
        hashes = stage_hashes(preset, tree)
    except Exception as error:  # a missing dataset names how to get it
        print(f"capstone: {error}")
        return 2

    estimates = ESTIMATE_S.get(preset.name, ESTIMATE_S["budget"])
    weights = {}
    for s in selected:
        old = read_state(runs / s)
        weights[s] = 0.0 if old and old["hash"] == hashes[s] and not args.first else (
            old["seconds"] if old else estimates.get(s, 60)
        )  # fmt: skip
    bar = Bar(weights)
    ctx = stages.Context(preset, runs, tree, bar.say, resume=args.resume, halt_in=args.halt_in)
    bar.say(f"capstone: preset {preset.name}, tree {tree}, stages {selected[0]}..{selected[-1]}")
    code = 0
    started = time.perf_counter()
    try:
        for i, stage in enumerate(selected, 1):
            folder = runs / stage
            state = read_state(folder)
            forced = args.first is not None
            for up in STAGES[stage][2]:
                up_state = read_state(runs / up)
                if up not in selected and (up_state is None or up_state["hash"] != hashes[up]):
                    bar.say(f"{stage}: needs the stage {up!r} finished and current: run it first")
                    return 1
            if state and state["hash"] == hashes[stage] and not forced:
                bar.say(f"[{i}/{len(selected)}] {stage}: unchanged, skipped ({hashes[stage]})")
                bar.done(stage)
                continue
            bar.start(i, len(selected), stage)
            keep = args.resume and (folder / "pending").exists()
            keep = keep and (folder / "pending").read_text().strip() == hashes[stage]
            if folder.exists() and not keep:
                shutil.rmtree(folder)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "pending").write_text(hashes[stage] + "\n")
            t0 = time.perf_counter()
            try:
                metrics = stages.FUNCTIONS[stage](ctx)
            except NotImplementedError as error:
                (folder / "todo.txt").write_text(f"{error}\n", encoding="utf-8")
                bar.say(
                    f"{stage}: todo: {error} (write it, check it with `python tracker.py check "
                    f"{STAGES[stage][0]}`, then rerun the capstone: finished stages are skipped)"
                )
                code = 1
                break
            except KeyboardInterrupt:
                bar.say(f"{stage}: interrupted; rerun to continue (--resume: pre-training too)")
                code = 130
                break
            except Exception:
                bar.say(f"{stage}: failed\n{traceback.format_exc()}")
                code = 1
                break
            seconds = time.perf_counter() - t0
            write_state(
                folder,
                {
                    "stage": stage,
                    "hash": hashes[stage],
                    "seconds": seconds,
                    "preset": preset.name,
                    "tree": tree,
                    "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "metrics": metrics,
                },
            )
            (folder / "pending").unlink(missing_ok=True)
            bar.say(f"[{i}/{len(selected)}] {stage}: done in {seconds:.1f} s")
            bar.done(stage)
    finally:
        refresh_summary(runs, summary_path)
    from .summary import stages_seconds

    print(
        f"capstone: {time.perf_counter() - started:.0f} s this run; the finished stages took "
        f"{stages_seconds(runs):.0f} s in all; summary in {summary_path}"
    )
    serve_now = code == 0 and "serve" in selected and not args.no_serve
    serve_now = serve_now and (args.serve or not args.short)
    if serve_now:
        return stages.serve_forever(ctx, args.port, ui=not args.no_ui)
    return code


def refresh_summary(runs: Path, path: Path) -> None:
    from roadmap.manifest import load_manifest
    from roadmap.progress import Progress

    from .summary import write_summary

    write_summary(load_manifest(), Progress(), runs, path)
