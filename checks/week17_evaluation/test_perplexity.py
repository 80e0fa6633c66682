"""Checks for w17.perplexity: sliding-window NLL and perplexity.

Oracles: the full-context cross-entropy (torch.nn.functional.cross_entropy) when one window covers
the text; known answers on a fake model whose prediction depends only on the context length
(support.counting_logits_fn), derived by hand in each docstring; a per-token loop over hand-listed
windows on a tiny week-05 GPT.
"""

import math

import torch
import torch.nn.functional as F

from checks.week17_evaluation.support import counting_logits_fn, nll_of_zero, tiny_gpt
from roadmap.checking import generator
from roadmap.impl import load

mod = load("week17_evaluation.perplexity")


def gpt_fn(model):
    return lambda x: model(x)[0]


def test_a_window_that_covers_the_text_gives_the_full_context_nll():
    """N = 13 tokens, max_length 16 >= N: one window; NLL = cross_entropy(logits[:-1], ids[1:])."""
    model = tiny_gpt(1)
    ids = torch.randint(0, 29, (13,), generator=generator(2))
    with torch.no_grad():
        expected = F.cross_entropy(model(ids[None])[0][0, :-1], ids[1:], reduction="sum").item()
    for stride in (1, 5, 15):
        total, count = mod.sliding_window_nll(gpt_fn(model), ids, max_length=16, stride=stride)
        assert count == 12, (
            f"sliding_window_nll(N=13, max_length=16, stride={stride}) scored {count} tokens, "
            "expected 12 (every token but the first)\n  likely cause: the first token has no "
            "context and is never scored; a window reaching the end of the text is the last one"
        )
        assert math.isclose(total, expected, rel_tol=1e-5, abs_tol=1e-4), (
            f"sliding_window_nll(N=13, max_length=16, stride={stride}) = {total:.6f}, expected the "
            f"full-context NLL {expected:.6f}\n  likely cause: token t is predicted by the logits "
            "at position t - 1 (shift by one), summed in nats"
        )


def test_known_answer_stride_smaller_than_the_window():
    """N = 10, max_length = 6, stride = 4 on the counting model (all ids 0, V = 3).

    Window [0, 6) scores t = 1..5 with 1..5 tokens of context; window [4, 10) scores only its new
    tokens t = 6..9, whose contexts are tokens 4..t-1: 2, 3, 4, 5 tokens. With f(c) = log(e^c + 2)
    - c: total = f(1) + ... + f(5) + f(2) + ... + f(5), count 9.
    """
    ids = torch.zeros(10, dtype=torch.long)
    expected = sum(nll_of_zero(c) for c in range(1, 6)) + sum(nll_of_zero(c) for c in range(2, 6))
    total, count = mod.sliding_window_nll(counting_logits_fn(), ids, max_length=6, stride=4)
    assert count == 9, (
        f"sliding_window_nll(N=10, max_length=6, stride=4) scored {count} tokens, expected 9\n"
        "  likely cause: a window scores only its NEW tokens (from the previous window's end); "
        "scoring the whole window double-counts the overlap"
    )
    assert math.isclose(total, expected, rel_tol=1e-6), (
        f"sliding_window_nll(N=10, max_length=6, stride=4) = {total:.6f}, expected {expected:.6f}\n"
        "  likely cause: the second window's tokens 6..9 keep tokens 4.. as context; score the "
        "context tokens of a window only once, in the window that added them"
    )


