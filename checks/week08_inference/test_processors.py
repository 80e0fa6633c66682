"""Checks for w08.processors: temperature, top-k, top-p (nucleus) and min-p.

Oracles: hand-worked distributions, and transformers' TemperatureLogitsWarper, TopKLogitsWarper,
TopPLogitsWarper and MinPLogitsWarper on the same logits (switched off while your code runs).
"""

import math
from functools import partial

import pytest
import torch
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week08_inference.processors")

LIBRARY = tuple(
    f"transformers.generation.logits_process.{cls}.__call__"
    for cls in (
        "TemperatureLogitsWarper",
        "TopKLogitsWarper",
        "TopPLogitsWarper",
        "MinPLogitsWarper",
    )
)
INF = float("inf")

CROSSING = (
    "sort descending, then: the token whose probability crosses the threshold must stay: drop a token only if the mass "
    "of the tokens *before* it (exclusive cumulative sum) is already >= p"
)


run = partial(
    from_scratch,
    forbid=LIBRARY,
    exercise="w08.processors",
    instead="sort, cumsum, topk and masked_fill with -inf",
)


def log_probs(*probs: float) -> torch.Tensor:
    """Logits whose softmax is exactly `probs` (they sum to 1): log p."""
    return torch.tensor([[math.log(p) for p in probs]])


def test_temperature_known_answer():
    """[2, 0] / 0.5 = [4, 0] (sharper); [2, 0] / 2 = [1, 0] (flatter)."""
    x = torch.tensor([[2.0, 0.0]])
    assert_close(
        run(mod.apply_temperature, x, 0.5),
        torch.tensor([[4.0, 0.0]]),
        what="apply_temperature([[2, 0]], 0.5)",
        hint="divide by the temperature, do not multiply",
    )
    assert_close(
        run(mod.apply_temperature, x, 2.0),
        torch.tensor([[1.0, 0.0]]),
        what="apply_temperature([[2, 0]], 2.0)",
        hint="divide by the temperature, do not multiply",
    )


def test_temperature_zero_is_refused():
    """Temperature 0 is greedy decoding, handled by the sampler; dividing by 0 gives inf/NaN."""
    with pytest.raises(ValueError):
        run(mod.apply_temperature, torch.zeros(1, 3), 0.0)


def test_temperature_matches_transformers():
    x = torch.randn(4, 17, generator=generator(1)) * 3
    for t in (0.3, 1.0, 1.7):
        assert_close(
            run(mod.apply_temperature, x, t),
            TemperatureLogitsWarper(t)(None, x),
            what=f"apply_temperature(x (4, 17), {t})",
        )


def test_top_k_known_answer():
    """[1, 3, 2, 0] with k=2 keeps the two largest, 3 and 2."""
    got = run(mod.top_k_filter, torch.tensor([[1.0, 3.0, 2.0, 0.0]]), 2)
    assert_close(
        got,
        torch.tensor([[-INF, 3.0, 2.0, -INF]]),
        what="top_k_filter([[1, 3, 2, 0]], k=2)",
        hint="keep values >= the k-th largest; removed entries must be -inf (not 0: a logit of 0 still has probability)",
    )


@pytest.mark.parametrize("k", [1, 4, 18, 19, 40])
def test_top_k_matches_transformers(k):
    x = torch.randn(5, 19, generator=generator(k)) * 2
    expected = TopKLogitsWarper(top_k=k)(None, x.clone())
    try:
        got = run(mod.top_k_filter, x, k)
    except NotImplementedError:
        raise  # a stub: reported as todo
    except RuntimeError as error:
        raise AssertionError(
            f"top_k_filter(x (5, 19), k={k}) raised {error}; likely cause: k >= V keeps "
            "everything: clamp k to V before topk"
        ) from error
    assert_close(
        got,
        expected,
        what=f"top_k_filter(x (5, 19), k={k})",
        hint="k >= V keeps everything (clamp k to V); compare against the k-th largest of each row, not of the whole batch",
    )
    kept = torch.isfinite(got).sum(-1)
    assert (kept == min(k, 19)).all(), (
        f"top_k_filter(k={k}) kept {kept.tolist()} tokens per row, expected {min(k, 19)}"
    )


@pytest.mark.parametrize(
    "p,n_kept",
    [(0.7, 2), (0.9, 3), (0.3, 1), (0.97, 4), (1.0, 4)],
)
def test_top_p_known_answer_keeps_the_crossing_token(p, n_kept):
    """Probabilities [0.5, 0.3, 0.15, 0.05] and cumulative mass [0.5, 0.8, 0.95, 1.0].

    p=0.7: 0.5 < 0.7, so the second token is needed; 0.8 >= 0.7 is enough -> 2 tokens.
    p=0.9 -> 3 (0.95), p=0.3 -> 1 (the top token alone covers it), p=0.97 and p=1.0 -> all 4.
    """
    x = log_probs(0.5, 0.3, 0.15, 0.05)
    got = run(mod.top_p_filter, x, p)
    expected = x.clone()
    expected[0, n_kept:] = -INF
    assert_close(
        got, expected, what=f"top_p_filter(log [0.5, 0.3, 0.15, 0.05], p={p})", hint=CROSSING
    )


