"""Checks for w15.flash_attention: tiled forward with an online softmax, backward from the logsumexp.

Oracles: torch's scaled_dot_product_attention and its autograd gradients (float64, so the only
differences are rounding, far below 1e-5); hand-derived answers for all-zero queries; a tensor-size
recorder for "never materialises T x S"; NaN keys and values for "never reads a skipped block".
"""

import math

import pytest
import torch
import torch.nn.functional as F

from checks.week15_efficient_inference.support import LargestTensor
from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week15_efficient_inference.flash_attention")

FORBID_FORWARD = (
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.Tensor.softmax",
    "torch.logsumexp",
    "torch.Tensor.logsumexp",
    "torch.nn.functional.scaled_dot_product_attention",
)
FORBID_BACKWARD = FORBID_FORWARD + ("torch.autograd.grad", "torch.autograd.backward")
INSTEAD = "a running max, exp, sum and matmuls over blocks"

RESCALE = (
    "when a key block raises the running max m, rescale the running sum AND the accumulator by "
    "exp(m_old - m_new) before adding the new block"
)
BLOCKS = (
    "cut queries and keys into blocks starting at 0 with range(0, T, block); the last block may be "
    "shorter (slice with min(start + block, T)), and every block must be visited"
)
CAUSAL = "causal: query i sees keys 0..i (mask key j > query i with the absolute positions)"
SCALE = "scale the scores by 1/sqrt(D) (D = head size)"


def rand_qkv(B, H, T, S, D, seed, dtype=torch.float64, scale=1.0):
    g = generator(seed)
    q = torch.randn(B, H, T, D, generator=g, dtype=dtype) * scale
    k = torch.randn(B, H, S, D, generator=g, dtype=dtype) * scale
    v = torch.randn(B, H, S, D, generator=g, dtype=dtype)
    return q, k, v


def forward(q, k, v, causal, bq, bk):
    """The learner's forward, from scratch; its inputs must come back unchanged (a side effect
    would also corrupt the oracle computed from them afterwards)."""
    before = [t.clone() for t in (q, k, v)]
    out = from_scratch(
        mod.flash_attention_forward,
        q,
        k,
        v,
        causal,
        bq,
        bk,
        forbid=FORBID_FORWARD,
        exercise="w15.flash_attention",
        instead=INSTEAD,
    )
    for name, t, b in zip("qkv", (q, k, v), before):
        assert torch.allclose(t, b, rtol=0, atol=0, equal_nan=True), (
            f"flash_attention_forward changed its input {name}; scale a copy (q * scale), never "
            "the caller's tensor in place"
        )
    return out


def test_known_answer_zero_queries_average_the_values():
    """q = 0 makes every score 0, so attention is a plain average: non-causal, every row is the mean
    of v and lse = log(S) = log 5; causal, row i is the mean of v[0..i] and lse = log(i + 1)."""
    v = torch.arange(5, dtype=torch.float64).view(1, 1, 5, 1) * 2.0  # values 0, 2, 4, 6, 8
    q = torch.zeros(1, 1, 5, 1, dtype=torch.float64)
    k = torch.randn(1, 1, 5, 1, generator=generator(0), dtype=torch.float64)
    o, lse = forward(q, k, v, False, 2, 2)
    assert_close(
        o.flatten(),
        torch.full((5,), 4.0, dtype=torch.float64),
        what="flash_attention_forward(q=0, v=[0,2,4,6,8], causal=False, blocks 2)",
        hint="every row should be the mean 4.0; " + BLOCKS,
    )
    assert_close(
        lse.flatten(),
        torch.full((5,), math.log(5), dtype=torch.float64),
        what="lse of flash_attention_forward(q=0, S=5, causal=False)",
        hint="lse = m + log(l): the log of the softmax normaliser, here log(5)",
    )
    o, lse = forward(q, k, v, True, 2, 2)
    assert_close(
        o.flatten(),
        torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0], dtype=torch.float64),
        what="flash_attention_forward(q=0, v=[0,2,4,6,8], causal=True, blocks 2)",
        hint="row i is the mean of v[0..i]; " + CAUSAL,
    )
    assert_close(
        lse.flatten(),
        torch.log(torch.arange(1, 6, dtype=torch.float64)),
        what="lse of flash_attention_forward(q=0, causal=True)",
        hint="row i normalises over i + 1 keys: lse = log(i + 1); " + CAUSAL,
    )


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("bq,bk", [(8, 16), (16, 8), (7, 5)])
def test_forward_equals_naive_attention_for_odd_sizes(causal, bq, bk):
    """B=2, H=3, T=37 (not a multiple of any block), D=5, float64; tolerance 1e-5."""
    q, k, v = rand_qkv(2, 3, 37, 37, 5, seed=bq * 10 + bk)
    o, lse = forward(q, k, v, causal, bq, bk)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    what = f"flash_attention_forward(T=37, D=5, causal={causal}, block_q={bq}, block_k={bk})"
    assert_close(o, expected, what=what, hint=f"{RESCALE}; {BLOCKS}; {SCALE}; {CAUSAL}")
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(5)
    if causal:
        scores = scores.masked_fill(torch.ones(37, 37, dtype=torch.bool).triu(1), float("-inf"))
    assert_close(
        lse,
        torch.logsumexp(scores, dim=-1),
        what=f"lse of {what}",
        hint="lse (B, H, T) = m + log(l), the logsumexp of the scaled, masked scores of each row",
    )


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("bq,bk", [(1, 1), (9, 9), (9, 3), (16, 40)])
def test_block_sizes_at_the_edges(causal, bq, bk):
    """T=9: blocks of one row, blocks exactly T (one block, no remainder), and blocks longer than T
    (one short block each): the same attention and logsumexp as the definition."""
    q, k, v = rand_qkv(2, 1, 9, 9, 3, seed=bq + bk + causal)
    o, lse = forward(q, k, v, causal, bq, bk)
    what = f"flash_attention_forward(T=9, causal={causal}, block_q={bq}, block_k={bk})"
    assert_close(
        o,
        F.scaled_dot_product_attention(q, k, v, is_causal=causal),
        what=what,
        hint=f"{BLOCKS}; a block as long as T or longer is one (short) block",
    )


