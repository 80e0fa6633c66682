"""The real engine (given runtime): start torch.distributed and wrap a model for data parallelism.

`--parallel` chooses how gradients are synchronised:
  none       one process, no collectives;
  ddp        the learner's from-scratch DDP (week10_distributed.ddp through the seam, so
             `--impl exercises` runs your code): broadcast_parameters once, allreduce_gradients
             after every backward;
  torch-ddp  torch.nn.parallel.DistributedDataParallel;
  fsdp       FSDP2: rank 0's weights broadcast, then `fully_shard` on every block, then on the whole model, over
             `init_device_mesh(device_type, (world_size,))`.
Under torchrun (RANK, WORLD_SIZE, MASTER_ADDR/PORT in the environment) `init_distributed` joins
the group: gloo on CPU, nccl on CUDA.
"""

import os
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.nn as nn

from roadmap.impl import load

PARALLEL = ("none", "ddp", "torch-ddp", "fsdp")


def init_distributed(timeout_s: float = 120.0) -> tuple[int, int, torch.device]:
    """(rank, world_size, device); joins the process group when launched by torchrun."""
    if "RANK" not in os.environ or dist.is_initialized():
        rank = dist.get_rank() if dist.is_initialized() else 0
        world = dist.get_world_size() if dist.is_initialized() else 1
        return rank, world, torch.device("cpu")
    cuda = torch.cuda.is_available()
    backend = "nccl" if cuda else "gloo"
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return dist.get_rank(), dist.get_world_size(), device


def wrap_model(model: nn.Module, parallel: str, bucket_numel: int = 1 << 20) -> nn.Module:
    """The model to train under `parallel` (see the module docstring); call after init."""
    if parallel not in PARALLEL:
        raise ValueError(f"--parallel {parallel!r}: choose one of {PARALLEL}")
    if parallel == "none" or not dist.is_initialized():
        return model
    if parallel == "ddp":
        load("week10_distributed.ddp").broadcast_parameters(model)
        return model
    if parallel == "torch-ddp":
        from torch.nn.parallel import DistributedDataParallel

        dev = next(model.parameters()).device
        return DistributedDataParallel(
            model,
            device_ids=[dev.index] if dev.type == "cuda" else None,
            bucket_cap_mb=max(1, bucket_numel * 4 // (1 << 20)),
        )
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    # FSDP2 shards each rank's own tensors as they are: start every rank from rank 0's weights
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            dist.broadcast(t.data, 0)
    dev = next(model.parameters()).device
    mesh = init_device_mesh(dev.type, (dist.get_world_size(),))
    for block in getattr(getattr(model, "transformer", model), "h", []):
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def sync_gradients(model: nn.Module, parallel: str, bucket_numel: int = 1 << 20) -> None:
    """After backward: the learner's all-reduce for `ddp`; torch DDP and FSDP already did it."""
    if parallel == "ddp" and dist.is_initialized():
        load("week10_distributed.ddp").allreduce_gradients(model, bucket_numel)


def full_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Plain full tensors of the model's state (FSDP's DTensors gathered), on every rank."""
    out = {}
    for k, v in model.state_dict().items():
        if hasattr(v, "full_tensor"):
            v = v.full_tensor()
        out[k.removeprefix("module.")] = v.detach().cpu().clone()
    return out
