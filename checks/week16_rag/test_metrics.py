"""Checks for w16.metrics: recall@k, MRR, nDCG and the SQuAD v1.1 answer metrics.

Oracles: hand computations (in the docstrings), and for EM/F1 the functions of the official SQuAD
v1.1 evaluation script (evaluate-v1.1.py), copied below verbatim but for names, on constructed cases
that exercise its normalisation (case, punctuation, articles, whitespace).
"""

import math
import re
import string
from collections import Counter

import pytest

from roadmap.impl import load

mod = load("week16_rag.metrics")


# --- the official SQuAD v1.1 evaluation (evaluate-v1.1.py), the oracle for EM and F1 -------------
def squad_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def squad_f1(prediction, ground_truth):
    prediction_tokens = squad_normalize_answer(prediction).split()
    ground_truth_tokens = squad_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def squad_em(prediction, ground_truth):
    return squad_normalize_answer(prediction) == squad_normalize_answer(ground_truth)


def max_over(metric, prediction, ground_truths):
    return max(metric(prediction, gt) for gt in ground_truths)


# --------------------------------------------------------------------------------------------------


def close(a, b):
    return abs(a - b) < 1e-9


@pytest.mark.parametrize(
    "ranked, relevant, k, expected",
    [
        ([4, 2, 9], {2, 7}, 2, 0.5),  # 2 found, 7 not
        ([4, 2, 9], {2, 7}, 1, 0.0),
        ([4, 2, 9, 7], {2, 7}, 4, 1.0),
        ([4, 2, 9], {9}, 3, 1.0),  # hit@3
        ([4, 2, 9], {9}, 2, 0.0),  # just outside the cut
        ([1, 2], {1, 2, 3, 4}, 10, 0.5),  # k past the end of the list
    ],
)
def test_recall_at_k(ranked, relevant, k, expected):
    got = mod.recall_at_k(ranked, relevant, k)
    assert close(got, expected), (
        f"recall_at_k({ranked}, {relevant}, k={k}): expected {expected}, got {got}\n  likely "
        "cause: count the relevant ids among ranked[:k] (the first k, not k + 1) and divide by the "
        "number of relevant ids (not by k)"
    )


def test_recall_needs_a_relevant_id():
    with pytest.raises(ValueError):
        mod.recall_at_k([1, 2], set(), 2)
        pytest.fail("recall_at_k(ranked, set(), 2) returned instead of raising ValueError")


def test_mrr_by_hand():
    """[[3, 1], [5, 6], [8, 2, 9]] with relevant [{1}, {9}, {8, 9}]: 1/2, 0 (9 absent), 1/1 (the
    first relevant id counts, not the last) -> (0.5 + 0 + 1) / 3 = 0.5."""
    got = mod.mrr([[3, 1], [5, 6], [8, 2, 9]], [{1}, {9}, {8, 9}])
    assert close(got, 0.5), (
        f"mrr(3 queries): expected 0.5, got {got}\n  likely cause: 1 / rank of the FIRST relevant "
        "id, rank counted from 1; 0 for a query without one; mean over all queries"
    )
    assert close(mod.mrr([[7, 8, 9]], [{9}]), 1 / 3), (
        "mrr([[7, 8, 9]], [{9}]) must be 1/3 (rank counted from 1)"
    )


def test_ndcg_by_hand():
    """[5, 8], gains {8: 1}, k 2: DCG = 1/log2(3) = 0.630930; IDCG = 1/log2(2) = 1 -> 0.630930.
    Graded: [1, 2, 3], gains {1: 1, 2: 3, 3: 2}, k 3: DCG = 1 + 3/log2 3 + 2/2 = 3.892789;
    ideal [3, 2, 1]: 3 + 2/log2 3 + 1/2 = 4.761860 -> 0.817492. k 1: 1/3."""
    cases = [
        (([5, 8], {8: 1}, 2), 1 / math.log2(3)),
        (
            ([1, 2, 3], {1: 1, 2: 3, 3: 2}, 3),
            (1 + 3 / math.log2(3) + 1) / (3 + 2 / math.log2(3) + 0.5),
        ),
        (([1, 2, 3], {1: 1, 2: 3, 3: 2}, 1), 1 / 3),
        (([4, 5], {1: 1}, 2), 0.0),
        (([4, 5], {}, 2), 0.0),
        (([7, 1, 2], {7: 1, 1: 1, 2: 1, 3: 1}, 3), 1.0),  # ideal uses the top k gains only
    ]
    for (ranked, gains, k), expected in cases:
        got = mod.ndcg_at_k(ranked, gains, k)
        assert close(got, expected), (
            f"ndcg_at_k({ranked}, {gains}, k={k}): expected {expected:.6f}, got {got}\n  likely "
            "cause: discount position i (from 1) by log2(i + 1); the ideal DCG sorts the gains "
            "descending and keeps k; return 0 when there is no gain at all"
        )


