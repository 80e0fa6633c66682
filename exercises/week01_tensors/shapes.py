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
    # TODO(w01.shapes): return x cut into n_head heads of D channels, heads before time
    raise NotImplementedError("w01.shapes: write split_heads in exercises/week01_tensors/shapes.py")


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """Undo split_heads: (B, H, T, D) -> (B, T, C) with C = H * D.

    merge_heads(split_heads(x, H)) == x for every x and every H that divides C.
    Example: shape (2, 3, 5, 4) gives shape (2, 5, 12).
    """
    # TODO(w01.shapes): return the (B, T, C) tensor that split_heads made x from
    raise NotImplementedError("w01.shapes: write merge_heads in exercises/week01_tensors/shapes.py")


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
    # TODO(w01.shapes): add each position's row of pos to every sequence of the batch
    raise NotImplementedError(
        "w01.shapes: write add_positions in exercises/week01_tensors/shapes.py"
    )


def gather_last(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Pick each sequence's last real position from a right-padded batch.

    Args:
        x: (B, T, C) hidden states; row b is real up to lengths[b] - 1, padding after.
        lengths: (B,) int64, 1 <= lengths[b] <= T.

    Returns:
        (B, C) where out[b] = x[b, lengths[b] - 1].

    Example: x = arange(12).view(2, 3, 2), lengths=[1, 3] -> [[0, 1], [10, 11]].
    """
    # TODO(w01.shapes): return each row's hidden state at its last real position
    raise NotImplementedError("w01.shapes: write gather_last in exercises/week01_tensors/shapes.py")
