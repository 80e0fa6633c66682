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
    # subtract the max so exp never overflows; the result is unchanged
    shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


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
    # the torch forward pass, with reshape/transpose for split and merge heads
    B, T, C = x.shape
    D = C // n_head

    def project(name: str, inp: np.ndarray) -> np.ndarray:
        return inp @ params[f"{name}.weight"].T + params[f"{name}.bias"]

    def split(t: np.ndarray) -> np.ndarray:
        return t.reshape(B, T, n_head, D).transpose(0, 2, 1, 3)  # (B, H, T, D)

    q, k, v = (split(project(n, x)) for n in ("q_proj", "k_proj", "v_proj"))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(D)  # (B, H, T, T)
    if causal:
        future = np.triu(np.ones((T, T), dtype=bool), k=1)  # True above the diagonal
        scores = np.where(future, -np.inf, scores)
    weights = softmax_np(scores, axis=-1)
    y = (weights @ v).transpose(0, 2, 1, 3).reshape(B, T, C)  # merge heads
    return project("out_proj", y), weights
