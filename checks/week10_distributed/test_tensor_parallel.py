"""Checks for w10.tensor_parallel: column- and row-parallel linears and the MLP over 2 gloo ranks.

The 2-process launch of support.distributed_results splits a week-05 MLP (C=36 -> 144 -> 36,
float64, N(0, 0.3) weights) with ParallelMLP and runs forward and backward on x (2, 7, 36) with an
upstream gradient w: loss = (mlp(x) * w).sum(). The oracle is the unsplit MLP in the same process:
the output, x's gradient and every weight's gradient (the rank's slice of the full one). Also a
ColumnParallelLinear(5 -> 6, gather_output=True) and a RowParallelLinear(6 -> 5,
input_is_parallel=False) against their nn.Linear.
"""

import torch

from checks.week10_distributed.support import scenario
from roadmap.checking import assert_close

ROW_REDUCE = (
    "a row-parallel layer's output is a PARTIAL sum on each rank: all-reduce it "
    "(reduce_from_parallel), then add the bias once"
)


def test_parallel_mlp_forward_equals_the_unsplit_mlp():
    for rank, r in enumerate(scenario("tp")):
        assert_close(
            r["mlp"]["y"],
            r["ref"]["y"],
            what=f"rank {rank}: ParallelMLP(mlp)(x) for x (2, 7, 36)",
            hint=ROW_REDUCE + "; c_fc keeps rows [r*72, (r+1)*72) of its weight, c_proj the same "
            "columns of its own",
            atol=1e-9,
        )


def test_parallel_mlp_input_gradient():
    for rank, r in enumerate(scenario("tp")):
        assert_close(
            r["mlp"]["x_grad"],
            r["ref"]["x_grad"],
            what=f"rank {rank}: x.grad after (ParallelMLP(mlp)(x) * w).sum().backward()",
            hint="x feeds every rank's slice of c_fc: its gradient is the SUM over ranks, so "
            "copy_to_parallel must all-reduce the gradient in the backward pass (and "
            "reduce_from_parallel must pass it through unchanged)",
            atol=1e-9,
        )


def test_parallel_mlp_weight_gradients_are_slices_of_the_full_ones():
    for rank, r in enumerate(scenario("tp")):
        ref, got = r["ref"], r["mlp"]
        h = ref["fc_w"].shape[0] // 2
        pieces = [
            ("c_fc.weight", got["fc_w"], ref["fc_w"][rank * h : (rank + 1) * h], "rows"),
            ("c_fc.bias", got["fc_b"], ref["fc_b"][rank * h : (rank + 1) * h], "entries"),
            (
                "c_proj.weight",
                got["proj_w"],
                ref["proj_w"][:, rank * h : (rank + 1) * h],
                "columns",
            ),
            ("c_proj.bias", got["proj_b"], ref["proj_b"], "the whole bias"),
        ]
        for name, g, expected, part in pieces:
            assert_close(
                g,
                expected,
                what=f"rank {rank}: ParallelMLP {name}.grad vs {part} "
                f"[{rank * h}, {(rank + 1) * h}) of the unsplit MLP's",
                hint="column-parallel c_fc splits the OUTPUT features (rows of the (out, in) "
                "weight), row-parallel c_proj the INPUT features (columns); the row-parallel bias "
                "is whole on every rank and added after the all-reduce",
                atol=1e-9,
            )
        full = 36 * 144 + 144 + 144 * 36 + 36
        expected_n = (full - 36) // 2 + 36
        assert got["n_params"] == expected_n, (
            f"rank {rank}: ParallelMLP holds {got['n_params']} parameters, expected {expected_n}: "
            "half of each split weight (and c_fc bias) plus the whole c_proj bias"
        )


def test_column_parallel_with_gathered_output():
    for rank, r in enumerate(scenario("tp")):
        c = r["col"]
        assert_close(
            c["y"],
            c["ref"]["y"],
            what=f"rank {rank}: ColumnParallelLinear(Linear(5, 6), gather_output=True)(x (3, 5))",
            hint="gather_from_parallel concatenates the ranks' slices along the last dimension, "
            "rank 0's first",
            atol=1e-9,
        )
        assert_close(
            c["w"],
            c["full_w"][rank * 3 : (rank + 1) * 3],
            what=f"rank {rank}: ColumnParallelLinear(Linear(5, 6)).weight",
            hint="rank r keeps rows [r*o, (r+1)*o) of the (out, in) weight: the output features",
        )
        assert_close(
            c["x_grad"],
            c["ref"]["x_grad"],
            what=f"rank {rank}: x.grad through ColumnParallelLinear(gather_output=True)",
            hint="the gather's backward returns this rank's slice of the gradient; copy_to_parallel "
            "sums the input gradient over ranks",
            atol=1e-9,
        )
        assert_close(
            c["b"],
            c["ref"]["b"][rank * 3 : (rank + 1) * 3],
            what=f"rank {rank}: ColumnParallelLinear bias.grad (its slice of the full one)",
            hint="the gather's backward must return THIS rank's columns [r*w, (r+1)*w) of the "
            "gradient",
            atol=1e-9,
        )


