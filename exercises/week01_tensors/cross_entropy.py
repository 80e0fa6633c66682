"""Cross-entropy from logits: the language-modelling loss.

loss = mean over non-ignored positions of -log softmax(logits)[target].
Check: `python tracker.py check w01.cross_entropy`
"""

import torch

from .softmax import log_softmax


def cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100
) -> torch.Tensor:
    """Mean negative log-likelihood of `targets` under `logits`, skipping `ignore_index`.

    Args:
        logits: (..., V) unnormalised scores, e.g. (B, T, V).
        targets: (...) int64 class ids in [0, V) or `ignore_index`, e.g. (B, T).
        ignore_index: target value whose positions count neither in the sum nor in the mean.

    Returns:
        A scalar tensor: sum of -log p(target) over kept positions / number of kept positions.

    Example: logits [[0., 0.]] (two equally likely classes), targets [1] -> ln 2 = 0.6931;
    logits [[0., 0.], [0., 10.]], targets [1, -100] -> ln 2 too (the second row is ignored).

    Built from scratch: the check switches off F.cross_entropy, F.nll_loss and nn.CrossEntropyLoss
    while it runs (this week's log_softmax is yours to use).
    """
    # TODO(w01.cross_entropy): return the mean -log p(target) over kept positions, for any logits
    raise NotImplementedError(
        "w01.cross_entropy: write cross_entropy in exercises/week01_tensors/cross_entropy.py"
    )
