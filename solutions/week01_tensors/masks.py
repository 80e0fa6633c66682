"""Masks: who may attend to whom. Causal (no peeking at the future), padding, and the additive bias.

Convention: a boolean mask is True where attention is allowed. An additive bias is 0 where allowed
and -inf where blocked, so softmax gives blocked positions exactly zero weight.
Check: `python tracker.py check w01.masks`
"""

import torch


def causal_mask(T: int) -> torch.Tensor:
    """Lower-triangular (T, T) bool mask: position i may attend to j iff j <= i.

    Example (T=3):
        [[True, False, False],
         [True, True,  False],
         [True, True,  True ]]
    """
    # row i keeps columns 0..i: the diagonal is included because a token may see itself
    return torch.tril(torch.ones(T, T, dtype=torch.bool))


def padding_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) bool mask, True at real tokens of a right-padded batch.

    Args:
        lengths: (B,) int64, the number of real tokens in each row.
        T: the padded length.

    Example: lengths=[2, 3], T=4 -> [[True, True, False, False], [True, True, True, False]].
    """
    # compare a (1, T) position row with a (B, 1) length column: broadcasting builds (B, T)
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def attention_bias(
    lengths: torch.Tensor, T: int, causal: bool = True, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Additive attention bias for scores of shape (B, H, T, T): 0 where allowed, -inf where blocked.

    A query may attend to key j only if j is a real token (j < lengths[b]) and, when `causal`,
    j <= the query's position. Padded query rows still see the real keys before them, so no row
    is all -inf as long as every length is at least 1.

    Args:
        lengths: (B,) int64 real lengths, each >= 1.
        T: the padded length.
        causal: also block future keys.
        dtype: a floating dtype for the bias.

    Returns:
        (B, 1, T, T) tensor of `dtype`; the 1 broadcasts over heads.

    Example: lengths=[2], T=3, causal=True -> [[[[0, -inf, -inf],
                                                  [0,    0, -inf],
                                                  [0,    0, -inf]]]] (padded query 2 sees 0, 1).
    """
    allowed = padding_mask(lengths, T)[:, None, None, :]  # (B, 1, 1, T): keys that are real
    if causal:
        allowed = allowed & causal_mask(T).to(lengths.device)  # (B, 1, T, T)
    allowed = allowed.expand(-1, 1, T, T)
    bias = torch.zeros(allowed.shape, dtype=dtype, device=lengths.device)
    return bias.masked_fill(~allowed, float("-inf"))
