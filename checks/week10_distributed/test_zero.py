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
