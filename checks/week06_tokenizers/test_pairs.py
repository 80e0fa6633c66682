"""Checks for w06.pairs: counting adjacent pairs and merging one pair, the two BPE primitives.

Oracles: hand-worked examples, collections.Counter over zip(ids, ids[1:]), and str.replace on code
points (left to right, non-overlapping: exactly BPE's merge rule).
"""

import random
from collections import Counter

import pytest

from checks.week06_tokenizers.oracles import replace_pair
from roadmap.impl import load

mod = load("week06_tokenizers.pairs")


def test_pair_counts_known_answer():
    """[1, 2, 3, 1, 2] has pairs (1,2) (2,3) (3,1) (1,2): (1, 2) twice, the others once."""
    got = mod.pair_counts([1, 2, 3, 1, 2])
    assert got == {(1, 2): 2, (2, 3): 1, (3, 1): 1}, (
        f"pair_counts([1, 2, 3, 1, 2]): expected {{(1, 2): 2, (2, 3): 1, (3, 1): 1}}, got {got}; "
        "likely cause: not walking all len(ids) - 1 neighbouring pairs (zip(ids, ids[1:]))"
    )


def test_pair_counts_counts_overlapping_pairs():
    """[5, 5, 5] holds the pair (5, 5) at positions 0-1 and 1-2: both count, so 2."""
    got = mod.pair_counts([5, 5, 5])
    assert got == {(5, 5): 2}, (
        f"pair_counts([5, 5, 5]): expected {{(5, 5): 2}}, got {got}; likely cause: counting only "
        "non-overlapping pairs. Counting overlaps both is BPE's convention (minbpe, HF, tiktoken)"
    )


@pytest.mark.parametrize("ids", [[], [7]])
def test_pair_counts_of_short_lists_is_empty(ids):
    got = mod.pair_counts(ids)
    assert got == {}, f"pair_counts({ids}): expected {{}}, got {got}; fewer than 2 ids have no pair"


def test_pair_counts_accumulates_with_weight():
    """Counting the word [1, 2] seen 3 times into an existing table {(1, 2): 1} gives 1 + 3 = 4."""
    counts = {(1, 2): 1, (9, 9): 5}
    got = mod.pair_counts([1, 2, 1], counts, weight=3)
    assert got is counts, (
        "pair_counts(ids, counts, weight): expected the same dict object back (it adds into it), "
        "got a new one; likely cause: starting from {} even when counts was given"
    )
    assert got == {(1, 2): 4, (2, 1): 3, (9, 9): 5}, (
        f"pair_counts([1, 2, 1], {{(1, 2): 1, (9, 9): 5}}, weight=3): expected "
        f"{{(1, 2): 4, (2, 1): 3, (9, 9): 5}}, got {got}; likely cause: adding 1 instead of `weight`"
    )


@pytest.mark.parametrize("n,alphabet,seed", [(1, 3, 0), (17, 2, 1), (101, 5, 2), (333, 3, 3)])
def test_pair_counts_matches_counter(n, alphabet, seed):
    rng = random.Random(seed)
    ids = [rng.randrange(alphabet) for _ in range(n)]
    expected = dict(Counter(zip(ids, ids[1:])))
    got = mod.pair_counts(ids)
    assert got == expected, (
        f"pair_counts(random ids, n={n}, alphabet={alphabet}, seed={seed}) differs from "
        f"Counter(zip(ids, ids[1:])): expected {sorted(expected.items())[:5]}..., "
        f"got {sorted(got.items())[:5]}..."
    )


def test_merge_pair_known_answer():
    """[1, 2, 3, 1, 2] with (1, 2) -> 4: both occurrences become 4, giving [4, 3, 4]."""
    got = mod.merge_pair([1, 2, 3, 1, 2], (1, 2), 4)
    assert got == [4, 3, 4], (
        f"merge_pair([1, 2, 3, 1, 2], (1, 2), 4): expected [4, 3, 4], got {got}; likely cause: "
        "every occurrence of the pair becomes new_id, and a match consumes both ids (advance by two)"
    )


def test_merge_pair_is_left_to_right_and_non_overlapping():
    """[5, 5, 5] with (5, 5) -> 9: the first two 5s merge, the scan jumps past them: [9, 5]."""
    got = mod.merge_pair([5, 5, 5], (5, 5), 9)
    cause = (
        "the loop stops one early and drops the last id"
        if got == [9]
        else "after a match, advance by two (the match consumed both ids), and scan from the left"
    )
    assert got == [9, 5], (
        f"merge_pair([5, 5, 5], (5, 5), 9): expected [9, 5], got {got}; likely cause: {cause}"
    )
    got = mod.merge_pair([5, 5, 5, 5], (5, 5), 9)
    assert got == [9, 9], f"merge_pair([5, 5, 5, 5], (5, 5), 9): expected [9, 9], got {got}"


def test_merge_pair_keeps_the_last_id_and_the_input():
    ids = [3, 1, 2, 7]
    got = mod.merge_pair(ids, (1, 2), 8)
    assert got == [3, 8, 7], (
        f"merge_pair([3, 1, 2, 7], (1, 2), 8): expected [3, 8, 7], got {got}; likely cause: the "
        "loop stops one early and drops the last id"
    )
    assert ids == [3, 1, 2, 7], f"merge_pair changed its input to {ids}; return a new list instead"
    assert mod.merge_pair([], (1, 2), 8) == [], "merge_pair([], (1, 2), 8) should be []"


@pytest.mark.parametrize("n,alphabet,seed", [(2, 2, 0), (19, 2, 1), (97, 3, 2), (401, 4, 3)])
def test_merge_pair_matches_string_replace(n, alphabet, seed):
    rng = random.Random(seed)
    ids = [rng.randrange(alphabet) for _ in range(n)]
    pair = (rng.randrange(alphabet), rng.randrange(alphabet))
    expected = replace_pair(ids, pair, 256)
    got = mod.merge_pair(ids, pair, 256)
    assert got == expected, (
        f"merge_pair(random ids n={n}, pair={pair}, 256), seed {seed}: expected {expected[:12]}..., "
        f"got {got[:12]}...; likely cause: overlapping matches (for pairs like (0, 0)), a "
        "missed match at the end, or a match on one id only (both ids must match)"
    )
