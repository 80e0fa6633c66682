"""Multi-head causal self-attention in pure NumPy: every matrix product written out, no autograd.

The same computation as the torch version, so the two can be compared number by number.
Check: `python tracker.py check w04.numpy`
"""

import numpy as np


def softmax_np(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along `axis`; -inf entries get weight exactly 0.

    Example: softmax_np(np.array([0.0, np.log(3.0)])) -> [0.25, 0.75].
    """
    # TODO(w04.numpy): subtract the max along axis (keepdims), exponentiate, divide by the sum.
    raise NotImplementedError(
        "w04.numpy: write softmax_np in exercises/week04_attention/numpy_attention.py"
    )


def attention_np(
    x: np.ndarray, params: dict[str, np.ndarray], n_head: int, causal: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-head self-attention of x with the weights in `params`.

    Args:
        x: (B, T, C) float64.
        params: "q_proj.weight", "k_proj.weight", "v_proj.weight", "out_proj.weight" (C, C) laid out
            like nn.Linear (out, in), so a projection is x @ W.T + b; and the matching ".bias" (C,).
        n_head: H, dividing C.
        causal: position t attends to 0..t only.

    Returns:
        out (B, T, C) and weights (B, H, T, T).
    """
    # TODO(w04.numpy): the torch forward pass with NumPy: project, reshape/transpose into heads, masked scaled scores, softmax_np, merge, out_proj.
    raise NotImplementedError(
        "w04.numpy: write attention_np in exercises/week04_attention/numpy_attention.py"
    )
