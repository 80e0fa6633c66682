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
    k = drafted.shape[0]
    for i in range(k):
        x = drafted[i]
        u = torch.rand((), generator=generator)
        # u < p/q written without the division, so q(x) = 0 never divides by zero
        if u * q[i, x] < p[i, x]:
            continue
        residual = (p[i] - q[i]).clamp(min=0)
        return i, int(torch.multinomial(residual / residual.sum(), 1, generator=generator))
    return k, int(torch.multinomial(p[k], 1, generator=generator))


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
    ids = prompt
    goal = prompt.shape[1] + max_new_tokens
    accepted = proposed = 0
    while ids.shape[1] < goal:
        draft_ids, q_rows = ids, []
        for _ in range(k):
            q_i = torch.softmax(draft_fn(draft_ids)[0, -1], dim=-1)  # (V,)
            token = torch.multinomial(q_i, 1, generator=generator)  # (1,)
            q_rows.append(q_i)
            draft_ids = torch.cat([draft_ids, token[None, :]], dim=1)
        drafted = draft_ids[0, ids.shape[1] :]  # (k,)
        # subtle: the logits at position T - 1 + i predict drafted[i]; the last one is the bonus
        p = torch.softmax(target_fn(draft_ids)[0, -(k + 1) :], dim=-1)  # (k + 1, V)
        n, next_token = accept_or_resample(p, torch.stack(q_rows), drafted, generator)
        accepted += n
        proposed += k
        new = torch.cat([drafted[:n], torch.tensor([next_token])])
        ids = torch.cat([ids, new[None, :]], dim=1)
    return ids[:, :goal], accepted, proposed
