"""GloVe: global vectors from a weighted least-squares fit to log co-occurrence counts.

Pennington, Socher & Manning 2014. Where skip-gram streams over (center, context) pairs one batch
at a time, GloVe first counts, once, how often every word occurs near every other word (closer
words count more), then fits w_i . w~_j + b_i + b~_j to log X_ij for every pair that occurred.
A weighting f(X_ij) keeps rare, noisy pairs from dominating and caps frequent ones. The word
vectors kept are w + w~. Analogies (king - man + woman ~ queen) are read off by cosine.
Check: `python tracker.py check w03.glove_counts` (then w03.glove)
"""

import torch
from torch import nn


def cooccurrence(ids: torch.Tensor, vocab_size: int, window: int) -> torch.Tensor:
    """The symmetric, distance-weighted co-occurrence matrix of a token stream (GloVe's counts).

    For every position p and every other position q with 0 < |p - q| <= window, add 1 / |p - q| to
    X[ids[p], ids[q]]. Both sides of each word count (symmetric window), so X equals X.T; a word
    seen twice within the window adds to the diagonal once from each side. The stream is one
    sequence: windows run across line ends. Rows and columns are the token ids 0..V-1 as given.

    Args:
        ids: (N,) int64 token ids in [0, vocab_size).
        vocab_size: V.
        window: largest distance, >= 1.

    Returns:
        (V, V) float32 counts.

    Example: ids [0, 1, 2, 0], V=3, window 2: the pairs at distance 1 are (0, 1), (1, 2), (2, 0)
    and at distance 2 (0, 2), (1, 0), so X = [[0, 1.5, 1.5], [1.5, 0, 1], [1.5, 1, 0]]; with
    window 3 the two 0s (distance 3) add 1/3 + 1/3 to X[0, 0].
    """
    # one shifted copy of the stream per distance d: every pair (p, p + d) at once, both ways
    X = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)
    for d in range(1, min(window, len(ids) - 1) + 1):
        left, right = ids[:-d], ids[d:]
        weight = torch.full((len(left),), 1.0 / d, dtype=torch.float64)
        X.index_put_((left, right), weight, accumulate=True)
        X.index_put_((right, left), weight, accumulate=True)
    return X.to(torch.float32)


def glove_weight(x: torch.Tensor, x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
    """GloVe's weighting f(x) = (x / x_max) ** alpha below x_max and 1 from x_max on.

    Args:
        x: counts of any shape, >= 0.
        x_max: where the weight reaches 1 and stays.
        alpha: the exponent (3/4 in the paper).

    Returns:
        f(x), same shape and dtype; f(0) = 0.

    Example: x [0, 1, 50, 100, 1000] with the defaults -> [0, 0.0316, 0.5946, 1, 1].
    """
    # subtle: capped at 1, so the most frequent pairs do not outweigh everything else
    return (x / x_max).pow(alpha).clamp(max=1.0)


class GloVe(nn.Module):
    """Two tables of word vectors, w (`wi`) and w~ (`wj`), and two biases, b (`bi`) and b~ (`bj`).

    Everything starts uniform in [-0.5 / dim, 0.5 / dim], as in the GloVe C code.

    Args:
        vocab_size: V.
        dim: C.
    """

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.wi = nn.Parameter(torch.empty(vocab_size, dim))  # w: the words as rows i
        self.wj = nn.Parameter(torch.empty(vocab_size, dim))  # w~: the words as context columns j
        self.bi = nn.Parameter(torch.empty(vocab_size))  # b
        self.bj = nn.Parameter(torch.empty(vocab_size))  # b~
        for p in self.parameters():
            nn.init.uniform_(p, -0.5 / dim, 0.5 / dim)

    def loss(self, X: torch.Tensor, x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
        """The weighted least-squares cost J of the paper: a sum, with no 1/2 factor.

        J = sum over (i, j) with X_ij > 0 of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2, with f
        = glove_weight(., x_max, alpha). Pairs that never occurred (X_ij = 0, log X_ij = -inf)
        are left out of the sum.

        Args:
            X: (V, V) co-occurrence counts, >= 0 (from `cooccurrence`).

        Returns:
            A scalar.

        Example: with every parameter at zero, X = [[0, 1], [e, 200]] costs f(1) * 0^2 + f(e) *
        1^2 + f(200) * log(200)^2 = 0.0669 + 28.072 = 28.139.
        """
        # only the pairs that occurred: log X is finite there
        i, j = X.nonzero(as_tuple=True)
        x = X[i, j]
        pred = (self.wi[i] * self.wj[j]).sum(-1) + self.bi[i] + self.bj[j]  # (P,)
        return (glove_weight(x, x_max, alpha) * (pred - x.log()) ** 2).sum()

    def word_vectors(self) -> torch.Tensor:
        """The vectors GloVe keeps: w + w~ (the paper's choice: X is symmetric, so both tables
        learn the same thing up to noise, and their sum is a little better than either).

        Returns:
            (V, C), detached.

        Example: wi [[1, 0]], wj [[0, 2]] -> [[1, 2]].
        """
        # the sum of the two tables, cut from the graph
        return (self.wi + self.wj).detach()


def analogy(vectors: torch.Tensor, a: int, b: int, c: int, k: int = 1) -> list[int]:
    """Solve "a is to b as c is to ?" by vector offsets (3CosAdd, as in word2vec's analogy test).

    With every row scaled to unit length (u = v / |v|), return the rows d with the highest cosine
    to u_b - u_a + u_c, best first, never a, b or c themselves.

    Args:
        vectors: (V, C) word vectors.
        a, b, c: row indices.
        k: how many answers.

    Returns:
        k row indices (Python ints).

    Example: rows man [1, 0, 1], woman [0, 1, 1], king [1, 0, 3], queen [0, 1, 3], cat [-1, -1, 0]
    (ids 0-4): analogy(vectors, 0, 1, 2) -> [3] (king - man + woman = queen).
    """
    # unit rows first: a long vector (a frequent word) must not win by its length alone
    unit = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    target = unit[b] - unit[a] + unit[c]
    sims = unit @ target
    sims[[a, b, c]] = -float("inf")
    return sims.topk(k).indices.tolist()
