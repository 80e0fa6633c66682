"""BM25 (Robertson & Zaragoza 2009, "The Probabilistic Relevance Framework: BM25 and Beyond").

A lexical ranker: a document scores for each query term it contains, more for rare terms (IDF) and
for repeated ones, with diminishing returns (k1) and a penalty for long documents (b). This file
uses the IDF with +1 inside the logarithm (Lucene's), which is never negative:

    idf(t)      = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))
    score(q, d) = sum over query tokens t of idf(t) * f(t, d) * (k1 + 1)
                                             / (f(t, d) + k1 * (1 - b + b * |d| / avgdl))

N documents, n(t) of them contain t, f(t, d) = count of t in d, |d| = tokens in d, avgdl = mean
|d|. The `rank-bm25` package's BM25Okapi differs only in the IDF: ln((N - n + 0.5) / (n + 0.5)),
floored at 0.25 x the mean IDF where it is negative (terms in more than half the documents).
Check: `python tracker.py check w16.bm25`
"""

import math
import re
from collections import Counter

WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens: "The cat's hat!" -> ["the", "cat", "s", "hat"]. Given code."""
    return WORD.findall(text.lower())


class BM25:
    """BM25 over a tokenized corpus. The statistics are given; `idf` and `scores` are the exercise."""

    def __init__(self, corpus: list[list[str]], k1: float = 1.5, b: float = 0.75):
        self.k1 = k1
        self.b = b
        self.n_docs = len(corpus)
        self.tf = [Counter(doc) for doc in corpus]  # f(t, d) for each document
        self.doc_len = [len(doc) for doc in corpus]  # |d|
        self.avgdl = sum(self.doc_len) / max(self.n_docs, 1)
        self.df = Counter(t for doc in self.tf for t in doc)  # n(t): documents containing t

    def idf(self, term: str) -> float:
        """ln(1 + (N - n + 0.5) / (n + 0.5)) for a term in n of the N documents (n may be 0).

        Example: N = 3, n = 1 -> ln(1 + 2.5 / 1.5) = ln(8 / 3) = 0.9808.
        """
        # TODO(w16.bm25): return the term's smoothed inverse document frequency
        raise NotImplementedError("w16.bm25: write BM25.idf in exercises/week16_rag/bm25.py")

    def scores(self, query: list[str]) -> list[float]:
        """The BM25 score of every document for the tokenized `query`, in corpus order.

        Each query token counts once per occurrence in the query (a repeated query word adds its
        term twice, as rank-bm25 does); a token absent from a document adds 0 to that document.
        Example: corpus [["a", "b"], ["b", "b", "c"]], query ["c"], k1 1.5, b 0.75: avgdl 2.5,
        idf(c) = ln(1 + 1.5 / 1.5) = ln 2; doc 1 has f = 1, |d| = 3 -> ln 2 * 2.5 / (1 + 1.5 *
        (0.25 + 0.75 * 3 / 2.5)) = 0.6931 * 2.5 / 2.725 = 0.6359; doc 0 -> 0.

        Returns:
            N floats.
        """
        # TODO(w16.bm25): return every document's BM25 score for the query
        raise NotImplementedError("w16.bm25: write BM25.scores in exercises/week16_rag/bm25.py")

    def topk(self, query: list[str], k: int) -> list[int]:
        """Indices of the k best documents for `query`, best first, ties by lower index (given)."""
        s = self.scores(query)
        return sorted(range(len(s)), key=lambda i: (-s[i], i))[:k]
