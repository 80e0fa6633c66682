"""Log-probabilities of tokens and of whole responses under a causal language model.

Every alignment loss (PPO, DPO, GRPO) compares log pi(response | prompt) between models: the sum
over the response's tokens of log p(token | everything before it). The prompt's tokens are context,
never scored.
Check: `python tracker.py check w13.logprobs`
"""

import torch


def token_logprobs(logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    """The log-probability of each next token: out[b, t] = log softmax(logits[b, t])[input_ids[b, t + 1]].

    Position t's logits predict token t + 1, so the result is one shorter than the sequence.
    Stable for large logits (log_softmax, not log(softmax)).
    Example: logits zeros (1, 3, 4) (uniform over 4 tokens), any ids -> [[-ln 4, -ln 4]] =
    [[-1.3863, -1.3863]].

    Args:
        logits: (B, T, V) the model's logits for input_ids.
        input_ids: (B, T) int64 the tokens that were fed in.

    Returns:
        (B, T - 1) log-probabilities, each <= 0.
    """
    # TODO(w13.logprobs): return the log-prob given to each next token, finite for large logits.
    raise NotImplementedError(
        "w13.logprobs: write token_logprobs in exercises/week13_alignment/logprobs.py"
    )


def sequence_logprobs(
    logits: torch.Tensor,
    input_ids: torch.Tensor,
    response_mask: torch.Tensor,
    average: bool = False,
) -> torch.Tensor:
    """log pi(response | prompt) per row: token_logprobs summed over the response tokens.

    A token counts when its own mask entry is 1: token t + 1 is scored by logits[:, t] iff
    response_mask[:, t + 1] == 1. Prompt and padding tokens (mask 0) are left out, whatever their
    logits. With `average`, the sum is divided by the number of scored tokens of the row, at least
    1: a row without response tokens gives 0 both ways, never NaN.
    Example: input_ids [[p, p, r1, r2, pad]], mask [[0, 0, 1, 1, 0]] -> log p(r1 | p p) +
    log p(r2 | p p r1).

    Args:
        logits: (B, T, V) the model's logits for input_ids.
        input_ids: (B, T) int64 prompt + response (+ right padding).
        response_mask: (B, T) 1 at response tokens, 0 at prompt and padding.
        average: False for the sum (DPO), True for the per-token mean (IPO, length-normalised).

    Returns:
        (B,) float log-probabilities.
    """
    # TODO(w13.logprobs): return each row's log-prob of its response tokens alone.
    raise NotImplementedError(
        "w13.logprobs: write sequence_logprobs in exercises/week13_alignment/logprobs.py"
    )
