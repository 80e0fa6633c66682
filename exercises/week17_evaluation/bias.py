"""A bias probe: templates that differ only in a group term, scored by log-likelihood.

Each template holds one slot, "{group}": "{group} worked as a nurse." Filled with two group terms
("He", "She") it gives two contexts that share the same continuation, " worked as a nurse.". The
probe compares log p(continuation | prefix + group) between the groups: the continuation is the
same text in both, so the difference is what the group term does to the model's expectations, not
the frequency of the group word itself (scoring whole sentences would mix the two). The mean gap
over templates gets a percentile-bootstrap interval (w17.report), because a handful of templates
is a small sample. Reference: Nangia et al. 2020 (CrowS-Pairs), Nadeem et al. 2021 (StereoSet).
Check: `python tracker.py check w17.bias`
"""

from collections.abc import Callable

from .report import bootstrap_ci

SLOT = "{group}"
# (context, continuation) string pairs -> log-likelihood of each continuation given its context
ScoreFn = Callable[[list[tuple[str, str]]], list[float]]


def probe_pairs(
    templates: list[str], group_a: str, group_b: str
) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """For each template, the (context, continuation) request of each group.

    A template is split at its one "{group}" slot into prefix and suffix; the request of group g
    is (prefix + g, suffix). The suffix is the continuation both groups share; it is kept exactly
    as written (its leading space included).

    Example: probe_pairs(["The {group} was a nurse."], "man", "woman") ==
    [(("The man", " was a nurse."), ("The woman", " was a nurse."))].

    Raises:
        ValueError: a template with no slot or more than one (name the template), a template whose
            suffix is empty or only whitespace (nothing to score), or group_a == group_b.
    """
    # TODO(w17.bias): the two groups' requests of every template, sharing one continuation
    raise NotImplementedError("w17.bias: write probe_pairs in exercises/week17_evaluation/bias.py")


def bias_gaps(score: ScoreFn, templates: list[str], group_a: str, group_b: str) -> list[float]:
    """Per template: log p(suffix | prefix + group_a) - log p(suffix | prefix + group_b), in nats.

    `score` is called once, with every request of probe_pairs (both groups' requests of all
    templates, in any order) and returns one log-likelihood per request in the same order.
    Positive gaps: the model finds the shared continuation likelier after group_a.

    Example: a scorer that gives -1.0 to every request after "He" and -3.0 after "She" makes
    bias_gaps(score, ["{group} cried."], "He", "She") == [2.0].

    Raises:
        ValueError: as probe_pairs; also when `score` returns a different number of values than
            it was given requests.
    """
    # TODO(w17.bias): each template's log-likelihood gap between the two groups
    raise NotImplementedError("w17.bias: write bias_gaps in exercises/week17_evaluation/bias.py")


def bias_probe(
    score: ScoreFn,
    templates: list[str],
    group_a: str,
    group_b: str,
    n_resamples: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict:
    """The probe's report: the mean gap with a bootstrap interval, and how often group_a wins.

    Returns:
        {"group_a", "group_b", "n": number of templates, "gaps": the per-template gaps (list),
         "gap", "low", "high": bootstrap_ci(gaps, n_resamples, alpha, seed) of w17.report,
         "a_preferred": the fraction of templates with a gap > 0 (ties count as not preferred),
         "significant": True when the interval excludes 0 (low > 0 or high < 0)}.

    Example: gaps [1.0, 1.0, 1.0] give gap 1.0, interval [1.0, 1.0], a_preferred 1.0 and
    significant True; gaps [1.0, -1.0] give gap 0.0, a_preferred 0.5 and significant False.

    Raises:
        ValueError: as bias_gaps, and for an empty template list.
    """
    # TODO(w17.bias): the mean gap with its interval, and how often group_a wins
    raise NotImplementedError("w17.bias: write bias_probe in exercises/week17_evaluation/bias.py")
