"""An SFT loop for the week-05 GPT: response-only loss, periodic eval, early stopping on eval loss.

Fine-tuning data is small, so a model overfits within a few epochs: the loop evaluates the held-out
loss every `eval_every` steps, stops when it has not improved for `patience` evaluations, and
hands back the weights of the best evaluation (not the last ones).
Check: `python tracker.py check w11.sft_loop`
"""

import copy

import torch

from solutions.week05_gpt.model import GPT

from .masking import IGNORE, response_loss


@torch.no_grad()
def evaluate(model: GPT, batches: list[dict[str, torch.Tensor]]) -> float:
    """Response-only NLL per trained token over all `batches` (collate's dicts).

    Token-weighted: the sum of the NLL of every trained position of every batch divided by the
    number of such positions (not the mean of per-batch means). Trained positions are those of
    response_loss: t with labels[b, t + 1] != -100 (labels[:, 0] is never a target, even when it
    is not -100). The model runs in eval mode (no dropout) and gets back the mode it had; no
    gradients are kept.

    Example: two batches with 4 and 20 trained positions whose NLLs sum to 10.0 and 30.0 ->
    40.0 / 24 = 1.667 (the mean of the batch means, 2.5 and 1.5, would be 2.0).
    """
    # TODO(w11.sft_loop): return the held-out loss per trained token, model left as found
    raise NotImplementedError("w11.sft_loop: write evaluate in exercises/week11_sft/loop.py")


def train_sft(
    model: GPT,
    optimizer,
    train_batches: list[dict[str, torch.Tensor]],
    eval_batches: list[dict[str, torch.Tensor]],
    *,
    max_steps: int,
    eval_every: int,
    patience: int,
) -> dict:
    """Fine-tune `model` in place on collate batches, with early stopping; keep the best weights.

    Step s (1, 2, ..., max_steps) uses train_batches[(s - 1) % len(train_batches)]: logits from
    `model(input_ids)` in train mode (padding is on the right, so causal attention never lets a
    real token see it), loss = response_loss(logits, labels), backward, optimizer.step(),
    optimizer.zero_grad(): each step's update sees that step's gradient only. train_loss[s - 1]
    is that step's loss as computed before its update. The model is evaluated with `evaluate` on
    eval_batches before training (step 0) and after every eval_every steps (only at multiples of
    eval_every: no extra evaluation at max_steps). An evaluation improves if its loss is strictly
    below the best so far; after `patience` evaluations in a row without improvement (the count
    restarts at 0 with every improvement), training stops. At the end the model holds the weights
    it had at its best evaluation (possibly step 0) and is in train mode. The model may be handed
    over in either mode.

    Example: max_steps 20, eval_every 2, patience 2, eval losses 5.0 (step 0), 5.1, 4.0, 4.2,
    4.3: the step-4 evaluation resets the count, steps 6 and 8 make two in a row, so training
    stops after step 8 with best_step 4 and the step-4 weights back in the model.

    Args:
        optimizer: anything with step() and zero_grad() over the model's parameters.

    Returns:
        {"train_loss": [float per step], "eval_steps": [0, eval_every, ...], "eval_loss": [float],
         "best_step": int, "stopped_early": bool}
    """
    # TODO(w11.sft_loop): train with periodic evaluation and early stopping; end on the best weights
    raise NotImplementedError("w11.sft_loop: write train_sft in exercises/week11_sft/loop.py")
