"""Checks for w02.ngram_counts: counting windows of n tokens into a dense (V,) * n table.

Oracle: collections.Counter over zip(...) windows, and counts worked out by hand.
"""

from collections import Counter

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week02_bigram.ngram")


def counter_table(ids: list[int], n: int, V: int) -> torch.Tensor:
    table = torch.zeros((V,) * n, dtype=torch.long)
    for window, c in Counter(zip(*(ids[i:] for i in range(n)))).items():
        table[window] = c
    return table


def test_small_known_answer():
    """ids 0 1 0 1 1: pairs (0,1) (1,0) (0,1) (1,1) -> counts[0,1]=2, counts[1,0]=1, counts[1,1]=1."""
    got = mod.ngram_counts(torch.tensor([0, 1, 0, 1, 1]), 2, 2)
    assert_close(
        got,
        torch.tensor([[0, 2], [1, 1]]),
        what="ngram_counts([0, 1, 0, 1, 1], n=2, V=2)",
        hint="every window ids[t : t + n] for t = 0 .. N - n counts once (overlapping, the last "
        "one included), and counts[a, b] counts b directly after a (row = previous token)",
    )
    assert got.dtype == torch.long, f"counts should be an int64 tensor, got {got.dtype}"


def test_abracadabra_by_hand():
    """ "abracadabra" with a=0 b=1 c=2 d=3 r=4 has 10 pairs: ab x2, br x2, ra x2, ac, ca, ad, da."""
    stoi = {c: i for i, c in enumerate("abcdr")}
    ids = torch.tensor([stoi[c] for c in "abracadabra"])
    got = mod.ngram_counts(ids, 2, 5)
    expected = torch.zeros(5, 5, dtype=torch.long)
    for pair, c in {"ab": 2, "br": 2, "ra": 2, "ac": 1, "ca": 1, "ad": 1, "da": 1}.items():
        expected[stoi[pair[0]], stoi[pair[1]]] = c
    assert_close(
        got,
        expected,
        what="ngram_counts(abracadabra, n=2, V=5)",
        hint="every window ids[t : t + n] for t = 0 .. N - n counts once (overlapping, the last "
        "one included), and counts[a, b] counts b directly after a (row = previous token)",
    )


@pytest.mark.parametrize("n,V,N", [(1, 6, 50), (2, 7, 301), (3, 5, 203), (3, 4, 3)])
def test_matches_counter(n, V, N):
    ids = torch.randint(0, V, (N,), generator=generator(100 * n + N))
    got = mod.ngram_counts(ids, n, V)
    assert tuple(got.shape) == (V,) * n, (
        f"ngram_counts(ids, n={n}, V={V}): expected shape {(V,) * n}, got {tuple(got.shape)}"
    )
    assert_close(
        got,
        counter_table(ids.tolist(), n, V),
        what=f"ngram_counts(random ids of length {N}, n={n}, V={V})",
        hint="every window ids[t : t + n] for t = 0 .. N - n counts once, the last one included",
    )
    assert int(got.sum()) == N - n + 1, (
        f"counts sum to {int(got.sum())}, expected N - n + 1 = {N - n + 1}"
    )


def test_shorter_than_n_counts_nothing():
    got = mod.ngram_counts(torch.tensor([1, 2]), 3, 4)
    assert tuple(got.shape) == (4, 4, 4) and int(got.sum()) == 0, (
        f"ngram_counts of 2 tokens with n=3 should be an all-zero (4, 4, 4) table, got sum {int(got.sum())}"
    )
