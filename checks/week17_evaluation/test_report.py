"""Checks for w17.report: bootstrap confidence intervals and the model card.

Oracles: coverage of the true mean in >= 90 % of 200 seeded simulated samples (expected about 94 %
for the percentile bootstrap at n = 60; at 94 % the chance of falling under 90 % is about 1 %, and
the draws are seeded, so the check is deterministic) and a mean width in (0.21, 0.25) over those
200 samples (normal theory 2 * 1.96 * sqrt(0.21 / 60) = 0.232, the reference measured 0.225, a
90 % interval gives 0.19; the mean of 200 widths varies by ~0.002 between draw methods);
hand-derived intervals for degenerate data;
the card's sections and table rows from the docstring.
"""

import numpy as np
import pytest

from roadmap.checking import from_scratch
from roadmap.impl import load

mod = load("week17_evaluation.report")


def test_bootstrap_known_answers_for_degenerate_data():
    """All ones: every resample mean is 1 -> (1, 1, 1). [0, 1] with 4000 resamples: resample means
    are 0, 0.5, 1 with probability 1/4, 1/2, 1/4, so the 2.5 % and 97.5 % quantiles are 0 and 1."""
    got = mod.bootstrap_ci(np.ones(17), n_resamples=200, seed=1)
    assert tuple(got) == (1.0, 1.0, 1.0), (
        f"bootstrap_ci(17 ones) = {got}, expected (1.0, 1.0, 1.0)\n  likely cause: return "
        "(mean of the values, low quantile, high quantile) of the resample means"
    )
    mean, low, high = mod.bootstrap_ci([0.0, 1.0], n_resamples=4000, seed=2)
    assert (mean, low, high) == (0.5, 0.0, 1.0), (
        f"bootstrap_ci([0, 1], 4000 resamples) = {(mean, low, high)}, expected (0.5, 0.0, 1.0)\n"
        "  likely cause: resample len(values) items WITH replacement; quantiles alpha/2 and 1 - "
        "alpha/2 of the resample means"
    )


def test_bootstrap_uses_the_stated_draws_and_linear_quantiles():
    """The docstring fixes the draws: idx = default_rng(seed).integers(0, n, size=(n_resamples, n))
    (rng.choice(n, ...) draws the same), then np.quantile with linear interpolation. n = 23
    values, 37 resamples, alpha 0.1, seed 4: the interval equals that recipe's to 1e-12; with
    n_resamples = 1 both quantiles are the one resample's mean."""
    x = np.random.default_rng(99).normal(size=23)
    idx = np.random.default_rng(4).integers(0, 23, size=(37, 23))
    low, high = np.quantile(x[idx].mean(axis=1), [0.05, 0.95])
    got = mod.bootstrap_ci(x, n_resamples=37, alpha=0.1, seed=4)

    def interval(n_resamples=37, method="linear", q=(0.05, 0.95)):
        draws = np.random.default_rng(4).integers(0, 23, size=(n_resamples, 23))
        return (x.mean(), *np.quantile(x[draws].mean(axis=1), q, method=method))

    causes = {
        "use the n_resamples given (not a fixed 1000)": [interval(1000)],
        "read np.quantile with linear interpolation (the default method)": [
            interval(method=m) for m in ("lower", "higher", "nearest", "midpoint")
        ],
        "the quantiles are alpha / 2 and 1 - alpha / 2": [interval(q=(0.1, 0.9))],
    }
    cause = next(
        (c for c, alts in causes.items() if any(np.allclose(got, a, atol=1e-12) for a in alts)),
        "resample n items with replacement: rng.integers(0, n, size=(n_resamples, n)) from "
        "np.random.default_rng(seed); read np.quantile (linear interpolation) at alpha / 2 and "
        "1 - alpha / 2",
    )
    assert np.allclose(got, (x.mean(), low, high), atol=1e-12, rtol=0), (
        f"bootstrap_ci(23 values, n_resamples=37, alpha=0.1, seed=4) = {got}, expected "
        f"{(x.mean(), low, high)}\n  likely cause: {cause}"
    )
    mean, low, high = mod.bootstrap_ci(x, n_resamples=1, seed=4)
    assert low == high, (
        f"bootstrap_ci(x, n_resamples=1) = {(mean, low, high)}: with one resample both quantiles "
        "are its mean\n  likely cause: draw exactly n_resamples resamples"
    )


def test_bootstrap_covers_the_true_mean_at_least_90_percent():
    rng = np.random.default_rng(17)
    covered = 0
    widths = []
    for trial in range(200):
        x = (rng.random(60) < 0.3).astype(float)  # true mean 0.3
        mean, low, high = mod.bootstrap_ci(x, n_resamples=400, seed=trial)
        assert low <= mean <= high, (
            f"bootstrap_ci(trial {trial}) = {(mean, low, high)}: the mean must lie in its interval"
        )
        covered += low <= 0.3 <= high
        widths.append(high - low)
    assert covered >= 180, (
        f"bootstrap_ci 95 % intervals covered the true mean 0.3 in {covered} of 200 samples of "
        "n=60, expected >= 180\n  likely cause: quantiles at alpha / 2 and 1 - alpha / 2 of the "
        "means of resamples of the SAME size n, drawn with replacement"
    )
    assert 0.21 < np.mean(widths) < 0.25, (
        f"bootstrap_ci 95 % intervals: mean width {np.mean(widths):.3f} for n=60, p=0.3; expected "
        "about 2 * 1.96 * sqrt(0.21 / 60) = 0.23 (a 90 % interval would be 0.19)\n  likely cause: "
        "quantiles at alpha / 2 and 1 - alpha / 2; resample n items, not fewer or more"
    )


