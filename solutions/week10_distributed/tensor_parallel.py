"""Tensor parallelism (Megatron-LM, Shoeybi et al. 2019): split one layer's weights across ranks.

A column-parallel linear splits the output features: rank r holds rows [r*o, (r+1)*o) of the
(out, in) weight and computes its slice of the output from the full input. A row-parallel linear
splits the input features: rank r holds columns [r*i, (r+1)*i) and computes a partial sum that an
all-reduce completes. The MLP c_proj(gelu(c_fc(x))) needs one all-reduce in the forward pass:
c_fc column-parallel (gelu acts elementwise on each rank's slice), c_proj row-parallel.
Autograd needs the conjugate collectives: an identity in the forward pass is an all-reduce in the
backward pass (the input's gradient sums the contributions of every rank's slice) and vice versa.
`torch.distributed.tensor.parallel` (ColwiseParallel, RowwiseParallel) is the library version.
Check: `python tracker.py check w10.tensor_parallel`
"""

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from solutions.week05_gpt.model import MLP, gelu


class _CopyToParallel(torch.autograd.Function):
    """Identity forward, all-reduce backward: see copy_to_parallel."""

    @staticmethod
    def forward(ctx, x):
        """x (...) -> a tensor with x's values, unchanged (no communication).

        Example: rank 0 and rank 1 both pass [1.0, 2.0] -> both get [1.0, 2.0].
        """
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        """grad (...) -> the SUM of every rank's grad (an all-reduce), the same on every rank;
        the incoming `grad` itself is not modified.

        Example: rank 0's grad [1.0, 0.0] and rank 1's [0.5, 2.0] -> [1.5, 2.0] on both ranks.
        """
        grad = grad.clone()
        dist.all_reduce(grad)  # every rank's slice used the whole input: sum their gradients
        return grad


class _ReduceFromParallel(torch.autograd.Function):
    """All-reduce forward, identity backward: see reduce_from_parallel."""

    @staticmethod
    def forward(ctx, x):
        """x (...) -> the SUM of every rank's x, the same on every rank; x itself keeps its values.

        Example: rank 0's [1.0, 2.0] and rank 1's [3.0, 4.0] -> [4.0, 6.0] on both ranks, and
        rank 0's x is still [1.0, 2.0].
        """
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        """grad (...) -> grad unchanged: each partial term of a sum gets the sum's gradient."""
        return grad  # the sum's gradient reaches every partial term unchanged


class _GatherFromParallel(torch.autograd.Function):
    """All-gather forward, slice backward: see gather_from_parallel."""

    @staticmethod
    def forward(ctx, x):
        """x (..., w) -> (..., world_size * w): every rank's x concatenated along the last
        dimension, rank 0's first, the same on every rank.

        Example: rank 0's [[1, 2]] and rank 1's [[3, 4]] -> [[1, 2, 3, 4]] on both ranks.
        """
        world = dist.get_world_size()
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x.contiguous())
        ctx.width = x.shape[-1]
        return torch.cat(parts, dim=-1)

    @staticmethod
    def backward(ctx, grad):
        """grad (..., world_size * w) -> this rank's columns [rank * w, (rank + 1) * w) of it.

        Example: grad [[10, 20, 30, 40]] -> rank 0 gets [[10, 20]], rank 1 [[30, 40]].
        """
        r = dist.get_rank()
        return grad[..., r * ctx.width : (r + 1) * ctx.width].contiguous()


def copy_to_parallel(x: torch.Tensor) -> torch.Tensor:
    """Identity in the forward pass; in the backward pass, all-reduce (sum) the gradient.

    Put it where a replicated tensor enters a column-parallel layer: each rank's slice of the
    output depends on all of x, so x's true gradient is the sum of the ranks' gradients.
    """
    return _CopyToParallel.apply(x)


def reduce_from_parallel(x: torch.Tensor) -> torch.Tensor:
    """All-reduce (sum) in the forward pass (on a copy: `x` is not modified); identity in the
    backward pass. Completes a row-parallel layer's partial sums."""
    return _ReduceFromParallel.apply(x)


def gather_from_parallel(x: torch.Tensor) -> torch.Tensor:
    """All-gather along the last dimension in the forward pass, rank 0's slice first (the output
    is (..., world_size * x.shape[-1])); in the backward pass, return this rank's slice of the
    gradient (columns [rank * w, (rank + 1) * w) with w = x.shape[-1])."""
    return _GatherFromParallel.apply(x)


def _split(n: int, what: str) -> tuple[int, int]:
    """(this rank, n // world_size); ValueError when n does not split evenly (given)."""
    world, rank = dist.get_world_size(), dist.get_rank()
    if n % world:
        raise ValueError(f"{what} = {n} is not divisible by the world size {world}")
    return rank, n // world