def test_known_answer_stride_one():
    """N = 6, max_length = 3, stride = 1: windows [0, 3) scores t = 1, 2 (contexts 1, 2), then
    [1, 4), [2, 5), [3, 6) each score one new token with 2 tokens of context: f(1) + 4 f(2)."""
    ids = torch.zeros(6, dtype=torch.long)
    calls = []
    total, count = mod.sliding_window_nll(
        counting_logits_fn(calls=calls), ids, max_length=3, stride=1
    )
    expected = nll_of_zero(1) + 4 * nll_of_zero(2)
    assert count == 5 and math.isclose(total, expected, rel_tol=1e-6), (
        f"sliding_window_nll(N=6, max_length=3, stride=1) = ({total:.6f}, {count}), expected "
        f"({expected:.6f}, 5)\n  likely cause: each window scores only the tokens after the "
        "previous window's end"
    )
    assert calls == [(1, 3)] * 4, (
        f"sliding_window_nll(N=6, max_length=3, stride=1) called the model with shapes {calls}, "
        "expected four (1, 3) windows starting at 0, 1, 2, 3\n  likely cause: windows start at "
        "multiples of stride and the loop stops after the window that reaches the end"
    )


def test_tiny_gpt_matches_a_per_token_hand_computation():
    """N = 13, max_length = 8, stride = 3 on a tiny GPT. Windows [0, 8), [3, 11), [6, 13) score
    t = 1..7, 8..10, 11..12; token t's context is ids[b:t] with b = 0, 3, 6 respectively."""
    model = tiny_gpt(3, block_size=8)
    ids = torch.randint(0, 29, (13,), generator=generator(4))
    starts = {t: 0 for t in range(1, 8)} | {t: 3 for t in range(8, 11)} | {11: 6, 12: 6}
    expected = 0.0
    with torch.no_grad():
        for t, b in starts.items():
            logits = model(ids[None, b:t])[0][0, -1]
            expected -= F.log_softmax(logits, -1)[ids[t]].item()
    total, count = mod.sliding_window_nll(gpt_fn(model), ids, max_length=8, stride=3)
    assert count == 12 and math.isclose(total, expected, rel_tol=1e-5), (
        f"sliding_window_nll(tiny GPT, N=13, max_length=8, stride=3) = ({total:.5f}, {count}), "
        f"expected ({expected:.5f}, 12)\n  likely cause: window b starts at b = 0, 3, 6 and scores "
        "only tokens from the previous window's end; each keeps its window as context"
    )


def test_perplexity_is_exp_of_the_mean_nll():
    """perplexity = exp(total / count) of the N = 10, max_length 6, stride 4 case above."""
    ids = torch.zeros(10, dtype=torch.long)
    nll = sum(nll_of_zero(c) for c in range(1, 6)) + sum(nll_of_zero(c) for c in range(2, 6))
    expected = math.exp(nll / 9)
    got = mod.perplexity(counting_logits_fn(), ids, max_length=6, stride=4)
    assert isinstance(got, float) and math.isclose(got, expected, rel_tol=1e-6), (
        f"perplexity(N=10, max_length=6, stride=4) = {got!r}, expected exp(mean NLL) = "
        f"{expected:.6f}\n  likely cause: exp of the MEAN NLL per scored token (not the sum, not "
        "base 2)"
    )


def test_windows_never_exceed_max_length_and_bad_strides_raise():
    calls = []
    ids = torch.zeros(50, dtype=torch.long)
    _, count = mod.sliding_window_nll(counting_logits_fn(calls=calls), ids, 7, 5)
    assert count == 49 and all(s[0] == 1 and s[1] <= 7 for s in calls), (
        f"sliding_window_nll(N=50, max_length=7, stride=5) called the model with {calls} and "
        f"scored {count} tokens; expected (1, T <= 7) windows and 49 tokens\n  likely cause: a "
        "window is ids[begin:begin + max_length], cut at N"
    )
    for stride in (0, 7, 9):
        what = f"sliding_window_nll(N=50, max_length=7, stride={stride})"
        hint = "the docstring asks for a ValueError unless 1 <= stride < max_length"
        try:
            mod.sliding_window_nll(counting_logits_fn(), ids, 7, stride)
        except ValueError:
            continue
        except Exception as e:  # any other error is the wrong one
            raise AssertionError(
                f"{what} raised {type(e).__name__}: {e}\n  likely cause: {hint}"
            ) from e
        raise AssertionError(f"{what} returned normally\n  likely cause: {hint}")
