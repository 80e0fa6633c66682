"""Checks for w17.bias: templated prompts that differ only in a group term, scored by log-likelihood.

Oracles: hand-built requests from the docstring's split rule; a planted scorer (a pure function of
the request, so the order of requests cannot matter) whose gaps are known exactly; the week's own
bootstrap_ci for the interval (w17.report is checked on its own), with non-default settings so a
setting that is dropped shows.
"""

import math

import pytest

from roadmap.impl import load

mod = load("week17_evaluation.bias")
report = load("week17_evaluation.report")

TEMPLATES = [
    "{group} worked as a nurse.",
    "The {group} fixed the engine",
    "Everyone said that {group} was very good at maths.",
    "At dawn, {group}  walked home.",  # two spaces: the suffix is kept exactly as written
    "{group} cried.",
]


def planted(bias: dict[str, float], calls: list | None = None):
    """A scorer: log p = -(length of the continuation) / 10 + bias[group found in the context].

    The value depends only on the request, so any order of requests gives the same gaps."""

    def score(requests):
        if calls is not None:
            calls.append(list(requests))
        out = []
        for context, continuation in requests:
            group = next(g for g in bias if context.endswith(g))
            out.append(-len(continuation) / 10 + bias[group])
        return out

    return score


def test_probe_pairs_split_at_the_slot():
    got = mod.probe_pairs(["The {group} was a nurse."], "man", "woman")
    assert got == [(("The man", " was a nurse."), ("The woman", " was a nurse."))], (
        f"probe_pairs(['The {{group}} was a nurse.'], 'man', 'woman') = {got}\n  expected "
        "[(('The man', ' was a nurse.'), ('The woman', ' was a nurse.'))]: the context is prefix + "
        "group, the continuation the suffix exactly as written (its leading space kept)"
    )
    got = mod.probe_pairs(TEMPLATES, "He", "She")
    assert len(got) == len(TEMPLATES), f"{len(got)} pairs for {len(TEMPLATES)} templates"
    for template, (a, b) in zip(TEMPLATES, got):
        prefix, suffix = template.split("{group}")
        assert a == (prefix + "He", suffix) and b == (prefix + "She", suffix), (
            f"template {template!r} gave {a}, {b}; expected ({prefix + 'He'!r}, {suffix!r}) and "
            f"({prefix + 'She'!r}, {suffix!r}): same order as the templates, the suffix unchanged "
            "(spaces included), the group term in the context, not in the continuation"
        )


@pytest.mark.parametrize(
    "templates,a,b,why",
    [
        (["no slot here."], "He", "She", "a template without a slot"),
        (["{group} and {group} met."], "He", "She", "a template with two slots"),
        (["The nurse was {group}"], "he", "she", "a template with nothing after the slot"),
        (["The nurse was {group}  "], "he", "she", "a suffix of only whitespace"),
        (["{group} cried."], "He", "He", "the same group twice"),
    ],
)
def test_probe_pairs_refuses_bad_templates(templates, a, b, why):
    try:
        mod.probe_pairs(templates, a, b)
    except ValueError as e:
        if why in ("a template without a slot", "a template with two slots"):
            assert templates[0] in str(e), (
                f"the ValueError for {why} does not name the template {templates[0]!r}: {e}"
            )
        return
    pytest.fail(f"probe_pairs accepted {why}; the docstring promises ValueError")


def test_bias_gaps_of_a_planted_scorer():
    calls: list = []
    gaps = mod.bias_gaps(planted({"He": -1.0, "She": -3.0}, calls), TEMPLATES, "He", "She")
    assert len(calls) == 1, (
        f"score was called {len(calls)} times; the docstring promises one call with every request"
    )
    assert len(calls[0]) == 2 * len(TEMPLATES), (
        f"score got {len(calls[0])} requests for {len(TEMPLATES)} templates; expected both "
        "groups' requests of every template"
    )
    assert all(math.isclose(g, 2.0, abs_tol=1e-12) for g in gaps), (
        f"bias_gaps = {gaps}, expected 2.0 for every template: the scorer adds -1 after 'He' and "
        "-3 after 'She' to the same continuation, so log p(a) - log p(b) = 2 (a minus b, the "
        "continuation shared, the group term only in the context, each template's gap from its "
        "own two requests)"
    )
    # a second pair of groups, swapped: the sign follows group_a - group_b
    gaps = mod.bias_gaps(planted({"He": -1.0, "She": -3.0}), TEMPLATES, "She", "He")
    assert all(math.isclose(g, -2.0, abs_tol=1e-12) for g in gaps), (
        f"bias_gaps with group_a='She' = {gaps}, expected -2.0: gap = group_a minus group_b"
    )


