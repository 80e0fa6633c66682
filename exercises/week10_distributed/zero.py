"""ZeRO stage 1 (Rajbhandari et al. 2020): shard the optimizer state across data-parallel ranks.

Adam keeps two extra tensors per parameter (exp_avg, exp_avg_sq): with fp32 master weights that
is most of a model's training memory. ZeRO-1 gives each parameter one owner rank; only the owner
keeps its optimizer state and updates it, then sends the new values to everyone, so each rank
holds about 1/world_size of the state. `torch.distributed.optim.ZeroRedundancyOptimizer` is the
library version.
Check: `python tracker.py check w10.zero`
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

    A rank that owns no parameter (fewer parameters than ranks): torch optimizers raise
    ValueError("optimizer got an empty parameter list"), so that rank builds no local optimizer
    (self.optimizer is None); its step() only takes part in the broadcasts, and its state_numel()
    is 0.

    Example: 5 parameters on 2 ranks: rank 0 owns parameters 0, 2, 4 and rank 1 owns 1, 3. One
    parameter on 2 ranks: rank 1 owns nothing.
    """

    def __init__(self, params, optimizer_class=torch.optim.AdamW, **defaults):
        """Keep the parameters in the order given, this rank and the world size (from
        torch.distributed), the owned parameters, and the local optimizer built over them.

        Attributes:
            params: list of every parameter; owned: this rank's share, in order; optimizer:
                optimizer_class(owned, **defaults) (any torch optimizer class; SGD, AdamW, ...),
                or None when this rank owns no parameter.
        """
        # TODO(w10.zero): keep the parameters and build the optimizer for this rank's share
        raise NotImplementedError(
            "w10.zero: write Zero1Optimizer.__init__ in exercises/week10_distributed/zero.py"
        )

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter, owned or not: set them to None, or with
        set_to_none=False zero each existing gradient in place (it stays a tensor of zeros)."""
        # TODO(w10.zero): clear every parameter's gradient, owned or not
        raise NotImplementedError(
            "w10.zero: write Zero1Optimizer.zero_grad in exercises/week10_distributed/zero.py"
        )

    @torch.no_grad()
    def step(self) -> None:
        """Update the owned parameters, then broadcast every parameter from its owner.

        Example: 3 parameters on 2 ranks: rank 0 steps parameters 0 and 2, rank 1 steps 1; then
        parameter 0 is broadcast from rank 0, 1 from rank 1, 2 from rank 0, on both ranks.
        """
        # TODO(w10.zero): leave every rank with the parameters after one full update
        raise NotImplementedError(
            "w10.zero: write Zero1Optimizer.step in exercises/week10_distributed/zero.py"
        )

    def state_numel(self) -> int:
        """The number of optimizer-state elements this rank holds: the sum of `numel()` of the
        tensors with at least one dimension in the local optimizer's `state` (Adam's scalar step
        counter does not count); 0 before the first step or with no owned parameter.

        Example: AdamW owning parameters of 6 and 4 values after one step -> 2 * (6 + 4) = 20;
        SGD with momentum -> 10 (one momentum_buffer each).
        """
        # TODO(w10.zero): return the number of optimizer-state values this rank holds
        raise NotImplementedError(
            "w10.zero: write Zero1Optimizer.state_numel in exercises/week10_distributed/zero.py"
        )
