"""What only a GPU exercises, in one script that prints a table (CI has no GPU: every row skips).

    python -m benchmarks.gpu                 # every row that this machine can run
    python -m benchmarks.gpu --rows engine   # one row

Rows (each a fresh process with a time limit; a failure is a row, not a crash):
  capstone-short   `capstone` on the short preset with device = "cuda" (pre-training, SFT, LoRA
                   and DPO on the GPU; quantisation, evaluation and serving stay on the CPU)
  llm-train-bf16   llm-train, configs/week09_gpt2_124m.toml (GPT-2 124M) for 200 steps, --bf16
  llm-train-fp16   the same with --fp16 (a GradScaler)
  ddp-nccl         week 10's DDP (`--parallel ddp`) on NCCL: torchrun, one process per GPU, the
                   week-09 trainer for 50 steps (needs 2 GPUs); replicas must end identical
  engine-cuda      week 15's Engine on CUDA: 16 greedy requests, tokens/s, outputs equal to the
                   plain model's greedy generate
The figures go in benchmarks/README.md with the GPU's name; nothing here asserts a speed.
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from roadmap import ROOT

ROWS = ["capstone-short", "llm-train-bf16", "llm-train-fp16", "ddp-nccl", "engine-cuda"]


def gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def run(cmd: list[str], timeout: float) -> tuple[bool, float, str]:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
        )
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - start, f"timed out after {timeout:.0f} s"
    tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
    return done.returncode == 0, time.perf_counter() - start, tail[0][-160:]


def llm_train(tmp: Path, precision: str) -> dict:
    out = tmp / f"gpt2-{precision}"
    cmd = [
        sys.executable, "-m", "course.week09_training.train", "--impl", "solutions",
        "--config", "configs/week09_gpt2_124m.toml", "--device", "cuda", f"--{precision}",
        "--max-steps", "200", "--warmup-steps", "20", "--grad-accum", "1",
        "--eval-interval", "0", "--no-final-eval", "--sample-tokens", "0", "--no-tensorboard",
        "--ckpt-interval", "0", "--out-dir", str(out),
    ]  # fmt: skip
    ok, seconds, said = run(cmd, 1200)
    if not ok:
        return {"status": "failed", "seconds": seconds, "figure": said}
    m = json.loads((out / "metrics.json").read_text())
    return {
        "status": "ok",
        "seconds": seconds,
        "figure": f"{m['tokens_per_s'] / 1e3:.1f}k tok/s, loss {m['train_loss']:.3f}",
    }


def capstone(tmp: Path) -> dict:
    from course.capstone.presets import SHORT

    preset = dataclasses.replace(SHORT, name="short-gpu", device="cuda")
    toml = tmp / "short-gpu.toml"
    toml.write_text(
        "".join(f"{k} = {json.dumps(v)}\n" for k, v in dataclasses.asdict(preset).items())
    )
    cmd = [
        sys.executable, "-m", "course.capstone", "--preset", str(toml), "--impl", "solutions",
        "--no-serve", "--out", str(tmp / "capstone"), "--summary", str(tmp / "SUMMARY.md"),
    ]  # fmt: skip
    ok, seconds, said = run(cmd, 900)
    return {"status": "ok" if ok else "failed", "seconds": seconds, "figure": said}


def ddp_nccl(tmp: Path) -> dict:
    if gpus() < 2:
        return {"status": "skipped", "seconds": 0.0, "figure": f"needs 2 GPUs, found {gpus()}"}
    out = tmp / "ddp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "-m", "course.week09_training.train", "--impl", "solutions",
        "--config", "configs/week09_cpu.toml", "--device", "cuda", "--parallel", "ddp",
        "--max-steps", "50", "--eval-interval", "0", "--no-final-eval", "--sample-tokens", "0",
        "--no-tensorboard", "--out-dir", str(out),
    ]  # fmt: skip
    ok, seconds, said = run(cmd, 900)
    if not ok:
        return {"status": "failed", "seconds": seconds, "figure": said}
    m = json.loads((out / "metrics.json").read_text())
    same = "replicas identical" if m["replicas_identical"] else "REPLICAS DIFFER"
    return {"status": "ok", "seconds": seconds, "figure": f"{m['tokens_per_s']:.0f} tok/s, {same}"}


def engine_cuda() -> dict:
    """In this process: the week-15 engine on CUDA against the plain model's greedy generate."""
    import torch

    from solutions.week05_gpt.model import GPT, GPTConfig
    from solutions.week15_efficient_inference.engine import Engine, SamplingParams

    torch.manual_seed(0)
    config = GPTConfig(block_size=512, vocab_size=1028, n_layer=4, n_head=4, n_embd=128)
    model = GPT(config).cuda().eval()
    prompts = [torch.randint(0, 1028, (8 + i,)).tolist() for i in range(16)]
    engine = Engine(model, num_blocks=1024, block_size=16, max_running=16)
    start = time.perf_counter()
    ids = [engine.submit(p, SamplingParams(max_new_tokens=64)) for p in prompts]
    for _ in engine.stream():
        pass
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    outs = [engine.sequences[i].output for i in ids]
    same = 0
    with torch.no_grad():
        for p, out in zip(prompts, outs):
            ref = model.generate(torch.tensor([p], device="cuda"), 64, temperature=0.0)
            same += ref[0, len(p) :].tolist() == out
    return {
        "status": "ok",
        "seconds": seconds,
        "figure": f"{16 * 64 / seconds:.0f} tok/s, {same}/16 equal to greedy generate",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.split("\n")[0])
    p.add_argument("--rows", nargs="+", choices=ROWS, default=ROWS)
    args = p.parse_args(argv)
    n = gpus()
    print(f"GPUs: {n}" + (f" ({__import__('torch').cuda.get_device_name(0)})" if n else ""))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for row in args.rows:
            if n == 0:
                results[row] = {"status": "skipped", "seconds": 0.0, "figure": "no CUDA device"}
                continue
            if row == "capstone-short":
                results[row] = capstone(Path(tmp))
            elif row.startswith("llm-train"):
                results[row] = llm_train(Path(tmp), row.rsplit("-", 1)[1])
            elif row == "ddp-nccl":
                results[row] = ddp_nccl(Path(tmp))
            else:
                try:
                    results[row] = engine_cuda()
                except Exception as e:  # a row, not a crash
                    results[row] = {"status": "failed", "seconds": 0.0, "figure": repr(e)[:160]}
            print(f"{row}: {results[row]['status']} ({results[row]['seconds']:.1f} s)", flush=True)
    print("\n| row | status | wall s | figure |\n|---|---|---|---|")
    for row, r in results.items():
        print(f"| {row} | {r['status']} | {r['seconds']:.1f} | {r['figure']} |")
    return 0 if all(r["status"] != "failed" for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
