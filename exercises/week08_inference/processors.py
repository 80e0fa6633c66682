"""Logit processors: temperature, top-k, top-p (nucleus) and min-p, the knobs of every sampler.

Each takes next-token logits (B, V) and returns new logits (B, V); a filtered-out token gets -inf,
so softmax gives it probability exactly 0 (the convention of transformers' logits warpers).
Papers: top-k (Fan et al. 2018), top-p (Holtzman et al. 2019, "The Curious Case of Neural Text
Degeneration"), min-p (Nguyen et al. 2024).
Built from scratch: the checks switch off transformers' Temperature, TopK, TopP and MinP logits
warpers while they run.
Check: `python tracker.py check w08.processors`
"""

import torch


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Divide logits by `temperature` > 0: below 1 sharpens the distribution, above 1 flattens it.

    Example: logits [2., 0.] at temperature 0.5 -> [4., 0.]; at temperature 2 -> [1., 0.].
    Temperature 0 is not a division: samplers treat it as greedy argmax (see sampling.py).

    Args:
        logits: (B, V) unnormalised scores.
        temperature: a positive float.

    Returns:
        (B, V) scaled logits.

    Raises:
        ValueError: if temperature <= 0 (greedy is the sampler's job, not a division by 0).
    """
    # TODO(w08.processors): return the logits scaled by temperature, refusing temperature <= 0
    raise NotImplementedError(
        "w08.processors: write apply_temperature in exercises/week08_inference/processors.py"
    )


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits in each row, set the rest to -inf.

    Ties at the k-th value are all kept (so a row can keep more than k when values repeat).
    Example: logits [[1., 3., 2., 0.]], k=2 -> [[-inf, 3., 2., -inf]].

    Args:
        logits: (B, V) unnormalised scores.
        k: how many to keep, 1 <= k; k >= V keeps everything.

    Returns:
        (B, V) filtered logits.
    """
    # TODO(w08.processors): return logits with all but each row's k largest (ties kept) at -inf
    raise NotImplementedError(
        "w08.processors: write top_k_filter in exercises/week08_inference/processors.py"
    )


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of most likely tokens whose probability mass is >= p.

    Sort probabilities in descending order; a token stays if the mass of the tokens before it is
    still < p. So the token that crosses the threshold is kept, and the top token is always kept.
    Example: probabilities [0.5, 0.3, 0.15, 0.05], p=0.7 -> keep the first two (0.5 < 0.7, then
    0.5 + 0.3 = 0.8 >= 0.7); p=0.9 -> keep three.

    Args:
        logits: (B, V) unnormalised scores.
        p: the mass to cover, 0 < p <= 1.

    Returns:
        (B, V) filtered logits.
    """
    # TODO(w08.processors): return logits with every token outside the row's nucleus at -inf
    raise NotImplementedError(
        "w08.processors: write top_p_filter in exercises/week08_inference/processors.py"
    )


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Keep tokens whose probability is at least `min_p` times the top token's probability.

    The cut scales with the model's confidence: a peaked distribution keeps few tokens, a flat one
    many. Example: probabilities [0.6, 0.3, 0.07, 0.03], min_p=0.1 -> threshold 0.06, keep the
    first three.

    Args:
        logits: (B, V) unnormalised scores.
        min_p: a fraction in [0, 1].

    Returns:
        (B, V) filtered logits.
    """
    # TODO(w08.processors): return logits with tokens below min_p x the top probability at -inf
    raise NotImplementedError(
        "w08.processors: write min_p_filter in exercises/week08_inference/processors.py"
    )