def test_bootstrap_is_seeded_alpha_sets_the_width_and_scipy_is_off_limits():
    x = np.random.default_rng(3).normal(size=41)
    # the learner's first: forbidding scipy's bootstrap imports scipy.stats (~1 s)
    b = mod.bootstrap_ci(x, seed=5)
    a = from_scratch(
        mod.bootstrap_ci,
        x,
        seed=5,
        forbid=["scipy.stats.bootstrap"],
        exercise="w17.report",
        instead="numpy draws and np.quantile",
    )
    c = mod.bootstrap_ci(x, seed=6)
    assert a == b and a[1:] != c[1:], (
        f"bootstrap_ci(seed=5) twice = {a}, {b}; seed 6 = {c}: the same seed must give the same "
        "interval and another seed another\n  likely cause: draw from np.random.default_rng(seed)"
    )
    assert abs(a[0] - x.mean()) < 1e-12, f"bootstrap_ci mean {a[0]} != values' mean {x.mean()}"
    wide = mod.bootstrap_ci(x, seed=5, alpha=0.05)
    narrow = mod.bootstrap_ci(x, seed=5, alpha=0.5)
    assert narrow[2] - narrow[1] < 0.6 * (wide[2] - wide[1]), (
        f"bootstrap_ci alpha=0.5 gave width {narrow[2] - narrow[1]:.3f}, alpha=0.05 "
        f"{wide[2] - wide[1]:.3f}: a 50 % interval must be much narrower\n  likely cause: "
        "quantiles alpha / 2 and 1 - alpha / 2"
    )


META = {
    "name": "tiny-gpt",
    "description": "A 2-layer GPT for the course.",
    "data": "WikiText-2 train, 2M tokens.",
    "training": "300 steps of AdamW, lr 3e-4.",
    "metrics": [
        {"name": "arc_easy acc", "value": 0.3125, "low": 0.25, "high": 0.375, "n": 200},
        {"name": "wikitext2 ppl", "value": 123.456789, "low": 120.0, "high": 127.5, "n": 5000},
    ],
    "safety": "Refused 2 of 11 harmful prompts.",
    "limitations": ["English only.", "Tiny: not for real use."],
}


def test_model_card_has_every_section_in_order_and_the_metric_rows():
    card = mod.model_card(META)
    sections = [
        "# Model card: tiny-gpt",
        "## Training data",
        "## Training procedure",
        "## Evaluation",
        "## Safety",
        "## Limitations",
    ]
    at = [card.find(s) for s in sections]
    assert all(i >= 0 for i in at) and at == sorted(at), (
        f"model_card(meta): sections at {dict(zip(sections, at))} (-1 = missing), expected all, "
        f"in this order:\n{card}"
    )
    for text in [
        "A 2-layer GPT for the course.",
        "WikiText-2 train, 2M tokens.",
        "300 steps of AdamW, lr 3e-4.",
        "| metric | value | 95% CI | n |",
        "| arc_easy acc | 0.3125 | [0.2500, 0.3750] | 200 |",
        "| wikitext2 ppl | 123.4568 | [120.0000, 127.5000] | 5000 |",
        "Refused 2 of 11 harmful prompts.",
        "- English only.",
        "- Tiny: not for real use.",
    ]:
        assert text in card, (
            f"model_card(meta) lacks {text!r}\n  likely cause: the docstring's exact row format "
            f"(4 decimals, '[low, high]'), one '- item' per limitation. Card:\n{card}"
        )


def test_model_card_defaults_and_missing_keys():
    meta = {k: v for k, v in META.items() if k not in ("safety", "description")}
    card = mod.model_card(meta)
    assert "Not evaluated." in card.split("## Safety", 1)[-1], (
        f"model_card without 'safety' should say 'Not evaluated.' under ## Safety:\n{card}"
    )
    for key in ("name", "metrics", "limitations"):
        broken = {k: v for k, v in META.items() if k != key}
        with pytest.raises(ValueError, match=key):
            mod.model_card(broken)
    broken = {k: v for k, v in META.items() if k not in ("data", "limitations")}
    error = None
    try:
        mod.model_card(broken)
    except ValueError as raised:
        error = raised
    assert error is not None and "data" in str(error), (
        f"model_card(meta without 'data' and 'limitations') raised {error!r}; it must raise "
        "ValueError naming 'data', the first missing key in REQUIRED's order\n  likely cause: "
        "check the keys in the order of REQUIRED"
    )
