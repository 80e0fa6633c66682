"""tiny-gpt-train: train a character-level GPT and leave everything in one run directory.

    tiny-gpt-train --config configs/shakespeare_char_cpu.json
    tiny-gpt-train --config configs/tiny_test.json --text-file my.txt --max-steps 50 --impl exercises
    python -m course.week05_gpt.train --config configs/shakespeare_char_cpu.json --max-minutes 5

Settings come from the TrainConfig defaults, then the --config JSON file (unknown keys are errors),
then command-line flags (one per field). The run directory gets config.json (the resolved settings),
char_vocab.json, ckpt.pt, log.txt, metrics.json, loss.png and sample.txt. Log lines grep well:
`step 250 | train 1.8342 | val 1.9120 | 41 ms/step | 15.6k tok/s | 0.4 min`.
`--impl exercises` trains your own week-05 model, loop and checkpoint code; the default is the reference.
"""

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from roadmap.impl import TREES, load, set_tree

from .data import CharTokenizer, load_text, train_val_split


@dataclass
class TrainConfig:
    # data
    text_file: str = ""  # UTF-8 text to train on; empty: tiny Shakespeare from the data registry
    val_fraction: float = 0.1  # the last 10% of the text is held out
    out_dir: str = "runs/shakespeare_char"  # run directory (runs/ is git-ignored)
    # model (GPTConfig; vocab_size comes from the text)
    block_size: int = 64  # context length T
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0  # a small model on a few minutes of CPU does not overfit
    bias: bool = False  # no biases: a little faster, no worse (set True to export to HF GPT-2)
    # optimisation
    batch_size: int = 16  # B: small batches, many updates: best per CPU-minute
    max_steps: int = 5000  # stop after this many steps ...
    max_minutes: float = 0.0  # ... or after this much wall time (0: no time limit)
    learning_rate: float = 2e-3  # peak, after warmup
    min_lr: float = 2e-4  # cosine decay ends here
    warmup_steps: int = 50
    weight_decay: float = 0.1  # on matrices only, not on biases, LayerNorm or embeddings
    beta2: float = 0.99  # AdamW's beta2; 0.99 suits small batches
    grad_clip: float = 1.0  # global gradient-norm clip (0: off)
    # evaluation and logging
    eval_interval: int = 250  # steps between train/val estimates
    eval_iters: int = 20  # batches per estimate
    sample_tokens: int = 500  # characters sampled into sample.txt at the end
    temperature: float = 0.8  # for that sample
    # system
    seed: int = 1337
    device: str = "cpu"  # "cpu", "cuda" or "mps"
    threads: int = 0  # torch.set_num_threads (0: torch's default)
    compile: bool = False  # torch.compile the model (slow to start, faster steps on long runs)
    bf16: bool = False  # autocast matmuls to bfloat16 (pays off on CPUs with AMX and on GPUs)
    export_hf: bool = False  # also write a transformers GPT2LMHeadModel to OUT_DIR/hf


def build_parser() -> argparse.ArgumentParser:
    """--config and --impl, plus one flag per TrainConfig field (--max-steps, --no-compile, ...)."""
    p = argparse.ArgumentParser(
        prog="tiny-gpt-train",
        description="Train a character-level GPT; settings: defaults < --config JSON < flags.",
    )
    p.add_argument(
        "--config", type=Path, help="JSON preset, e.g. configs/shakespeare_char_cpu.json"
    )
    p.add_argument(
        "--impl",
        choices=TREES,
        default="solutions",
        help="tree for the model, loop and checkpoint code (default solutions; exercises is yours)",
    )
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type is bool:  # --compile / --no-compile
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        else:
            p.add_argument(flag, type=f.type, default=None, metavar=f.name.upper())
    return p


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the --config file (unknown keys are errors), then flags that were given."""
    values: dict = {}
    if args.config is not None:
        values = json.loads(Path(args.config).read_text(encoding="utf-8"))
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SystemExit(f"{args.config}: unknown keys {unknown}; known keys: {sorted(known)}")
    for f in dataclasses.fields(TrainConfig):
        if getattr(args, f.name) is not None:
            values[f.name] = getattr(args, f.name)
    return TrainConfig(**values)


def lr_at(step: int, progress: float, cfg: TrainConfig) -> float:
    """Linear warmup for `warmup_steps`, then cosine from learning_rate to min_lr over `progress` in [0, 1]."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.min_lr + cosine * (cfg.learning_rate - cfg.min_lr)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the 2-D weights (matmuls, embeddings) only, as nanoGPT does."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(0.9, cfg.beta2))