class ColumnParallelLinear(nn.Module):
    """This rank's share of `full` (an nn.Linear(in, out)), split along the output features.

    Rank r keeps `weight = full.weight[r*o:(r+1)*o]` (o = out / world_size) and the same slice of
    the bias (if any), as new Parameters (copies). ValueError if out % world_size != 0.
    forward(x): x (..., in), replicated on every rank -> copy_to_parallel(x), then
    F.linear(x, weight, bias): (..., o), this rank's slice of full(x); with `gather_output`,
    gather_from_parallel makes it the whole (..., out) output.
    """

    def __init__(self, full: nn.Linear, gather_output: bool = False):
        """Keep this rank's rows of full.weight (and of full.bias; None for a Linear built with
        bias=False) as new Parameters holding copies; `full` is not changed or tied to them.

        Raises:
            ValueError: if full.out_features is not a multiple of the world size.

        Example: nn.Linear(5, 6) on 2 ranks -> rank 1's weight is full.weight[3:6] (3, 5) and its
        bias full.bias[3:6].
        """
        super().__init__()
        rank, o = _split(full.out_features, "out_features")
        self.gather_output = gather_output
        self.weight = nn.Parameter(full.weight.detach()[rank * o : (rank + 1) * o].clone())
        bias = full.bias
        self.bias = (
            nn.Parameter(bias.detach()[rank * o : (rank + 1) * o].clone())
            if bias is not None
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., in), the same on every rank -> (..., o) this rank's slice of full(x), or the
        whole (..., out) with gather_output; x's gradient sums every rank's contribution."""
        y = F.linear(copy_to_parallel(x), self.weight, self.bias)
        return gather_from_parallel(y) if self.gather_output else y


class RowParallelLinear(nn.Module):
    """This rank's share of `full` (an nn.Linear(in, out)), split along the input features.

    Rank r keeps `weight = full.weight[:, r*i:(r+1)*i]` (i = in / world_size) as a new Parameter,
    and the whole bias (if any), which is added once, after the all-reduce (adding it on every
    rank before the sum would count it world_size times). ValueError if in % world_size != 0.
    forward(x): x (..., i) is this rank's slice of the input (with `input_is_parallel=False`, x
    is the full (..., in) input and the rank takes its slice x[..., r*i:(r+1)*i] first) ->
    reduce_from_parallel(F.linear(x, weight)) + bias: the whole (..., out) output on every rank.
    """

    def __init__(self, full: nn.Linear, input_is_parallel: bool = True):
        """Keep this rank's columns of full.weight as a new Parameter (a copy) and the whole bias
        (a copy; None for a Linear built with bias=False).

        Raises:
            ValueError: if full.in_features is not a multiple of the world size.

        Example: nn.Linear(6, 5) on 2 ranks -> rank 1's weight is full.weight[:, 3:6] (5, 3) and
        its bias all 5 values of full.bias.
        """
        super().__init__()
        rank, i = _split(full.in_features, "in_features")
        self.rank, self.width = rank, i
        self.input_is_parallel = input_is_parallel
        self.weight = nn.Parameter(full.weight.detach()[:, rank * i : (rank + 1) * i].clone())
        self.bias = nn.Parameter(full.bias.detach().clone()) if full.bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., i) this rank's input slice (or the full (..., in) with input_is_parallel=False)
        -> (..., out) the whole output full(x_full), the same on every rank."""
        if not self.input_is_parallel:
            x = x[..., self.rank * self.width : (self.rank + 1) * self.width]
        y = reduce_from_parallel(F.linear(x, self.weight))
        return y + self.bias if self.bias is not None else y


class ParallelMLP(nn.Module):
    """The week-05 MLP, c_proj(gelu(c_fc(x))), split over the ranks (dropout left out).

    `c_fc = ColumnParallelLinear(mlp.c_fc)` (no gather), `c_proj = RowParallelLinear(mlp.c_proj)`
    (input parallel): one all-reduce in the forward pass, one in the backward pass, and every
    rank returns the full (B, T, C) output, equal to mlp(x) in eval mode.
    """

    def __init__(self, mlp: MLP):
        """c_fc and c_proj as described above, built from mlp's layers (mlp is not changed)."""
        super().__init__()
        self.c_fc = ColumnParallelLinear(mlp.c_fc, gather_output=False)
        self.c_proj = RowParallelLinear(mlp.c_proj, input_is_parallel=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C), the same on every rank -> mlp(x) (B, T, C) on every rank (eval mode)."""
        return self.c_proj(gelu(self.c_fc(x)))
