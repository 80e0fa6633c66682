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
    # TODO(w03.skipgram_data): return every (center, context) pair within window, in that order
    raise NotImplementedError(
        "w03.skipgram_data: write skipgram_pairs in exercises/week03_embeddings/word2vec.py"
    )


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
    # TODO(w03.skipgram_data): return P(w) proportional to count(w) ** power, as float32
    raise NotImplementedError(
        "w03.skipgram_data: write unigram_distribution in exercises/week03_embeddings/word2vec.py"
    )


def sample_negatives(
    probs: torch.Tensor, num: int, k: int, generator: torch.Generator
) -> torch.Tensor:
    """Draw k negatives for each of `num` pairs, independently, with replacement, from `probs`.

    Returns:
        (num, k) int64 ids; the same generator seed gives the same draws.

    Example: probs [0., 1., 0.], num=2, k=3 -> [[1, 1, 1], [1, 1, 1]]; with probs [0.5, 0.5]
    about half of many draws are 0.
    """
    # TODO(w03.skipgram_data): return num x k independent draws from probs, reproducible by seed
    raise NotImplementedError(
        "w03.skipgram_data: write sample_negatives in exercises/week03_embeddings/word2vec.py"
    )


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
        # TODO(w03.skipgram_loss): return the batch's mean negative-sampling loss
        raise NotImplementedError(
            "w03.skipgram_loss: write SkipGram.loss in exercises/week03_embeddings/word2vec.py"
        )


def most_similar(vectors: torch.Tensor, i: int, k: int = 1) -> list[int]:
    """The k rows of `vectors` (V, C) with the highest cosine similarity to row i, best first, i excluded.

    Returns:
        k row indices (Python ints).

    Example: vectors [[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], i=0, k=2 -> [1, 2].
    """
    # TODO(w03.skipgram_loss): return the k rows closest to row i in angle, best first
    raise NotImplementedError(
        "w03.skipgram_loss: write most_similar in exercises/week03_embeddings/word2vec.py"
    )
