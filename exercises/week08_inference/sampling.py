"""Choosing the next token: greedy argmax, or sampling from processed logits with a seeded generator.

One `SamplingParams` carries the knobs (temperature, top-k, top-p, min-p) through every loop that
samples: this week's generate functions, week 11's answers, week 15's engine, week 18's server.
Check: `python tracker.py check w08.sampling`
"""

from dataclasses import dataclass

import torch

from .processors import apply_temperature, min_p_filter, top_k_filter, top_p_filter


@dataclass(frozen=True)
class SamplingParams:
    """How to pick the next token. The default, SamplingParams(), is greedy.

    temperature == 0 means greedy (the limit of temperature -> 0) and the filters are then unused.
    A filter left at None is off. Out-of-range values raise ValueError when the object is built.

    Example: SamplingParams(temperature=0.8, top_p=0.95) samples from the smallest set of tokens
    holding 95% of the probability after dividing the logits by 0.8.
    """

    temperature: float = 0.0  # >= 0; 0 = greedy
    top_k: int | None = None  # keep the k most likely tokens, k >= 1
    top_p: float | None = None  # nucleus: 0 < top_p <= 1
    min_p: float | None = None  # keep tokens with p >= min_p * p_max, 0 <= min_p <= 1

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be >= 1 or None, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1] or None, got {self.top_p}")
        if self.min_p is not None and not 0 <= self.min_p <= 1:
            raise ValueError(f"min_p must be in [0, 1] or None, got {self.min_p}")


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """The most likely token of each row: (B, V) -> (B,) int64 (the first one on ties).

    Example: [[1., 3., 3.], [0., -1., -2.]] -> [1, 0].
    """
    # TODO(w08.sampling): return each row's most likely token
    raise NotImplementedError(
        "w08.sampling: write greedy in exercises/week08_inference/sampling.py"
    )


def sample_next(
    logits: torch.Tensor,
    params: SamplingParams | None = None,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample one token per row after temperature, top-k, top-p and min-p, in that order.

    params.temperature == 0 (the default SamplingParams()) means greedy: the argmax, no draw.
    Otherwise: divide by the temperature, apply each filter that is not None, softmax, and one
    torch.multinomial draw per row with `generator`. Same generator seed and same logits -> same
    tokens.

    Args:
        logits: (B, V) next-token logits.
        params: the sampling settings; None means SamplingParams() (greedy).
        generator: a seeded torch.Generator for reproducible draws (None: the global RNG).

    Returns:
        (B,) int64 sampled token ids.

    Example: params None or SamplingParams() gives greedy(logits); SamplingParams(temperature=
    1.0, top_k=1) gives the same tokens whatever the seed.
    """
    # TODO(w08.sampling): return one token per row, greedy or sampled as params say
    raise NotImplementedError(
        "w08.sampling: write sample_next in exercises/week08_inference/sampling.py"
    )
