"""Week 09 benchmark: our trainer against a plain transformers loop, precision modes, resume cost,
and where the week-05 trainer's last 0.01 nats went.

    python -m benchmarks.week09_training                 # everything (several minutes)
    python -m benchmarks.week09_training --part peer --seconds 60
    python -m benchmarks.week09_training --part precision --steps 300
    python -m benchmarks.week09_training --part resume
    python -m benchmarks.week09_training --part ablation --steps 2000 --seeds 1337

All runs use nanoGPT's CPU "baby GPT" size (4 layers, 4 heads, C=128, block 64, batch 12) on tiny
Shakespeare as bytes (vocab 256 + 1 special; the text is ASCII, so one byte = one character and
the losses are nats per character), the last 10% held out, one torch thread per process.

- peer: our trainer (`llm-train`, fused LayerNorm/GELU, our AdamW) and a plain loop over
  transformers' GPT2LMHeadModel with torch.optim.AdamW, the same model size, batch, schedule and
  data, started at the same time as two processes for the same wall time; tokens/s and the val loss
  over the whole held-out split when the time is up.
- precision: the trainer for a fixed number of steps in fp32, bf16 autocast and with --compile.
- resume: seconds to save a checkpoint, to load it, and from `--resume` to the first new step.
- ablation: the same loop for 2,000 steps with (a) the cosine starting after the warmup (week 09),
  (b) the cosine starting at step 0 (the week-05 trainer's lr_at), (c) exact instead of tanh GELU.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BABY = dict(block_size=64, n_layer=4, n_head=4, n_embd=128, batch_size=12)
LR = dict(learning_rate=1e-3, min_lr=1e-4, warmup_steps=100, max_steps=2000)


def trainer_args(out_dir: Path, extra: list[str]) -> list[str]:
    args = ["--train-files", "tinyshakespeare", "--val-fraction", "0.1", "--vocab-size", "256"]
    for k, v in {**BABY, **LR}.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    args += ["--bias", "--threads", "1", "--no-tensorboard", "--sample-tokens", "0"]
    args += ["--eval-interval", "100000", "--ckpt-interval", "0", "--log-interval", "100000"]
    return [*args, "--out-dir", str(out_dir), "--impl", "solutions", *extra]


def byte_data():
    import torch

    from course.data import dataset_path

    text = dataset_path("tinyshakespeare").read_text(encoding="utf-8")
    cut = int(len(text) * 0.9)
    train = torch.tensor(list(text[:cut].encode()), dtype=torch.long)
    val = torch.tensor(list(text[cut:].encode()), dtype=torch.long)
    return train, val


def worker_hf(seconds: float, out: Path) -> None:
    """The peer: GPT2LMHeadModel + torch.optim.AdamW in a plain loop, same schedule and data."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from solutions.week09_training.perplexity import evaluate_perplexity
    from solutions.week09_training.schedule import lr_at

    torch.set_num_threads(1)
    torch.manual_seed(1337)
    train, val = byte_data()
    cfg = GPT2Config(
        vocab_size=257,
        n_positions=BABY["block_size"],
        n_embd=BABY["n_embd"],
        n_layer=BABY["n_layer"],
        n_head=BABY["n_head"],
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=None,
        eos_token_id=None,
    )
    model = GPT2LMHeadModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=LR["learning_rate"], betas=(0.9, 0.99))
    g = torch.Generator().manual_seed(1337)
    T, B = BABY["block_size"], BABY["batch_size"]
    start, step, train_time = time.perf_counter(), 0, 0.0
    while time.perf_counter() - start < seconds and step < LR["max_steps"]:
        t0 = time.perf_counter()
        lr = lr_at(step, LR["learning_rate"], LR["min_lr"], LR["warmup_steps"], LR["max_steps"])
        for group in opt.param_groups:
            group["lr"] = lr
        s = torch.randint(0, len(train) - T, (B,), generator=g).tolist()
        x = torch.stack([train[i : i + T] for i in s])
        y = torch.stack([train[i + 1 : i + T + 1] for i in s])
        loss = model(input_ids=x, labels=None).logits
        loss = torch.nn.functional.cross_entropy(loss.flatten(0, 1), y.flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        train_time += time.perf_counter() - t0

    class Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, idx):
            return self.m(input_ids=idx).logits, None

    nll, _ = evaluate_perplexity(Wrap(model), val, T, 16)
    out.write_text(
        json.dumps({"steps": step, "tokens_per_s": step * B * T / train_time, "val_loss": nll})
    )


