"""The sliding-window causal mask: each token sees itself and the W - 1 tokens before it.

Mistral limits attention to a window of W positions, so the KV cache never needs more than W
entries per layer and the cost per token stays constant; information from further back still
flows, one window per layer. With W >= T the mask is the plain causal mask.
Paper: Jiang et al. 2023, Mistral 7B, https://arxiv.org/abs/2310.06825 (and Longformer,
https://arxiv.org/abs/2004.05150)
Check: `python tracker.py check w07.sliding_window`
"""

import torch


def sliding_window_mask(T: int, window: int | None) -> torch.Tensor:
    """(T, T) bool mask, True where query i may attend to key j: j <= i and i - j < window.

    Args:
        T: sequence length.
        window: W, the number of keys a query sees, itself included; None means unlimited (causal).

    Example (T=4, window=2):
        [[True,  False, False, False],
         [True,  True,  False, False],
         [False, True,  True,  False],
         [False, False, True,  True ]]
    """
    # TODO(w07.sliding_window): let each query see itself and the window - 1 keys before it
    raise NotImplementedError(
        "w07.sliding_window: write sliding_window_mask in exercises/week07_architectures/masks.py"
    )
