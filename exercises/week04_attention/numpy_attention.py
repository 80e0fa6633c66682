"""Multi-head causal self-attention in pure NumPy: every matrix product written out, no autograd.

The same computation as the torch version, so the two can be compared number by number.
Check: `python tracker.py check w04.numpy`
"""

import numpy as np


def softmax_np(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along `axis`; -inf entries get weight exactly 0.

    Example: softmax_np(np.array([0.0, np.log(3.0)])) -> [0.25, 0.75];
    softmax_np(np.array([1000.0, 1000.0, -np.inf])) -> [0.5, 0.5, 0.0].
    """
    # TODO(w04.numpy): return a softmax along axis that stays finite for inputs of any size
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
        out (B, T, C) and weights (B, H, T, T), equal to torch's multi-head attention with the
        same weights (q/k/v/out projections, D = C / H, scores scaled by 1/sqrt(D)).

    Example: with every weight and bias 0, out is 0 and, with causal=True, weight row t is
    uniform over keys 0..t: 1 / (t + 1) each.
    """
    # TODO(w04.numpy): return what the torch MultiHeadAttention gives, in NumPy alone
    raise NotImplementedError(
        "w04.numpy: write attention_np in exercises/week04_attention/numpy_attention.py"
    )