NORMALIZE = [
    "The  Eiffel-Tower!",
    "An apple a day",
    "Theatre of the Absurd",  # "the" inside a word stays
    "  a, the; an. ",
    "Denver Broncos",
    "U.S. $5,000 (approx.)",
    "THE END",
    "anthem",
    "7 a.m. sharp",  # punctuation inside a word goes first: "am", so no article "a" is left
    "The-end",  # -> "theend": removing "the" before the hyphen would give "end"
    "an A-team",
]


@pytest.mark.parametrize("text", NORMALIZE)
def test_normalize_answer_equals_squad(text):
    got = mod.normalize_answer(text)
    expected = squad_normalize_answer(text)
    assert got == expected, (
        f"normalize_answer({text!r}): expected {expected!r} (SQuAD v1.1), got {got!r}\n  likely "
        "cause: lowercase, remove string.punctuation characters, remove the whole words a/an/the, "
        "collapse whitespace, in that order"
    )


CASES = [
    ("the Denver Broncos", ["Denver Broncos", "Broncos"]),
    ("Denver", ["Denver Broncos"]),
    ("Broncos, of Denver", ["Denver Broncos", "the Broncos"]),
    ("Carolina Panthers", ["Denver Broncos"]),
    ("", ["Denver Broncos"]),
    ("1889.", ["in 1889", "1889"]),
    ("big big cat", ["a big cat"]),  # Counter intersection: "big" counts once
    ("the cat the cat", ["cat cat cat"]),
    ("Santa Clara, California", ["Santa Clara", "Levi's Stadium", "Santa Clara, California"]),
]


@pytest.mark.parametrize("prediction, golds", CASES)
def test_exact_match_and_f1_equal_squad(prediction, golds):
    em = mod.exact_match(prediction, golds)
    f1 = mod.f1_score(prediction, golds)
    exp_em = float(max_over(squad_em, prediction, golds))
    exp_f1 = float(max_over(squad_f1, prediction, golds))
    assert close(em, exp_em), (
        f"exact_match({prediction!r}, {golds}): expected {exp_em} (SQuAD v1.1), got {em}\n  "
        "likely cause: compare normalize_answer of both sides; any gold answer counts"
    )
    assert close(f1, exp_f1), (
        f"f1_score({prediction!r}, {golds}): expected {exp_f1:.6f} (SQuAD v1.1), got {f1}\n  "
        "likely cause: tokens of the normalised strings; common = sum of (Counter & Counter); "
        "P = common / prediction tokens, R = common / gold tokens; the best gold answer counts"
    )


def test_f1_by_hand():
    """ "the big cat" vs "a cat": tokens [big, cat] vs [cat]: common 1, P 1/2, R 1 -> 2/3."""
    got = mod.f1_score("the big cat", ["a cat"])
    assert close(got, 2 / 3), (
        f"f1_score('the big cat', ['a cat']): expected 2/3, got {got}\n  likely cause: remove articles before splitting; F1 = 2PR / (P + R)"
    )


def test_recall_counts_each_relevant_id_once():
    """Ranked lists built from chunks often repeat a document: [2, 2, 9], relevant {2, 7}, k 2 finds
    one of the two relevant ids -> 1/2 (never more than 1)."""
    got = mod.recall_at_k([2, 2, 9], {2, 7}, 2)
    assert abs(got - 0.5) < 1e-12, (
        f"recall_at_k([2, 2, 9], {{2, 7}}, 2) = {got}, expected 0.5\n  likely cause: recall is the "
        "fraction of the relevant ids found: a repeated id is found once (use sets)"
    )


def test_f1_is_zero_when_nothing_is_left_after_normalisation():
    """SQuAD v1.1: "The" and "a" both normalise to "": exact match 1.0, but F1 has no common token
    -> 0.0 (v1.1's rule; v2.0 gives 1.0 to two empty answers)."""
    em, f1 = mod.exact_match("The", ["a"]), mod.f1_score("The", ["a"])
    assert em == 1.0 and f1 == 0.0, (
        f"exact_match('The', ['a']) = {em}, f1_score('The', ['a']) = {f1}; expected 1.0 and 0.0\n"
        "  likely cause: F1 is 0 whenever no token is common, also when both token lists are "
        "empty (SQuAD v1.1, not v2.0)"
    )