def test_row_parallel_on_the_full_input():
    for rank, r in enumerate(scenario("tp")):
        c = r["row"]
        assert_close(
            c["y"],
            c["ref"]["y"],
            what=f"rank {rank}: RowParallelLinear(Linear(6, 5), input_is_parallel=False)(x (3, 6))",
            hint=ROW_REDUCE + "; with input_is_parallel=False take x[..., r*i:(r+1)*i] first",
            atol=1e-9,
        )
        assert_close(
            c["w"],
            c["full_w"][:, rank * 3 : (rank + 1) * 3],
            what=f"rank {rank}: RowParallelLinear(Linear(6, 5)).weight",
            hint="rank r keeps columns [r*i, (r+1)*i) of the (out, in) weight: the input features",
        )
        assert_close(
            c["b"],
            c["ref"]["b"],
            what=f"rank {rank}: RowParallelLinear bias.grad",
            hint="the bias is whole on every rank, added once after the all-reduce",
            atol=1e-9,
        )


def test_indivisible_features_raise():
    for rank, r in enumerate(scenario("tp")):
        assert r["odd_raises"], (
            f"rank {rank}: ColumnParallelLinear(nn.Linear(4, 7)) on 2 ranks must raise ValueError "
            "(7 output features do not split evenly)"
        )


def test_row_parallel_indivisible_features_raise():
    for rank, r in enumerate(scenario("tp")):
        assert r["odd_row_raises"], (
            f"rank {rank}: RowParallelLinear(nn.Linear(7, 4)) on 2 ranks must raise ValueError "
            "(7 input features do not split evenly)"
        )


def test_layers_without_bias():
    """nn.Linear(5, 6, bias=False) column-parallel (gathered) and nn.Linear(6, 5, bias=False)
    row-parallel (full input): the outputs equal the Linear's and the shards have bias None."""
    for rank, r in enumerate(scenario("tp")):
        for name, cls in (("col", "ColumnParallelLinear"), ("row", "RowParallelLinear")):
            c = r["no_bias"][name]
            assert "error" not in c, (
                f"rank {rank}: {cls}(nn.Linear(..., bias=False)) raised:\n{c['error']}\n  likely "
                "cause: a Linear built with bias=False has full.bias None: keep self.bias = None "
                "and add no bias in forward"
            )
            assert c["b"] is None, f"rank {rank}: {cls} of a bias=False Linear has a bias"
            assert_close(
                c["y"],
                c["ref"],
                what=f"rank {rank}: {cls}(nn.Linear(bias=False)) output",
                hint="the same layer without the bias term",
                atol=1e-9,
            )


def test_shards_are_copies_and_reduce_leaves_its_input():
    """Adding 1 to a shard's weight leaves the full nn.Linear unchanged (new Parameters, copies);
    reduce_from_parallel(t) with t = rank + 1 returns 3 on every rank and t keeps its values."""
    for rank, r in enumerate(scenario("tp")):
        assert r["full_unchanged"] == [True, True], (
            f"rank {rank}: changing the ColumnParallelLinear / RowParallelLinear weight changed the "
            f"full layer ({r['full_unchanged']})\n  likely cause: the shards must be copies "
            "(.clone() the slice) in new Parameters, not views of full.weight"
        )
        assert torch.equal(r["reduce_output"], torch.full((3,), 3.0, dtype=torch.float64)), (
            f"rank {rank}: reduce_from_parallel(t = {rank + 1}) returned "
            f"{r['reduce_output'].tolist()}, expected the sum 3.0"
        )
        assert torch.equal(r["reduce_input"], torch.full((3,), rank + 1.0, dtype=torch.float64)), (
            f"rank {rank}: reduce_from_parallel changed its input to {r['reduce_input'].tolist()}"
            "\n  likely cause: all-reduce a clone; the input is not modified"
        )
