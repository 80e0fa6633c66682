"""Data-parallel training of the week-05 GPT on uint16 shards (given runtime).

Run under torchrun (one process per rank; gloo on CPU, nccl on CUDA):

    torchrun --nproc_per_node=2 -m course.week10_distributed.train --data DIR --parallel ddp
    python -m course.week10_distributed.train --data DIR --parallel none      # one process

Multi-node: the same command on every node with `--nnodes=2 --rdzv-id=JOB
--rdzv-backend=c10d --rdzv-endpoint=HEAD:29500` (the rendezvous numbers the nodes; w10.launch and
the handout's "Beyond one machine").

`--parallel ddp` is the learner's from-scratch DDP (week10_distributed.ddp through the seam:
`--impl exercises` runs your code), `torch-ddp` torch's DistributedDataParallel, `fsdp` FSDP2
(engine.py). Every step draws one global batch of `--global-batch` windows of the token stream
(seeded by the step, the same on every rank); rank r trains on rows `shard_indices(G, r, W,
shuffle=False)`, so any world size follows the same loss curve as one process. Rank 0 writes the
per-step global loss and tokens/s to `--out` (JSON); `--save` writes the full state dict (FSDP's
shards gathered), which `--init` loads at any world size; `--save-dcp` / `--init-dcp` do the same
with torch.distributed.checkpoint (each rank writes and reads only its shards; resharded on load).
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from course.week10_distributed.engine import (
    PARALLEL,
    full_state_dict,
    init_distributed,
    sync_gradients,
    wrap_model,
)
from roadmap.impl import TREES, load, set_tree
from solutions.week05_gpt.model import GPT, GPTConfig


def arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="folder with manifest.json + shards")
    p.add_argument("--parallel", choices=PARALLEL, default="ddp")
    p.add_argument("--impl", choices=TREES, default=None, help="tree for --parallel ddp")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--global-batch", type=int, default=16, help="rows per step over all ranks")
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--bucket-numel", type=int, default=1 << 20)
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--out", type=Path, default=None, help="rank 0 writes losses and speed here")
    p.add_argument("--save", type=Path, default=None, help="rank 0 saves the full state dict")
    p.add_argument("--init", type=Path, default=None, help="start from a saved state dict")
    p.add_argument(
        "--save-dcp",
        type=Path,
        default=None,
        help="save a torch.distributed.checkpoint folder (every rank writes its own shards)",
    )
    p.add_argument(
        "--init-dcp", type=Path, default=None, help="start from a DCP folder, at any world size"
    )
    return p


def load_tokens(data: Path) -> tuple[np.ndarray, int]:
    """All shards of a manifest concatenated (uint16) and the vocabulary size (eot + 1 at least)."""
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    parts = [np.fromfile(data / s["file"], dtype="<u2") for s in manifest["shards"]]
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype="<u2")
    vocab = max(int(ids.max()) + 1 if ids.size else 1, manifest["eot"] + 1)
    return ids, manifest.get("vocab_size", vocab)


def global_batch(ids: torch.Tensor, step: int, rows: int, T: int, seed: int):
    """(rows, T) inputs and targets of one step: random windows, the same on every rank."""
    g = torch.Generator().manual_seed(seed * 100_003 + step)
    starts = torch.randint(0, len(ids) - T - 1, (rows,), generator=g)
    x = torch.stack([ids[s : s + T] for s in starts.tolist()])
    y = torch.stack([ids[s + 1 : s + T + 1] for s in starts.tolist()])
    return x, y


def save_dcp(model: torch.nn.Module, folder: Path) -> None:
    """A distributed checkpoint: each rank writes the shards it holds (FSDP) or rank 0's copy."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    dcp.save(get_model_state_dict(model), checkpoint_id=str(folder))


def load_dcp(model: torch.nn.Module, folder: Path) -> None:
    """Load a distributed checkpoint into `model` as it is wrapped now (resharded as needed)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, set_model_state_dict

    state = get_model_state_dict(model)
    dcp.load(state, checkpoint_id=str(folder))
    set_model_state_dict(model, state)


def train(args: argparse.Namespace) -> dict:
    """Train on this rank; returns (on every rank) the losses and the speed."""
    if args.impl:
        set_tree(args.impl)
    torch.set_num_threads(args.threads)
    rank, world, device = init_distributed()
    tokens, vocab = load_tokens(args.data)
    ids = torch.from_numpy(tokens.astype(np.int64))
    if args.global_batch % world:
        raise ValueError(f"--global-batch {args.global_batch} must divide by {world} processes")
    torch.manual_seed(args.seed)
    config = GPTConfig(
        block_size=args.block_size,
        vocab_size=vocab,
        n_layer=args.n_layer,
        n_head=args.n_head,
        n_embd=args.n_embd,
    )
    model = GPT(config).to(device)
    if args.init is not None:
        model.load_state_dict(torch.load(args.init, map_location=device))
    model = wrap_model(model, args.parallel, args.bucket_numel)
    if args.init_dcp is not None:
        load_dcp(model, args.init_dcp)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    if args.parallel == "ddp" and world > 1:
        rows = load("week10_distributed.ddp").shard_indices(
            args.global_batch, rank, world, shuffle=False
        )
    else:
        rows = list(range(rank, args.global_batch, world))
    losses, start = [], None
    for step in range(args.steps):
        if step == 1:
            start = time.perf_counter()  # the first step pays for warm-up
        x, y = global_batch(ids, step, args.global_batch, args.block_size, args.seed)
        _, loss = model(x[rows].to(device), y[rows].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        sync_gradients(model, args.parallel, args.bucket_numel)
        opt.step()
        logged = loss.detach().clone()
        if world > 1:
            dist.all_reduce(logged)
            logged /= world
        losses.append(logged.item())
    seconds = time.perf_counter() - start if start is not None else float("nan")
    tokens_per_s = (args.steps - 1) * args.global_batch * args.block_size / seconds
    state = full_state_dict(model) if args.save is not None else None
    if args.save_dcp is not None:
        save_dcp(model, args.save_dcp)
    result = dict(
        parallel=args.parallel,
        world=world,
        steps=args.steps,
        global_batch=args.global_batch,
        block_size=args.block_size,
        losses=losses,
        tokens_per_s=tokens_per_s,
        params=sum(p.numel() for p in model.parameters())
        * (world if args.parallel == "fsdp" else 1),
    )
    if rank == 0:
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
        if state is not None:
            torch.save(state, args.save)
    if dist.is_initialized():
        dist.barrier()
    return result


def _forked(rank: int, world: int, port: int, argv: list[str]) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    train(arg_parser().parse_args(argv))
    dist.destroy_process_group()


def launch_forked(argv: list[str], nproc: int) -> None:
    """Run `train` on `nproc` forked processes (what torchrun does, without its start-up cost:
    the children inherit the imported modules). For the project's --short mode and checks."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.start_processes(_forked, args=(nproc, port, argv), nprocs=nproc, start_method="fork")


def main(argv: list[str] | None = None) -> int:
    args = arg_parser().parse_args(argv)
    result = train(args)
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"{args.parallel} x{result['world']}: loss {result['losses'][0]:.4f} -> "
            f"{result['losses'][-1]:.4f}, {result['tokens_per_s']:,.0f} tokens/s"
        )
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