def test_forward_and_backward_leave_their_inputs_unchanged():
    """Side effects: q, k, v, o, lse and do are the caller's tensors; scaling q in place (q *= scale)
    or normalising o in place would corrupt the autograd Function's saved tensors."""
    q, k, v = rand_qkv(1, 2, 11, 11, 4, seed=31)
    inputs = [t.clone() for t in (q, k, v)]
    o, lse = forward(q, k, v, True, 4, 4)
    for name, t, before in zip("qkv", (q, k, v), inputs):
        assert torch.equal(t, before), (
            f"flash_attention_forward changed its input {name}; scale a copy (q * scale), never "
            "the caller's tensor in place"
        )
    do = torch.randn(o.shape, generator=generator(32), dtype=torch.float64)
    saved = [t.clone() for t in (q, k, v, o, lse, do)]
    from_scratch(
        mod.flash_attention_backward,
        q,
        k,
        v,
        o,
        lse,
        do,
        True,
        4,
        4,
        forbid=FORBID_BACKWARD,
        exercise="w15.flash_attention",
        instead="P = exp(S - lse) per block and the formulas of the docstring",
    )
    for name, t, before in zip(("q", "k", "v", "o", "lse", "do"), (q, k, v, o, lse, do), saved):
        assert torch.equal(t, before), (
            f"flash_attention_backward changed its input {name}; compute on copies, never in place"
        )


def test_keys_longer_than_queries_non_causal():
    """T=13 queries, S=29 keys, blocks 4 and 6: attention is defined for S != T without a mask."""
    q, k, v = rand_qkv(1, 2, 13, 29, 6, seed=3)
    o, _ = forward(q, k, v, False, 4, 6)
    assert_close(
        o,
        F.scaled_dot_product_attention(q, k, v),
        what="flash_attention_forward(T=13, S=29, causal=False, blocks 4/6)",
        hint="loop key blocks over S = k.shape[2], query blocks over T = q.shape[2]; " + BLOCKS,
    )


def test_a_later_block_with_a_larger_max_rescales_what_came_before():
    """One query, keys whose scores grow block after block (0, 1, ..., 11 with blocks of 3): every
    new block raises the max, so each must rescale the sum and the accumulator."""
    D = 4
    q = torch.zeros(1, 1, 1, D, dtype=torch.float64)
    q[..., 0] = math.sqrt(D)  # score of key j = k[j, 0]
    k = torch.zeros(1, 1, 12, D, dtype=torch.float64)
    k[..., 0] = torch.arange(12, dtype=torch.float64)
    v = torch.randn(1, 1, 12, D, generator=generator(5), dtype=torch.float64)
    o, lse = forward(q, k, v, False, 1, 3)
    p = torch.softmax(torch.arange(12, dtype=torch.float64), dim=0)
    assert_close(
        o[0, 0, 0],
        p @ v[0, 0],
        what="flash_attention_forward: 1 query, scores 0..11 rising over 4 key blocks of 3",
        hint=RESCALE,
    )
    assert_close(
        lse.flatten(),
        torch.logsumexp(torch.arange(12, dtype=torch.float64), 0).view(1),
        what="lse for scores 0..11",
        hint="lse = final max + log(final rescaled sum)",
    )


def test_large_scores_do_not_overflow_in_float32():
    """Scores around +-1000 in float32: exp overflows unless each block subtracts the running max."""
    q, k, v = rand_qkv(1, 2, 21, 21, 8, seed=7, dtype=torch.float32, scale=12.0)
    o, _ = forward(q, k, v, True, 8, 8)
    expected = F.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=True)
    assert_close(
        o,
        expected,
        atol=1e-4,
        rtol=1e-4,
        what="flash_attention_forward(float32, scores ~ +-1000, causal)",
        hint="exp(s - m_new) with the running max, never exp(s) itself; " + RESCALE,
    )


