"""Embedding lookup and learned positional embeddings, from a plain parameter table.

An embedding is a (V, C) table; looking up id i returns row i, which is the same as multiplying
the one-hot vector of i by the table, only without building the one-hot. Learned positions are a
second table indexed by position instead of token.
Check: `python tracker.py check w03.embedding`
"""

import torch
from torch import nn


class Embedding(nn.Module):
    """A (num_embeddings, embedding_dim) table of trainable rows, initialised N(0, 1) like nn.Embedding.

    Args:
        num_embeddings: V, the number of rows (ids 0..V-1).
        embedding_dim: C, the width of each row.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_embeddings, embedding_dim))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Rows of the table for every id: (...) int64 -> (..., C).

        Example: weight [[0, 1], [2, 3], [4, 5]] and idx [[2, 0]] -> [[[4, 5], [0, 1]]].

        Built from scratch: the check switches off F.embedding, torch.embedding and
        nn.Embedding.forward while it runs.
        """
        # TODO(w03.embedding): return the table's row for every id in idx
        raise NotImplementedError(
            "w03.embedding: write Embedding.forward in exercises/week03_embeddings/embedding.py"
        )


class LearnedPositionalEmbedding(nn.Module):
    """Adds a trainable vector per position 0..block_size-1 to a (B, T, C) input.

    Args:
        block_size: the longest sequence the table covers.
        embedding_dim: C.
    """

    def __init__(self, block_size: int, embedding_dim: int) -> None:
        super().__init__()
        self.block_size = block_size
        self.weight = nn.Parameter(torch.randn(block_size, embedding_dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + weight[:T] broadcast over the batch: (B, T, C) -> (B, T, C).

        Example: block_size=4, weight [[0, 0], [1, 1], [2, 2], [3, 3]], x of zeros (2, 3, 2) ->
        out[b] = [[0, 0], [1, 1], [2, 2]] for both b; x with T=5 raises.

        Raises:
            ValueError: T > block_size; the message says both numbers.
        """
        # TODO(w03.embedding): add position t's row to x[:, t], refusing a T above block_size
        raise NotImplementedError(
            "w03.embedding: write LearnedPositionalEmbedding.forward in exercises/week03_embeddings/embedding.py"
        )
