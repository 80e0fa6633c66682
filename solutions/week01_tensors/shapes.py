"""Shape drills: the (B, T, C) conventions every later week uses.

B batch, T time (sequence length), C channels (n_embd), H heads, D head dim = C // H.
Check: `python tracker.py check w01.shapes`
"""

import torch


def split_heads(x: torch.Tensor, n_head: int) -> torch.Tensor:
    """Split the channel dimension into heads: (B, T, C) -> (B, H, T, D) with D = C // H.

    Head h owns channels h*D .. (h+1)*D - 1, so out[b, h, t, :] == x[b, t, h*D:(h+1)*D].

    Example: x of shape (2, 5, 12) and n_head=3 gives shape (2, 3, 5, 4).
    """
    B, T, C = x.shape
    # view as (B, T, H, D) first, so each head keeps its own contiguous channels, then swap T and H
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)  # (B, H, T, D)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """Undo split_heads: (B, H, T, D) -> (B, T, C) with C = H * D.

    merge_heads(split_heads(x, H)) == x for every x and every H that divides C.
    Example: shape (2, 3, 5, 4) gives shape (2, 5, 12).
    """
    B, H, T, D = x.shape
    # subtle: transpose makes the tensor non-contiguous, so .view would fail; .reshape copies
    return x.transpose(1, 2).reshape(B, T, H * D)  # (B, T, C)


def add_positions(tok: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Add a position table to a batch of token embeddings by broadcasting.

    Args:
        tok: (B, T, C) token embeddings.
        pos: (T_max, C) one row per position, T_max >= T.

    Returns:
        (B, T, C) where out[b, t] = tok[b, t] + pos[t].

    Example: tok of zeros (2, 3, 4) and pos = arange(32.).view(8, 4) give out[b] = pos[:3] for
    both b.
    """
    T = tok.shape[1]
    # (T, C) broadcasts against (B, T, C) from the right: every batch row gets the same positions
    return tok + pos[:T]


def gather_last(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Pick each sequence's last real position from a right-padded batch.

    Args:
        x: (B, T, C) hidden states; row b is real up to lengths[b] - 1, padding after.
        lengths: (B,) int64, 1 <= lengths[b] <= T.

    Returns:
        (B, C) where out[b] = x[b, lengths[b] - 1].

    Example: x = arange(12).view(2, 3, 2), lengths=[1, 3] -> [[0, 1], [10, 11]].
    """
    B = x.shape[0]
    # advanced indexing pairs the two index tensors element by element: (0, L0-1), (1, L1-1), ...
    return x[torch.arange(B, device=x.device), lengths - 1]  # (B, C)
