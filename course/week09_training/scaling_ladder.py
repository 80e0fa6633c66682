"""Week 09 project, the scaling ladder: the course GPT at several sizes and token counts, one
training run each, then L(N, D) = E + A / N**alpha + B / D**beta fitted to their losses.

Hoffmann et al. 2022 (Chinchilla), approach 3, on a CPU. Every run is the week-09 trainer
(course/week09_training/train.py, your AdamW, lr_at, clip, TokenDataset, evaluate_perplexity with
--impl exercises) with its own cosine schedule ending at its own token count D, not a checkpoint of
a longer run: a schedule cut short reports a worse loss than one that ends there (Hoffmann et al.,
figure A1, on Kaplan et al.'s fits). Tokens are bytes (vocab 256: a model this small is then
limited by its size soon enough to show it; with a 512-id BPE the sizes hardly differed). N counts
the non-embedding parameters (Kaplan's choice: your w09.flops count_params less the two embedding
tables); the loss is the whole held-out split's, nats per byte. The fit is your w09.scaling_fit,
the allocation your w09.compute_optimal. Writes to OUT/scaling/ (OUT: reports/week09 by default):
  ladder.png   val loss vs N (one line per D) and vs D (one line per N), points and the fitted law
  scaling.md   the runs, the fitted law beside the published ones, what a CPU ladder can show
  points.json  the runs and the fit, for your own plots
  runs/        the trainer's run of every point (metrics.json, log.txt, the model)
Run: `python tracker.py project 9 --scaling` (minutes; --short: seconds).
"""

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from course.data import fixture_path
from roadmap.impl import current_tree, load
from roadmap.project import record
from solutions.week05_gpt.model import GPTConfig

from . import train

# Kaplan et al. 2020, eqs. 1.1-1.2: L(N) = (N_c / N)**alpha_N and L(D) = (D_c / D)**alpha_D, no E
# (Chinchilla's published fit is CHINCHILLA in week09_training/scaling.py)
KAPLAN = {"alpha_N": 0.076, "alpha_D": 0.095}


@dataclass
class LadderConfig:
    train_files: list[str] = field(default_factory=lambda: ["tinyshakespeare"])  # one source
    val_fraction: float = 0.1  # its last 10% is the held-out split
    vocab_size: int = 256  # bytes (no merges): a small model's loss then depends on its size
    block_size: int = 32  # context T of every run
    batch_size: int = 8  # B: B * T = 256 tokens per optimizer step (steps matter at this size)
    sizes: list[str] = field(
        default_factory=lambda: ["1x16", "1x32", "2x64", "3x96"]
    )  # n_layer x n_embd, heads of 16 channels
    tokens: list[int] = field(
        default_factory=lambda: [50_000, 150_000, 450_000]
    )  # D per run; the training split has 1M bytes
    learning_rate: float = 4e-3  # peak; min_lr is a tenth of it
    warmup_share: float = 0.1  # warmup steps as a share of each run's steps
    grid_stride: int = 1  # fit from every grid_stride-th start of init_grid()


SHORT = LadderConfig(
    train_files=[str(fixture_path("week09", "tiny_corpus.txt"))],
    block_size=16,
    batch_size=4,
    sizes=["1x16", "1x32", "2x32"],
    tokens=[640, 1280],
    grid_stride=9,
)


