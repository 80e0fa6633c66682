"""Checks for w10.ddp: data parallelism from scratch on 2 gloo processes.

One 2-process launch (support.distributed_results, shared with test_zero and
test_tensor_parallel) trains the week-05 GPT for 5 plain-SGD steps: the ranks start from different
weights (seeds 100 and 101), broadcast_parameters makes them rank 0's, each rank reads its
shard_indices of a global batch of 6 and allreduce_gradients averages. The oracle: one process on
the full batch from rank 0's weights (float64, agreement <= 1e-6, seen ~1e-16). torch's
DistributedDataParallel and FSDP2 (the given runtime's torch-ddp and fsdp modes) must match it
too. The sampler is compared with torch.utils.data.DistributedSampler in this process.
"""

import pytest
import torch
from torch.utils.data import DistributedSampler

from checks.week10_distributed.support import BUCKET_NUMEL, WORLD, scenario, tiny_gpt
from roadmap.checking import assert_close
from roadmap.impl import load

mod = load("week10_distributed.ddp")


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("n,world", [(5, 2), (6, 2), (7, 3), (1, 3), (10, 4)])
def test_shard_indices_match_distributed_sampler(n, world, shuffle, drop_last):
    for epoch in (0, 1):
        for rank in range(world):
            sampler = DistributedSampler(
                range(n),
                num_replicas=world,
                rank=rank,
                shuffle=shuffle,
                seed=7,
                drop_last=drop_last,
            )
            sampler.set_epoch(epoch)
            expected = list(sampler)
            got = mod.shard_indices(
                n, rank, world, shuffle=shuffle, seed=7, epoch=epoch, drop_last=drop_last
            )
            assert list(got) == expected, (
                f"shard_indices({n}, rank={rank}, world_size={world}, shuffle={shuffle}, seed=7, "
                f"epoch={epoch}, drop_last={drop_last}): expected {expected} (DistributedSampler), "
                f"got {list(got)}\n  likely cause: every rank must read a DIFFERENT slice: "
                "order[rank::world_size] of one order shared by all ranks (randperm seeded with "
                "seed + epoch), padded by repeating its start or cut with drop_last"
            )


def test_shard_indices_known_answer():
    got = [mod.shard_indices(5, r, 2, shuffle=False) for r in range(2)]
    assert got == [[0, 2, 4], [1, 3, 0]], (
        f"shard_indices(5, r, 2, shuffle=False) for r = 0, 1: expected [[0, 2, 4], [1, 3, 0]], "
        f"got {got}\n  likely cause: pad with the order's first elements, then take r::world_size"
    )


@pytest.mark.parametrize(
    "sizes,cap,expected",
    [
        ([3, 4, 2, 10, 1], 6, [[0], [1, 2], [3], [4]]),
        ([3, 3], 6, [[0, 1]]),
        ([7], 6, [[0]]),
        ([1, 1, 1, 1, 1], 2, [[0, 1], [2, 3], [4]]),
        ([], 6, []),
        ([5, 1, 5], 100, [[0, 1, 2]]),
    ],
)
def test_make_buckets_known_answers(sizes, cap, expected):
    got = mod.make_buckets(sizes, cap)
    assert got == expected, (
        f"make_buckets({sizes}, {cap}): expected {expected}, got {got}\n  likely cause: start a "
        "new bucket only when adding the next tensor would go PAST the cap (a bucket may be "
        "exactly full); an oversized tensor gets its own bucket; never an empty bucket"
    )


def test_broadcast_gives_every_rank_rank0_weights():
    results = scenario("ddp")
    init0 = dict(tiny_gpt(100).named_parameters())
    for rank, r in enumerate(results):
        for name, p in r["after_broadcast"].items():
            assert_close(
                p,
                init0[name].detach(),
                what=f"rank {rank}: {name} after broadcast_parameters(model)",
                hint="broadcast every parameter (and buffer) FROM rank 0 to all ranks: the ranks "
                "started from different random weights (seeds 100 and 101)",
                atol=0,
                rtol=0,
            )


def test_broadcast_from_another_rank_includes_buffers():
    """broadcast_parameters(net, src=1) on a Linear + BatchNorm1d whose weights and running
    statistics differ per rank (running_mean = rank + 1): every rank ends with rank 1's state,
    parameters and buffers (running_mean 2.0 everywhere)."""
    results = scenario("ddp")
    for rank, r in enumerate(results):
        assert "error" not in r["src1"], (
            f"rank {rank}: broadcast_parameters(Linear + BatchNorm1d, src=1) raised:\n"
            f"{r['src1']['error']}\n  likely cause: broadcast from src, parameters then buffers"
        )
    src = results[1]["src1"]["before"]
    for rank, r in enumerate(results):
        for name, value in r["src1"]["after"].items():
            kind = "buffer" if "running" in name or "batches" in name else "parameter"
            assert torch.equal(value, src[name]), (
                f"rank {rank}: {kind} {name} after broadcast_parameters(net, src=1) differs from "
                f"rank 1's\n  likely cause: broadcast FROM src (the argument, not always rank 0), "
                "every parameter and then every buffer (model.buffers(): BatchNorm's running "
                "statistics)"
            )
    assert bool((results[0]["src1"]["after"]["1.running_mean"] == 2.0).all()), (
        "after broadcast_parameters(net, src=1) rank 0's running_mean is "
        f"{results[0]['src1']['after']['1.running_mean'].tolist()}, expected rank 1's [2.0, ...]\n  likely "
        "cause: broadcast the buffers too, from src"
    )


