"""llm-train: pre-train the course GPT on the week-06 BPE tokenizer, with everything week 09 builds.

    llm-train --config configs/week09_cpu.toml
    llm-train --config configs/week09_cpu.toml --resume            # continue from OUT_DIR/ckpt.pt
    llm-train --config configs/week09_cpu.toml --bf16 --max-minutes 10
    torchrun --nproc_per_node=2 -m course.week09_training.train --config configs/week09_cpu.toml
    python -m course.week09_training.train --config ... --impl exercises   # on your own week-09 code

Settings: TrainConfig defaults < the --config TOML file (unknown keys are errors) < flags (one per
field). The run directory gets config.toml (resolved settings), data/ (tokenizer.json, train.bin,
val.bin: uint16 ids), ckpt.pt (atomic, every ckpt_interval steps, at the end, on Ctrl-C and when
--max-minutes runs out), steps.jsonl (the loss of every step), log.txt, metrics.json, curves.png,
sample.txt and tb/ (TensorBoard: `tensorboard --logdir OUT_DIR/tb`); at the end the directory also
becomes a run (course/runs.py: config.json, model.safetensors, tokenizer.json, run.json) that the
later weeks, the capstone and `llm-serve --model OUT_DIR` load with `load_run`. The tokenizer is
your week-06 BPE trained on the training text with the chat specials (--tokenizer FILE: use that).
`--max-minutes M` bounds the whole run: training stops early enough for the end, and the final
evaluation (whole val split) and the sample are cut to the time left, which the log and metrics.json
(val_tokens, sample_tokens) record. A terminal shows a bar with the time left; elsewhere a progress
line comes every log_interval steps and at least every --log-seconds (5), evaluations included.

The week-09 pieces come from the tree chosen by --impl (default solutions): AdamW and param_groups,
lr_at, clip_grad_norm, TokenDataset, save/load_checkpoint, evaluate_perplexity, RunLogger and
plot_curves. The model is the week-05 GPT with fused LayerNorm/GELU (course/week09_training/fast.py).

torchrun: RANK / WORLD_SIZE / LOCAL_RANK are read from the environment; with WORLD_SIZE > 1 the
process group is initialised on gloo (NCCL with --device cuda, a GPU per rank), every rank draws its own batches (seed + rank), and only
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
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from course.runs import CHAT_SPECIALS, RunTokenizer, save_run
from course.week05_gpt.trainkit import (
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
    special_tokens: list[str] = field(
        default_factory=lambda: list(CHAT_SPECIALS)
    )  # the BPE's specials (after the merges); the chat ones let SFT start without new rows
    tokenizer: str = ""  # a tokenizer file to use instead of training one (a run's tokenizer.json)
    out_dir: str = "runs/week09_cpu"  # run directory (runs/ is git-ignored)
    # model (the week-05 GPTConfig; the vocabulary comes from the tokenizer)
    block_size: int = 64  # context length T
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads per block (n_embd must divide by it)
    n_embd: int = 128  # channels C of the residual stream
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
    beta1: float = 0.9  # AdamW's beta1 (momentum)
    beta2: float = 0.99  # 0.99 suits small batches
    grad_clip: float = 1.0  # global gradient-norm clip (0: off)
    # evaluation, logging, checkpoints
    eval_interval: int = 250  # steps between evaluations (0: none during training)
    eval_tokens: int = 32768  # val tokens per evaluation (0: all); the end: all that fit the budget
    log_interval: int = 50  # steps between progress lines (0: by time only, see log_seconds)
    log_seconds: float = 5.0  # a progress line (log.txt; the screen without a terminal) this often
    ckpt_interval: int = 500  # steps between checkpoints (0: only at the end / on Ctrl-C)
    tensorboard: bool = True  # TensorBoard scalars in OUT_DIR/tb
    sample_tokens: int = 200  # tokens sampled into sample.txt (0: none; fewer if time runs out)
    final_eval: bool = True  # perplexity over the whole val split at the end (what fits the budget)
    # system
    seed: int = 1337  # model init, batches (seed + rank) and the sample
    device: str = "cpu"  # "cpu" or "cuda"
    threads: int = 0  # torch threads; 0: half the cores, 1 to 4 (1 on 2 cores: benchmarks/README)
    bf16: bool = False  # autocast matmuls to bfloat16 (CPU and GPU)
    fp16: bool = False  # CUDA only: autocast to float16 with a GradScaler
    compile: bool = False  # torch.compile the model (slow first steps, faster later)
    max_minutes: float = 0.0  # wall-time budget, final eval, sample and files included (0: none)
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
    add_config_flags(p, TrainConfig)
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
    """The tokenizer (week 06's BPE trained on the training text, or cfg.tokenizer) and train.bin /
    val.bin, written once; reused while the data settings and the tokenizer file are unchanged."""
    dataset = load("week09_training.dataset")
    fields = ("train_files", "val_files", "val_fraction", "vocab_size", "special_tokens")
    key = {k: getattr(cfg, k) for k in fields}
    if cfg.tokenizer:
        key["tokenizer"] = hashlib.sha256(Path(cfg.tokenizer).read_bytes()).hexdigest()
    stamp = data_dir / "data.json"
    if stamp.exists() and json.loads(stamp.read_text()) == key:
        return RunTokenizer.from_file(data_dir / "tokenizer.json")
    data_dir.mkdir(parents=True, exist_ok=True)
    what = cfg.tokenizer or f"a BPE tokenizer (vocab {cfg.vocab_size})"
    say(f"data: {what} and train.bin / val.bin in {data_dir} ...")
    t0 = time.perf_counter()
    train_text = "\n".join(read_text(s) for s in cfg.train_files)
    if cfg.val_fraction > 0:
        cut = int(len(train_text) * (1 - cfg.val_fraction))
        train_text, val_text = train_text[:cut], train_text[cut:]
    else:
        val_text = "\n".join(read_text(s) for s in cfg.val_files)
    if cfg.tokenizer:
        tok = RunTokenizer.from_file(cfg.tokenizer)
    else:  # your week-06 BPE with --impl exercises
        bpe = load("week06_tokenizers.tokenizer").BPETokenizer
        tok = RunTokenizer.from_bpe(
            bpe.train(train_text, cfg.vocab_size, special_tokens=tuple(cfg.special_tokens))
        )
    (data_dir / "tokenizer.json").write_text(tok.to_hf().to_str(), encoding="utf-8")
    train_ids, val_ids = tok.encode(train_text), tok.encode(val_text)
    dataset.write_tokens(train_ids, data_dir / "train.bin")
    dataset.write_tokens(val_ids, data_dir / "val.bin")
    stamp.write_text(json.dumps(key) + "\n")
    say(
        f"data: BPE vocab {len(tok)} | {len(train_ids):,} train / {len(val_ids):,} val tokens | "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return tok


PARALLEL = ("none", "ddp", "torch-ddp")  # week 10's engine modes this trainer supports


def distributed(device: str = "cpu") -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; with several processes, initialise the
    process group: NCCL when training on CUDA (each rank on its own GPU, cuda:LOCAL_RANK), else
    gloo."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            cuda = device.startswith("cuda") and torch.cuda.is_available()
            if cuda:
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            dist.init_process_group("nccl" if cuda else "gloo")
    return rank, world


def replicas_identical(model: torch.nn.Module, world: int) -> bool:
    """True when every rank holds exactly rank 0's weights (always True for one process)."""
    if world == 1:
        return True
    import torch.distributed as dist

    flat = torch.cat([p.detach().reshape(-1).float() for p in model.parameters()])  # NCCL: on GPU
    reference = flat.clone()
    dist.broadcast(reference, 0)
    same = torch.tensor([float(torch.equal(flat, reference))], device=flat.device)
    dist.all_reduce(same, op=dist.ReduceOp.MIN)
    return bool(same.item())


def barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def stop_together(stop: bool, world: int, device: str = "cpu") -> bool:
    """True on every rank when any rank wants to stop: ranks that wait on each other (ddp) must
    leave the loop at the same step, and each rank reads its own clock."""
    if world == 1:
        return stop
    import torch.distributed as dist

    flag = torch.tensor([float(stop)], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) one training job; return the final metrics (rank 0 writes metrics.json).

    With max_minutes the whole job, from here to metrics.json, takes at most that long: training
    stops when the time left is what the end needs (measured), and the final evaluation and the
    sample are cut to the time left (the log and metrics.json say so).
    """
    budget = Budget(cfg.max_minutes)
    adamw = load("week09_training.adamw")
    schedule = load("week09_training.schedule")
    clip = load("week09_training.clip")
    dataset = load("week09_training.dataset")
    checkpoint = load("week09_training.checkpoint")
    perplexity = load("week09_training.perplexity")

    if cfg.parallel not in PARALLEL:
        raise SystemExit(f"--parallel {cfg.parallel!r}: choose one of {', '.join(PARALLEL)}")
    rank, world = distributed(cfg.device)
    if world > 1 and cfg.device == "cuda":  # one GPU per rank
        cfg = dataclasses.replace(cfg, device=f"cuda:{os.environ.get('LOCAL_RANK', 0)}")
    main_rank = rank == 0
    torch.set_num_threads(resolve_threads(cfg.threads))
    out = Path(cfg.out_dir)
    data_dir = out / "data"
    if main_rank:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
    log_path = out / "log.txt" if main_rank else None
    reporter = Reporter(budget, log_path, cfg.log_seconds, mode="a")
    reporter.line(
        f"llm-train -> {out} | impl {os.environ.get('LLM_IMPL')} | world {world} "
        f"(parallel {cfg.parallel}) | threads {torch.get_num_threads()}"
        + (f" | budget {cfg.max_minutes:g} min" if budget.timed else "")
    )
    import matplotlib.figure  # noqa: F401  the end's plot needs it: import it now, inside the budget

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
        f"{len(val_ids):,} val tokens | {tokens_per_step} tokens/step | bf16 {cfg.bf16} | "
        f"compile {cfg.compile}"
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

    # first guesses of what evaluating, sampling and a step cost; measured as the run goes
    chunk = 16 * cfg.block_size  # val tokens per evaluate_perplexity call: 16 windows
    x_probe = torch.zeros(16, cfg.block_size, dtype=torch.long, device=cfg.device)
    eval_token_s = forward_seconds(model, x_probe) / chunk
    token_s = forward_seconds(model, x_probe[:1])  # a sampled token: a forward of (1, <= T)
    step_s = 3 * eval_token_s * tokens_per_step  # forward, backward, update

    def end_seconds() -> float:
        """What the end needs: the final evaluation, the sample and the files (a share at most)."""
        final_tokens = len(val_ids) if cfg.final_eval and main_rank else 0
        need = final_tokens * eval_token_s + cfg.sample_tokens * token_s + FILES_S
        return min(need, END_SHARE * budget.total)

    def evaluate(n_tokens: int, seconds: float, what: str) -> tuple[float, float, int, int]:
        """(mean NLL, perplexity, tokens predicted, tokens asked for) on the first n_tokens of
        the val split (0: all), or on fewer: the chunks that fit in `seconds`.

        evaluate_perplexity on consecutive chunks of 16 windows, token-weighted: the same windows
        and the same mean as one call on the whole stretch, with progress and a time limit.
        """
        nonlocal eval_token_s
        ids = val_ids[: n_tokens + 1] if n_tokens else val_ids
        asked, n_chunks = len(ids) - 1, math.ceil((len(ids) - 1) / chunk)
        t0, total, count = time.perf_counter(), 0.0, 0
        for i, start in enumerate(range(0, len(ids) - 1, chunk)):
            piece = ids[start : start + chunk + 1]  # subtle: one token of overlap, the last target
            with autocast:
                nll, _ = perplexity.evaluate_perplexity(eval_model, piece, cfg.block_size, 16)
            total += nll * (len(piece) - 1)
            count += len(piece) - 1
            eval_token_s = (time.perf_counter() - t0) / count
            reporter.progress(f"{what} {i + 1}/{n_chunks} batches")
            if time.perf_counter() + eval_token_s * chunk > t0 + seconds:
                break
        return total / count, math.exp(total / count), count, asked

    def save() -> None:
        if main_rank:
            checkpoint.save_checkpoint(ckpt_path, model, optimizer, step, gen)
            (out / "history.json").write_text(json.dumps(history))

    train_time, steps_run, loss_value, last_lr = 0.0, 0, float("nan"), 0.0
    with steps_log.open("a") if main_rank else open(os.devnull, "w") as steps_file:
        try:
            while step < cfg.max_steps:
                if budget.timed and stop_together(
                    budget.left() <= end_seconds() + step_s, world, cfg.device
                ):
                    reporter.line(
                        f"--max-minutes {cfg.max_minutes:g}: training stops at step {step}, keeping "
                        f"{budget.left():.0f} s for the final evaluation, the sample and the files"
                    )
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
                step_s = train_time / steps_run
                tps = tokens_per_step / step_s
                reporter.progress(
                    f"step {step}/{cfg.max_steps} | loss {loss_value:.4f} | lr {last_lr:.2e} | "
                    f"{1000 * step_s:.0f} ms/step | {tps / 1e3:.1f}k tok/s",
                    eta_s=(cfg.max_steps - step) * step_s + end_seconds(),
                    force=bool(cfg.log_interval) and step % cfg.log_interval == 0,
                )
                every = cfg.eval_interval
                if main_rank and every and (step % every == 0 or step == cfg.max_steps):
                    allowed = min(EVAL_SHARE * budget.total, budget.left() - end_seconds())
                    val_loss, val_ppl, n, asked = evaluate(cfg.eval_tokens, allowed, "eval")
                    history.append({"step": step, "split": "train", "loss": loss_value})
                    history.append({"step": step, "split": "val", "loss": val_loss})
                    if logger:
                        logger.log(step, "train", loss_value, lr=last_lr)
                        logger.log(step, "val", val_loss)
                    reporter.line(
                        f"step {step} | train {loss_value:.4f} | val {val_loss:.4f} | "
                        f"val ppl {val_ppl:.2f} | {1000 * step_s:.0f} ms/step | "
                        f"{tps / 1e3:.1f}k tok/s | {budget.elapsed() / 60:.1f} min"
                        + (f" | {n:,}/{asked:,} val tokens (time budget)" if n < asked else "")
                        + reporter.left_text()
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
    final = {
        "steps": step,
        "train_loss": loss_value,
        "tokens_per_s": steps_run * tokens_per_step / max(train_time, 1e-9),
        "minutes": budget.elapsed() / 60,  # rank 0: updated when the files are written
        "parameters": n_params,
        "bf16": cfg.bf16,
        "compile": cfg.compile,
        "world_size": world,
        "parallel": cfg.parallel,
        "replicas_identical": replicas_identical(model, world),
    }
    try:
        if main_rank:
            sample_share = min(cfg.sample_tokens * token_s, budget.left() / 3)
            eval_seconds = budget.left() - sample_share - FILES_S
            final_eval = (
                (lambda: evaluate(0, eval_seconds, "final eval")) if cfg.final_eval else None
            )
            finish(cfg, out, model, tok, history, final, final_eval, budget, reporter)
    finally:
        reporter.close()
    barrier(world)
    return final


def finish(cfg, out: Path, model, tok, history, final: dict, final_eval, budget, reporter) -> None:
    """Rank 0 only: the whole-split perplexity (what fits the budget), curves.png, sample.txt and
    metrics.json, each announced in the log."""
    tracking = load("week09_training.tracking")
    if final_eval is not None:
        final["val_loss"], final["val_ppl"], final["val_tokens"], whole = final_eval()
        n = final["val_tokens"]
        what = "whole split" if n == whole else f"first {n:,} of {whole:,} tokens: time budget"
        reporter.line(f"val ({what}) | loss {final['val_loss']:.4f} | ppl {final['val_ppl']:.2f}")
        if not history or history[-1]["step"] != final["steps"]:  # the curves end here too
            history.append({"step": final["steps"], "split": "train", "loss": final["train_loss"]})
            history.append({"step": final["steps"], "split": "val", "loss": final["val_loss"]})
    if cfg.sample_tokens:
        model.eval()
        prompt = torch.tensor([tok.encode("\n")], device=cfg.device)
        ids = generate_within(
            model,
            prompt,
            cfg.sample_tokens,
            budget.total - FILES_S,
            budget,
            reporter,
            temperature=0.8,
            generator=torch.Generator(device=cfg.device).manual_seed(cfg.seed),
        )
        (out / "sample.txt").write_text(tok.decode(ids[0].tolist()), encoding="utf-8")
        final["sample_tokens"] = n = ids.size(1) - prompt.size(1)
        if n < cfg.sample_tokens:
            reporter.line(f"sample.txt: {n}/{cfg.sample_tokens} tokens (time budget)")
    for h in history:
        h["perplexity"] = math.exp(h["loss"])
    final["minutes"] = budget.elapsed() / 60
    digest = hashlib.sha256(to_toml(cfg).encode()).hexdigest()[:12]
    (out / "metrics.json").write_text(json.dumps({**final, "config": digest}, indent=2) + "\n")
    if cfg.gelu == "tanh":  # the run format is GPT-2's, whose GELU is the tanh one
        metrics = {k: v for k, v in final.items() if isinstance(v, (int, float, str, bool))}
        save_run(out, model, tok, made_by="llm-train", base=None, metrics=metrics, config=digest)
    else:
        reporter.line("no run files: the run format (GPT-2's) has the tanh GELU, not gelu exact")
    if history:
        tracking.plot_curves(history, out / "curves.png")
    reporter.line(
        f"done: step {final['steps']} in {budget.elapsed():.1f} s"
        + (f" (budget {budget.total:.0f} s)" if budget.timed else "")
        + " | the run (model.safetensors, tokenizer.json, run.json), ckpt.pt, metrics.json"
        + f"{', sample.txt' if cfg.sample_tokens else ''}"
        + f"{', curves.png' if history else ''} in {out}"
    )


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
