"""Checks for w15.linear_attention: linear attention with prefix sums, and the block-sparse mask.

Oracles: the quadratic form of linear attention written out in the check (A = phi(q) phi(k)^T,
masked, normalised), hand-derived answers, and the mask rules of the docstring evaluated pair by
pair in plain Python.
"""

import pytest
import torch

from checks.week15_efficient_inference.support import LargestTensor
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week15_efficient_inference.efficient_attention")


def linear(q, k, v, **kwargs):
    """The learner's linear_attention; its inputs must come back unchanged."""
    before = [t.clone() for t in (q, k, v)]
    out = mod.linear_attention(q, k, v, **kwargs)
    for name, t, b in zip("qkv", (q, k, v), before):
        assert torch.equal(t, b), f"linear_attention changed its input {name}; work on new tensors"
    return out


def phi(x):
    return torch.where(x > 0, x + 1.0, torch.exp(x))  # elu(x) + 1, written independently


def quadratic_linear_attention(q, k, v, causal, eps=1e-6):
    a = phi(q) @ phi(k).transpose(-2, -1)  # (B, H, T, T)
    if causal:
        a = a.tril()
    return (a @ v) / (a.sum(-1, keepdim=True) + eps)


def test_known_answer_constant_features_average_the_values():
    """q = k = 0 makes phi = 1 everywhere: non-causal rows are the mean of v = [1, 3] (2.0);
    causal row 0 sees only v_0 (1.0), row 1 both (2.0), up to eps."""
    q = torch.zeros(1, 1, 2, 1, dtype=torch.float64)
    v = torch.tensor([1.0, 3.0], dtype=torch.float64).view(1, 1, 2, 1)
    got = linear(q, q, v, causal=False)
    assert_close(
        got.flatten(),
        torch.tensor([2.0, 2.0], dtype=torch.float64),
        what="linear_attention(q=k=0, v=[1, 3], causal=False)",
        hint="out_i = phi(q_i)^T S / (phi(q_i)^T z + eps), the normaliser in the denominator, "
        "with sums over ALL keys",
    )
    got = linear(q, q, v, causal=True)
    assert_close(
        got.flatten(),
        torch.tensor([1.0, 2.0], dtype=torch.float64),
        what="linear_attention(q=k=0, v=[1, 3], causal=True)",
        hint="causal: prefix sums over keys j <= i, including i itself (cumsum over time, dim 2)",
    )


@pytest.mark.parametrize("causal", [False, True])
def test_equals_the_quadratic_form_for_odd_sizes(causal):
    """B=2, H=3, T=7, D=5, Dv=4, float64, inputs of both signs and scale 3 (elu's two branches)."""
    g = generator(21 + causal)
    q = torch.randn(2, 3, 7, 5, generator=g, dtype=torch.float64) * 3
    k = torch.randn(2, 3, 7, 5, generator=g, dtype=torch.float64) * 3
    v = torch.randn(2, 3, 7, 4, generator=g, dtype=torch.float64)
    assert_close(
        linear(q, k, v, causal=causal),
        quadratic_linear_attention(q, k, v, causal),
        what=f"linear_attention(B=2, H=3, T=7, D=5, Dv=4, causal={causal})",
        hint="phi = elu_feature_map on q AND k; numerator phi(q_i)^T S_i, denominator "
        "phi(q_i)^T z_i + eps; causal sums run over j <= i",
    )


@pytest.mark.parametrize("causal", [False, True])
def test_eps_is_the_one_passed(causal):
    """Non-default eps = 2: with q = k = 0 (phi = 1) and v = [1, 3], non-causal rows are
    (1 + 3) / (2 + 2) = 1.0; causal row 0 is 1 / (1 + 2) = 1/3, row 1 is 4 / (2 + 2) = 1.0."""
    q = torch.zeros(1, 1, 2, 1, dtype=torch.float64)
    v = torch.tensor([1.0, 3.0], dtype=torch.float64).view(1, 1, 2, 1)
    expected = [1 / 3, 1.0] if causal else [1.0, 1.0]
    assert_close(
        linear(q, q, v, causal=causal, eps=2.0).flatten(),
        torch.tensor(expected, dtype=torch.float64),
        what=f"linear_attention(q=k=0, v=[1, 3], causal={causal}, eps=2.0)",
        hint="add the eps argument (not a constant) to the normaliser phi(q_i)^T z_i",
    )


def test_inputs_are_unchanged():
    """Side effects: linear_attention must not modify q, k or v (elu_feature_map makes new tensors;
    an in-place feature map would change the caller's queries)."""
    g = generator(24)
    q, k, v = (torch.randn(1, 2, 6, 3, generator=g, dtype=torch.float64) for _ in range(3))
    before = [t.clone() for t in (q, k, v)]
    for causal in (False, True):
        linear(q, k, v, causal=causal)
    for name, t, b in zip("qkv", (q, k, v), before):
        assert torch.equal(t, b), f"linear_attention changed its input {name}; work on new tensors"