def test_parameters_without_a_gradient_are_skipped():
    """`used` has gradients rank + 1 (1 and 2), `unused` none: after allreduce_gradients the used
    gradients are the mean 1.5 and the unused ones are still None."""
    for rank, r in enumerate(scenario("ddp")):
        got = r["none_grads"]
        assert "error" not in got, (
            f"rank {rank}: allreduce_gradients on a model with a parameter whose .grad is None "
            f"raised:\n{got.get('error')}\n  likely cause: take only the parameters whose .grad is "
            "not None"
        )
        assert all(g is None for g in got["unused"]), (
            f"rank {rank}: allreduce_gradients gave a gradient to a parameter whose .grad was None"
        )
        for g in got["used"]:
            assert torch.allclose(g, torch.full_like(g, 1.5)), (
                f"rank {rank}: gradients rank + 1 averaged over 2 ranks give {g.flatten()[:3]}, "
                "expected 1.5 everywhere\n  likely cause: skip parameters whose .grad is None, "
                "average the others (sum / world size) and copy the averaged slices back into each "
                ".grad, so every rank holds the full-batch gradient"
            )


def test_gradients_are_averaged_over_ranks():
    results = scenario("ddp")
    ref = scenario("reference")[0]["grads0"]
    for rank, r in enumerate(results):
        for name, g in r["grads0"].items():
            ratio = (g.norm() / ref[name].norm()).item() if ref[name].norm() > 0 else 1.0
            hint = (
                "the gradient is TWICE the full-batch gradient: divide the all-reduced SUM by the "
                "world size (average, not sum)"
                if abs(ratio - WORLD) < 0.05
                else "after allreduce_gradients every rank must hold the full-batch gradient: the "
                "mean over ranks of each rank's gradient on its own rows (check the broadcast, "
                "the rows each rank reads, and the copy back into .grad)"
            )
            assert_close(
                g,
                ref[name],
                what=f"rank {rank}: {name}.grad after the first allreduce_gradients",
                hint=hint,
                atol=1e-9,
                rtol=1e-6,
            )


def test_ranks_read_disjoint_rows():
    results = scenario("ddp")
    for step in range(len(results[0]["rows"])):
        rows = [r["rows"][step] for r in results]
        assert not set(rows[0]) & set(rows[1]) and sorted(rows[0] + rows[1]) == list(range(6)), (
            f"step {step}: ranks read rows {rows} of a global batch of 6; expected disjoint halves "
            "covering all rows\n  likely cause: the ranks read the same data (shard_indices must "
            "take order[rank::world_size])"
        )


def test_one_all_reduce_per_bucket():
    r = scenario("ddp")[0]
    sizes = r["sizes"]
    buckets, cur, filled = [], [], 0  # the documented greedy rule
    for i, n in enumerate(sizes):
        if cur and filled + n > BUCKET_NUMEL:
            buckets.append(cur)
            cur, filled = [], 0
        cur.append(i)
        filled += n
    buckets.append(cur)
    expected = [sum(sizes[i] for i in b) for b in buckets]
    assert r["calls"] == expected, (
        f"allreduce_gradients(model, bucket_numel={BUCKET_NUMEL}) on parameters of sizes {sizes}: "
        f"expected one dist.all_reduce per bucket of sizes {expected}, saw all_reduce calls of "
        f"sizes {r['calls']}\n  likely cause: flatten each bucket's gradients (make_buckets) and "
        "all-reduce the flat buffer ONCE, not once per parameter"
    )
    assert r["returned"] == len(expected), (
        f"allreduce_gradients must return the number of all-reduce calls ({len(expected)}), "
        f"got {r['returned']}"
    )


def test_five_steps_match_one_process_on_the_full_batch():
    results = scenario("ddp")
    ref = scenario("reference")[0]["params"]
    for rank, r in enumerate(results):
        for name, p in r["params"].items():
            assert_close(
                p,
                ref[name],
                what=f"rank {rank}: {name} after 5 SGD steps with broadcast_parameters, "
                "shard_indices and allreduce_gradients",
                hint="every rank must equal one process trained on the full batch: same initial "
                "weights (broadcast), disjoint rows (shard_indices), AVERAGED gradients",
                atol=1e-6,
                rtol=0,
            )


@pytest.mark.parametrize("mode", ["torch-ddp", "fsdp"])
def test_torch_ddp_and_fsdp2_match_too(mode):
    """The given runtime (course/week10_distributed/engine.py) on the same run: torch's DDP and
    FSDP2 fully_shard over init_device_mesh("cpu", (2,)) against the same one-process oracle."""
    results = scenario("engine")
    ref = scenario("reference")[0]["params"]
    for rank, r in enumerate(results):
        for name, p in ref.items():
            assert_close(
                r[mode][name],
                p,
                what=f"rank {rank}: {name} after 5 steps under engine.wrap_model(model, {mode!r})",
                hint="the engine must start every rank from rank 0's weights and average the "
                "gradients (this checks the given runtime, not your code)",
                atol=1e-6,
                rtol=0,
            )
