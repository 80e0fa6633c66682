"""Checks for w10.zero: ZeRO-1, the optimizer state sharded over 2 gloo ranks.

The 2-process launch of support.distributed_results trains the week-05 GPT (float64, the same
weights on both ranks, 3 of 6 rows each, gradients averaged with a plain all-reduce) for 5 AdamW
steps through Zero1Optimizer. Oracles: one process with torch.optim.AdamW on the full batch, and
torch's ZeroRedundancyOptimizer on the same run (agreement <= 1e-6, seen ~1e-16). The state each
rank holds is counted from the documented owner rule (parameter i belongs to rank i % 2; Adam
keeps exp_avg and exp_avg_sq, two tensors of the parameter's size).
"""

from checks.week10_distributed.support import WORLD, scenario
from roadmap.checking import assert_close


def test_zero1_matches_the_unsharded_optimizer():
    results = scenario("zero")
    ref = results[0]["reference"]
    for rank, r in enumerate(results):
        for name, p in r["params"].items():
            assert_close(
                p,
                ref[name],
                what=f"rank {rank}: {name} after 5 Zero1Optimizer(AdamW) steps",
                hint="each rank steps only the parameters it owns (i % world_size == rank), then "
                "EVERY parameter is broadcast from its owner (src = i % world_size), so all ranks "
                "end with the update an unsharded AdamW makes",
                atol=1e-6,
                rtol=0,
            )


def test_torch_zero_redundancy_optimizer_agrees():
    """The library oracle: ZeroRedundancyOptimizer on the same run equals the unsharded AdamW too,
    and so does Zero1Optimizer, parameter for parameter."""
    results = scenario("zero")
    ref = results[0]["reference"]
    for rank, r in enumerate(results):
        for name, p in r["zero_redundancy"].items():
            assert_close(p, ref[name], what=f"ZeroRedundancyOptimizer, rank {rank}: {name}")
            assert_close(
                r["params"][name],
                p,
                what=f"rank {rank}: {name}, Zero1Optimizer vs torch's ZeroRedundancyOptimizer",
                hint="the same AdamW update, sharded: step the owned parameters, broadcast all",
                atol=1e-6,
                rtol=0,
            )


def test_each_rank_holds_only_its_share_of_the_state():
    results = scenario("zero")
    sizes = results[0]["sizes"]
    total = 2 * sum(sizes)
    for rank, r in enumerate(results):
        expected = 2 * sum(n for i, n in enumerate(sizes) if i % WORLD == rank)
        got = r["state_numel"]
        hint = (
            "this rank holds the state of EVERY parameter: the optimizer state is not sharded; "
            "build the local optimizer on the owned parameters only"
            if got == total
            else "parameter i is owned by rank i % world_size; Adam keeps exp_avg and exp_avg_sq "
            "(the scalar step does not count)"
        )
        assert got == expected, (
            f"rank {rank}: Zero1Optimizer.state_numel() after 5 steps: expected {expected} "
            f"(of {total} unsharded), got {got}\n  likely cause: {hint}"
        )


def test_any_optimizer_class():
    """Zero1Optimizer(params, torch.optim.SGD, lr=0.1, momentum=0.9): the same 5 steps equal one
    process's SGD with momentum on the full batch; each rank keeps one momentum buffer per owned
    parameter."""
    results = scenario("zero")
    ref = results[0]["sgd_reference"]
    sizes = results[0]["sizes"]
    for rank, r in enumerate(results):
        sgd = r["sgd"]
        assert "error" not in sgd, (
            f"rank {rank}: Zero1Optimizer(params, torch.optim.SGD, lr=0.1, momentum=0.9) raised:\n"
            f"{sgd['error']}\n  likely cause: build the local optimizer with optimizer_class "
            "(whatever class is passed) and **defaults, not a fixed AdamW"
        )
        for name, p in sgd["params"].items():
            assert_close(
                p,
                ref[name],
                what=f"rank {rank}: {name} after 5 Zero1Optimizer(params, torch.optim.SGD, lr=0.1, "
                "momentum=0.9) steps",
                hint="build the local optimizer with optimizer_class (whatever class is passed) "
                "and **defaults, not a fixed AdamW",
                atol=1e-6,
                rtol=0,
            )
        expected = sum(n for i, n in enumerate(sizes) if i % WORLD == rank)
        assert sgd["state_numel"] == expected, (
            f"rank {rank}: state_numel() with SGD + momentum is {sgd['state_numel']}, expected "
            f"{expected} (one momentum_buffer per owned parameter)\n  likely cause: the local "
            "optimizer must be an optimizer_class over the owned parameters"
        )


def test_zero_grad_keeps_zero_tensors_when_asked():
    """zero_grad(set_to_none=False) after a backward: every gradient is a zero tensor, not None."""
    for rank, r in enumerate(scenario("zero")):
        assert "error" not in r["kept_zero_grads"], (
            f"rank {rank}: zero_grad(set_to_none=False) raised:\n{r['kept_zero_grads']['error']}"
        )
        grads = r["kept_zero_grads"]["grads"]
        assert all(g is not None and not g.any() for g in grads), (
            f"rank {rank}: after zero_grad(set_to_none=False) the gradients are "
            f"{[None if g is None else 'non-zero' if g.any() else 'zeros' for g in grads][:4]}..., "
            "expected zero tensors\n  likely cause: set_to_none=False zeroes each existing "
            "gradient in place (p.grad.zero_()); only set_to_none=True sets them to None"
        )


def test_a_rank_that_owns_no_parameter():
    """One parameter on 2 ranks: rank 0 owns it, rank 1 owns nothing. torch optimizers refuse an
    empty parameter list, so rank 1 builds no local optimizer; its step() only takes part in the
    broadcasts, and its state_numel() is 0. Two AdamW steps equal one process's AdamW."""
    results = scenario("zero_edges", own_errors=True)

    def secondary(item) -> bool:  # a rank that only waited for the other, or was told it failed
        error = item[1].get("error", "").lower()
        return "failed to build" in error or "timed out" in error or "timeout" in error

    for rank, r in sorted(enumerate(results), key=secondary):
        assert "error" not in r, (
            f"rank {rank}: Zero1Optimizer([one parameter], AdamW) on 2 ranks (built, stepped "
            f"twice, state_numel()) raised:\n{r['error']}"
            "\n  likely cause: the rank that owns no parameter must not build optimizer_class([]) "
            "(torch raises 'optimizer got an empty parameter list'): it keeps no local optimizer, "
            "its step() only broadcasts, and state_numel() is 0"
        )
        assert_close(
            r["param"],
            r["reference"],
            what=f"rank {rank}: the only parameter after 2 Zero1Optimizer steps (rank 0 owns it)",
            hint="rank 0 steps it, then broadcasts it from its owner; rank 1, which owns no "
            "parameter, receives it",
            atol=1e-9,
        )
    got = [r["state_numel"] for r in results]
    assert got == [6, 0], (
        f"state_numel() on ranks 0, 1: {got}, expected [6, 0] (rank 0: exp_avg and exp_avg_sq of "
        "3 values; rank 1 owns no parameter)"
    )
