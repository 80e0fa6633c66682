"""Checks for w08.repetition_penalty: the CTRL repetition penalty.

Oracle: transformers' RepetitionPenaltyLogitsProcessor on the same inputs (switched off while your
code runs).
"""

from functools import partial

import pytest
import torch
from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week08_inference.penalty")

SIGN = (
    "the sign decides: a positive logit is divided by the penalty, a negative one is multiplied "
    "by it; dividing a negative logit moves it towards 0, which makes the token MORE likely"
)


penalise = partial(
    from_scratch,
    mod.apply_repetition_penalty,
    forbid=("transformers.generation.logits_process.RepetitionPenaltyLogitsProcessor.__call__",),
    exercise="w08.repetition_penalty",
    instead="gather the seen tokens' scores, divide the positive, multiply the negative, scatter back",
)


def test_known_answer_both_signs_and_a_repeat():
    """logits [2, -2, 1], seen tokens [0, 1, 1], penalty 2.

    Token 0 (logit 2 > 0) -> 2 / 2 = 1. Token 1 (logit -2 < 0) -> -2 * 2 = -4, once, although it
    was seen twice. Token 2 was not seen -> 1 unchanged.
    """
    got = penalise(torch.tensor([[2.0, -2.0, 1.0]]), torch.tensor([[0, 1, 1]]), 2.0)
    assert_close(
        got,
        torch.tensor([[1.0, -4.0, 1.0]]),
        what="apply_repetition_penalty([[2, -2, 1]], input_ids [[0, 1, 1]], 2.0)",
        hint=SIGN + "; a token seen twice is still penalised once (gather, then scatter)",
    )


def test_penalty_always_lowers_seen_tokens():
    logits = -torch.rand(2, 9, generator=generator(3)) - 0.5  # all negative
    before = logits.clone()
    ids = torch.tensor([[0, 4, 8], [2, 2, 5]])
    got = penalise(logits, ids, 1.5)
    assert torch.equal(logits, before), (
        "apply_repetition_penalty changed its input logits in place; likely cause: scatter_ "
        "(in place) instead of scatter: `logits` itself is not modified"
    )
    seen = torch.zeros(2, 9, dtype=torch.bool).scatter(1, ids, True)
    assert (got[seen] < logits[seen]).all(), (
        "apply_repetition_penalty(all-negative logits, penalty 1.5): seen tokens must get LOWER "
        f"logits, got {got[seen].tolist()} from {logits[seen].tolist()}\n  likely cause: {SIGN}; "
        "each row uses its own input_ids (gather/scatter along dim 1)"
    )
    assert torch.equal(got[~seen], logits[~seen]), "tokens not in input_ids must keep their logits"


@pytest.mark.parametrize("penalty", [1.0, 1.3, 0.8, 2.5])
def test_matches_transformers(penalty):
    g = generator(int(penalty * 10))
    B, T, V = 4, 13, 31
    logits = torch.randn(B, V, generator=g) * 3
    ids = torch.randint(0, V, (B, T), generator=g)  # with repeats
    expected = RepetitionPenaltyLogitsProcessor(penalty=penalty)(ids, logits.clone())
    got = penalise(logits, ids, penalty)
    assert_close(
        got,
        expected,
        what=f"apply_repetition_penalty(logits (4, 31), input_ids (4, 13), {penalty})",
        hint=SIGN + "; each row uses its own input_ids (gather/scatter along dim 1)",
    )


def test_does_not_modify_the_input():
    logits = torch.randn(2, 7, generator=generator(5))
    before = logits.clone()
    penalise(logits, torch.tensor([[1, 2], [3, 3]]), 1.7)
    assert torch.equal(logits, before), (
        "apply_repetition_penalty changed its input in place; use scatter, not scatter_"
    )
