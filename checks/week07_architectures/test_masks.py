"""Checks for w07.sliding_window: query i sees keys j with j <= i and i - j < window.

Oracles: a hand-written T=5, W=2 mask; torch.tril for an unlimited window; transformers'
sliding_window_causal_mask_function (kv > q - W and kv <= q) evaluated on every (q, kv) pair.
"""

import pytest
import torch

from roadmap.checking import assert_close
from roadmap.impl import load

mod = load("week07_architectures.masks")

WINDOW = (
    "a window of W keys includes the query itself: allow j with 0 <= i - j < W "
    "(W=1 is attending to yourself only)"
)


def likely_cause(got: torch.Tensor) -> str:
    """The cause named by the wrong mask itself: keys in the future, or the window's width."""
    if got.dtype == torch.bool and torch.triu(got, diagonal=1).any():
        return "keys j > i are in the future: a query may attend only to j <= i (causal); " + WINDOW
    return WINDOW


def test_known_answer():
    """T=5, W=2: each row allows the diagonal and the one position before it."""
    expected = torch.tensor(
        [
            [1, 0, 0, 0, 0],
            [1, 1, 0, 0, 0],
            [0, 1, 1, 0, 0],
            [0, 0, 1, 1, 0],
            [0, 0, 0, 1, 1],
        ],
        dtype=torch.bool,
    )
    got = mod.sliding_window_mask(5, 2)
    assert_close(got, expected, what="sliding_window_mask(5, 2)", hint=likely_cause(got))


@pytest.mark.parametrize("window", [None, 7, 100])
def test_unlimited_window_is_the_causal_mask(window):
    expected = torch.ones(7, 7, dtype=torch.bool).tril()
    assert_close(
        mod.sliding_window_mask(7, window),
        expected,
        what=f"sliding_window_mask(7, {window})",
        hint="window None or >= T must give the plain lower-triangular causal mask",
    )


@pytest.mark.parametrize("T,window", [(9, 1), (9, 3), (13, 4), (6, 5)])
def test_matches_transformers_mask_function(T, window):
    got = mod.sliding_window_mask(T, window)  # first: a stub is todo before transformers loads
    from transformers.masking_utils import sliding_window_causal_mask_function

    allowed = sliding_window_causal_mask_function(window)
    q, kv = torch.arange(T)[:, None], torch.arange(T)[None, :]
    expected = allowed(torch.tensor(0), torch.tensor(0), q, kv).expand(T, T)
    assert_close(got, expected, what=f"sliding_window_mask({T}, {window})", hint=WINDOW)
    counts = got.sum(dim=-1)
    expected_counts = torch.clamp(torch.arange(1, T + 1), max=window)
    assert torch.equal(counts, expected_counts), (
        f"sliding_window_mask({T}, {window}) row sums: expected min(i + 1, W) = "
        f"{expected_counts.tolist()}, got {counts.tolist()}; likely cause: {WINDOW}"
    )
