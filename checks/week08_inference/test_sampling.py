"""Checks for w08.sampling: greedy, and sampling with a seeded generator after the processors.

Oracles: argmax by hand; the processed distribution computed with transformers' warpers; sample
frequencies compared with it by a chi-square test at false-alarm rate 1e-4 (support.py).
"""

import pytest
import torch
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from checks.week08_inference.support import chi_square_check
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week08_inference.sampling")
Params = mod.SamplingParams  # given in the exercise file, so both trees have it

N = 20_000  # draws per distribution test: one batched call of (N, V) identical rows


def test_greedy_known_answer():
    logits = torch.tensor([[0.1, 2.0, -1.0], [5.0, 4.0, 4.5]])
    got = mod.greedy(logits)
    assert_close(
        got, torch.tensor([1, 0]), what="greedy([[0.1, 2, -1], [5, 4, 4.5]])", hint="argmax(-1)"
    )
    assert got.dtype == torch.int64, f"greedy must return int64 token ids, got {got.dtype}"


def test_temperature_zero_is_greedy_and_tiny_temperature_tends_to_it():
    """T = 0 is argmax by definition; T = 1e-3 scales gaps of >= 0.1 to >= 100 nats: all argmax."""
    logits = torch.tensor([[0.0, 1.0, 0.5, 0.9], [3.0, -1.0, 2.9, 0.0]])
    expected = torch.tensor([1, 0])
    got = mod.sample_next(logits, Params(temperature=0.0), generator=generator(0))
    assert_close(
        got,
        expected,
        what="sample_next(logits, SamplingParams(temperature=0))",
        hint="temperature 0 means greedy argmax, not a division by 0",
    )
    default = mod.sample_next(logits, generator=generator(0))
    assert_close(
        default,
        expected,
        what="sample_next(logits) with params left at None",
        hint="params None means SamplingParams(), whose temperature 0 is greedy",
    )
    many = mod.sample_next(logits.repeat(500, 1), Params(temperature=1e-3), generator=generator(1))
    assert torch.equal(many, expected.repeat(500)), (
        "sample_next(SamplingParams(temperature=1e-3)) drew a token that is not the argmax: as temperature -> 0 "
        "sampling must become greedy. Divide the logits by the temperature, do not multiply; "
        "softmax over each row's vocabulary (dim=-1) and draw from it"
    )


def test_same_seed_same_tokens_different_seed_different_tokens():
    logits = torch.zeros(64, 10)
    plain = Params(temperature=1.0)
    a = mod.sample_next(logits, plain, generator=generator(7))
    b = mod.sample_next(logits, plain, generator=generator(7))
    c = mod.sample_next(logits, plain, generator=generator(8))
    assert torch.equal(a, b), (
        "sample_next with two generators seeded 7 gave different tokens: pass `generator=` to torch.multinomial"
    )
    assert not torch.equal(a, c), (
        "sample_next with seeds 7 and 8 gave the same 64 tokens: is the generator used at all?"
    )
    assert a.shape == (64,) and a.dtype == torch.int64, (
        f"sample_next(logits (64, 10)) must return (64,) int64, got {tuple(a.shape)} {a.dtype}"
    )


def test_top_k_never_samples_outside_the_k_best():
    logits = torch.randn(1, 13, generator=generator(11))
    best = set(logits[0].topk(4).indices.tolist())
    got = mod.sample_next(
        logits.expand(N, -1), Params(temperature=1.5, top_k=4), generator=generator(12)
    )
    outside = sorted(set(got.tolist()) - best)
    assert not outside, (
        f"sample_next(top_k=4) over {N} draws sampled tokens {outside} outside the 4 best {sorted(best)}\n"
        "  likely cause: filtered logits must be -inf (0 still has probability), or the filter ran on "
        "the wrong dimension"
    )


def processed(logits, temperature=1.0, top_k=None, top_p=None, min_p=None):
    """The distribution sample_next should draw from, built with transformers' warpers."""
    x = TemperatureLogitsWarper(temperature)(None, logits.clone())
    if top_k is not None:
        x = TopKLogitsWarper(top_k)(None, x)
    if top_p is not None:
        x = TopPLogitsWarper(top_p)(None, x)
    if min_p is not None:
        x = MinPLogitsWarper(min_p)(None, x)
    return torch.softmax(x, -1)[0]


@pytest.mark.parametrize(
    "settings",
    [
        dict(temperature=1.0),
        dict(temperature=0.6, top_k=5),
        dict(temperature=1.0, top_p=0.8),
        dict(temperature=1.4, min_p=0.15),
        dict(temperature=1.2, top_k=7, top_p=0.9),
        dict(temperature=2.5, top_p=0.7),
    ],
    ids=[
        "plain",
        "temp0.6-top5",
        "top_p0.8",
        "temp1.4-min_p0.15",
        "temp1.2-top7-top_p0.9",
        "temp2.5-top_p0.7",
    ],
)
def test_sample_frequencies_match_the_processed_distribution(settings):
    """Chi-square goodness of fit over 20,000 draws, false-alarm rate 1e-4 (see support.py).

    Order matters: temperature first, then top-k, top-p, min-p, as in transformers. At
    temperature 2.5 the distribution is flatter, so top-p 0.7 keeps more tokens than it would on
    the raw logits: a sampler that filters before dividing draws from the wrong set.
    """
    logits = torch.randn(1, 11, generator=generator(len(settings) * 31)) * 1.5
    expected = processed(logits, **settings)
    got = mod.sample_next(logits.expand(N, -1), Params(**settings), generator=generator(99))
    counts = torch.bincount(got, minlength=11)
    chi_square_check(
        counts,
        expected,
        what=f"sample_next(logits (1, 11) x {N}, {settings})",
        hint="apply temperature, then top_k, top_p, min_p on the logits, softmax once, and draw "
        "with torch.multinomial(probs, 1, generator=generator)",
    )


def test_greedy_takes_the_first_maximum_on_ties():
    """The docstring: the first one on ties. Row [1, 3, 3, 0] -> 1; row [2, 2, 2, 2] -> 0."""
    got = mod.greedy(torch.tensor([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]]))
    assert got.tolist() == [1, 0], (
        f"greedy on tied rows: expected [1, 0], got {got.tolist()}; likely cause: on ties take "
        "the first maximum (argmax(-1) does), not the last"
    )