def test_never_builds_a_T_by_T_tensor():
    """T=64, D=4, B=H=1: a (T, T) matrix has 4096 elements; the causal prefix sums (T, D, Dv) have
    1024. Bound: every tensor created stays below 4096 / 2."""
    g = generator(23)
    q, k, v = (torch.randn(1, 1, 64, 4, generator=g) for _ in range(3))
    for causal in (False, True):
        with LargestTensor() as rec:
            linear(q, k, v, causal=causal)
        assert rec.numel < 2048, (
            f"linear_attention(T=64, causal={causal}) created a tensor of shape {rec.shape}\n"
            "  likely cause: the (T, T) matrix phi(q) phi(k)^T was built; associate the other way: "
            "phi(q) (phi(k)^T v)"
        )


def rule(i, j, block, local_blocks, stride):
    bi, bj = i // block, j // block
    return j <= i and (bi - bj < local_blocks or bj % stride == stride - 1)


def test_block_sparse_mask_known_answer():
    """T=6, block=2, local_blocks=1, stride=2 (docstring example): row 5 sees keys 2, 3, 4, 5;
    row 3 sees 2, 3; row 1 sees 0, 1."""
    m = mod.block_sparse_mask(6, 2, 1, 2)
    assert m.dtype == torch.bool and tuple(m.shape) == (6, 6), (
        f"block_sparse_mask(6, 2, 1, 2): expected a (6, 6) bool tensor, got {m.dtype} {tuple(m.shape)}"
    )
    rows = {i: m[i].nonzero().flatten().tolist() for i in (1, 3, 5)}
    assert rows == {1: [0, 1], 3: [2, 3], 5: [2, 3, 4, 5]}, (
        f"block_sparse_mask(T=6, block=2, local_blocks=1, stride=2): allowed keys of rows 1, 3, 5 "
        f"expected {{1: [0, 1], 3: [2, 3], 5: [2, 3, 4, 5]}}, got {rows}\n  likely cause: one of "
        "the rules: causal (j <= i, always); block index = position // block; local: bi - bj < "
        "local_blocks; strided: bj % stride == stride - 1"
    )


@pytest.mark.parametrize(
    "T,block,local_blocks,stride",
    [(23, 3, 2, 3), (17, 4, 1, 2), (9, 2, 3, 1), (5, 8, 1, 2), (10, 1, 2, 4), (12, 3, 4, 3)],
)
def test_block_sparse_mask_follows_the_rules(T, block, local_blocks, stride):
    """Every (i, j) pair against the docstring's rules, with a short last block (T % block != 0),
    one block longer than T (T=5, block 8: everything is local), blocks of one position, and
    local_blocks reaching back to block 0; stride 1 must give the full causal mask."""
    m = mod.block_sparse_mask(T, block, local_blocks, stride)
    what = f"block_sparse_mask(T={T}, block={block}, local_blocks={local_blocks}, stride={stride})"
    for i in range(T):
        for j in range(T):
            expected = rule(i, j, block, local_blocks, stride)
            if bool(m[i, j]) != expected:
                why = (
                    "causal: a key after its query (j > i) is never allowed"
                    if j > i
                    else "local: bi - bj < local_blocks"
                    if (i // block) - (j // block) < local_blocks
                    else "strided: key block bj is a summary block iff bj % stride == stride - 1"
                )
                raise AssertionError(
                    f"{what}[{i}, {j}]: expected {expected}, got {bool(m[i, j])}\n  likely cause: {why}"
                )
    if stride == 1:
        assert bool((m == torch.ones(T, T, dtype=torch.bool).tril()).all()), (
            f"{what} is not causal-full"
        )


def test_sparse_attention_with_the_mask_is_causal():
    """masked_attention with the mask: changing keys/values after position t never changes rows <= t."""
    g = generator(25)
    q, k, v = (torch.randn(1, 2, 12, 4, generator=g, dtype=torch.float64) for _ in range(3))
    mask = mod.block_sparse_mask(12, 3, 1, 2)
    a = mod.masked_attention(q, k, v, mask)
    k2, v2 = k.clone(), v.clone()
    k2[:, :, 7:] += 5.0
    v2[:, :, 7:] -= 5.0
    b = mod.masked_attention(q, k2, v2, mask)
    assert_close(
        b[:, :, :7],
        a[:, :, :7],
        what="masked_attention(block_sparse_mask(12, 3, 1, 2)): rows 0..6 after changing keys 7..11",
        hint="the mask must be causal: j <= i",
    )
