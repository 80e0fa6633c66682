"""llm-train under torchrun with two gloo processes: --parallel ddp (the week-10 DDP through the
seam) and --parallel torch-ddp keep the replicas identical and compute the same losses."""

import json
import os
import subprocess
import sys

import pytest

from course.week09_training.project import SHORT
from roadmap import ROOT
from roadmap.checking import free_port

# the week-09 project's --short settings (tiny corpus, 2 layers, C=32), cut to 4 steps
ARGS = [
    *SHORT,
    "--max-steps", "4",
    "--warmup-steps", "1",
    "--eval-interval", "2",
    "--eval-tokens", "64",
    "--sample-tokens", "0",
    "--threads", "1",
    "--no-tensorboard",
    "--no-final-eval",
    "--impl", "solutions",
]  # fmt: skip


def torchrun(out, parallel: str) -> tuple[dict, list[float]]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    cmd += ["--master_port", str(free_port()), "-m", "course.week09_training.train", *ARGS]
    cmd += ["--out-dir", str(out), "--parallel", parallel]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"torchrun --parallel {parallel} failed:\n{run.stderr[-2000:]}"
    steps = (out / "steps.jsonl").read_text().splitlines()
    return json.loads((out / "metrics.json").read_text()), [json.loads(s)["loss"] for s in steps]


@pytest.mark.timeout(300)
def test_ddp_and_torch_ddp_keep_the_replicas_identical(tmp_path):
    ours, our_losses = torchrun(tmp_path / "ddp", "ddp")
    torch_ddp, torch_losses = torchrun(tmp_path / "torch-ddp", "torch-ddp")
    assert ours["world_size"] == 2 and ours["replicas_identical"], ours
    assert torch_ddp["replicas_identical"], torch_ddp
    assert our_losses == pytest.approx(torch_losses, rel=1e-5), (our_losses, torch_losses)


def test_an_unknown_parallel_mode_is_refused_before_training(tmp_path):
    from course.week09_training import train

    with pytest.raises(SystemExit, match="choose one of none, ddp, torch-ddp"):
        train.main([*ARGS, "--out-dir", str(tmp_path / "x"), "--parallel", "fsdp"])
    assert not (tmp_path / "x").exists()
