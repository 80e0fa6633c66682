"""Evaluation: retrieval metrics (recall@k, MRR, nDCG) and SQuAD answer metrics (EM, F1).

Retrieval metrics look at the ranked ids a retriever returns against the set of relevant ids; answer
metrics compare a predicted string with the gold answers after SQuAD v1.1's normalisation
(Rajpurkar et al. 2016; the official evaluate-v1.1.py). nDCG: Järvelin & Kekäläinen 2002.
Check: `python tracker.py check w16.metrics`
"""

import math
import re
import string
from collections import Counter


def recall_at_k(ranked: list, relevant: set, k: int) -> float:
    """The fraction of the relevant ids found among the first k of `ranked`.

    Each relevant id counts once, also when `ranked` repeats it (ranked ids of chunks often name a
    document twice), so recall never exceeds 1.
    Example: ranked [4, 2, 9], relevant {2, 7}, k 2 -> 1/2; ranked [2, 2, 9] -> 1/2 as well.
    With one relevant id this is "hit@k".

    Raises:
        ValueError: if `relevant` is empty (recall is undefined).
    """
    # TODO(w16.metrics): return the fraction of relevant ids found in the first k
    raise NotImplementedError("w16.metrics: write recall_at_k in exercises/week16_rag/metrics.py")


def mrr(rankings: list[list], relevant: list[set]) -> float:
    """Mean reciprocal rank: the mean over queries of 1 / (rank of the first relevant id), rank
    counted from 1, 0 for a query whose ranking holds no relevant id.

    Example: rankings [[3, 1], [5, 6]], relevant [{1}, {9}] -> (1/2 + 0) / 2 = 0.25.
    """
    # TODO(w16.metrics): return the mean over queries of the first hit's reciprocal rank
    raise NotImplementedError("w16.metrics: write mrr in exercises/week16_rag/metrics.py")


def ndcg_at_k(ranked: list, gains: dict, k: int) -> float:
    """Normalised discounted cumulative gain of the first k of `ranked`.

    DCG = sum over positions i = 1..k of gains.get(ranked[i], 0) / log2(i + 1) (linear gains);
    IDCG = the same for the k largest gains in the best order; nDCG = DCG / IDCG, 0 if IDCG is 0.
    Example: ranked [5, 8], gains {8: 1}, k 2 -> (1 / log2 3) / (1 / log2 2) = 0.6309.
    """
    # TODO(w16.metrics): return the first k's discounted gain relative to the best possible
    raise NotImplementedError("w16.metrics: write ndcg_at_k in exercises/week16_rag/metrics.py")


def normalize_answer(s: str) -> str:
    """SQuAD v1.1: lowercase, drop punctuation (string.punctuation), drop the words a/an/the,
    collapse whitespace, in that order. Punctuation inside words goes first, so "a.m." becomes
    "am" (not an article any more) and "The-end" becomes "theend".

    Example: "The  Eiffel-Tower!" -> "eiffeltower"; "An apple a day" -> "apple day";
    "7 a.m. sharp" -> "7 am sharp".
    """
    # TODO(w16.metrics): return the answer as SQuAD v1.1 normalises it
    raise NotImplementedError(
        "w16.metrics: write normalize_answer in exercises/week16_rag/metrics.py"
    )


def exact_match(prediction: str, golds: list[str]) -> float:
    """1.0 if normalize_answer(prediction) equals that of any gold answer, else 0.0.

    Example: exact_match("The Eiffel Tower.", ["eiffel tower", "Paris"]) -> 1.0.
    """
    # TODO(w16.metrics): return 1.0 if the answer matches a gold answer after normalising
    raise NotImplementedError("w16.metrics: write exact_match in exercises/week16_rag/metrics.py")


def f1_score(prediction: str, golds: list[str]) -> float:
    """SQuAD v1.1 token F1, the maximum over the gold answers.

    Tokens are normalize_answer(...).split(); common = multiset intersection (Counter &); F1 = 0 if
    no token is common (also when both sides are empty after normalisation, as in v1.1: "The"
    vs "a" has exact match 1.0 but F1 0.0), else 2 P R / (P + R) with P = common / prediction
    tokens and R = common / gold tokens. Example: prediction "the big cat", gold "a cat" -> tokens [big, cat] vs [cat]:
    P 1/2, R 1 -> F1 2/3.
    """
    # TODO(w16.metrics): return SQuAD's best token F1 against the gold answers
    raise NotImplementedError("w16.metrics: write f1_score in exercises/week16_rag/metrics.py")