class Reporter:
    """A rich progress bar in a terminal, plain lines elsewhere; every log line also goes to log.txt.

    The bar measures whichever budget ends the run: steps against max_steps, or with max_minutes
    the wall time against the budget (then the step count is shown beside it).
    """

    def __init__(self, max_steps: int, max_minutes: float, log_path: Path):
        self.log = log_path.open("w", encoding="utf-8")
        self.progress = None
        self.max_steps, self.budget = max_steps, 60 * max_minutes
        if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            what = f"of {max_minutes:g} min" if max_minutes > 0 else f"of {max_steps} steps"
            self.progress = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                TextColumn(f"{{task.percentage:>3.0f}}% {what}"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
            )
            self.task = self.progress.add_task("", total=self.budget or max_steps)
            self.progress.start()

    def line(self, text: str) -> None:
        self.log.write(text + "\n")
        self.log.flush()
        if self.progress is not None:
            self.progress.console.print(text, highlight=False)
        else:
            print(text, flush=True)

    def advance(self, step: int, loss: float, elapsed: float) -> None:
        if self.progress is not None:
            done = min(elapsed, self.budget) if self.budget else step
            self.progress.update(
                self.task, completed=done, description=f"step {step} | loss {loss:.4f}"
            )

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.log.close()


def with_biases(model: torch.nn.Module, model_mod) -> torch.nn.Module:
    """`model` if it has biases, else the same function with zero biases (GPT-2 has them everywhere).

    The CPU preset trains without biases (a little faster); a zero bias adds nothing, so the exported
    GPT2LMHeadModel computes exactly what the trained model computes.
    """
    if model.config.bias:
        return model
    config = dataclasses.replace(model.config, bias=True)
    biased = model_mod.GPT(config).to(next(model.parameters()).device)
    with torch.no_grad():
        for param in biased.parameters():
            param.zero_()
        missing, unexpected = biased.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(k.endswith(".bias") for k in missing), (missing, unexpected)
    return biased.eval()


