"""The neural bigram language model: an embedding table whose row a holds the logits of the next token.

It has exactly the expressive power of the count table (one distribution per previous token), so
trained well it approaches the count-bigram NLL; that is the week's sanity check on the training
loop. Every language model of weeks 02-03 shares its interface: `model(idx, targets)` returns
`(logits, loss)`.
Check: `python tracker.py check w02.neural_bigram`
"""

import torch
import torch.nn.functional as F
from torch import nn


class BigramLM(nn.Module):
    """Next-token logits from a (V, V) table looked up by the current token.

    The table starts at zero, so an untrained model is uniform and its loss is ln V.

    Args:
        vocab_size: V.
    """

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.table = nn.Embedding(vocab_size, vocab_size)  # row a: logits of the token after a
        nn.init.zeros_(self.table.weight)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for the token after each position, and the mean cross-entropy if targets are given.

        Args:
            idx: (B, T) int64 token ids.
            targets: (B, T) int64 next-token ids, or None.

        Returns:
            (logits, loss): logits (B, T, V); loss a scalar tensor, or None without targets.

        Example: the untrained (all-zero) table with V=65 and idx of shape (2, 8) gives logits of
        zeros, shape (2, 8, 65), and loss ln 65 = 4.1744 whatever the targets.
        """
        # a lookup is the whole model: row idx[b, t] scores every possible next token
        logits = self.table(idx)  # (B, T, V)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, self.vocab_size), targets.view(-1))
        return logits, loss
