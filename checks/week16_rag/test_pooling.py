"""Checks for w16.embeddings without a model: mean pooling with the attention mask, L2 normalisation.

Oracles: hand-computed averages, and the definition (a per-row loop over the real tokens).
`torch.nn.functional.normalize` is off-limits while l2_normalize runs (the docstring says so).
The MiniLM comparison is in test_embeddings_minilm.py.
"""

import torch

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week16_rag.embeddings")

MASK_HINT = (
    "average over the real tokens only: multiply by the mask before summing and divide by the "
    "mask's sum (the number of real tokens), not by T"
)


def test_mean_pool_docstring_example():
    """[[1, 2], [3, 4], [9, 9]] with mask [1, 1, 0]: (1 + 3) / 2 = 2, (2 + 4) / 2 = 3."""
    got = mod.mean_pool(
        torch.tensor([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]]), torch.tensor([[1, 1, 0]])
    )
    assert_close(
        got, torch.tensor([[2.0, 3.0]]), what="mean_pool(docstring example)", hint=MASK_HINT
    )


def test_mean_pool_matches_a_per_row_loop_with_padding():
    """B=3, T=7, C=36 with 7, 4 and 1 real tokens (right padding) and huge values in the padding:
    row b must be hidden[b, :n_b].mean(0)."""
    hidden = torch.randn(3, 7, 36, generator=generator(0))
    lengths = [7, 4, 1]
    mask = torch.zeros(3, 7, dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        hidden[b, n:] = 1e4  # padding states must not leak into the average
    expected = torch.stack([hidden[b, :n].mean(0) for b, n in enumerate(lengths)])
    got = mod.mean_pool(hidden, mask)
    assert_close(
        got,
        expected,
        what="mean_pool(hidden (3, 7, 36), mask with 7/4/1 real tokens)",
        hint=MASK_HINT,
    )


def test_mean_pool_left_padding_and_bool_mask():
    """Left padding (mask [0, 0, 1, 1, 1]) and a bool mask work the same: only positions 2..4."""
    hidden = torch.randn(2, 5, 6, generator=generator(1))
    mask = torch.tensor([[False, False, True, True, True], [True, True, True, True, True]])
    expected = torch.stack([hidden[0, 2:].mean(0), hidden[1].mean(0)])
    got = mod.mean_pool(hidden, mask)
    assert_close(
        got, expected, what="mean_pool(hidden (2, 5, 6), bool mask, left padding)", hint=MASK_HINT
    )


def test_mean_pool_all_padding_row_is_zero_not_nan():
    """A row without real tokens: sum 0 / clamp(0, 1e-9) = 0."""
    hidden = torch.randn(2, 3, 4, generator=generator(2))
    got = mod.mean_pool(hidden, torch.tensor([[1, 1, 1], [0, 0, 0]]))
    assert_close(
        got[1],
        torch.zeros(4),
        what="mean_pool(row 1 all padding)",
        hint="clamp the token count below at 1e-9 (as sentence-transformers does) so 0/0 is not NaN",
    )


def normalize(x):
    return from_scratch(
        mod.l2_normalize,
        x,
        forbid=["torch.nn.functional.normalize"],
        exercise="w16.embeddings",
        instead="x.norm(dim=-1, keepdim=True) and a division",
    )


def test_l2_normalize_known_rows():
    """[[3, 4]] -> [[0.6, 0.8]]; [[0, -2, 0]] -> [[0, -1, 0]]; a zero row stays zero."""
    assert_close(
        normalize(torch.tensor([[3.0, 4.0]])),
        torch.tensor([[0.6, 0.8]]),
        what="l2_normalize([[3, 4]])",
        hint="divide by the Euclidean norm sqrt(sum x^2), not the sum or the max",
    )
    got = normalize(torch.tensor([[0.0, -2.0, 0.0], [0.0, 0.0, 0.0]]))
    assert_close(
        got,
        torch.tensor([[0.0, -1.0, 0.0], [0.0, 0.0, 0.0]]),
        what="l2_normalize([[0, -2, 0], [0, 0, 0]])",
        hint="keep the sign; clamp the norm below at eps so a zero row gives zeros, not NaN",
    )


def test_l2_normalize_rows_have_length_one_at_any_scale():
    """Rows of (5, 36) at magnitudes 1e-3 .. 1e3 come back with length 1 and the same direction."""
    x = torch.randn(5, 36, generator=generator(3), dtype=torch.float64)
    x = x * torch.tensor([1e-3, 1.0, 7.0, 1e2, 1e3], dtype=torch.float64)[:, None]
    got = normalize(x)
    assert_close(
        got.norm(dim=-1),
        torch.ones(5, dtype=torch.float64),
        what="l2_normalize(x (5, 36)).norm(dim=-1)",
        hint="normalise each row (dim=-1), not the whole matrix or each column",
    )
    assert_close(
        got * x.norm(dim=-1, keepdim=True),
        x,
        what="l2_normalize(x) * ||x||",
        hint="only scale the rows; do not shift them",
    )


def test_mean_pool_keeps_the_dtype_of_hidden():
    """bfloat16 states (as a half-precision encoder gives) come back bfloat16: the mask is cast to
    hidden's dtype, not to float32."""
    hidden = torch.randn(2, 5, 8, generator=generator(9)).to(torch.bfloat16)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    got = mod.mean_pool(hidden, mask)
    assert got.dtype == torch.bfloat16, (
        f"mean_pool(hidden bfloat16, int mask) returned {got.dtype}, expected bfloat16\n  likely "
        "cause: cast the mask to hidden.dtype (a float32 mask promotes the result to float32)"
    )
