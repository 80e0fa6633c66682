"""tiny-gpt-train: train a character-level GPT and leave everything in one run directory.

    tiny-gpt-train --config configs/shakespeare_char_cpu.json
    tiny-gpt-train --config configs/tiny_test.json --text-file my.txt --max-steps 50 --impl exercises
    python -m course.week05_gpt.train --config configs/shakespeare_char_cpu.json --max-minutes 5

Settings come from the TrainConfig defaults, then the --config JSON file (unknown keys are errors),
then command-line flags (one per field). The run directory gets config.json (the resolved settings),
char_vocab.json, ckpt.pt, log.txt, metrics.json, loss.png and sample.txt. Log lines grep well:
`step 250 | train 1.8342 | val 1.9120 | 41 ms/step | 15.6k tok/s | 0.4 min | 38 s left`.
`--max-minutes M` bounds the whole run, the final evaluation, sample and files included (both are cut
short when time runs out, and the log says so); a terminal shows a bar with the time left, elsewhere
a progress line comes at least every --log-seconds (5). Threads: --threads (0: 1 on two cores).
`--impl exercises` trains your own week-05 model, loop and checkpoint code; the default is the reference.
"""

import argparse
import dataclasses
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from roadmap.impl import TREES, load, set_tree

from .data import CharTokenizer, load_text, train_val_split
from .trainkit import (
    END_SHARE,
    EVAL_SHARE,
    FILES_S,
    Budget,
    Reporter,
    add_config_flags,
    forward_seconds,
    generate_within,
    resolve_threads,
)


