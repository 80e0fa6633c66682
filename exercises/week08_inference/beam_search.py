"""Beam search with length normalisation over any next-token model.

Keep the `num_beams` best partial sequences by total log-probability; extend each by every token,
keep the best again. A hypothesis that emits EOS is finished and scored by
sum of log-probs / (generated length ** length_penalty), the convention of transformers'
`generate(num_beams=...)`: without normalisation short hypotheses win simply because every extra
token adds a negative log-probability.
Reference: Wu et al. 2016 (GNMT), section 7, for length normalisation.
Check: `python tracker.py check w08.beam_search`
"""

from collections.abc import Callable

import torch


def beam_search(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    prompt: torch.Tensor,
    *,
    num_beams: int,
    max_new_tokens: int,
    length_penalty: float = 1.0,
    eos_token_id: int | None = None,
) -> list[tuple[list[int], float]]:
    """The `num_beams` best continuations of `prompt`, best first, as (new tokens, score).

    Each step: log-probs of all N alive beams (N, V) plus their running sums give N * V
    candidates; walk them from best to worst. A candidate ending in EOS (only if it ranks among
    the first `num_beams`) becomes a finished hypothesis; the others refill the alive beams until
    there are `num_beams`. Stop early once `num_beams` hypotheses have finished (transformers'
    early_stopping=True). After `max_new_tokens` steps the alive beams are finished too. Score = sum of the generated tokens'
    log-probs (EOS included) / len(new tokens) ** length_penalty.

    Example: num_beams=1 is greedy decoding. With length_penalty=1, a finished hypothesis
    [5, EOS] whose tokens had log-probs -0.5 and -0.3 scores (-0.5 - 0.3) / 2 = -0.4.

    Args:
        logits_fn: (N, T) int64 sequences -> (N, V) logits of the next token of each.
        prompt: (T,) int64 prompt, T >= 1.
        num_beams: beams kept per step, >= 1.
        max_new_tokens: at most this many new tokens per hypothesis, >= 1.
        length_penalty: exponent of the length in the normaliser; 0 turns normalisation off.
        eos_token_id: the token that finishes a hypothesis, or None.

    Returns:
        at most `num_beams` pairs (new token ids, normalised score), sorted by score, best first.
    """
    # TODO(w08.beam_search): return the num_beams best length-normalised hypotheses described above
    raise NotImplementedError(
        "w08.beam_search: write beam_search in exercises/week08_inference/beam_search.py"
    )
