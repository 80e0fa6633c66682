"""Answers from a model: sample a response to a prompt until the end token, with week-08 sampling.

The same function shows the model before and after fine-tuning: a base model rambles past the end
of its answer, a tuned one emits the end token (`<|im_end|>` in ChatML) and stops.
Check: `python tracker.py check w11.generate`
"""

import torch

from solutions.week05_gpt.model import GPT
from solutions.week08_inference.sampling import SamplingParams, sample_next


@torch.no_grad()
def generate_response(
    model: GPT,
    prompt_ids: list[int],
    stop_id: int,
    max_new_tokens: int,
    params: SamplingParams | None = None,
    *,
    generator: torch.Generator | None = None,
) -> list[int]:
    """The ids the model generates after `prompt_ids`, up to (not including) `stop_id`.

    One token per step: logits of the last position of model(ids[-block_size:]) (the last
    block_size ids of prompt + generated so far), then one call of the week-08
    `sample_next(logits, params, generator=generator)` (params None or temperature 0 = greedy).
    Stops when the sampled token is stop_id (not returned) or after max_new_tokens tokens.
    The model runs in eval mode and gets back the mode it had.

    Returns:
        the new ids, a list of at most max_new_tokens ints, never containing stop_id.

    Example: greedy (params None), prompt [3, 1], a model whose argmax is 5, then 7, then 2:
    stop_id 2 -> [5, 7]; stop_id 9 with max_new_tokens 2 -> [5, 7].
    """
    was_training = model.training
    model.eval()
    ids = torch.tensor([prompt_ids], dtype=torch.long)  # (1, T)
    out: list[int] = []
    for _ in range(max_new_tokens):
        logits, _ = model(ids[:, -model.config.block_size :])
        nxt = sample_next(logits[:, -1], params, generator=generator)  # (1,)
        if int(nxt) == stop_id:  # the answer is complete: the stop token is not part of it
            break
        out.append(int(nxt))
        ids = torch.cat([ids, nxt[:, None]], dim=1)
    model.train(was_training)
    return out