def run_ours(out_dir: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "course.week09_training.train", *trainer_args(out_dir, extra)]
    subprocess.run(cmd, cwd=ROOT, env=ENV, check=True, capture_output=True, text=True)
    return json.loads((out_dir / "metrics.json").read_text())


ENV = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}


def part_peer(tmp: Path, seconds: float) -> list[str]:
    hf_out = tmp / "hf.json"
    hf = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.week09_training",
            "--worker",
            "hf",
            "--seconds",
            str(seconds),
            "--out",
            str(hf_out),
        ],
        cwd=ROOT,
        env=ENV,
    )
    ours = run_ours(tmp / "ours", ["--max-minutes", str(seconds / 60)])
    hf.wait()
    peer = json.loads(hf_out.read_text())
    return [
        f"## Our trainer vs transformers GPT2LMHeadModel + torch.optim.AdamW ({seconds:.0f} s each, "
        "side by side, 1 thread each)",
        "",
        "| trainer | steps | tokens/s | val loss at equal wall time (nats/char) |",
        "|---|---:|---:|---:|",
        f"| ours (llm-train) | {ours['steps']} | {ours['tokens_per_s']:,.0f} | "
        f"{ours['val_loss']:.4f} |",
        f"| GPT2LMHeadModel loop | {peer['steps']} | {peer['tokens_per_s']:,.0f} | "
        f"{peer['val_loss']:.4f} |",
        "",
        f"ratio ours / peer: {ours['tokens_per_s'] / peer['tokens_per_s']:.2f}x tokens/s",
    ]


def part_precision(tmp: Path, steps: int) -> list[str]:
    rows = [
        f"## Precision modes ({steps} steps, 1 thread, runs one after another)",
        "",
        "| mode | tokens/s | val loss (nats/char) | minutes (incl. compile) |",
        "|---|---:|---:|---:|",
    ]
    for name, flags in (("fp32", []), ("bf16", ["--bf16"]), ("fp32 --compile", ["--compile"])):
        m = run_ours(tmp / name.replace(" ", "_"), ["--max-steps", str(steps), *flags])
        rows.append(
            f"| {name} | {m['tokens_per_s']:,.0f} | {m['val_loss']:.4f} | {m['minutes']:.2f} |"
        )
    return rows


def part_resume(tmp: Path) -> list[str]:
    import torch

    from course.week09_training.fast import fast_gpt
    from solutions.week05_gpt.model import GPTConfig
    from solutions.week09_training.adamw import AdamW, param_groups
    from solutions.week09_training.checkpoint import load_checkpoint, save_checkpoint

    model = fast_gpt(GPTConfig(vocab_size=257, **{k: BABY[k] for k in BABY if k != "batch_size"}))
    opt = AdamW(param_groups(model, 0.1))
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    path = tmp / "ckpt.pt"
    t0 = time.perf_counter()
    save_checkpoint(path, model, opt, 1, torch.Generator())
    t_save = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_checkpoint(path, model, opt, torch.Generator())
    t_load = time.perf_counter() - t0
    run_dir = tmp / "resume"
    base = ["--max-steps", "20", "--ckpt-interval", "10", "--no-final-eval"]
    t0 = time.perf_counter()
    run_ours(run_dir, base)
    fresh = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_ours(run_dir, ["--max-steps", "30", *base[2:], "--resume"])
    resumed = time.perf_counter() - t0
    size = path.stat().st_size / 1e6
    return [
        "## Resume overhead",
        "",
        f"- checkpoint of the baby GPT ({size:.1f} MB): save {1000 * t_save:.0f} ms (with fsync), "
        f"load {1000 * t_load:.0f} ms",
        f"- a 20-step run from scratch took {fresh:.1f} s (process start, data, 20 steps); "
        f"resuming it for 10 more steps took {resumed:.1f} s",
    ]


