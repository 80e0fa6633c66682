"""Checks for w06.naive_train: BPE training by its definition (recount everything every merge).

Oracles: the hand-derived "aaabdaaabac" merges (Wikipedia's BPE example), the tie rule on a
hand-made text, and checks/week06_tokenizers/oracles.naive_train (written for the checks, never
the course's solution) on the fixtures and on tie-heavy random text. HF's trainer is off-limits.
"""

import random
from functools import partial

import pytest

from checks.week06_tokenizers.oracles import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    aaabdaaabac_cause,
    naive_train,
)
from roadmap.checking import from_scratch
from roadmap.impl import load

mod = load("week06_tokenizers.naive")

train = partial(
    from_scratch,
    mod.train_bpe_naive,
    forbid=("tokenizers.trainers.BpeTrainer", "tokenizers.Tokenizer", "tokenizers.models.BPE"),
    exercise="w06.naive_train",
    instead="pair_counts over every word and merge_pair, once per merge",
)


def test_aaabdaaabac_known_answer():
    """aaabdaaabac (a=97, b=98, c=99, d=100), one word under the GPT-4 pattern.

    Count: aa 4 (overlapping), ab 2, ...             -> (97, 97) = 256, count 4
    Recount on Z a b d Z a b a c (Z=256): (256, 97) and (97, 98) tie at 2; the smaller pair
        (97, 98) wins (97 < 256)                      -> (97, 98) = 257, count 2
    Recount on Z Y d Z Y a c (Y=257): (256, 257) 2   -> (256, 257) = 258, count 2
    """
    expected = [((97, 97), 4), ((97, 98), 2), ((256, 257), 2)]
    got = train("aaabdaaabac", 259)
    assert got == expected, (
        f'train_bpe_naive("aaabdaaabac", 259): expected {expected}, got {got}; likely cause: '
        f"{aaabdaaabac_cause(got)}"
    )


def test_pairs_never_cross_a_word_boundary():
    """ "a a" under GPT-4 is "a", " a": the only pair is (32, 97); (97, 32) would cross words."""
    got = train("a a", 300)
    assert got == [((32, 97), 1)], (
        f'train_bpe_naive("a a", 300): expected [((32, 97), 1)], got {got}; likely cause: pairs '
        "counted over the whole byte string instead of inside each regex word"
    )


def test_ties_go_to_the_smallest_pair():
    """ "ab cd" -> words "ab", " cd": (97, 98), (32, 99), (99, 100) once each.

    Smallest pair first: (32, 99) = 256; then (97, 98) = 257; then (256, 100) = 258.
    """
    expected = [((32, 99), 1), ((97, 98), 1), ((256, 100), 1)]
    got = train("ab cd", 259)
    assert got == expected, (
        f'train_bpe_naive("ab cd", 259): expected {expected}, got {got}; likely cause: ties must '
        "go to the smallest (left, right) pair, not to whichever pair a dict saw first"
    )


def test_vocab_256_learns_nothing_and_running_out_stops_early():
    assert train("hello", 256) == [], 'train_bpe_naive("hello", 256) must learn no merge'
    got = train("ab", 1000)
    assert got == [((97, 98), 1)], (
        f'train_bpe_naive("ab", 1000): expected [((97, 98), 1)] (the text runs out of pairs), '
        f"got {got}; likely cause: not stopping when no pair is left"
    )


@pytest.mark.parametrize("pattern", [GPT4_SPLIT_PATTERN, GPT2_SPLIT_PATTERN], ids=["gpt4", "gpt2"])
def test_matches_bpe_by_definition_on_unicode(unicode_text, pattern):
    expected = naive_train(unicode_text, 290, pattern)
    got = train(unicode_text, 290, pattern)
    first = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), len(got))
    assert got == expected, (
        f"train_bpe_naive(unicode fixture, 290): first difference at rank {first}; expected "
        f"{expected[first : first + 2]}, got {got[first : first + 2]}; likely cause: words not "
        "encoded as UTF-8 bytes, the pattern not used, or ties broken another way"
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_bpe_by_definition_on_tie_heavy_text(seed):
    rng = random.Random(seed)
    text = " ".join(
        "".join(rng.choice("ab c") for _ in range(rng.randint(1, 7))) for _ in range(40)
    )
    expected = naive_train(text, 256 + 17, GPT4_SPLIT_PATTERN)
    got = train(text, 256 + 17)
    assert got == expected, (
        f"train_bpe_naive(random text seed {seed}): expected {expected[:5]}..., got {got[:5]}...; "
        "likely cause: ties (highest count, then smallest pair) broken another way"
    )