def test_causal_forward_never_reads_key_blocks_after_the_query_block():
    """T=37, blocks of 8: the last key block holds keys 32..36; put NaN in key and value 36.
    Query blocks 0..3 (rows 0..31) must skip that block entirely, so their rows stay finite
    (a masked NaN still poisons p @ v, since 0 * NaN = NaN: only skipping passes)."""
    q, k, v = rand_qkv(1, 1, 37, 37, 4, seed=9)
    k[:, :, 36] = float("nan")
    v[:, :, 36] = float("nan")
    o, _ = forward(q, k, v, True, 8, 8)
    bad = (~torch.isfinite(o[0, 0, :32])).any(-1).nonzero().flatten().tolist()
    assert not bad, (
        f"flash_attention_forward(causal, blocks 8): rows {bad[:5]} read the key block 32..36 "
        "(NaN there) although it lies entirely after their query block\n  likely cause: causal "
        "block skipping: a query block ending at row qe reads only key blocks starting before qe"
    )
    expected = F.scaled_dot_product_attention(
        q[:, :, :32], k[:, :, :32], v[:, :, :32], is_causal=True
    )
    assert_close(o[:, :, :32], expected, what="rows 0..31 of the same call", hint=CAUSAL)


def test_forward_and_backward_never_create_a_T_by_T_tensor():
    """T=S=64, D=4, B=1, H=2, blocks 8: a (T, S) score matrix has 2 * 64 * 64 = 8192 elements;
    the largest legitimate tensor is q (512) or a (8, 8) block per head. Bound: every tensor
    created has fewer than a quarter of the T x S elements (2048)."""
    q, k, v = rand_qkv(1, 2, 64, 64, 4, seed=11, dtype=torch.float32)
    limit = 2 * 64 * 64 // 4
    for causal in (False, True):
        with LargestTensor() as rec:
            o, lse = mod.flash_attention_forward(q, k, v, causal, 8, 8)
        assert rec.numel < limit, (
            f"flash_attention_forward(T=64, causal={causal}) created a tensor of shape {rec.shape} "
            f"({rec.numel} elements, limit {limit})\n  likely cause: the whole (T, S) score matrix "
            "was materialised; work block by block with running statistics"
        )
        do = torch.randn_like(o)
        with LargestTensor() as rec:
            mod.flash_attention_backward(q, k, v, o, lse, do, causal, 8, 8)
        assert rec.numel < limit, (
            f"flash_attention_backward(T=64, causal={causal}) created a tensor of shape "
            f"{rec.shape} ({rec.numel} elements, limit {limit})\n  likely cause: recompute each "
            "(block_q, block_k) block of P from lse; never build the full P or replay autograd"
        )


def sdpa_grads(q, k, v, do, causal):
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    F.scaled_dot_product_attention(q, k, v, is_causal=causal).backward(do)
    return q.grad, k.grad, v.grad


@pytest.mark.parametrize("causal", [False, True])
def test_backward_equals_autograd_of_attention(causal):
    """B=2, H=2, T=23, D=6, blocks 8 and 5, float64: dq, dk, dv equal torch's autograd (1e-5)."""
    q, k, v = rand_qkv(2, 2, 23, 23, 6, seed=13 + causal)
    o, lse = forward(q, k, v, causal, 8, 5)
    do = torch.randn(o.shape, generator=generator(14), dtype=torch.float64)
    got = from_scratch(
        mod.flash_attention_backward,
        q,
        k,
        v,
        o,
        lse,
        do,
        causal,
        8,
        5,
        forbid=FORBID_BACKWARD,
        exercise="w15.flash_attention",
        instead="P = exp(S - lse) per block and the formulas of the docstring",
    )
    expected = sdpa_grads(q, k, v, do, causal)
    hints = {
        "dq": "dS = P * (dP - delta) with P = exp(S - lse) and delta = rowsum(dO * O); "
        "dQ = dS K * scale",
        "dk": "dK = dS^T Q * scale (both the scores and dK carry the 1/sqrt(D))",
        "dv": "dV = P^T dO with P = exp(S - lse), masked entries 0",
    }
    for name, g, e in zip(("dq", "dk", "dv"), got, expected):
        assert_close(
            g,
            e,
            what=f"flash_attention_backward(T=23, causal={causal}, blocks 8/5): {name}",
            hint=hints[name] + "; " + (CAUSAL if causal else BLOCKS),
        )


def test_autograd_function_gives_the_gradients_through_backward():
    """flash_attention(...).sum().backward() fills q.grad, k.grad, v.grad like autograd of SDPA."""
    q, k, v = rand_qkv(1, 3, 19, 19, 4, seed=17)
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    out = mod.flash_attention(*leaves, True, 4, 8)
    do = torch.randn(out.shape, generator=generator(18), dtype=torch.float64)
    out.backward(do)
    for name, leaf, e in zip(("q", "k", "v"), leaves, sdpa_grads(q, k, v, do, True)):
        assert_close(
            leaf.grad,
            e,
            what=f"flash_attention(T=19, causal, blocks 4/8).backward(): {name}.grad",
            hint="the tiled backward, reached through FlashAttention.backward",
        )