def ablation_run(steps: int, seed: int, schedule: str, gelu: str) -> float:
    """One 2,000-step run of the baby GPT (no biases, as nanoGPT's CPU example); val loss at the end."""
    import torch

    from course.week09_training.fast import fast_gpt
    from solutions.week05_gpt.model import GPTConfig
    from solutions.week09_training.adamw import AdamW, param_groups
    from solutions.week09_training.perplexity import evaluate_perplexity
    from solutions.week09_training.schedule import lr_at

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    train, val = byte_data()
    T, B = BABY["block_size"], BABY["batch_size"]
    config = GPTConfig(
        vocab_size=257, bias=False, **{k: BABY[k] for k in BABY if k != "batch_size"}
    )
    model = fast_gpt(config, gelu)
    opt = AdamW(param_groups(model, 0.1), lr=1e-3, betas=(0.9, 0.99))
    g = torch.Generator().manual_seed(seed)
    lr_max, lr_min, warm = LR["learning_rate"], LR["min_lr"], LR["warmup_steps"]
    for step in range(steps):
        if schedule == "after_warmup":
            lr = lr_at(step, lr_max, lr_min, warm, steps)
        else:  # the week-05 trainer: the cosine runs over step / max_steps from step 0
            lr = (
                lr_max * (step + 1) / warm
                if step < warm
                else lr_min + 0.5 * (1 + math.cos(math.pi * step / steps)) * (lr_max - lr_min)
            )
        for group in opt.param_groups:
            group["lr"] = lr
        s = torch.randint(0, len(train) - T, (B,), generator=g).tolist()
        x = torch.stack([train[i : i + T] for i in s])
        y = torch.stack([train[i + 1 : i + T + 1] for i in s])
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return evaluate_perplexity(model, val, T, 32)[0]


VARIANTS = {
    "a: cosine after warmup, tanh GELU (week 09)": ("after_warmup", "tanh"),
    "b: cosine from step 0, tanh GELU (week-05 trainer)": ("from_zero", "tanh"),
    "c: cosine after warmup, exact GELU (nanoGPT's nn.GELU)": ("after_warmup", "exact"),
}


def part_ablation(tmp: Path, steps: int, seeds: list[int]) -> list[str]:
    procs = {}
    for name, (schedule, gelu) in VARIANTS.items():
        for seed in seeds:
            out = tmp / f"abl_{schedule}_{gelu}_{seed}.json"
            cmd = [
                sys.executable,
                "-m",
                "benchmarks.week09_training",
                "--worker",
                "ablation",
                "--steps",
                str(steps),
            ]
            cmd += ["--seed", str(seed), "--schedule", schedule, "--gelu", gelu, "--out", str(out)]
            procs[(name, seed)] = (subprocess.Popen(cmd, cwd=ROOT, env=ENV), out)
            if len([p for p, _ in procs.values() if p.poll() is None]) >= 2:
                for p, _ in procs.values():
                    p.wait()  # two at a time: the machine has two cores
    for p, _ in procs.values():
        p.wait()
    rows = [
        f"## Ablation: {steps} steps, baby GPT without biases, seeds {seeds}",
        "",
        "| variant | " + " | ".join(f"val seed {s}" for s in seeds) + " | mean |",
        "|---|" + "---:|" * (len(seeds) + 1),
    ]
    for name in VARIANTS:
        vals = [json.loads(procs[(name, s)][1].read_text())["val_loss"] for s in seeds]
        rows.append(
            f"| {name} | "
            + " | ".join(f"{v:.4f}" for v in vals)
            + f" | {sum(vals) / len(vals):.4f} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--part", choices=["all", "peer", "precision", "resume", "ablation"], default="all"
    )
    p.add_argument("--seconds", type=float, default=60.0, help="wall time per peer run")
    p.add_argument("--steps", type=int, default=0, help="steps (precision: 300, ablation: 2000)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1337])
    p.add_argument("--worker", choices=["hf", "ablation"], help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=1337, help=argparse.SUPPRESS)
    p.add_argument("--schedule", default="after_warmup", help=argparse.SUPPRESS)
    p.add_argument("--gelu", default="tanh", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker == "hf":
        worker_hf(args.seconds, args.out)
        return 0
    if args.worker == "ablation":
        val = ablation_run(args.steps or 2000, args.seed, args.schedule, args.gelu)
        args.out.write_text(json.dumps({"val_loss": val}))
        return 0
    lines = [f"# Week 09 benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs)", ""]
    with tempfile.TemporaryDirectory(prefix="w09-bench-") as tmp:
        tmp = Path(tmp)
        if args.part in ("all", "peer"):
            lines += [*part_peer(tmp, args.seconds), ""]
            print("\n".join(lines), flush=True)
        if args.part in ("all", "precision"):
            lines += [*part_precision(tmp, args.steps or 300), ""]
        if args.part in ("all", "resume"):
            lines += [*part_resume(tmp), ""]
        if args.part in ("all", "ablation"):
            lines += [*part_ablation(tmp, args.steps or 2000, args.seeds), ""]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
