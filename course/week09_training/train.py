"""llm-train: pre-train the course GPT on the week-06 BPE tokenizer, with everything week 09 builds.

    llm-train --config configs/week09_cpu.toml
    llm-train --config configs/week09_cpu.toml --resume            # continue from OUT_DIR/ckpt.pt
    llm-train --config configs/week09_cpu.toml --bf16 --max-minutes 10
    torchrun --nproc_per_node=2 -m course.week09_training.train --config configs/week09_cpu.toml
    python -m course.week09_training.train --config ... --impl exercises   # on your own week-09 code

Settings: TrainConfig defaults < the --config TOML file (unknown keys are errors) < flags (one per
field). The run directory gets config.toml (resolved settings), data/ (tokenizer.bpe, train.bin,
val.bin: uint16 ids), ckpt.pt (atomic, every ckpt_interval steps, at the end, on Ctrl-C and when
--max-minutes runs out), steps.jsonl (the loss of every step), log.txt, metrics.json, curves.png,
sample.txt and tb/ (TensorBoard: `tensorboard --logdir OUT_DIR/tb`).

The week-09 pieces come from the tree chosen by --impl (default solutions): AdamW and param_groups,
lr_at, clip_grad_norm, TokenDataset, save/load_checkpoint, evaluate_perplexity, RunLogger and
plot_curves. The model is the week-05 GPT with fused LayerNorm/GELU (course/week09_training/fast.py).

torchrun: RANK / WORLD_SIZE / LOCAL_RANK are read from the environment; with WORLD_SIZE > 1 the
process group is initialised on gloo, every rank draws its own batches (seed + rank), and only
rank 0 writes files or prints. --parallel chooses how the replicas stay together (week 10's engine,
course/week10_distributed/engine.py): none (each rank trains its own replica), ddp (your week-10
broadcast_parameters once and allreduce_gradients after every step's backward passes) or torch-ddp
(torch's DistributedDataParallel). metrics.json records whether the replicas ended identical.
Exact resume (bit-identical losses) holds for a single process on the same machine and settings.
"""

import argparse
import dataclasses
import hashlib
import json
import math
import os
import signal
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from course.week10_distributed import engine
from roadmap.impl import TREES, load, set_tree
from solutions.week05_gpt.model import GPTConfig

from .fast import fast_gpt


@dataclass
class TrainConfig:
    # data
    train_files: list[str] = field(
        default_factory=lambda: ["tinyshakespeare", "wikitext2-valid"]
    )  # training text: dataset names (course.data registry) or file paths
    val_files: list[str] = field(default_factory=lambda: ["wikitext2-test"])  # held-out text
    val_fraction: float = 0.0  # > 0: validate on the last fraction of the training text instead
    vocab_size: int = 1024  # week-06 BPE: 256 bytes + merges (256: plain bytes, no merges)
    out_dir: str = "runs/week09_cpu"  # run directory (runs/ is git-ignored)
    # model (the week-05 GPTConfig; the vocabulary comes from the tokenizer)
    block_size: int = 64  # context length T
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0  # small models on short runs do not overfit
    bias: bool = False  # no biases: a little faster, no worse
    gelu: str = "tanh"  # "tanh" (GPT-2's gelu_new) or "exact" (erf, nanoGPT's nn.GELU)
    # optimisation
    batch_size: int = 12  # B per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step (tokens/step = B * T * grad_accum)
    max_steps: int = 2000  # optimizer steps; the cosine ends here
    learning_rate: float = 1e-3  # peak, after warmup
    min_lr: float = 1e-4  # the cosine's floor
    warmup_steps: int = 100  # linear warmup
    weight_decay: float = 0.1  # on matrices only (param_groups)
    beta1: float = 0.9
    beta2: float = 0.99  # 0.99 suits small batches
    grad_clip: float = 1.0  # global gradient-norm clip (0: off)
    # evaluation, logging, checkpoints
    eval_interval: int = 250  # steps between evaluations (0: none during training)
    eval_tokens: int = 32768  # tokens of the val split per evaluation (0: all); the end uses all
    log_interval: int = 50  # steps between plain log lines (no TTY)
    ckpt_interval: int = 500  # steps between checkpoints (0: only at the end / on Ctrl-C)
    tensorboard: bool = True  # TensorBoard scalars in OUT_DIR/tb
    sample_tokens: int = 200  # tokens sampled into sample.txt at the end (0: none)
    final_eval: bool = True  # perplexity over the whole val split at the end
    # system
    seed: int = 1337
    device: str = "cpu"  # "cpu" or "cuda"
    threads: int = 0  # torch.set_num_threads (0: torch's default)
    bf16: bool = False  # autocast matmuls to bfloat16 (CPU and GPU)
    fp16: bool = False  # CUDA only: autocast to float16 with a GradScaler
    compile: bool = False  # torch.compile the model (slow first steps, faster later)
    max_minutes: float = 0.0  # stop (and checkpoint) after this much wall time (0: no limit)
    resume: bool = False  # continue from OUT_DIR/ckpt.pt if it exists
    halt_after_step: int = 0  # testing: SIGKILL this process right after that step (0: never)
    parallel: str = "none"  # under torchrun: "none", "ddp" (your week-10 DDP) or "torch-ddp"


