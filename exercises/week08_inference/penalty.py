"""Repetition penalty (Keskar et al. 2019, CTRL): make tokens already in the context less likely.

Check: `python tracker.py check w08.repetition_penalty`
"""

import torch


def apply_repetition_penalty(
    logits: torch.Tensor, input_ids: torch.Tensor, penalty: float
) -> torch.Tensor:
    """Penalise every token that occurs in `input_ids`, once per distinct token.

    A seen token's logit z becomes z / penalty if z > 0 and z * penalty if z < 0: with penalty > 1
    both move the logit down. (Dividing a negative logit would move it *up*.)
    Example: logits [[2., -2., 1.]], input_ids [[0, 1, 1]], penalty 2 -> [[1., -4., 1.]].

    Args:
        logits: (B, V) next-token logits.
        input_ids: (B, T) int64 tokens seen so far (prompt and generated).
        penalty: > 0; 1 is a no-op, > 1 discourages repeats.

    Returns:
        (B, V) new logits; `logits` itself is not modified.

    Built from scratch: the check switches off transformers' RepetitionPenaltyLogitsProcessor
    while it runs.
    """
    # TODO(w08.repetition_penalty): return logits in which every seen token is less likely
    raise NotImplementedError(
        "w08.repetition_penalty: write apply_repetition_penalty in exercises/week08_inference/penalty.py"
    )
