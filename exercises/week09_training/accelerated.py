"""The week's training step through Hugging Face Accelerate, with gradient accumulation.

Accelerate (https://huggingface.co/docs/accelerate) lets one training loop run unchanged on a CPU,
one GPU, several GPUs or several machines: an `Accelerator` prepares the model, the optimizer and
the data loader for the hardware it finds (or is told to use), takes over `loss.backward()`, and
with `gradient_accumulation_steps` decides when the optimizer really steps. On one CPU process
nothing is wrapped that changes a number, so the losses must equal a plain loop's exactly: this
exercise proves it, and so shows what the library does for you (the division by k, when to step,
the last, shorter group of an epoch) instead of taking it on faith. Needs the hf extra
(`pip install -e ".[hf]"`).
Check: `python tracker.py check w09.accelerate`
"""

import torch
from accelerate import Accelerator


def train_accelerated(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: torch.utils.data.DataLoader,
    accumulation_steps: int = 1,
    epochs: int = 1,
) -> list[float]:
    """Train `model` with Accelerate on the CPU, one optimizer step per `accumulation_steps`
    micro-batches; return the loss of every micro-batch.

    Build an Accelerator for the CPU (even where a GPU exists) that accumulates over
    `accumulation_steps` micro-batches, prepare the model, the optimizer and the loader with it,
    and let it run the backward pass and decide when the optimizer steps. `model(x, y)` returns
    (logits, loss) (the week-05 GPT's convention) for each (x, y) the loader yields. The numbers
    are those of this plain loop (the check runs it beside yours; k = accumulation_steps):
        for each epoch:
            for i, (x, y) in enumerate(loader):
                _, loss = model(x, y)
                (loss / k).backward()
                if (i + 1) % k == 0 or i + 1 == len(loader):     the last, shorter group steps too
                    optimizer.step(); optimizer.zero_grad()
    Every micro-batch's loss is divided by k, also in the last group of an epoch, and the count
    of micro-batches starts again with each epoch. On one CPU process the prepared model is the
    model itself: it is trained in place.

    Args:
        model: returns (logits, loss) for model(x, y).
        optimizer: an optimizer over model's parameters (any torch.optim.Optimizer).
        loader: yields (x, y) micro-batches; shuffled or not, as the caller built it.
        accumulation_steps: k >= 1, micro-batches per optimizer step.
        epochs: passes over the loader.

    Example: a loader of 10 micro-batches, k=3, epochs=2: the optimizer steps after micro-batches
    3, 6, 9 and 10 of each epoch (8 steps), and 20 losses come back.

    Returns:
        the loss of every micro-batch in order (epochs * len(loader) floats), each the model's own
        loss, not divided by k.
    """
    # TODO(w09.accelerate): train through an Accelerator as described; return each batch's loss
    raise NotImplementedError(
        "w09.accelerate: write train_accelerated in exercises/week09_training/accelerated.py"
    )
