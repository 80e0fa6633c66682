"""Two nodes on one machine: one torchrun launcher per "node", started with your torchrun_argv.

Each launcher is what one machine of a cluster would run; here they all run on this one and meet
at a c10d rendezvous on 127.0.0.1 (a free port, a run id of this process). The trainer is
course/week10_distributed/train.py, so the losses of `--nnodes 2 --nproc-per-node 1` can be laid
beside one process on the same global batch:

    python -m course.week10_distributed.nodes --data reports/week10/shards [--nproc-per-node 1]

Used by the week's project (nodes.md) and by the w10.launch check (given runtime).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from roadmap import ROOT
from roadmap.checking import free_port
from roadmap.impl import TREES, current_tree, load, set_tree

TRAIN = ["-m", "course.week10_distributed.train"]


def launcher_command(argv: list[str]) -> list[str]:
    """A torchrun argv as this machine runs it: `torchrun` becomes this Python's
    torch.distributed.run (no PATH needed), and the node that gets rank 0 advertises 127.0.0.1
    to the workers (--local-addr; on a cluster it would be the node's own reachable address)."""
    if not argv or argv[0] != "torchrun":
        raise ValueError(f"a launcher command starts with 'torchrun', got {argv[:1]}")
    return [sys.executable, "-m", "torch.distributed.run", "--local-addr", "127.0.0.1", *argv[1:]]


def _tail(path: Path, n: int = 1500) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-n:]


def launch(argvs: list[list[str]], timeout: float) -> list[str]:
    """Start one launcher per argv at once, wait for all of them; returns their stdouts.

    Each launcher runs in its own process group, so a timeout or a failure kills it with all its
    workers (nothing is left running). Raises TimeoutError if they are not all done within
    `timeout` seconds (nodes that never meet wait for each other forever), RuntimeError if one
    exits non-zero; both messages carry the end of every launcher's stderr.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory(prefix="w10nodes") as tmp:
        logs = [(Path(tmp) / f"node{i}.out", Path(tmp) / f"node{i}.err") for i in range(len(argvs))]
        procs = []
        try:
            for argv, (out, err) in zip(argvs, logs):
                with open(out, "w") as o, open(err, "w") as e:
                    procs.append(
                        subprocess.Popen(
                            launcher_command(argv),
                            cwd=ROOT,
                            env=env,
                            stdout=o,
                            stderr=e,
                            start_new_session=True,  # its own process group: killable as a whole
                        )
                    )
            deadline = time.monotonic() + timeout
            for p in procs:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            errors = "\n".join(f"--- node {i} stderr:\n{_tail(e)}" for i, (_, e) in enumerate(logs))
            raise TimeoutError(
                f"the {len(argvs)} launchers were not done within {timeout:.0f} s\n{errors}"
            ) from None
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        failed = [i for i, p in enumerate(procs) if p.returncode != 0]
        if failed:
            errors = "\n".join(f"--- node {i} stderr:\n{_tail(logs[i][1])}" for i in failed)
            raise RuntimeError(f"launcher(s) {failed} exited non-zero\n{errors}")
        return [out.read_text(encoding="utf-8") for out, _ in logs]


def train_on_nodes(
    train_args: list[str], out: Path, nnodes: int = 2, nproc_per_node: int = 1, timeout=180.0
) -> dict:
    """train.py on `nnodes` launchers of `nproc_per_node` workers (your torchrun_argv), on this
    machine; returns the trainer's result (losses, world, tokens/s), the launch's wall_s and the
    argv every node ran."""
    launch_mod = load("week10_distributed.launch")
    argv = launch_mod.torchrun_argv(
        [*TRAIN, *train_args, "--out", str(out)],
        nnodes=nnodes,
        nproc_per_node=nproc_per_node,
        host="127.0.0.1",
        port=free_port(),
        rdzv_id=f"w10-nodes-{os.getpid()}",
    )
    start = time.perf_counter()
    launch([argv] * nnodes, timeout)
    result = json.loads(Path(out).read_text(encoding="utf-8"))
    result.update(wall_s=time.perf_counter() - start, argv=argv)
    return result


def train_one_process(train_args: list[str]) -> dict:
    """train.py on one process, here (it sets torch's thread count; restored afterwards)."""
    import torch

    from course.week10_distributed import train

    threads = torch.get_num_threads()
    try:
        return train.train(train.arg_parser().parse_args([*train_args, "--parallel", "none"]))
    finally:
        torch.set_num_threads(threads)


def loss_table(single: list[float], nodes: list[float], label: str) -> list[str]:
    """Markdown: the per-step losses side by side, their differences and the largest one."""
    diffs = [abs(a - b) for a, b in zip(single, nodes)]
    lines = [
        f"Largest per-step difference: {max(diffs):.2e} (relative "
        f"{max(d / abs(a) for d, a in zip(diffs, single)):.2e}) over {len(diffs)} steps.",
        "",
        f"| step | 1 process | {label} | difference |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {i + 1} | {a:.7f} | {b:.7f} | {d:.1e} |"
        for i, (a, b, d) in enumerate(zip(single, nodes, diffs))
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="folder with manifest.json + shards")
    p.add_argument("--nnodes", type=int, default=2)
    p.add_argument("--nproc-per-node", type=int, default=1)
    p.add_argument("--parallel", choices=("ddp", "torch-ddp", "fsdp"), default="ddp")
    p.add_argument("--impl", choices=TREES, default=None, help="tree for torchrun_argv and ddp")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument(
        "--timeout", type=float, default=300.0, help="seconds before the launch is killed"
    )
    args = p.parse_args(argv)
    if args.impl:
        set_tree(args.impl)
    world = args.nnodes * args.nproc_per_node
    train_args = ["--data", str(args.data), "--steps", str(args.steps)]
    train_args += ["--global-batch", str(4 * world), "--impl", current_tree()]
    single = train_one_process(train_args)
    with tempfile.TemporaryDirectory() as tmp:
        nodes = train_on_nodes(
            [*train_args, "--parallel", args.parallel],
            Path(tmp) / "nodes.json",
            args.nnodes,
            args.nproc_per_node,
            args.timeout,
        )
    label = f"{args.nnodes} nodes x {args.nproc_per_node} ({args.parallel})"
    print("\n".join(loss_table(single["losses"], nodes["losses"], label)))
    print(f"launch wall time {nodes['wall_s']:.1f} s, load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
