"""An SFT loop for the week-05 GPT: response-only loss, periodic eval, early stopping on eval loss.

Fine-tuning data is small, so a model overfits within a few epochs: the loop evaluates the held-out
loss every `eval_every` steps, stops when it has not improved for `patience` evaluations, and
hands back the weights of the best evaluation (not the last ones).
Check: `pytest checks/week11_sft/test_loop.py`
"""

import copy

import torch

from solutions.week05_gpt.model import GPT

from .masking import IGNORE, response_loss


@torch.no_grad()
def evaluate(model: GPT, batches: list[dict[str, torch.Tensor]]) -> float:
    """Response-only NLL per trained token over all `batches` (collate's dicts).

    Token-weighted: the sum of the NLL of every trained position of every batch divided by the
    number of such positions (not the mean of per-batch means). The model runs in eval mode and
    gets back the mode it had; no gradients are kept.
    """
    # TODO(w11.sft_loop): token-weighted response-only NLL over all batches, in eval mode, no grad
    raise NotImplementedError("w11.sft_loop: evaluate")


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
    `model(input_ids)` (padding is on the right, so causal attention never lets a real token see
    it), loss = response_loss(logits, labels), backward, optimizer.step(), optimizer.zero_grad().
    train_loss[s - 1] is that step's loss as computed before its update. The model is evaluated
    with `evaluate` on eval_batches before training (step 0) and after every eval_every steps.
    An evaluation improves if its loss is strictly below the best so far; after `patience`
    evaluations in a row without improvement, training stops. At the end the model holds the
    weights it had at its best evaluation (possibly step 0) and is in train mode.

    Args:
        optimizer: anything with step() and zero_grad() over the model's parameters.

    Returns:
        {"train_loss": [float per step], "eval_steps": [0, eval_every, ...], "eval_loss": [float],
         "best_step": int, "stopped_early": bool}
    """
    # TODO(w11.sft_loop): the loop: step, record, evaluate every eval_every, early stop, restore the best
    raise NotImplementedError("w11.sft_loop: train_sft")