def build_parser() -> argparse.ArgumentParser:
    """--config and --impl, plus one flag per TrainConfig field (--max-steps, --no-bf16, ...)."""
    p = argparse.ArgumentParser(
        prog="llm-train", description="Pre-train the course GPT; defaults < --config TOML < flags."
    )
    p.add_argument("--config", type=Path, help="TOML preset, e.g. configs/week09_cpu.toml")
    p.add_argument(
        "--impl",
        choices=TREES,
        default="solutions",
        help="tree for the week-09 code (default solutions; exercises is yours)",
    )
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        elif f.type == list[str]:
            p.add_argument(flag, nargs="+", default=None, metavar=f.name.upper())
        else:
            p.add_argument(flag, type=f.type, default=None, metavar=f.name.upper())
    return p


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the --config TOML (unknown keys are errors), then the flags that were given."""
    values: dict = {}
    if args.config is not None:
        with open(args.config, "rb") as f:
            values = tomllib.load(f)
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SystemExit(f"{args.config}: unknown keys {unknown}; known keys: {sorted(known)}")
    for f in dataclasses.fields(TrainConfig):
        if getattr(args, f.name) is not None:
            values[f.name] = getattr(args, f.name)
    return TrainConfig(**values)


def to_toml(cfg: TrainConfig) -> str:
    """The resolved settings as TOML (every value is a str, int, float, bool or list of str)."""
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in asdict(cfg).items())


def read_text(source: str) -> str:
    """A dataset name from the course.data registry, or a path to a UTF-8 file."""
    from course.data import DATASETS, dataset_path

    path = dataset_path(source) if source in DATASETS else Path(source)
    return path.read_text(encoding="utf-8")


def prepare_data(cfg: TrainConfig, data_dir: Path, say=print):
    """Train the BPE tokenizer and write train.bin / val.bin once; reuse them when nothing changed."""
    from solutions.week06_tokenizers.tokenizer import BPETokenizer

    dataset = load("week09_training.dataset")
    key = {k: getattr(cfg, k) for k in ("train_files", "val_files", "val_fraction", "vocab_size")}
    stamp = data_dir / "data.json"
    if stamp.exists() and json.loads(stamp.read_text()) == key:
        return BPETokenizer.load(data_dir / "tokenizer.bpe")
    data_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    train_text = "\n".join(read_text(s) for s in cfg.train_files)
    if cfg.val_fraction > 0:
        cut = int(len(train_text) * (1 - cfg.val_fraction))
        train_text, val_text = train_text[:cut], train_text[cut:]
    else:
        val_text = "\n".join(read_text(s) for s in cfg.val_files)
    tok = BPETokenizer.train(train_text, cfg.vocab_size, special_tokens=("<|endoftext|>",))
    tok.save(data_dir / "tokenizer.bpe")
    train_ids, val_ids = tok.encode(train_text), tok.encode(val_text)
    dataset.write_tokens(train_ids, data_dir / "train.bin")
    dataset.write_tokens(val_ids, data_dir / "val.bin")
    stamp.write_text(json.dumps(key) + "\n")
    say(
        f"data: BPE vocab {len(tok)} | {len(train_ids):,} train / {len(val_ids):,} val tokens | "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return tok


class Reporter:
    """A rich progress bar (tokens/s, loss, lr, ETA) in a terminal; plain lines elsewhere.

    Every line also goes to log.txt. Ranks other than 0 say nothing.
    """

    def __init__(self, total: int, done: int, log_path: Path | None, interval: int):
        self.log = log_path.open("a", encoding="utf-8") if log_path else None
        self.interval = interval
        self.progress = None
        if log_path and sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TextColumn("{task.description}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            )
            self.task = self.progress.add_task("", total=total, completed=done)
            self.progress.start()

    def line(self, text: str) -> None:
        if self.log is None:
            return
        self.log.write(text + "\n")
        self.log.flush()
        if self.progress is not None:
            self.progress.console.print(text, highlight=False)
        else:
            print(text, flush=True)

    def step(self, step: int, loss: float, lr: float, tps: float, ms: float, eta_s: float) -> None:
        if self.progress is not None:
            self.progress.update(
                self.task,
                completed=step,
                description=f"loss {loss:.4f} | lr {lr:.2e} | {tps / 1e3:.1f}k tok/s",
            )
        elif self.log is not None and step % self.interval == 0:
            self.line(
                f"step {step} | loss {loss:.4f} | lr {lr:.2e} | {ms:.0f} ms/step | "
                f"{tps / 1e3:.1f}k tok/s | eta {eta_s / 60:.1f} min"
            )

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        if self.log is not None:
            self.log.close()


PARALLEL = ("none", "ddp", "torch-ddp")  # week 10's engine modes this trainer supports


def distributed() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; initialise gloo when there are several."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("gloo")
    return rank, world


def replicas_identical(model: torch.nn.Module, world: int) -> bool:
    """True when every rank holds exactly rank 0's weights (always True for one process)."""
    if world == 1:
        return True
    import torch.distributed as dist

    flat = torch.cat([p.detach().reshape(-1).float().cpu() for p in model.parameters()])
    reference = flat.clone()
    dist.broadcast(reference, 0)
    same = torch.tensor([float(torch.equal(flat, reference))])
    dist.all_reduce(same, op=dist.ReduceOp.MIN)
    return bool(same.item())


def barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) one training job; return the final metrics (rank 0 writes metrics.json)."""
    adamw = load("week09_training.adamw")
    schedule = load("week09_training.schedule")
    clip = load("week09_training.clip")
    dataset = load("week09_training.dataset")
    checkpoint = load("week09_training.checkpoint")
    perplexity = load("week09_training.perplexity")

    if cfg.parallel not in PARALLEL:
        raise SystemExit(f"--parallel {cfg.parallel!r}: choose one of {', '.join(PARALLEL)}")
    rank, world = distributed()
    main_rank = rank == 0
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    data_dir = out / "data"
    if main_rank:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
    reporter = Reporter(cfg.max_steps, 0, out / "log.txt" if main_rank else None, cfg.log_interval)
    if main_rank:
        tok = prepare_data(cfg, data_dir, say=reporter.line)
    barrier(world)
    if not main_rank:
        tok = prepare_data(cfg, data_dir, say=lambda _: None)
    train_data = dataset.TokenDataset(data_dir / "train.bin", cfg.block_size)
    val_tokens = dataset.TokenDataset(data_dir / "val.bin", 1).tokens
    val_ids = torch.from_numpy(val_tokens[:].astype("int64")).to(cfg.device)

    torch.manual_seed(cfg.seed)
    gpt_config = GPTConfig(
        block_size=cfg.block_size,
        vocab_size=len(tok),
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
        dropout=cfg.dropout,
        bias=cfg.bias,
    )
    model = fast_gpt(gpt_config, cfg.gelu).to(cfg.device)
    optimizer = adamw.AdamW(
        adamw.param_groups(model, cfg.weight_decay),
        lr=cfg.learning_rate,
        betas=(cfg.beta1, cfg.beta2),
    )
    gen = torch.Generator().manual_seed(cfg.seed + rank)  # the data position
    ckpt_path = out / "ckpt.pt"
    step = 0  # optimizer steps done
    if cfg.resume and ckpt_path.exists():
        step, _ = checkpoint.load_checkpoint(ckpt_path, model, optimizer, gen)
        if not main_rank:  # rank 0's data position is not this rank's
            gen.manual_seed(cfg.seed + rank + 1_000_003 * step)
        reporter.line(f"resumed from {ckpt_path} at step {step}")

    # the replicas start from rank 0's weights (ddp broadcasts them, torch's DDP does it itself);
    # torch's DDP averages gradients inside backward, so the forward pass goes through its wrapper
    wrapped = engine.wrap_model(model, cfg.parallel)
    step_model = torch.compile(wrapped) if cfg.compile else wrapped
    eval_model = model if wrapped is not model else step_model  # rank 0 alone: no collectives
    device_type = cfg.device.split(":")[0]
    amp_dtype = torch.float16 if cfg.fp16 else torch.bfloat16
    autocast = torch.autocast(device_type, dtype=amp_dtype, enabled=cfg.bf16 or cfg.fp16)
    scaler = torch.amp.GradScaler(device_type) if cfg.fp16 else None
    tokens_per_step = cfg.batch_size * cfg.block_size * cfg.grad_accum
    n_params = model.get_num_params()
    reporter.line(
        f"{n_params / 1e6:.2f}M parameters | vocab {len(tok)} | {len(train_data.tokens):,} train / "
        f"{len(val_ids):,} val tokens | {tokens_per_step} tokens/step | world {world} "
        f"(parallel {cfg.parallel}) | "
        f"impl {os.environ.get('LLM_IMPL')} | bf16 {cfg.bf16} | compile {cfg.compile}"
    )

    logger = None
    if main_rank and cfg.tensorboard:
        logger = load("week09_training.tracking").RunLogger(out / "tb")
    steps_log = out / "steps.jsonl"
    history: list[dict] = []
    if main_rank:  # keep the lines of the steps before the checkpoint, drop any after it
        old = steps_log.read_text().splitlines() if steps_log.exists() and step > 0 else []
        kept = [line for line in old if json.loads(line)["step"] <= step]
        steps_log.write_text("".join(line + "\n" for line in kept))
        hist_path = out / "history.json"
        if step > 0 and hist_path.exists():
            history = [h for h in json.loads(hist_path.read_text()) if h["step"] <= step]

    def evaluate(n_tokens: int) -> tuple[float, float]:
        ids = val_ids[: n_tokens + 1] if n_tokens else val_ids
        with autocast:
            return perplexity.evaluate_perplexity(eval_model, ids, cfg.block_size, 16)

    def save() -> None:
        if main_rank:
            checkpoint.save_checkpoint(ckpt_path, model, optimizer, step, gen)
            (out / "history.json").write_text(json.dumps(history))

    start = time.perf_counter()
    train_time, steps_run, loss_value, last_lr = 0.0, 0, float("nan"), 0.0
    with steps_log.open("a") if main_rank else open(os.devnull, "w") as steps_file:
        try:
            while step < cfg.max_steps:
                if cfg.max_minutes > 0 and time.perf_counter() - start >= 60 * cfg.max_minutes:
                    reporter.line(f"--max-minutes {cfg.max_minutes} reached at step {step}")
                    break
                t0 = time.perf_counter()
                at_start = (gen.get_state(), torch.get_rng_state())  # for a clean Ctrl-C
                last_lr = schedule.lr_at(
                    step, cfg.learning_rate, cfg.min_lr, cfg.warmup_steps, cfg.max_steps
                )
                for group in optimizer.param_groups:
                    group["lr"] = last_lr
                loss_sum = 0.0
                for _ in range(cfg.grad_accum):
                    x, y = train_data.get_batch(cfg.batch_size, gen)
                    x, y = x.to(cfg.device), y.to(cfg.device)
                    with autocast:
                        _, loss = step_model(x, y)
                    loss = loss / cfg.grad_accum
                    (scaler.scale(loss) if scaler else loss).backward()
                    loss_sum += loss.item()
                engine.sync_gradients(model, cfg.parallel)  # ddp: average the ranks' gradients
                if scaler:
                    scaler.unscale_(optimizer)
                if cfg.grad_clip > 0:
                    clip.clip_grad_norm(model.parameters(), cfg.grad_clip)
                if scaler:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                steps_run += 1
                loss_value = loss_sum
                train_time += time.perf_counter() - t0
                if main_rank:
                    steps_file.write(json.dumps({"step": step, "loss": loss_value}) + "\n")
                    steps_file.flush()
                tps = steps_run * tokens_per_step / max(train_time, 1e-9)
                ms = 1000 * train_time / steps_run
                reporter.step(
                    step, loss_value, last_lr, tps, ms, (cfg.max_steps - step) * ms / 1000
                )
                every = cfg.eval_interval
                if main_rank and every and (step % every == 0 or step == cfg.max_steps):
                    val_loss, val_ppl = evaluate(cfg.eval_tokens)
                    history.append({"step": step, "split": "train", "loss": loss_value})
                    history.append({"step": step, "split": "val", "loss": val_loss})
                    if logger:
                        logger.log(step, "train", loss_value, lr=last_lr)
                        logger.log(step, "val", val_loss)
                    reporter.line(
                        f"step {step} | train {loss_value:.4f} | val {val_loss:.4f} | "
                        f"val ppl {val_ppl:.2f} | {ms:.0f} ms/step | {tps / 1e3:.1f}k tok/s | "
                        f"{(time.perf_counter() - start) / 60:.1f} min"
                    )
                if cfg.ckpt_interval and step % cfg.ckpt_interval == 0:
                    save()
                if cfg.halt_after_step and step == cfg.halt_after_step:
                    os.kill(os.getpid(), signal.SIGKILL)  # a crash between checkpoints
        except KeyboardInterrupt:
            # subtle: an interrupted step only moved the RNGs (the update comes last): rewind them
            gen.set_state(at_start[0])
            torch.set_rng_state(at_start[1])
            reporter.line(f"interrupted: saving a checkpoint at step {step}")
            save()
            reporter.close()
            raise
    save()
    reporter.close()
    final = {
        "steps": step,
        "train_loss": loss_value,
        "tokens_per_s": steps_run * tokens_per_step / max(train_time, 1e-9),
        "minutes": (time.perf_counter() - start) / 60,
        "parameters": n_params,
        "bf16": cfg.bf16,
        "compile": cfg.compile,
        "world_size": world,
        "parallel": cfg.parallel,
        "replicas_identical": replicas_identical(model, world),
    }
    if main_rank:
        finish(cfg, out, model, tok, history, final, evaluate if cfg.final_eval else None)
    barrier(world)
    return final


def finish(cfg, out: Path, model, tok, history, final: dict, evaluate) -> None:
    """Rank 0 only: the whole-split perplexity, curves.png, sample.txt and metrics.json."""
    tracking = load("week09_training.tracking")
    if evaluate is not None:
        final["val_loss"], final["val_ppl"] = evaluate(0)
        print(f"val (whole split) | loss {final['val_loss']:.4f} | ppl {final['val_ppl']:.2f}")
    for h in history:
        h["perplexity"] = math.exp(h["loss"])
    if history:
        tracking.plot_curves(history, out / "curves.png")
    if cfg.sample_tokens:
        model.eval()
        prompt = torch.tensor([tok.encode("\n")], device=cfg.device)
        ids = model.generate(
            prompt,
            cfg.sample_tokens,
            temperature=0.8,
            generator=torch.Generator(device=cfg.device).manual_seed(cfg.seed),
        )
        (out / "sample.txt").write_text(tok.decode(ids[0].tolist()), encoding="utf-8")
    digest = hashlib.sha256(to_toml(cfg).encode()).hexdigest()[:12]
    (out / "metrics.json").write_text(json.dumps({**final, "config": digest}, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_tree(args.impl)
    cfg = resolve_config(args)
    try:
        train(cfg)
    except KeyboardInterrupt:
        return 130
    finally:
        if int(os.environ.get("WORLD_SIZE", 1)) > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
