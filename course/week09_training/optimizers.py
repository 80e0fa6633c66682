"""Week 09 project, the optimizer comparison: SGD, SGD with momentum, Nesterov and AdamW on one run.

Every optimizer trains the same small course GPT (the same seed: the same initial weights) on the
same batches (the same data generator seed) for the same number of steps, with the trainer's recipe
around it: your lr_at (linear warmup, then a cosine down to a tenth of the peak) and a global-norm
clip at 1.0 (your clip_grad_norm). SGD, momentum and Nesterov are your w09.sgd (no weight decay),
AdamW and its groups your w09.adamw (weight decay 0.1 on matrices, betas 0.9 / 0.99, the trainer's).
Each optimizer has its own peak learning rate, the one with the lowest val loss in a sweep over
factors of 2 on the full setting (OPTIMIZERS; the sweep is in the week's README): the comparison is
of tuned optimizers, not of one lr that happens to suit one of them. The losses are the mean NLL
(nats per token) on the same fixed stretches of each split: the first eval_tokens of the training
and of the held-out tokens.
Writes to OUT (reports/week09 by default):
  optimizers.md   the table: peak lr, settings, final train and val loss, val perplexity, seconds
  optimizers.png  train loss per step (running mean of 10) and val loss at every evaluation
Run by the week's project (`python tracker.py project 9`) on the tokens of its fp32 run: about a
minute on two cores; `--short` seconds.
"""

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from course.runs import RunTokenizer
from course.week05_gpt.trainkit import resolve_threads
from roadmap.impl import current_tree, load
from solutions.week05_gpt.model import GPTConfig

from .fast import fast_gpt


@dataclass
class CompareConfig:
    block_size: int = 32  # context T
    n_layer: int = 1  # a small course GPT: every optimizer trains the same one
    n_head: int = 2  # attention heads
    n_embd: int = 64  # channels C
    batch_size: int = 16  # B: B * T tokens per step
    steps: int = 1000  # optimizer steps per optimizer
    warmup_steps: int = 50  # linear warmup of lr_at, then the cosine to lr / 10
    grad_clip: float = 1.0  # global-norm clip, as the trainer's
    eval_interval: int = 100  # steps between val evaluations (and at the end)
    eval_tokens: int = 4096  # tokens of each split the losses are measured on
    seed: int = 1337  # initial weights and batches, the same for every optimizer


SHORT = CompareConfig(
    block_size=16,
    n_layer=1,
    n_head=2,
    n_embd=32,
    batch_size=4,
    steps=40,
    warmup_steps=4,
    eval_interval=10,
    eval_tokens=256,
)

# name -> (peak lr, SGD's momentum, nesterov); "AdamW" uses w09.adamw. Each lr had the lowest val
# loss of its sweep (x2 apart) on CompareConfig() and the week09_cpu tokens: SGD 0.25 / 0.5 / 1 / 2,
# momentum and Nesterov 0.05 / 0.1 / 0.2 / 0.4, AdamW 1e-3 / 2e-3 / 4e-3 / 8e-3.
OPTIMIZERS = {
    "SGD": (0.5, 0.0, False),
    "SGD+momentum": (0.1, 0.9, False),
    "Nesterov": (0.2, 0.9, True),
    "AdamW": (2e-3, None, None),
}


