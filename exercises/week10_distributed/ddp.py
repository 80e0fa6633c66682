"""Data parallelism from scratch on torch.distributed: what DistributedDataParallel does for you.

Every rank holds a full copy of the model and sees a different slice of each global batch. Three
things keep the copies identical: the same initial weights (broadcast from rank 0), the same
gradient (all-reduce, then divide by the world size: the mean over ranks of per-rank mean losses
is the full-batch mean when the slices are equal), and the same optimizer step. Bucketing packs
many small gradients into a few flat buffers, so there are a few large all-reduces instead of one
per parameter (Li et al. 2020, "PyTorch Distributed", section 3.2).
Runs on gloo (CPU) or nccl (GPU): `torchrun --nproc_per_node=2 ...` starts the processes.
Check: `python tracker.py check w10.ddp`
"""

import torch
import torch.distributed as dist
import torch.nn as nn


def broadcast_parameters(model: nn.Module, src: int = 0) -> None:
    """Make every rank's parameters and buffers equal to those of rank `src`, in place.

    One `dist.broadcast(t, src)` per tensor of `model.parameters()` then `model.buffers()`, in
    that order, on the tensors' `.data` (no autograd history). Every rank must call it.
    Example: rank 0 holds weight 1.0 and rank 1 weight 2.0; after broadcast_parameters(model,
    src=1) both hold 2.0, and BatchNorm's running statistics are rank 1's too.
    """
    # TODO(w10.ddp): make every rank's parameters and buffers equal to rank src's
    raise NotImplementedError(
        "w10.ddp: write broadcast_parameters in exercises/week10_distributed/ddp.py"
    )


def make_buckets(sizes: list[int], bucket_numel: int) -> list[list[int]]:
    """Group tensors, by index, into buckets of at most `bucket_numel` elements, greedily in order.

    Walk `sizes` in order; start a new bucket when adding the next tensor would take the current
    one past `bucket_numel`; a tensor larger than `bucket_numel` gets a bucket of its own.
    Example: sizes [3, 4, 2, 10, 1], bucket_numel 6 -> [[0], [1, 2], [3], [4]].

    Returns:
        the buckets as lists of indices into `sizes`, covering every index once, in order.
    """
    # TODO(w10.ddp): return the greedy buckets described above
    raise NotImplementedError("w10.ddp: write make_buckets in exercises/week10_distributed/ddp.py")


def allreduce_gradients(model: nn.Module, bucket_numel: int = 1 << 20) -> int:
    """Average the gradients over all ranks, in place, one all-reduce per bucket.

    Take the parameters of `model.parameters()` whose `.grad` is not None, group them with
    `make_buckets([p.numel() ...], bucket_numel)`, and for each bucket: flatten its gradients into
    one buffer (`torch.cat([g.reshape(-1) ...])`), call `dist.all_reduce(buffer)` (SUM) once,
    divide by `dist.get_world_size()`, and copy the slices back into each `.grad`.
    Every rank must call it after `loss.backward()` and before the optimizer step.
    Example: a gradient of 1.0 on rank 0 and 3.0 on rank 1 becomes 2.0 on both; a parameter whose
    .grad is None keeps None.

    Returns:
        the number of all-reduce calls made (the number of buckets).
    """
    # TODO(w10.ddp): average the gradients over the ranks, one all-reduce per bucket
    raise NotImplementedError(
        "w10.ddp: write allreduce_gradients in exercises/week10_distributed/ddp.py"
    )


def shard_indices(
    n: int,
    rank: int,
    world_size: int,
    *,
    shuffle: bool = True,
    seed: int = 0,
    epoch: int = 0,
    drop_last: bool = False,
) -> list[int]:
    """The dataset indices rank `rank` reads in one epoch: torch's DistributedSampler rule.

    1. order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
       if shuffle, else list(range(n)) (every rank computes the same order);
    2. if drop_last, keep the first (n // world_size) * world_size of them; else pad to
       ceil(n / world_size) * world_size by appending order's first elements again (repeating the
       whole order as often as needed when n < world_size);
    3. rank r takes positions r, r + world_size, r + 2 * world_size, ... of the result.
    So ranks read disjoint slices (apart from the padding) of equal length, and a new epoch gives
    a new order. Example: n=5, world_size=2, shuffle=False: rank 0 -> [0, 2, 4], rank 1 -> [1, 3, 0].

    Returns:
        the list of indices for this rank.
    """
    # TODO(w10.ddp): return the indices this rank reads, as DistributedSampler would
    raise NotImplementedError("w10.ddp: write shard_indices in exercises/week10_distributed/ddp.py")
