"""Checks for w13.logprobs: per-token and per-response log-probabilities with a mask.

Oracle: F.cross_entropy on the shifted logits (support.logprob_oracle), and hand-sized cases.
"""

import math

import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

from .support import logprob_oracle

mod = load("week13_alignment.logprobs")

SHIFT = (
    "logits[:, t] predict input_ids[:, t + 1]: gather from logits[:, :-1] the ids input_ids[:, 1:]"
)


def test_token_logprobs_uniform_known_answer():
    """Zero logits over V = 4 -> every token has log-prob -ln 4; T = 3 gives 2 predictions."""
    got = mod.token_logprobs(torch.zeros(2, 3, 4), torch.tensor([[0, 1, 2], [3, 3, 3]]))
    assert_close(
        got,
        torch.full((2, 2), -math.log(4)),
        what="token_logprobs(zeros (2, 3, 4), ids (2, 3))",
        hint="the result is (B, T - 1): " + SHIFT,
    )


def test_token_logprobs_match_cross_entropy_even_for_huge_logits():
    g = generator(1)
    B, T, V = 3, 7, 11
    for scale in (1.0, 1000.0):
        logits = torch.randn(B, T, V, generator=g) * scale
        ids = torch.randint(0, V, (B, T), generator=g)
        expected = torch.stack(
            [
                logprob_oracle(logits, ids, (torch.arange(T) == t + 1).expand(B, T))
                for t in range(T - 1)
            ],
            dim=1,
        )
        assert_close(
            mod.token_logprobs(logits, ids),
            expected,
            what=f"token_logprobs(logits (3, 7, 11) * {scale}, ids)",
            hint=SHIFT + "; use log_softmax (log(softmax) gives -inf for logits near 1000)",
            atol=1e-3,
            rtol=1e-5,
        )


def test_sequence_logprobs_score_only_the_response():
    """Rows with prompts of 2 and 4 tokens, responses of 3 and 2, right padding."""
    g = generator(2)
    B, T, V = 2, 7, 9
    logits = torch.randn(B, T, V, generator=g) * 2
    ids = torch.randint(0, V, (B, T), generator=g)
    mask = torch.tensor([[0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1, 0]])
    got = mod.sequence_logprobs(logits, ids, mask)
    assert_close(
        got,
        logprob_oracle(logits, ids, mask),
        what="sequence_logprobs(logits (2, 7, 9), ids, mask with response tokens 2-4 and 4-5)",
        hint="token t + 1 counts iff response_mask[:, t + 1] == 1 (shift the mask with the ids); "
        "prompt and padding tokens are context, never scored",
        atol=1e-5,
    )


def test_prompt_and_padding_logits_do_not_matter():
    g = generator(3)
    B, T, V = 3, 8, 6
    logits = torch.randn(B, T, V, generator=g)
    ids = torch.randint(0, V, (B, T), generator=g)
    mask = torch.tensor(
        [[0, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 1, 0]]
    )
    # logits[:, t] matter only when token t + 1 is scored
    used = torch.zeros(B, T, dtype=torch.bool)
    used[:, :-1] = mask[:, 1:].bool()
    noisy = torch.where(used[..., None], logits, logits + 50 * torch.randn(B, T, V, generator=g))
    a = mod.sequence_logprobs(logits, ids, mask)
    b = mod.sequence_logprobs(noisy, ids, mask)
    assert_close(
        b,
        a,
        what="sequence_logprobs with the logits of prompt / padding positions changed",
        hint="including prompt tokens: only positions predicting a response token count",
        atol=1e-5,
    )


def test_average_divides_by_the_number_of_response_tokens():
    g = generator(4)
    logits = torch.randn(2, 6, 5, generator=g)
    ids = torch.randint(0, 5, (2, 6), generator=g)
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [0, 1, 1, 0, 0, 0]])
    got = mod.sequence_logprobs(logits, ids, mask, average=True)
    expected = logprob_oracle(logits, ids, mask) / torch.tensor([4.0, 2.0], dtype=torch.float64)
    assert_close(
        got,
        expected,
        what="sequence_logprobs(..., average=True) with 4 and 2 response tokens",
        hint="average=True divides each row's sum by ITS number of response tokens",
        atol=1e-5,
    )
    total = mod.sequence_logprobs(logits, ids, mask)
    assert_close(
        total, logprob_oracle(logits, ids, mask), what="sequence_logprobs (sum)", atol=1e-5
    )


def test_gradient_reaches_only_the_scoring_positions():
    g = generator(5)
    logits = torch.randn(1, 6, 7, generator=g).requires_grad_()
    ids = torch.randint(0, 7, (1, 6), generator=g)
    mask = torch.tensor([[0, 0, 0, 1, 1, 0]])
    mod.sequence_logprobs(logits, ids, mask).sum().backward()
    assert logits.grad is not None, "sequence_logprobs: no gradient reached the logits"
    per_position = logits.grad.abs().sum(-1)[0]
    nonzero = (per_position > 0).nonzero().flatten().tolist()
    assert nonzero == [2, 3], (
        f"sequence_logprobs with response tokens at 3 and 4: gradient reached logits positions "
        f"{nonzero}, expected [2, 3]\n  likely cause: {SHIFT}"
    )


def test_a_row_without_response_tokens_gives_zero_both_ways():
    """The edge of "divided by the number of scored tokens, at least 1": a row whose mask is all 0
    scores 0 summed and 0 averaged (not NaN); the row beside it keeps its own value."""
    g = generator(6)
    logits = torch.randn(2, 5, 7, generator=g)
    ids = torch.randint(0, 7, (2, 5), generator=g)
    mask = torch.tensor([[0, 0, 0, 0, 0], [0, 0, 1, 1, 1]])
    expected = logprob_oracle(logits, ids, mask)
    for average, divisor in ((False, 1.0), (True, 3.0)):
        got = mod.sequence_logprobs(logits, ids, mask, average=average)
        assert_close(
            got,
            torch.stack([torch.tensor(0.0, dtype=torch.float64), expected[1] / divisor]),
            what=f"sequence_logprobs(average={average}) with a row of no response tokens",
            hint="a row without response tokens sums to 0; average divides by its count clamped "
            "to at least 1 (0 / 0 would be NaN)",
            atol=1e-5,
        )
