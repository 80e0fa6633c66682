"""Speculative decoding: a small draft model proposes k tokens, the big target model checks them
all in one forward pass, and an accept/reject rule keeps the output distributed exactly as if the
target had sampled alone.

Papers: Leviathan, Kalman & Matias 2023, "Fast Inference from Transformers via Speculative
Decoding"; Chen et al. 2023, "Accelerating Large Language Model Decoding with Speculative Sampling".
Check: `python tracker.py check w08.speculative`
"""

from collections.abc import Callable

import torch


def accept_or_resample(
    p: torch.Tensor, q: torch.Tensor, drafted: torch.Tensor, generator: torch.Generator | None
) -> tuple[int, int]:
    """The exact accept/reject rule for k drafted tokens.

    For i = 0..k-1: accept drafted[i] = x with probability min(1, p[i, x] / q[i, x]). At the first
    rejection, draw the replacement from the residual max(0, p[i] - q[i]) renormalised, and stop.
    If all k are accepted, draw a bonus token from p[k]. Either way the token at each position is
    distributed as p: P(x) = q(x) min(1, p(x)/q(x)) + (1 - sum_y min(q(y), p(y))) residual(x) = p(x).

    Args:
        p: (k + 1, V) target probabilities at the k drafted positions and one after.
        q: (k, V) draft probabilities the drafted tokens were sampled from.
        drafted: (k,) int64 drafted tokens, drafted[i] ~ q[i].
        generator: a seeded torch.Generator (uniforms and replacement draws use it).

    Returns:
        (n_accepted, next_token): keep drafted[:n_accepted], then append next_token.

    Example: p[:k] == q: every ratio is 1, so all k drafts are accepted and next_token is the
    bonus draw from p[k] (n_accepted = k). If p[0, drafted[0]] = 0 the first draft is rejected:
    n_accepted = 0 and next_token comes from max(0, p[0] - q[0]) renormalised.
    """
    # TODO(w08.speculative): return how many drafts to keep and a next token, so output ~ p
    raise NotImplementedError(
        "w08.speculative: write accept_or_resample in exercises/week08_inference/speculative.py"
    )


def speculative_generate(
    target_fn: Callable[[torch.Tensor], torch.Tensor],
    draft_fn: Callable[[torch.Tensor], torch.Tensor],
    prompt: torch.Tensor,
    max_new_tokens: int,
    *,
    k: int = 4,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, int, int]:
    """Sample `max_new_tokens` tokens from the target (softmax of its logits) using draft proposals.

    One round: draft k tokens one at a time from the draft model; run the target once on the
    sequence plus the k drafts and read its probabilities at the last k + 1 positions; apply
    `accept_or_resample`; append the accepted drafts and the next token (1 to k + 1 new tokens
    for one target call). The last round's extra tokens are cut so exactly `max_new_tokens` are new.

    Args:
        target_fn: (1, T) int64 -> (1, T', V) logits whose last positions predict the tokens after
            the last T' inputs (T' < T is allowed, e.g. a model that crops to its block size).
        draft_fn: the same contract for the draft model.
        prompt: (1, T) int64.
        max_new_tokens: tokens to add, >= 1.
        k: drafted tokens per round.
        generator: a seeded torch.Generator.

    Returns:
        (ids (1, T + max_new_tokens) int64, accepted drafts, proposed drafts).

    Example: with draft_fn = target_fn every draft is accepted, so each round adds k + 1 tokens
    and accepted == proposed; the tokens are distributed as sampling from the target alone.
    """
    # TODO(w08.speculative): sample max_new_tokens tokens from the target with draft proposals
    raise NotImplementedError(
        "w08.speculative: write speculative_generate in exercises/week08_inference/speculative.py"
    )
