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
    if not relevant:
        raise ValueError("recall@k needs at least one relevant id")
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def mrr(rankings: list[list], relevant: list[set]) -> float:
    """Mean reciprocal rank: the mean over queries of 1 / (rank of the first relevant id), rank
    counted from 1, 0 for a query whose ranking holds no relevant id.

    Example: rankings [[3, 1], [5, 6]], relevant [{1}, {9}] -> (1/2 + 0) / 2 = 0.25.
    """
    total = 0.0
    for ranked, rel in zip(rankings, relevant):
        for rank, doc in enumerate(ranked, start=1):
            if doc in rel:
                total += 1.0 / rank
                break
    return total / len(rankings)


def ndcg_at_k(ranked: list, gains: dict, k: int) -> float:
    """Normalised discounted cumulative gain of the first k of `ranked`.

    DCG = sum over positions i = 1..k of gains.get(ranked[i], 0) / log2(i + 1) (linear gains);
    IDCG = the same for the k largest gains in the best order; nDCG = DCG / IDCG, 0 if IDCG is 0.
    Example: ranked [5, 8], gains {8: 1}, k 2 -> (1 / log2 3) / (1 / log2 2) = 0.6309.
    """
    dcg = sum(gains.get(doc, 0.0) / math.log2(i + 1) for i, doc in enumerate(ranked[:k], start=1))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def normalize_answer(s: str) -> str:
    """SQuAD v1.1: lowercase, drop punctuation (string.punctuation), drop the words a/an/the,
    collapse whitespace, in that order. Punctuation inside words goes first, so "a.m." becomes
    "am" (not an article any more) and "The-end" becomes "theend".

    Example: "The  Eiffel-Tower!" -> "eiffeltower"; "An apple a day" -> "apple day";
    "7 a.m. sharp" -> "7 am sharp".
    """
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(prediction: str, golds: list[str]) -> float:
    """1.0 if normalize_answer(prediction) equals that of any gold answer, else 0.0.

    Example: exact_match("The Eiffel Tower.", ["eiffel tower", "Paris"]) -> 1.0.
    """
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def f1_score(prediction: str, golds: list[str]) -> float:
    """SQuAD v1.1 token F1, the maximum over the gold answers.

    Tokens are normalize_answer(...).split(); common = multiset intersection (Counter &); F1 = 0 if
    no token is common (also when both sides are empty after normalisation, as in v1.1: "The"
    vs "a" has exact match 1.0 but F1 0.0), else 2 P R / (P + R) with P = common / prediction
    tokens and R = common / gold tokens. Example: prediction "the big cat", gold "a cat" -> tokens [big, cat] vs [cat]:
    P 1/2, R 1 -> F1 2/3.
    """
    pred = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        ref = normalize_answer(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if common == 0:
            continue
        p, r = common / len(pred), common / len(ref)
        best = max(best, 2 * p * r / (p + r))
    return best
