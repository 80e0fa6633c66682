"""Reward modelling: the Bradley-Terry loss, pairwise accuracy and a scalar reward head on the
week-05 GPT (Ouyang et al. 2022, InstructGPT section 3.5; Bradley & Terry 1952).

A reward model reads a whole prompt + response and returns one number; trained on pairs, it learns
P(chosen preferred over rejected) = sigmoid(r_chosen - r_rejected).
Check: `python tracker.py check w13.reward`
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions.week05_gpt.model import GPT


def gpt_hidden_states(gpt: GPT, idx: torch.Tensor) -> torch.Tensor:
    """The week-05 GPT's final hidden states (after ln_f), before the LM head.

    Args:
        gpt: a week-05 GPT.
        idx: (B, T) int64 token ids, T <= block_size.

    Returns:
        (B, T, C): what `gpt.lm_head` would turn into logits.
    """
    T = idx.size(1)
    pos = torch.arange(T, dtype=torch.long, device=idx.device)  # (T,)
    x = gpt.transformer.drop(gpt.transformer.wte(idx) + gpt.transformer.wpe(pos))  # (B, T, C)
    for block in gpt.transformer.h:
        x = block(x)
    return gpt.transformer.ln_f(x)  # (B, T, C)


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """The pairwise reward-model loss: mean over pairs of -log sigmoid(r_chosen - r_rejected).

    Stable for any margin: a margin of -1000 gives a loss of 1000 (not inf), a margin of +1000 gives 0.
    Example: r_chosen = [0.], r_rejected = [0.] -> ln 2 = 0.6931.

    Args:
        r_chosen: (B,) rewards of the preferred responses.
        r_rejected: (B,) rewards of the other responses of the same pairs.

    Returns:
        A scalar tensor, differentiable in both inputs.
    """
    # -log sigmoid(d) = softplus(-d), computed without overflow by logsigmoid
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def pairwise_accuracy(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> float:
    """The fraction of pairs whose chosen reward is strictly higher; a tie counts as wrong.

    Example: r_chosen = [2., 0., 1.], r_rejected = [1., 1., 1.] -> 1/3.

    Args:
        r_chosen, r_rejected: (B,) rewards.

    Returns:
        A Python float in [0, 1].
    """
    # strict comparison: a model that scores everything the same learns nothing, so scores 0
    return (r_chosen > r_rejected).float().mean().item()


class RewardModel(nn.Module):
    """A GPT trunk with a scalar head: the reward is read at the last real token of each row.

    The head is `nn.Linear(n_embd, 1, bias=False)`, like the `score` layer of transformers'
    GPT2ForSequenceClassification, so the two hold the same weights after a key-by-key copy.
    """

    def __init__(self, gpt: GPT):
        super().__init__()
        self.gpt = gpt
        self.head = nn.Linear(gpt.config.n_embd, 1, bias=False)

    def forward(self, idx: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Rewards of right-padded sequences.

        The reward of a row is head(h) where h is the hidden state (gpt_hidden_states) at the LAST
        position whose attention_mask is 1: that position has seen the whole prompt and response;
        the pad positions after it are ignored (the attention is causal, so they change nothing
        before them).
        Example: attention_mask row [1, 1, 1, 0, 0] -> the reward is read at position 2.

        Args:
            idx: (B, T) int64 token ids, right-padded with any id.
            attention_mask: (B, T) 1 for real tokens, 0 for padding (every row has >= 1 real token).

        Returns:
            (B,) rewards.
        """
        h = gpt_hidden_states(self.gpt, idx)  # (B, T, C)
        # subtle: the last real token is the right-most 1 of the mask, not position T - 1
        positions = torch.arange(idx.size(1), device=idx.device)  # (T,)
        last = (positions * attention_mask.long()).argmax(dim=-1)  # (B,)
        h_last = h[torch.arange(idx.size(0), device=idx.device), last]  # (B, C)
        return self.head(h_last).squeeze(-1)  # (B,)