def shape(size: str) -> dict:
    """'2x48' -> n_layer 2, n_embd 48 and 3 heads (16 channels each; at least one)."""
    n_layer, n_embd = (int(v) for v in size.split("x"))
    return {"n_layer": n_layer, "n_head": max(1, n_embd // 16), "n_embd": n_embd}


def non_embedding_params(config: GPTConfig) -> int:
    """The parameters of the blocks and ln_f: your count_params less wte (V*C) and wpe (T*C).

    Kaplan et al.'s N; 12 * n_layer * n_embd**2 plus the LayerNorm weights (2 C per block and C for
    ln_f without biases). Example: 2 layers, C = 48 -> 12 * 2 * 48**2 + 5 * 48 = 55,536.
    """
    total = load("week09_training.flops").count_params(config)
    return total - (config.vocab_size + config.block_size) * config.n_embd


def train_point(size: str, tokens: int, cfg: LadderConfig, data: Path, runs: Path, threads: int):
    """Train one rung: `size` for `tokens` tokens (rounded down to whole steps); its metrics."""
    per_step = cfg.batch_size * cfg.block_size
    steps = max(1, tokens // per_step)
    run_dir = runs / f"{size}-{steps * per_step}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    # subtle: the trainer reuses a data/ folder whose data.json matches its data settings
    shutil.copytree(data, run_dir / "data")
    run = train.TrainConfig(
        train_files=cfg.train_files,
        val_fraction=cfg.val_fraction,
        vocab_size=cfg.vocab_size,
        out_dir=str(run_dir),
        block_size=cfg.block_size,
        **shape(size),
        batch_size=cfg.batch_size,
        max_steps=steps,
        learning_rate=cfg.learning_rate,
        min_lr=cfg.learning_rate / 10,
        warmup_steps=max(1, round(cfg.warmup_share * steps)),
        eval_interval=0,  # one evaluation, the whole val split at the end
        log_interval=0,
        ckpt_interval=0,
        tensorboard=False,
        sample_tokens=0,
        threads=threads,
    )
    return train.train(run), steps * per_step


def plot_ladder(points: list[dict], law, unit: str, path: Path) -> None:
    """Two panels: val loss vs N (a line per D) and vs D (a line per N), the fitted law dashed."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    fig = Figure(figsize=(11, 4.2))
    ax_n, ax_d = fig.subplots(1, 2)
    for ax, x_key, group_key, label in (
        (ax_n, "N", "D", "D = {:,.0f} " + unit + "s"),
        (ax_d, "D", "N", "N = {:,.0f} params"),
    ):
        xs = np.array([p[x_key] for p in points], dtype=float)
        grid = np.geomspace(xs.min() / 1.5, xs.max() * 1.5, 100)
        for i, g in enumerate(sorted({p[group_key] for p in points})):
            rows = sorted((p for p in points if p[group_key] == g), key=lambda p: p[x_key])
            color = f"C{i}"
            losses = [p["loss"] for p in rows]
            ax.plot([p[x_key] for p in rows], losses, "o", color=color, label=label.format(g))
            curve = law.loss(grid, g) if x_key == "N" else law.loss(g, grid)
            ax.plot(grid, curve, "--", color=color, linewidth=1)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # 2x10^4, 3x10^4, ... overlap
        ax.set_xlabel("non-embedding parameters N" if x_key == "N" else f"training {unit}s D")
        ax.set_ylabel(f"val loss (nats/{unit})")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"fit: L = {law.E:.2f} + {law.A:.3g} / N^{law.alpha:.2f} + {law.B:.3g} / D^{law.beta:.2f}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def degenerate(law) -> str:
    """Why the fit says nothing, or '' when it is a law: an exponent near 0 turns its term into a
    constant that trades off with E, and E near 0 means the runs never bent towards a floor."""
    if min(law.alpha, law.beta) < 0.02:
        return "an exponent is near 0: its term is a constant that E could equally hold"
    if law.E < 0.05:
        return "E is near 0: the runs show no floor, so E, A and B trade off freely"
    return ""


def report(points, law, optimal, cfg: LadderConfig, starts: int, seconds: float, loads) -> str:
    """scaling.md: the runs, the fit beside the published ones, the allocation, the caveats."""
    rows = [
        "| size (L x C) | N non-embedding | N total | D tokens | steps | val loss | tok/s | s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        rows.append(
            f"| {p['size']} | {p['N']:,} | {p['N_total']:,} | {p['D']:,} | {p['steps']} | "
            f"{p['loss']:.4f} | {p['tokens_per_s']:,.0f} | {p['seconds']:.1f} |"
        )
    pred = law.loss(np.array([p["N"] for p in points]), np.array([p["D"] for p in points]))
    resid = np.log(np.array([p["loss"] for p in points])) - np.log(pred)
    c, k = load("week09_training.scaling").CHINCHILLA._asdict(), KAPLAN
    fit_rows = [
        "| | E | A | B | alpha | beta |",
        "|---|---:|---:|---:|---:|---:|",
        f"| this ladder | {law.E:.3f} | {law.A:.4g} | {law.B:.4g} | {law.alpha:.3f} | "
        f"{law.beta:.3f} |",
        f"| Chinchilla (Hoffmann et al. 2022, approach 3) | {c['E']} | {c['A']} | {c['B']} | "
        f"{c['alpha']} | {c['beta']} |",
        f"| Kaplan et al. 2020 (no E; alpha_N, alpha_D) | | | | {k['alpha_N']} | {k['alpha_D']} |",
    ]
    why = degenerate(law)
    if why:
        allocation = [f"None: the fit is degenerate ({why}). More runs, wider in N, would help."]
    else:
        allocation = ["| C (FLOPs) | N_opt | D_opt | D_opt / N_opt |", "|---:|---:|---:|---:|"]
        for C, (n_opt, d_opt) in optimal:
            allocation.append(f"| {C:.3g} | {n_opt:,.0f} | {d_opt:,.0f} | {d_opt / n_opt:,.1f} |")
    text = ", ".join(Path(f).name for f in cfg.train_files)
    unit = "byte" if cfg.vocab_size == 256 else "token"
    return "\n".join(
        [
            "# Week 09: a scaling ladder on a CPU",
            "",
            f"Text: {text}, its last {cfg.val_fraction:.0%} held out; tokens: "
            + ("bytes" if cfg.vocab_size == 256 else f"week-06 BPE, vocab {cfg.vocab_size}")
            + f"; T = {cfg.block_size}, B = {cfg.batch_size}; peak lr {cfg.learning_rate:g}, "
            f"cosine to a tenth, one schedule per run; tree {current_tree()}. {len(points)} runs "
            f"in {seconds / 60:.1f} min (load average {loads[0]:.1f} at the start, "
            f"{loads[1]:.1f} at the end). N: non-embedding parameters; val loss: nats per "
            f"{unit}, the whole held-out split.",
            "",
            *rows,
            "",
            "## The fit",
            "",
            "L(N, D) = E + A / N^alpha + B / D^beta, Huber (delta 1e-3) on log-loss residuals, "
            f"L-BFGS from {starts} starts; log residuals: RMS {np.sqrt(np.mean(resid**2)):.4f}, "
            f"largest {np.abs(resid).max():.4f}.",
            "",
            *fit_rows,
            "",
            "## Compute-optimal allocation by this fit (C = 6 N D)",
            "",
            *allocation,
            "",
            "Chinchilla itself (70B parameters, 1.4T tokens) was trained on 20 tokens per "
            "parameter, the allocation of the paper's approaches 1 and 2.",
            "",
            "## How far a CPU ladder goes",
            "",
            f"{len(points)} runs, N from {min(p['N'] for p in points):,} to "
            f"{max(p['N'] for p in points):,} non-embedding parameters, D at most "
            f"{max(p['D'] for p in points):,} {unit}s: Chinchilla fitted 400+ runs of 70M to 16B "
            "parameters on 5B to 500B tokens. The tokens (here "
            + ("bytes" if cfg.vocab_size == 256 else f"a {cfg.vocab_size}-id BPE")
            + ", there a 32k SentencePiece), the text (one small book, not MassiveText) and so "
            "the loss's unit all differ: E, A and B are in other units, and the exponents are "
            "illustrative, not comparable. A dozen points two decades wide leave several "
            "(alpha, beta, E) about equally good, and runs this short are limited by their "
            "steps as much as by N or D. What carries over is the method: one schedule per run, "
            "the fit in log space from a grid of starts, the closed form.",
            "",
        ]
    )


def run_ladder(out: Path, short: bool = False, threads: int = 0) -> int:
    """Train every (size, tokens) rung, fit the law, write OUT/scaling/; 0 on success."""
    scaling = load("week09_training.scaling")
    cfg = SHORT if short else LadderConfig()
    folder = out / "scaling"
    runs = folder / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    t0, load_start = time.perf_counter(), os.getloadavg()[0]
    # the tokenizer and the token files once, for every rung
    base = train.TrainConfig(
        train_files=cfg.train_files, val_fraction=cfg.val_fraction, vocab_size=cfg.vocab_size
    )
    data = folder / "data"
    tok = train.prepare_data(base, data)
    points = []
    for size in cfg.sizes:
        for tokens in cfg.tokens:
            config = GPTConfig(
                block_size=cfg.block_size, vocab_size=len(tok), bias=False, **shape(size)
            )
            N = non_embedding_params(config)  # your count_params, before anything trains
            started = time.perf_counter()
            metrics, D = train_point(size, tokens, cfg, data, runs, threads)
            points.append(
                {
                    "size": size,
                    "N": N,
                    "N_total": metrics["parameters"],
                    "D": D,
                    "steps": metrics["steps"],
                    "loss": metrics["val_loss"],
                    "tokens_per_s": metrics["tokens_per_s"],
                    "seconds": time.perf_counter() - started,
                }
            )
            (folder / "points.json").write_text(json.dumps({"points": points}, indent=2) + "\n")
            print(
                f"ladder {len(points)}/{len(cfg.sizes) * len(cfg.tokens)} | {size} | N "
                f"{points[-1]['N']:,} | D {D:,} | val {metrics['val_loss']:.4f}"
            )
    starts = scaling.init_grid()[:: cfg.grid_stride]
    law = scaling.fit_scaling_law(
        [p["N"] for p in points],
        [p["D"] for p in points],
        [p["loss"] for p in points],
        inits=starts,
    )
    largest = max(6 * p["N"] * p["D"] for p in points)
    optimal = [(C, scaling.compute_optimal(law, C)) for C in (largest, 10 * largest, 100 * largest)]
    seconds, load_end = time.perf_counter() - t0, os.getloadavg()[0]
    plot_ladder(points, law, "byte" if cfg.vocab_size == 256 else "token", folder / "ladder.png")
    (folder / "scaling.md").write_text(
        report(points, law, optimal, cfg, len(starts), seconds, (load_start, load_end)),
        encoding="utf-8",
    )
    fitted = {k: float(v) for k, v in law._asdict().items()}
    summary = {
        "config": asdict(cfg),
        "points": points,
        "fit": fitted,
        "seconds": seconds,
        "load_average": [load_start, load_end],
    }
    (folder / "points.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    record(
        9,
        f"scaling alpha {law.alpha:.3f} beta {law.beta:.3f} E {law.E:.3f} | {len(points)} runs "
        f"in {seconds / 60:.1f} min",
        folder,
    )
    return 0
