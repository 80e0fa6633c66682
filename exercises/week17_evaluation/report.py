"""Bootstrap confidence intervals for evaluation metrics, and a model card that reports them.

A benchmark score is a mean over a few hundred questions: its sampling error is often larger than
the gap between two models. The percentile bootstrap resamples the per-question scores with
replacement and reads the interval off the resampled means. Reference: Efron & Tibshirani 1993;
Mitchell et al. 2019 (model cards).
Check: `python tracker.py check w17.report`
"""

import numpy as np

REQUIRED = ("name", "data", "training", "metrics", "limitations")  # keys model_card needs


def bootstrap_ci(
    values, n_resamples: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): the mean of `values` and its percentile-bootstrap (1 - alpha) interval.

    Draw the n_resamples resamples of n = len(values) indices with replacement in one call,
    rng.integers(0, n, size=(n_resamples, n)) with rng = np.random.default_rng(seed) (rng.choice(n,
    size=...) draws the same), take each resample's mean, and return the alpha / 2 and
    1 - alpha / 2 quantiles (np.quantile, linear interpolation) of those means. Built from numpy
    draws: scipy.stats.bootstrap is off-limits in the check. The same seed gives the same interval.

    Args:
        values: (n,) per-item scores (0/1 accuracies, NLLs, ...), n >= 1.

    Example: 17 ones -> (1.0, 1.0, 1.0); [0, 1] with 4000 resamples -> (0.5, 0.0, 1.0) (the
    resample means are 0, 0.5 and 1 with probabilities 1/4, 1/2, 1/4); n_resamples=1 gives
    low == high, the one resample's mean.
    """
    # TODO(w17.report): return the mean and its percentile-bootstrap interval
    raise NotImplementedError(
        "w17.report: write bootstrap_ci in exercises/week17_evaluation/report.py"
    )


def model_card(meta: dict) -> str:
    """A Markdown model card from a run's metadata.

    meta keys: "name" (str), "data" (str), "training" (str), "metrics" (list of dicts with
    "name", "value", "low", "high", "n"), "limitations" (list of str); optional "description"
    (str) and "safety" (str). The card is, in this order:
      "# Model card: {name}", then the description if given;
      "## Training data" with meta["data"]; "## Training procedure" with meta["training"];
      "## Evaluation" with the table header "| metric | value | 95% CI | n |" and one row per
      metric: f"| {name} | {value:.4f} | [{low:.4f}, {high:.4f}] | {n} |";
      "## Safety" with meta["safety"] (or "Not evaluated." when absent);
      "## Limitations" with one "- {item}" line per limitation.

    Example: metrics [{"name": "acc", "value": 0.5, "low": 0.4, "high": 0.6, "n": 100}] give the
    row "| acc | 0.5000 | [0.4000, 0.6000] | 100 |".

    Raises:
        ValueError: naming the first missing key of REQUIRED (in that order): a meta without
            "data" and "limitations" names "data".
    """
    # TODO(w17.report): return the model card's Markdown, sections as listed above
    raise NotImplementedError(
        "w17.report: write model_card in exercises/week17_evaluation/report.py"
    )
