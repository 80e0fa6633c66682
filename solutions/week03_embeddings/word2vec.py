"""word2vec: skip-gram with negative sampling (Mikolov et al. 2013).

Each (center, context) pair within a window is a positive example; k words drawn from the unigram
distribution raised to 3/4 are negatives. The loss pushes the center's input vector towards its
context's output vector and away from the negatives': words that share contexts end up close.
Check: `python tracker.py check w03.skipgram_data` (then w03.skipgram_loss)
"""

import torch
import torch.nn.functional as F
from torch import nn


def skipgram_pairs(ids: torch.Tensor, window: int) -> torch.Tensor:
    """All (center, context) pairs with the context at most `window` positions away.

    Pairs come ordered by center position, then by context position; the ends of the text simply
    have fewer neighbours.

    Args:
        ids: (N,) int64 token ids.
        window: largest distance, >= 1.

    Returns:
        (P, 2) int64 rows (center id, context id).

    Example: ids [7, 8, 9], window 1 -> [[7, 8], [8, 7], [8, 9], [9, 8]].
    """
    # for every position, every neighbour j != i inside the window and inside the text
    N = len(ids)
    pairs = [
        (i, j)
        for i in range(N)
        for j in range(max(0, i - window), min(N, i + window + 1))
        if j != i
    ]
    pos = torch.tensor(pairs, dtype=torch.long).view(-1, 2)
    return ids[pos]


def unigram_distribution(counts: torch.Tensor, power: float = 0.75) -> torch.Tensor:
    """The negative-sampling distribution: P(w) proportional to count(w) ** power.

    The 3/4 power lifts rare words and tames frequent ones compared with raw frequencies.

    Args:
        counts: (V,) token counts.
        power: the exponent.

    Returns:
        (V,) float32 probabilities summing to 1.

    Example: counts [1, 16], power 0.75 -> [1, 8] / 9.
    """
    # raise, then normalise
    weights = counts.to(torch.float64) ** power
    return (weights / weights.sum()).to(torch.float32)


def sample_negatives(
    probs: torch.Tensor, num: int, k: int, generator: torch.Generator
) -> torch.Tensor:
    """Draw k negatives for each of `num` pairs, independently, with replacement, from `probs`.

    Returns:
        (num, k) int64 ids; the same generator seed gives the same draws.

    Example: probs [0., 1., 0.], num=2, k=3 -> [[1, 1, 1], [1, 1, 1]]; with probs [0.5, 0.5]
    about half of many draws are 0.
    """
    # one multinomial call for all draws; replacement keeps them independent
    flat = torch.multinomial(probs, num * k, replacement=True, generator=generator)
    return flat.view(num, k)


class SkipGram(nn.Module):
    """Two tables: `in_embed` for centers (the word vectors you keep) and `out_embed` for contexts.

    As in the original C code, input vectors start small and random and output vectors at zero,
    so the initial loss is (1 + k) ln 2.

    Args:
        vocab_size: V.
        dim: C.
    """

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.in_embed = nn.Embedding(vocab_size, dim)
        self.out_embed = nn.Embedding(vocab_size, dim)
        nn.init.uniform_(self.in_embed.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.out_embed.weight)

    def loss(
        self, centers: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor
    ) -> torch.Tensor:
        """Mean negative-sampling loss over a batch of pairs.

        For center c, context o and negatives n_1..n_k, with v = in_embed and u = out_embed:
        loss = -log sigmoid(u_o . v_c) - sum_j log sigmoid(-u_{n_j} . v_c).

        Args:
            centers: (B,) int64.
            contexts: (B,) int64.
            negatives: (B, k) int64.

        Returns:
            A scalar: the loss averaged over the B pairs.

        Example: with out_embed at zero (as built) every score is 0, so each pair costs
        (1 + k) ln 2: 3 ln 2 = 2.0794 for k=2.
        """
        # logsigmoid(s) = -log(1 + e^-s) stays finite for large |s|, unlike log(sigmoid(s))
        v = self.in_embed(centers)  # (B, C)
        pos = (self.out_embed(contexts) * v).sum(-1)  # (B,)
        neg = (self.out_embed(negatives) @ v[:, :, None]).squeeze(-1)  # (B, k)
        return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()


def most_similar(vectors: torch.Tensor, i: int, k: int = 1) -> list[int]:
    """The k rows of `vectors` (V, C) with the highest cosine similarity to row i, best first, i excluded.

    Returns:
        k row indices (Python ints).

    Example: vectors [[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], i=0, k=2 -> [1, 2].
    """
    # normalise rows; the dot product of unit vectors is their cosine
    unit = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = unit @ unit[i]
    sims[i] = -float("inf")
    return sims.topk(k).indices.tolist()
