"""An MLP language model over a fixed context window (Bengio et al. 2003).

Each position t is predicted from the `context` tokens ending at t: their embeddings are
concatenated into one vector, passed through a tanh hidden layer, and projected to V logits.
Positions near the start see a padding id (V, an extra embedding row) where there is no token yet.
Check: `python tracker.py check w03.mlp_lm`
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class MLPConfig:
    vocab_size: int = 65  # V
    context: int = 3  # tokens the model sees: idx[t - context + 1 .. t]
    n_embd: int = 16  # C, width of each token embedding
    n_hidden: int = 128  # width of the tanh layer


class MLPLanguageModel(nn.Module):
    """Bengio's neural probabilistic language model, without the direct input-to-output connections.

    Args:
        config: sizes; the embedding table has vocab_size + 1 rows, the last for padding.
    """

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size + 1, config.n_embd)  # row V: "before the start"
        self.hidden = nn.Linear(config.context * config.n_embd, config.n_hidden)
        self.lm_head = nn.Linear(config.n_hidden, config.vocab_size)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Next-token logits at every position from the window of `context` tokens ending there.

        Args:
            idx: (B, T) int64 token ids in 0..V-1.
            targets: (B, T) int64 next-token ids, or None.

        Returns:
            (logits, loss): logits (B, T, V); loss the mean cross-entropy, or None.
            The logits at t depend only on idx[:, t - context + 1 .. t] (padding before 0):
            lm_head(tanh(hidden(the window's wte rows concatenated, oldest first))).

        Example: context=3, idx=[[a, b]] -> windows [[PAD, PAD, a], [PAD, a, b]].
        """
        # TODO(w03.mlp_lm): return each position's logits from its window, and the loss on targets
        raise NotImplementedError(
            "w03.mlp_lm: write MLPLanguageModel.forward in exercises/week03_embeddings/mlp_lm.py"
        )
