"""Checks for w03.glove_counts: GloVe's symmetric, 1/distance-weighted co-occurrence matrix.

Oracles: a matrix worked out by hand (the docstring's example) and a brute-force double loop over
positions; when the answer is wrong, the same loop with one rule changed (no 1/d, one side only,
a window one short, weights rounded to integers) names the rule that was broken.
"""

import pytest
import torch

from roadmap.checking import generator
from roadmap.impl import load

mod = load("week03_embeddings.glove")


def brute_force(
    ids: list[int], V: int, window: int, weight=lambda d: 1.0 / d, sides=(-1, 1)
) -> torch.Tensor:
    """X[ids[p], ids[q]] += weight(|p - q|) for 0 < |p - q| <= window, q on the given sides of p."""
    X = torch.zeros(V, V, dtype=torch.float64)
    for p in range(len(ids)):
        for q in range(len(ids)):
            d = abs(p - q)
            if 0 < d <= window and (1 if q > p else -1) in sides:
                X[ids[p], ids[q]] += weight(d)
    return X


def without_accumulate(ids: list[int], V: int, window: int) -> torch.Tensor:
    """What X[left, right] += w gives: per distance and direction, a repeated cell counts once."""
    X = torch.zeros(V, V, dtype=torch.float64)
    for d in range(1, window + 1):
        pairs = list(zip(ids[:-d], ids[d:], strict=True))
        for a, b in set(pairs):
            X[a, b] += 1 / d
        for a, b in {(b, a) for a, b in pairs}:
            X[a, b] += 1 / d
    return X


def diagnose(got: torch.Tensor, ids: list[int], V: int, window: int) -> str:
    """The broken rule whose prediction matches `got`, else the general contract."""
    variants = {
        "every pair must count 1 / distance (a neighbour d positions away adds 1/d, not 1)": (
            brute_force(ids, V, window, weight=lambda d: 1.0)
        ),
        "the window is symmetric: count the neighbours on both sides (X must equal X.T)": (
            brute_force(ids, V, window, sides=(1,))
        ),
        "the window is symmetric: count the neighbours on both sides, left as well as right": (
            brute_force(ids, V, window, sides=(-1,))
        ),
        "window off by one: distances 1..window, window included": brute_force(ids, V, window - 1),
        "the 1/distance weights are fractions: integer division (1 // d) drops every distance "
        "above 1": brute_force(ids, V, window, weight=lambda d: float(d == 1)),
        "a pair that occurs several times must add up every time: X[left, right] += w keeps one "
        "of the repeated cells (index_put_ with accumulate=True adds them all)": without_accumulate(
            ids, V, window
        ),
    }
    causes = [
        cause
        for cause, wrong in variants.items()
        if got.shape == wrong.shape and torch.allclose(got.double(), wrong, atol=1e-5)
    ]
    if causes:
        return " or ".join(causes)
    return "for every position p and every q with 0 < |p - q| <= window add 1/|p - q| to X[ids[p], ids[q]]"


def expect_counts(ids: list[int], V: int, window: int, expected: torch.Tensor) -> None:
    got = mod.cooccurrence(torch.tensor(ids), V, window)
    what = f"cooccurrence(ids of length {len(ids)}, vocab_size={V}, window={window})"
    assert isinstance(got, torch.Tensor) and got.shape == (V, V), (
        f"{what}: expected a ({V}, {V}) tensor, got "
        f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}; rows and "
        "columns are the token ids 0..V-1"
    )
    assert got.dtype == torch.float32, f"{what}: expected float32 counts, got {got.dtype}"
    if not torch.allclose(got.double(), expected, atol=1e-5):
        wrong = (got.double() - expected).abs().argmax().item()
        i, j = divmod(wrong, V)
        raise AssertionError(
            f"{what}: X[{i}, {j}] = {got[i, j].item():.4f}, expected {expected[i, j].item():.4f}; "
            f"likely cause: {diagnose(got, ids, V, window)}"
        )


def test_known_answer_by_hand():
    """ids [0, 1, 2, 0], window 2: distance 1 pairs (0, 1), (1, 2), (2, 0) add 1 both ways, distance
    2 pairs (0, 2), (1, 0) add 1/2 both ways: X[0, 1] = 1 + 1/2, X[0, 2] = 1/2 + 1, X[1, 2] = 1.
    With window 3 the two 0s, 3 apart, add 1/3 to X[0, 0] once from each side."""
    X = torch.tensor([[0, 1.5, 1.5], [1.5, 0, 1], [1.5, 1, 0]], dtype=torch.float64)
    expect_counts([0, 1, 2, 0], 3, 2, X)
    X[0, 0] = 2 / 3
    expect_counts([0, 1, 2, 0], 3, 3, X)


@pytest.mark.parametrize("N,V,window", [(1, 3, 2), (2, 4, 1), (17, 5, 3), (40, 11, 4), (9, 7, 20)])
def test_matches_brute_force(N, V, window):
    """Random streams of odd sizes, with repeats (diagonal counts) and a window longer than the text."""
    ids = torch.randint(0, V, (N,), generator=generator(N * 100 + window)).tolist()
    expect_counts(ids, V, window, brute_force(ids, V, window))


def test_unused_ids_get_empty_rows_and_the_matrix_is_symmetric():
    """V = 9 but only ids 2, 5, 7 occur: rows and columns 0, 1, 3, 4, 6, 8 stay zero; X = X.T."""
    ids = [5, 2, 7, 7, 2, 5, 5, 2, 7, 5, 2]
    got = mod.cooccurrence(torch.tensor(ids), 9, 3)
    unused = [0, 1, 3, 4, 6, 8]
    assert got[unused].abs().sum() == 0 and got[:, unused].abs().sum() == 0, (
        "cooccurrence: words that never occur must have empty rows and columns; row i belongs to "
        "token id i"
    )
    assert torch.allclose(got, got.T), (
        "cooccurrence is not symmetric (X != X.T); likely cause: the window is symmetric, count "
        "the neighbours on both sides"
    )