def build_optimizer(name: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    """Your SGD (momentum 0 or 0.9, Nesterov or not, no weight decay) or your AdamW on param_groups
    (decay 0.1 on matrices, betas 0.9 / 0.99) at the name's peak lr."""
    lr, momentum, nesterov = OPTIMIZERS[name]
    if name == "AdamW":
        adamw = load("week09_training.adamw")
        return adamw.AdamW(adamw.param_groups(model, 0.1), lr=lr, betas=(0.9, 0.99))
    return load("week09_training.sgd").SGD(
        model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov
    )


def settings(name: str) -> str:
    lr, momentum, nesterov = OPTIMIZERS[name]
    if name == "AdamW":
        return "betas 0.9 / 0.99, eps 1e-8, decoupled decay 0.1 on matrices"
    return f"momentum {momentum:g}" + (", Nesterov" if nesterov else "") + ", no weight decay"


def train_one(name: str, cfg: CompareConfig, data: Path, vocab_size: int) -> dict:
    """Train a fresh model with `name`; its step losses, evaluations and final losses."""
    schedule = load("week09_training.schedule")
    clip = load("week09_training.clip")
    dataset = load("week09_training.dataset")
    perplexity = load("week09_training.perplexity")
    train_data = dataset.TokenDataset(data / "train.bin", cfg.block_size)
    fixed = {}  # split -> its first eval_tokens + 1 ids: eval_tokens targets
    for split in ("train", "val"):
        tokens = dataset.TokenDataset(data / f"{split}.bin", 1).tokens
        fixed[split] = torch.from_numpy(tokens[: cfg.eval_tokens + 1].astype("int64"))

    def measure(model, split: str) -> float:
        nll, _ = perplexity.evaluate_perplexity(model, fixed[split], cfg.block_size, 16)
        return nll

    torch.manual_seed(cfg.seed)
    config = GPTConfig(
        block_size=cfg.block_size,
        vocab_size=vocab_size,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
        dropout=0.0,
        bias=False,
    )
    model = fast_gpt(config)
    optimizer = build_optimizer(name, model)
    peak = OPTIMIZERS[name][0]
    gen = torch.Generator().manual_seed(cfg.seed)
    losses, evals = [], []
    t0 = time.perf_counter()
    for step in range(cfg.steps):
        lr = schedule.lr_at(step, peak, peak / 10, cfg.warmup_steps, cfg.steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = train_data.get_batch(cfg.batch_size, gen)
        _, loss = model(x, y)
        loss.backward()
        clip.clip_grad_norm(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if (step + 1) % cfg.eval_interval == 0 or step + 1 == cfg.steps:
            evals.append((step + 1, measure(model, "val")))
    train_loss = measure(model, "train")
    return {
        "name": name,
        "lr": peak,
        "losses": losses,
        "evals": evals,
        "train_loss": train_loss,
        "val_loss": evals[-1][1],
        "seconds": time.perf_counter() - t0,
        "parameters": model.get_num_params(),
    }


def plot(results: list[dict], path: Path) -> None:
    """Two panels: train loss per step (running mean of 10 steps) and val loss at each evaluation."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    ax_train, ax_val = fig.subplots(1, 2)
    for r in results:
        smooth = [
            sum(r["losses"][max(0, i - 9) : i + 1]) / len(r["losses"][max(0, i - 9) : i + 1])
            for i in range(len(r["losses"]))
        ]
        label = f"{r['name']} (lr {r['lr']:g})"
        ax_train.plot(range(1, len(smooth) + 1), smooth, label=label)
        ax_val.plot([s for s, _ in r["evals"]], [v for _, v in r["evals"]], marker="o", label=label)
    ax_train.set(title="train loss (mean of the last 10 steps)", xlabel="step", ylabel="nats/token")
    ax_val.set(title="val loss (fixed held-out tokens)", xlabel="step", ylabel="nats/token")
    for ax in (ax_train, ax_val):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def compare(data: Path, out: Path, short: bool = False, threads: int = 0) -> dict:
    """Train one model per optimizer on a trainer's data folder (tokenizer.json, train.bin,
    val.bin); write OUT/optimizers.md and OUT/optimizers.png; return {name: (train, val loss)}."""
    cfg = SHORT if short else CompareConfig()
    vocab_size = len(RunTokenizer.from_file(data / "tokenizer.json"))
    torch.set_num_threads(resolve_threads(threads))
    load_start = os.getloadavg()[0]
    results = []
    for name in OPTIMIZERS:
        r = train_one(name, cfg, data, vocab_size)
        results.append(r)
        print(
            f"optimizers | {name} | lr {r['lr']:g} | {cfg.steps} steps | train {r['train_loss']:.4f}"
            f" | val {r['val_loss']:.4f} | {r['seconds']:.1f} s"
        )
    plot(results, out / "optimizers.png")
    rows = [
        "| optimizer | peak lr | settings | train loss | val loss | val perplexity | seconds |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r['name']} | {r['lr']:g} | {settings(r['name'])} | {r['train_loss']:.4f} | "
            f"{r['val_loss']:.4f} | {math.exp(r['val_loss']):.2f} | {r['seconds']:.1f} |"
        )
    tokens = cfg.batch_size * cfg.block_size
    (out / "optimizers.md").write_text(
        f"# Week 09: SGD, momentum, Nesterov and AdamW on the same run\n\n"
        f"Tree {current_tree()}; {'--short, ' if short else ''}a {cfg.n_layer}-layer course GPT "
        f"(C={cfg.n_embd}, {results[0]['parameters']:,} parameters, vocab {vocab_size}), seed "
        f"{cfg.seed}: the same initial weights and the same {cfg.steps} batches of {tokens} tokens "
        f"for every optimizer; lr_at warmup {cfg.warmup_steps} steps then a cosine to a tenth of "
        f"the peak; global-norm clip {cfg.grad_clip:g}. Losses: mean NLL in nats per token on the "
        f"first {cfg.eval_tokens:,} tokens of each split (the same for every optimizer). "
        f"Load average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end.\n\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    return {r["name"]: (r["train_loss"], r["val_loss"]) for r in results}