@dataclass
class TrainConfig:
    # data
    text_file: str = ""  # UTF-8 text to train on; empty: tiny Shakespeare from the data registry
    val_fraction: float = 0.1  # the last 10% of the text is held out
    out_dir: str = "runs/shakespeare_char"  # run directory (runs/ is git-ignored)
    # model (GPTConfig; vocab_size comes from the text)
    block_size: int = 64  # context length T
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads per block (n_embd must divide by it)
    n_embd: int = 128  # channels C of the residual stream
    dropout: float = 0.0  # a small model on a few minutes of CPU does not overfit
    bias: bool = False  # no biases: a little faster, no worse (set True to export to HF GPT-2)
    # optimisation
    batch_size: int = 16  # B: small batches, many updates: best per CPU-minute
    max_steps: int = 5000  # stop after this many steps, or when --max-minutes runs out
    max_minutes: float = 0.0  # wall-time budget, final eval, sample and files included (0: none)
    learning_rate: float = 2e-3  # peak, after warmup
    min_lr: float = 2e-4  # cosine decay ends here
    warmup_steps: int = 50  # linear warmup from 0 to learning_rate
    weight_decay: float = 0.1  # on matrices only, not on biases, LayerNorm or embeddings
    beta2: float = 0.99  # AdamW's beta2; 0.99 suits small batches
    grad_clip: float = 1.0  # global gradient-norm clip (0: off)
    # evaluation and logging
    eval_interval: int = 250  # steps between train/val estimates
    eval_iters: int = 20  # batches per estimate and split (fewer when the time budget is short)
    sample_tokens: int = 500  # characters sampled into sample.txt (fewer if time runs out)
    temperature: float = 0.8  # for that sample
    log_seconds: float = 5.0  # a progress line (log.txt; the screen without a terminal) this often
    # system
    seed: int = 1337  # model init, batches and the sample
    device: str = "cpu"  # "cpu", "cuda" or "mps"
    threads: int = 0  # torch threads; 0: half the cores, 1 to 4 (1 on 2 cores: benchmarks/README)
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
    add_config_flags(p, TrainConfig)
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
    """Run one training job as configured; return the final metrics (also in OUT_DIR/metrics.json).

    With max_minutes the whole job, from here to metrics.json, takes at most that long: training
    stops when the time left is what the end needs (measured), and the final evaluation and the
    sample are cut to the time left (the log says so).
    """
    budget = Budget(cfg.max_minutes)
    torch.set_num_threads(resolve_threads(cfg.threads))
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n", encoding="utf-8")
    reporter = Reporter(budget, out / "log.txt", cfg.log_seconds)
    reporter.line(
        f"tiny-gpt-train -> {out} | impl {os.environ.get('LLM_IMPL')} | "
        f"threads {torch.get_num_threads()}"
        + (f" | budget {cfg.max_minutes:g} min" if budget.timed else "")
    )
    import matplotlib.figure  # noqa: F401  the end's plot needs it: import it now, inside the budget

    model_mod = load("week05_gpt.model")
    loop = load("week05_gpt.loop")
    checkpoint = load("week05_gpt.checkpoint")
    hf = (
        load("week05_gpt.hf") if cfg.export_hf else None
    )  # imports transformers: now, not at the end
    files_s = FILES_S + (2.0 if cfg.export_hf else 0.0)  # the export writes a second model
    torch.manual_seed(cfg.seed)

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
    reporter.line(
        f"data: {len(text):,} characters, vocab {tok.vocab_size} | {len(train_ids):,} train / "
        f"{len(val_ids):,} val tokens"
    )

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

    reporter.line(
        f"{model.get_num_params() / 1e6:.2f}M parameters | {tokens_per_step} tokens/step | "
        f"bf16 {cfg.bf16} | compile {cfg.compile}"
    )
    # first guesses of what the end costs, replaced by measurements as the run goes
    x_eval = torch.zeros(cfg.batch_size, cfg.block_size, dtype=torch.long, device=cfg.device)
    eval_batch_s = forward_seconds(model, x_eval)
    token_s = forward_seconds(model, x_eval[:1])  # a sampled token: a forward of (1, <= T)
    step_s = 3 * eval_batch_s  # forward, backward, update

    def end_seconds() -> float:
        """What the end needs: the final evaluation, the sample and the files (a share at most)."""
        need = 2 * cfg.eval_iters * eval_batch_s + cfg.sample_tokens * token_s + files_s
        return min(need, END_SHARE * budget.total)

    def eta() -> float:
        return (cfg.max_steps - step) * step_s + end_seconds()

    history: list[dict] = []
    train_time = 0.0  # seconds spent in train steps, for ms/step and tok/s
    steps_done = 0
    step = 0

    def evaluate(seconds: float) -> None:
        """Mean train and val loss over eval_iters batches each, or fewer: as many as fit in `seconds`."""
        nonlocal eval_batch_s
        t0 = time.perf_counter()
        losses, batches = {}, 0
        for i, name in enumerate(splits):
            until = t0 + seconds * (i + 1) / len(splits)  # each split gets its share
            split_losses: list[float] = []
            while len(split_losses) < cfg.eval_iters:
                # one batch at a time (the same batches as one call): progress, and a time limit
                with autocast:
                    got = loop.estimate_loss(
                        step_model,
                        {name: splits[name]},
                        cfg.block_size,
                        cfg.batch_size,
                        1,
                        gen_eval,
                    )
                split_losses.append(got[name])
                batches += 1
                eval_batch_s = (time.perf_counter() - t0) / batches
                reporter.progress(f"eval {name} {len(split_losses)}/{cfg.eval_iters} batches")
                if time.perf_counter() + eval_batch_s > until:
                    break
            losses[name] = sum(split_losses) / len(split_losses)
        ms = 1000 * train_time / max(steps_done, 1)
        tps = steps_done * tokens_per_step / max(train_time, 1e-9)
        minutes = budget.elapsed() / 60
        history.append({"step": step, **losses, "tok_per_s": tps, "minutes": minutes})
        cut = batches < len(splits) * cfg.eval_iters
        reporter.line(
            f"step {step} | train {losses['train']:.4f} | val {losses['val']:.4f} | "
            f"{ms:.0f} ms/step | {tps / 1e3:.1f}k tok/s | {minutes:.1f} min"
            + (f" | {batches // len(splits)}/{cfg.eval_iters} batches (time budget)" if cut else "")
            + reporter.left_text()
        )

    def eval_allowance() -> float:
        """Seconds an evaluation during training may take: a share of the budget, not the end's."""
        return min(EVAL_SHARE * budget.total, budget.left() - end_seconds())

    try:
        while step < cfg.max_steps:
            if budget.timed and budget.left() <= end_seconds() + step_s:
                reporter.line(
                    f"--max-minutes {cfg.max_minutes:g}: training stops at step {step}, keeping "
                    f"{budget.left():.0f} s for the final evaluation, the sample and the files"
                )
                break
            if step % cfg.eval_interval == 0:
                evaluate(eval_allowance())
            progress = step / cfg.max_steps
            if budget.timed:  # the schedule ends when either budget does
                progress = max(progress, budget.elapsed() / (budget.total - end_seconds()))
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, progress, cfg)
            x, y = loop.get_batch(splits["train"], cfg.block_size, cfg.batch_size, gen_train)
            t0 = time.perf_counter()
            with autocast:
                loss = loop.train_step(step_model, optimizer, x, y, cfg.grad_clip)
            train_time += time.perf_counter() - t0
            steps_done += 1
            step += 1
            step_s = train_time / steps_done
            reporter.progress(
                f"step {step}/{cfg.max_steps} | loss {loss:.4f} | {1000 * step_s:.0f} ms/step",
                eta_s=eta(),
            )

        # the end: checkpoint, final evaluation and sample within the time left, then the files
        checkpoint.save_checkpoint(out / "ckpt.pt", model, optimizer, step=step)
        sample_share = min(cfg.sample_tokens * token_s, budget.left() / 3)
        evaluate(budget.left() - sample_share - files_s)
        model.eval()
        prompt = torch.tensor([tok.encode("\n")], device=cfg.device)
        sample_ids = generate_within(
            model,
            prompt,
            cfg.sample_tokens,
            budget.total - files_s,
            budget,
            reporter,
            temperature=cfg.temperature,
            generator=torch.Generator(device=cfg.device).manual_seed(cfg.seed),
        )
        n_sampled = sample_ids.size(1) - prompt.size(1)
        sample = tok.decode(sample_ids[0].tolist())
        (out / "sample.txt").write_text(sample, encoding="utf-8")
        if n_sampled < cfg.sample_tokens:
            reporter.line(f"sample.txt: {n_sampled}/{cfg.sample_tokens} characters (time budget)")
        if hf is not None:
            hf_dir = hf.export_hf(with_biases(model, model_mod), out / "hf")
            tok.save(hf_dir)
            reporter.line(f"exported a transformers GPT2LMHeadModel to {hf_dir}")
        final = {
            **history[-1],
            "steps": steps_done,
            "parameters": model.get_num_params(),
            "sample_tokens": n_sampled,  # characters
        }
        (out / "metrics.json").write_text(json.dumps(final, indent=2) + "\n", encoding="utf-8")
        plot_losses(history, out / "loss.png")
        reporter.line(
            f"done: {steps_done} steps in {budget.elapsed():.1f} s"
            + (f" (budget {budget.total:.0f} s)" if budget.timed else "")
            + f" | ckpt.pt, metrics.json, sample.txt, loss.png in {out}"
        )
    finally:
        reporter.close()
    print(f"--- sample ---\n{sample[:300]}")
    return final


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_tree(args.impl)
    train(resolve_config(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
