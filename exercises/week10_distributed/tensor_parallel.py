"""Tensor parallelism (Megatron-LM, Shoeybi et al. 2019): split one layer's weights across ranks.

A column-parallel linear splits the output features: rank r holds rows [r*o, (r+1)*o) of the
(out, in) weight and computes its slice of the output from the full input. A row-parallel linear
splits the input features: rank r holds columns [r*i, (r+1)*i) and computes a partial sum that an
all-reduce completes. The MLP c_proj(gelu(c_fc(x))) needs one all-reduce in the forward pass:
c_fc column-parallel (gelu acts elementwise on each rank's slice), c_proj row-parallel.
Autograd needs the conjugate collectives: an identity in the forward pass is an all-reduce in the
backward pass (the input's gradient sums the contributions of every rank's slice) and vice versa.
`torch.distributed.tensor.parallel` (ColwiseParallel, RowwiseParallel) is the library version.
Check: `pytest checks/week10_distributed/test_tensor_parallel.py`
"""

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from solutions.week05_gpt.model import MLP, gelu


class _CopyToParallel(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        # TODO(w10.tensor_parallel): identity (x.view_as(x)).
        raise NotImplementedError(
            "w10.tensor_parallel: write _CopyToParallel.forward in exercises/week10_distributed/tensor_parallel.py"
        )

    @staticmethod
    def backward(ctx, grad):
        # TODO(w10.tensor_parallel): all-reduce a copy of the gradient.
        raise NotImplementedError(
            "w10.tensor_parallel: write _CopyToParallel.backward in exercises/week10_distributed/tensor_parallel.py"
        )


class _ReduceFromParallel(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        # TODO(w10.tensor_parallel): all-reduce a copy of x.
        raise NotImplementedError(
            "w10.tensor_parallel: write _ReduceFromParallel.forward in exercises/week10_distributed/tensor_parallel.py"
        )

    @staticmethod
    def backward(ctx, grad):
        # TODO(w10.tensor_parallel): pass the gradient through.
        raise NotImplementedError(
            "w10.tensor_parallel: write _ReduceFromParallel.backward in exercises/week10_distributed/tensor_parallel.py"
        )


class _GatherFromParallel(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        # TODO(w10.tensor_parallel): all_gather into world_size tensors, remember the width, cat
        #   on the last dim.
        raise NotImplementedError(
            "w10.tensor_parallel: write _GatherFromParallel.forward in exercises/week10_distributed/tensor_parallel.py"
        )

    @staticmethod
    def backward(ctx, grad):
        # TODO(w10.tensor_parallel): return this rank's columns of the gradient.
        raise NotImplementedError(
            "w10.tensor_parallel: write _GatherFromParallel.backward in exercises/week10_distributed/tensor_parallel.py"
        )


def copy_to_parallel(x: torch.Tensor) -> torch.Tensor:
    """Identity in the forward pass; in the backward pass, all-reduce (sum) the gradient.

    Put it where a replicated tensor enters a column-parallel layer: each rank's slice of the
    output depends on all of x, so x's true gradient is the sum of the ranks' gradients.
    """
    # TODO(w10.tensor_parallel): _CopyToParallel.apply(x).
    raise NotImplementedError(
        "w10.tensor_parallel: write copy_to_parallel in exercises/week10_distributed/tensor_parallel.py"
    )


def reduce_from_parallel(x: torch.Tensor) -> torch.Tensor:
    """All-reduce (sum) in the forward pass (on a copy: `x` is not modified); identity in the
    backward pass. Completes a row-parallel layer's partial sums."""
    # TODO(w10.tensor_parallel): _ReduceFromParallel.apply(x).
    raise NotImplementedError(
        "w10.tensor_parallel: write reduce_from_parallel in exercises/week10_distributed/tensor_parallel.py"
    )


def gather_from_parallel(x: torch.Tensor) -> torch.Tensor:
    """All-gather along the last dimension in the forward pass, rank 0's slice first (the output
    is (..., world_size * x.shape[-1])); in the backward pass, return this rank's slice of the
    gradient (columns [rank * w, (rank + 1) * w) with w = x.shape[-1])."""
    # TODO(w10.tensor_parallel): _GatherFromParallel.apply(x).
    raise NotImplementedError(
        "w10.tensor_parallel: write gather_from_parallel in exercises/week10_distributed/tensor_parallel.py"
    )


def _split(n: int, what: str) -> tuple[int, int]:
    # TODO(w10.tensor_parallel): ValueError unless n divides by the world size; return (rank, n //
    #   world_size).
    raise NotImplementedError(
        "w10.tensor_parallel: write _split in exercises/week10_distributed/tensor_parallel.py"
    )


class ColumnParallelLinear(nn.Module):
    """This rank's share of `full` (an nn.Linear(in, out)), split along the output features.

    Rank r keeps `weight = full.weight[r*o:(r+1)*o]` (o = out / world_size) and the same slice of
    the bias (if any), as new Parameters (copies). ValueError if out % world_size != 0.
    forward(x): x (..., in), replicated on every rank -> copy_to_parallel(x), then
    F.linear(x, weight, bias): (..., o), this rank's slice of full(x); with `gather_output`,
    gather_from_parallel makes it the whole (..., out) output.
    """

    def __init__(self, full: nn.Linear, gather_output: bool = False):
        # TODO(w10.tensor_parallel): super().__init__(); copy this rank's rows of full.weight (and
        #   bias) into new Parameters.
        raise NotImplementedError(
            "w10.tensor_parallel: write ColumnParallelLinear.__init__ in exercises/week10_distributed/tensor_parallel.py"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO(w10.tensor_parallel): F.linear(copy_to_parallel(x), weight, bias), gathered if
        #   gather_output.
        raise NotImplementedError(
            "w10.tensor_parallel: write ColumnParallelLinear.forward in exercises/week10_distributed/tensor_parallel.py"
        )


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
        # TODO(w10.tensor_parallel): super().__init__(); copy this rank's columns of full.weight
        #   and the whole bias into new Parameters.
        raise NotImplementedError(
            "w10.tensor_parallel: write RowParallelLinear.__init__ in exercises/week10_distributed/tensor_parallel.py"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO(w10.tensor_parallel): slice x if not input_is_parallel;
        #   reduce_from_parallel(F.linear(x, weight)) + bias.
        raise NotImplementedError(
            "w10.tensor_parallel: write RowParallelLinear.forward in exercises/week10_distributed/tensor_parallel.py"
        )


class ParallelMLP(nn.Module):
    """The week-05 MLP, c_proj(gelu(c_fc(x))), split over the ranks (dropout left out).

    `c_fc = ColumnParallelLinear(mlp.c_fc)` (no gather), `c_proj = RowParallelLinear(mlp.c_proj)`
    (input parallel): one all-reduce in the forward pass, one in the backward pass, and every
    rank returns the full (B, T, C) output, equal to mlp(x) in eval mode.
    """

    def __init__(self, mlp: MLP):
        # TODO(w10.tensor_parallel): super().__init__(); c_fc column-parallel without gather,
        #   c_proj row-parallel on a parallel input.
        raise NotImplementedError(
            "w10.tensor_parallel: write ParallelMLP.__init__ in exercises/week10_distributed/tensor_parallel.py"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO(w10.tensor_parallel): c_proj(gelu(c_fc(x))).
        raise NotImplementedError(
            "w10.tensor_parallel: write ParallelMLP.forward in exercises/week10_distributed/tensor_parallel.py"
        )
