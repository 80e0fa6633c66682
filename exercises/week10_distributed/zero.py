"""ZeRO stage 1 (Rajbhandari et al. 2020): shard the optimizer state across data-parallel ranks.

Adam keeps two extra tensors per parameter (exp_avg, exp_avg_sq): with fp32 master weights that
is most of a model's training memory. ZeRO-1 gives each parameter one owner rank; only the owner
keeps its optimizer state and updates it, then sends the new values to everyone, so each rank
holds about 1/world_size of the state. `torch.distributed.optim.ZeroRedundancyOptimizer` is the
library version.
Check: `pytest checks/week10_distributed/test_zero.py`
"""

import torch
import torch.distributed as dist


class Zero1Optimizer:
    """A ZeRO-1 wrapper around any torch optimizer class.

    Ownership: the i-th parameter of `params` (in the order given) is owned by rank
    i % world_size. This rank builds `optimizer_class(its owned parameters, **defaults)` and
    nothing for the others, so it holds no state for parameters it does not own.

    step(): the gradients are assumed already averaged over ranks (call allreduce_gradients first).
    The local optimizer steps the owned parameters; then, for every parameter i in order,
    `dist.broadcast(p.data, src=i % world_size)` sends the owner's new values to every rank (the
    "all-gather" of the updated parameters). Afterwards every rank holds the same parameters as an
    unsharded optimizer on one process would.

    Example: 5 parameters on 2 ranks: rank 0 owns parameters 0, 2, 4 and rank 1 owns 1, 3.
    """

    def __init__(self, params, optimizer_class=torch.optim.AdamW, **defaults):
        # TODO(w10.zero): keep the parameters, the rank and world size, the owned ones (i %
        #   world_size == rank) and an optimizer_class over them.
        raise NotImplementedError(
            "w10.zero: write Zero1Optimizer.__init__ in exercises/week10_distributed/zero.py"
        )

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter, owned or not."""
        # TODO(w10.zero): clear every parameter's grad (None, or zero_ in place).
        raise NotImplementedError(
            "w10.zero: write Zero1Optimizer.zero_grad in exercises/week10_distributed/zero.py"
        )

    @torch.no_grad()
    def step(self) -> None:
        """Update the owned parameters, then broadcast every parameter from its owner."""
        # TODO(w10.zero): step the local optimizer, then broadcast every parameter from its owner
        #   i % world_size.
        raise NotImplementedError(
            "w10.zero: write Zero1Optimizer.step in exercises/week10_distributed/zero.py"
        )

    def state_numel(self) -> int:
        """The number of optimizer-state elements this rank holds: the sum of `numel()` of the
        tensors with at least one dimension in the local optimizer's `state` (Adam's scalar step
        counter does not count); 0 before the first step or with no owned parameter."""
        # TODO(w10.zero): sum numel() of the local optimizer's state tensors with dim() > 0.
        raise NotImplementedError(
            "w10.zero: write Zero1Optimizer.state_numel in exercises/week10_distributed/zero.py"
        )
