"""Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5).

PE[t, 2i] = sin(t / base^(2i / C)) and PE[t, 2i + 1] = cos(t / base^(2i / C)): each pair of channels
is a clock turning at its own speed, from one radian per step (i = 0) down to about 1 / base.
Nothing is learned, and PE[t + k] is a fixed rotation of PE[t] for every t.
Check: `python tracker.py check w03.sinusoidal`
"""

import torch


def sinusoidal_positions(T: int, C: int, base: float = 10000.0) -> torch.Tensor:
    """The (T, C) float32 table of sinusoidal encodings for positions 0..T-1.

    Args:
        T: number of positions.
        C: channels, even.
        base: the longest wavelength is about 2 pi base.

    Returns:
        (T, C) with sin in even channels and cos in odd channels.

    Raises:
        ValueError: C is odd.

    Example: row 0 is [0, 1, 0, 1, ...]; PE[1, 0] = sin(1), PE[1, 1] = cos(1). With C=4 and
    base 10000, row 1 is [sin 1, cos 1, sin 0.01, cos 0.01].
    """
    # TODO(w03.sinusoidal): return the sin/cos encodings of positions 0..T-1
    raise NotImplementedError(
        "w03.sinusoidal: write sinusoidal_positions in exercises/week03_embeddings/positional.py"
    )