def plot_losses(history: list[dict], path: Path) -> None:
    """loss.png: train and val loss against steps."""
    from matplotlib.figure import Figure  # the object API: no GUI backend, nothing global

    steps = [h["step"] for h in history]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(steps, [h["train"] for h in history], label="train")
    ax.plot(steps, [h["val"] for h in history], label="val")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/char)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def train(cfg: TrainConfig) -> dict:
    """Run one training job as configured; return the final metrics (also in OUT_DIR/metrics.json)."""
    model_mod = load("week05_gpt.model")
    loop = load("week05_gpt.loop")
    checkpoint = load("week05_gpt.checkpoint")

    torch.manual_seed(cfg.seed)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n", encoding="utf-8")

    text = load_text(cfg.text_file)
    tok = CharTokenizer.from_text(text)
    tok.save(out)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    train_ids, val_ids = train_val_split(ids, cfg.val_fraction)
    assert len(val_ids) > cfg.block_size + 1, (
        f"the held-out text has {len(val_ids)} tokens; it needs more than block_size + 1 = "
        f"{cfg.block_size + 1}: use a longer text, a larger val_fraction or a smaller block_size"
    )
    splits = {"train": train_ids.to(cfg.device), "val": val_ids.to(cfg.device)}

    gpt_config = model_mod.GPTConfig(
        block_size=cfg.block_size,
        vocab_size=tok.vocab_size,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
        dropout=cfg.dropout,
        bias=cfg.bias,
    )
    model = model_mod.GPT(gpt_config).to(cfg.device)
    optimizer = make_optimizer(model, cfg)
    step_model = torch.compile(model) if cfg.compile else model
    autocast = torch.autocast(
        device_type=cfg.device.split(":")[0], dtype=torch.bfloat16, enabled=cfg.bf16
    )
    gen_train = torch.Generator().manual_seed(cfg.seed)
    gen_eval = torch.Generator().manual_seed(cfg.seed + 1)
    tokens_per_step = cfg.batch_size * cfg.block_size

    reporter = Reporter(cfg.max_steps, cfg.max_minutes, out / "log.txt")
    reporter.line(
        f"{model.get_num_params() / 1e6:.2f}M parameters | vocab {tok.vocab_size} | "
        f"{len(train_ids):,} train / {len(val_ids):,} val tokens | impl {os.environ.get('LLM_IMPL')}"
    )
    history: list[dict] = []
    start = time.perf_counter()
    train_time = 0.0  # seconds spent in train steps, for ms/step and tok/s
    steps_done = 0
    step = 0

    eval_seconds = 0.0  # the last evaluation's cost: the time budget keeps room for the final one

    def evaluate() -> None:
        nonlocal eval_seconds
        t0 = time.perf_counter()
        with autocast:
            losses = loop.estimate_loss(
                step_model, splits, cfg.block_size, cfg.batch_size, cfg.eval_iters, gen_eval
            )
        ms = 1000 * train_time / max(steps_done, 1)
        tps = steps_done * tokens_per_step / max(train_time, 1e-9)
        minutes = (time.perf_counter() - start) / 60
        history.append({"step": step, **losses, "tok_per_s": tps, "minutes": minutes})
        eval_seconds = time.perf_counter() - t0
        reporter.line(
            f"step {step} | train {losses['train']:.4f} | val {losses['val']:.4f} | "
            f"{ms:.0f} ms/step | {tps / 1e3:.1f}k tok/s | {minutes:.1f} min"
        )

    reporter.line(f"estimating train/val loss on {cfg.eval_iters} batches each before step 0 ...")
    try:
        for step in range(cfg.max_steps + 1):
            elapsed = time.perf_counter() - start
            # stop early enough that the final evaluation still fits in the budget
            out_of_time = cfg.max_minutes > 0 and elapsed + eval_seconds >= 60 * cfg.max_minutes
            if step % cfg.eval_interval == 0 or step == cfg.max_steps or out_of_time:
                evaluate()
            if step == cfg.max_steps or out_of_time:
                break
            progress = step / cfg.max_steps
            if cfg.max_minutes > 0:  # the schedule ends when either budget does
                progress = max(progress, elapsed / (60 * cfg.max_minutes))
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, progress, cfg)
            x, y = loop.get_batch(splits["train"], cfg.block_size, cfg.batch_size, gen_train)
            t0 = time.perf_counter()
            with autocast:
                loss = loop.train_step(step_model, optimizer, x, y, cfg.grad_clip)
            train_time += time.perf_counter() - t0
            steps_done += 1
            reporter.advance(step + 1, loss, time.perf_counter() - start)
    finally:
        reporter.close()

    checkpoint.save_checkpoint(out / "ckpt.pt", model, optimizer, step=step)
    plot_losses(history, out / "loss.png")
    model.eval()
    prompt = torch.tensor([tok.encode("\n")], device=cfg.device)
    sample_ids = model.generate(
        prompt,
        cfg.sample_tokens,
        temperature=cfg.temperature,
        generator=torch.Generator(device=cfg.device).manual_seed(cfg.seed),
    )
    sample = tok.decode(sample_ids[0].tolist())
    (out / "sample.txt").write_text(sample, encoding="utf-8")
    if cfg.export_hf:
        hf_dir = load("week05_gpt.hf").export_hf(with_biases(model, model_mod), out / "hf")
        tok.save(hf_dir)
        print(f"exported a transformers GPT2LMHeadModel to {hf_dir}")
    final = {**history[-1], "steps": steps_done, "parameters": model.get_num_params()}
    (out / "metrics.json").write_text(json.dumps(final, indent=2) + "\n", encoding="utf-8")
    print(f"--- sample ---\n{sample[:300]}\n--- run directory: {out}")
    return final


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_tree(args.impl)
    train(resolve_config(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