def test_top_p_works_on_unsorted_rows():
    """The same probabilities shuffled: [0.15, 0.5, 0.05, 0.3] with p=0.7 keeps 0.5 and 0.3."""
    x = log_probs(0.15, 0.5, 0.05, 0.3)
    got = run(mod.top_p_filter, x, 0.7)
    expected = torch.tensor([[-INF, math.log(0.5), -INF, math.log(0.3)]])
    assert_close(
        got,
        expected,
        what="top_p_filter(log [0.15, 0.5, 0.05, 0.3], p=0.7)",
        hint="sort descending to decide, then map the decision back to vocabulary order (scatter with the sort indices)",
    )


@pytest.mark.parametrize("p", [0.05, 0.5, 0.8, 0.95])
def test_top_p_matches_transformers_and_is_the_smallest_set(p):
    x = torch.randn(6, 29, generator=generator(int(100 * p))) * 2
    expected = TopPLogitsWarper(top_p=p)(None, x.clone())
    got = run(mod.top_p_filter, x, p)
    assert_close(got, expected, what=f"top_p_filter(x (6, 29), p={p})", hint=CROSSING)
    probs = torch.softmax(x, -1)
    kept = torch.isfinite(got)
    mass = (probs * kept).sum(-1)
    assert (mass >= p - 1e-6).all(), f"top_p_filter(p={p}) kept mass {mass.tolist()}, must be >= p"
    smallest_kept = probs.masked_fill(~kept, INF).amin(-1)
    assert (mass - smallest_kept < p).all(), (
        f"top_p_filter(p={p}) kept more than the smallest set: without its least likely kept token "
        f"a row still has mass >= p ({(mass - smallest_kept).tolist()})"
    )


def test_min_p_known_answer():
    """Probabilities [0.6, 0.3, 0.07, 0.03], min_p=0.1: threshold 0.1 * 0.6 = 0.06, keep three."""
    x = log_probs(0.6, 0.3, 0.07, 0.03)
    got = run(mod.min_p_filter, x, 0.1)
    expected = x.clone()
    expected[0, 3] = -INF
    assert_close(
        got,
        expected,
        what="min_p_filter(log [0.6, 0.3, 0.07, 0.03], min_p=0.1)",
        hint="the threshold is min_p times the *largest* probability of the row, not min_p itself; compare probabilities, not logits",
    )


@pytest.mark.parametrize("min_p", [0.0, 0.05, 0.3, 1.0])
def test_min_p_matches_transformers(min_p):
    x = torch.randn(5, 23, generator=generator(int(100 * min_p) + 1)) * 2
    expected = MinPLogitsWarper(min_p=min_p)(None, x.clone())
    assert_close(
        run(mod.min_p_filter, x, min_p),
        expected,
        what=f"min_p_filter(x (5, 23), min_p={min_p})",
        hint="threshold per row: min_p * probs.amax(-1, keepdim=True)",
    )


def test_filters_do_not_modify_their_input():
    x = torch.randn(3, 11, generator=generator(8))
    before = x.clone()
    for fn, arg in (
        (mod.top_k_filter, 3),
        (mod.top_p_filter, 0.6),
        (mod.min_p_filter, 0.2),
        (mod.apply_temperature, 0.7),
    ):
        run(fn, x, arg)
        assert torch.equal(x, before), (
            f"{fn.__name__} changed its input logits in place; use masked_fill (not masked_fill_) so callers keep their logits"
        )


def test_top_k_keeps_every_tie_at_the_kth_value():
    """[3, 2, 2, 2, 0] with k=2: the k-th largest is 2, shared by three tokens; all three stay
    (the docstring: ties at the k-th value are all kept), so the row keeps 4 tokens."""
    got = run(mod.top_k_filter, torch.tensor([[3.0, 2.0, 2.0, 2.0, 0.0]]), 2)
    assert_close(
        got,
        torch.tensor([[3.0, 2.0, 2.0, 2.0, -INF]]),
        what="top_k_filter([[3, 2, 2, 2, 0]], k=2)",
        hint="ties at the k-th value are all kept: remove only logits strictly below the k-th "
        "largest value (not everything outside topk's k indices)",
    )


def test_top_p_drops_the_token_after_mass_exactly_p():
    """Four equal logits: probabilities exactly 0.25, mass before each token 0, 0.25, 0.5, 0.75.
    p=0.5: the third token's mass before it is exactly p, so it goes: 2 tokens stay (like
    transformers). p=0.75 keeps 3."""
    for p, n in ((0.5, 2), (0.75, 3)):
        got = run(mod.top_p_filter, torch.zeros(2, 4), p)
        kept = torch.isfinite(got).sum(-1).tolist()
        assert kept == [n, n], (
            f"top_p_filter(4 equal logits, p={p}) kept {kept} tokens per row, expected {n}; likely "
            "cause: when the mass before a token is exactly p, p is already covered: drop it "
            "(mass_before >= p, not > p)"
        )