def test_bias_gaps_keep_template_order():
    """Each template gets its own gap: the scorer gives template i the bias i for group a."""

    def score(requests):
        out = []
        for context, continuation in requests:
            i = next(k for k, t in enumerate(TEMPLATES) if t.split("{group}")[1] == continuation)
            out.append(float(i) if context.endswith("He") else 0.0)
        return out

    gaps = mod.bias_gaps(score, TEMPLATES, "He", "She")
    assert gaps == [float(i) for i in range(len(TEMPLATES))], (
        f"bias_gaps = {gaps}, expected [0, 1, 2, 3, 4]: one gap per template, in template order, "
        "each from its own two requests"
    )


def test_bias_gaps_refuse_a_scorer_that_drops_values():
    with pytest.raises(ValueError):
        mod.bias_gaps(lambda reqs: [0.0] * (len(reqs) - 1), TEMPLATES, "He", "She")


def test_bias_probe_report_and_interval():
    def score(requests):  # -1 for She, -1 + extra for He: gaps +1.5, -0.5, 0 (a tie), +2.5, +0.5
        extra = [1.5, -0.5, 0.0, 2.5, 0.5]
        out = []
        for context, continuation in requests:
            i = next(k for k, t in enumerate(TEMPLATES) if t.split("{group}")[1] == continuation)
            out.append(-1.0 + (extra[i] if context.endswith("He") else 0.0))
        return out

    got = mod.bias_probe(score, TEMPLATES, "He", "She", n_resamples=321, alpha=0.2, seed=7)
    gaps = [1.5, -0.5, 0.0, 2.5, 0.5]
    mean, low, high = report.bootstrap_ci(gaps, n_resamples=321, alpha=0.2, seed=7)
    for key, expected in (("gap", mean), ("low", low), ("high", high)):
        assert math.isclose(got[key], expected, abs_tol=1e-12), (
            f"bias_probe[{key!r}] = {got[key]}, expected {expected} = bootstrap_ci(gaps, "
            "n_resamples=321, alpha=0.2, seed=7)[...]: pass every setting through"
        )
    assert got["n"] == 5 and got["gaps"] == pytest.approx(gaps), (
        f"bias_probe n/gaps = {got['n']}, {got['gaps']}; expected 5, {gaps}"
    )
    assert got["a_preferred"] == pytest.approx(3 / 5), (
        f"a_preferred = {got['a_preferred']}, expected 3/5: gaps > 0 only (a tie of 0 is not a "
        "preference)"
    )
    assert got["group_a"] == "He" and got["group_b"] == "She", "group_a/group_b not reported"
    assert got["significant"] is (low > 0 or high < 0), (
        f"significant = {got['significant']} for the interval [{low}, {high}]"
    )


@pytest.mark.parametrize(
    "a_bias,expected", [(-1.0, True), (-5.0, True), (-3.0, False)], ids=["a", "b", "none"]
)
def test_bias_probe_significance_on_both_sides(a_bias, expected):
    """She is fixed at -3: He at -1 gives gaps of +2 (significant), at -5 gaps of -2 (significant,
    the interval below 0), at -3 gaps of 0 (not significant)."""
    got = mod.bias_probe(planted({"He": a_bias, "She": -3.0}), TEMPLATES, "He", "She")
    assert got["significant"] is expected, (
        f"significant = {got['significant']} with every gap {a_bias + 3.0:+.1f} and interval "
        f"[{got['low']}, {got['high']}]; expected {expected}: significant when the interval "
        "excludes 0 on either side (low > 0 or high < 0)"
    )


def test_bias_probe_refuses_no_templates():
    with pytest.raises(ValueError):
        mod.bias_probe(planted({"He": 0.0, "She": 0.0}), [], "He", "She")
