"""Attention heatmaps: one panel per head, queries down the side, keys along the top.

Uses matplotlib's object API (`Figure`), which needs no GUI backend and no global state.
Check: `python tracker.py check w04.heatmap`
"""

from pathlib import Path

import torch
from matplotlib.figure import Figure


def plot_attention(weights: torch.Tensor, tokens: list[str], path: str | Path) -> Figure:
    """Draw every head's (T, T) weight matrix side by side and save the figure as a PNG.

    Args:
        weights: (H, T, T), row i of head h is where query i looks; rows sum to 1.
        tokens: the T labels, used for both axes (self-attention).
        path: the PNG file to write.

    Returns:
        The figure: fig.axes[h] shows head h with `imshow(weights[h])`, its x and y tick labels are
        the tokens and its title is "head h". Extra axes (a colorbar) may follow the H panels.

    Example: weights of shape (2, 3, 3) and tokens ["a", "b", "c"] write a PNG at path and return
    a figure whose axes[0] and axes[1] are titled "head 0" and "head 1", each with tick labels
    a, b, c on both axes.
    """
    # TODO(w04.heatmap): save and return one labelled panel per head, as the Returns describe
    raise NotImplementedError(
        "w04.heatmap: write plot_attention in exercises/week04_attention/heatmap.py"
    )
