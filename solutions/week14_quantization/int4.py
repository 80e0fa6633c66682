"""Week 14: 4-bit group quantisation, two values packed in each byte.

Sixteen levels are too few for one scale per row: a group of 32 (or 64, 128) consecutive weights of
a row shares a scale, which costs 16 bits per group (0.5 bit per weight at group 32) and keeps the
error local. Each value is stored as an unsigned nibble (q + 8, in 0..15) and two nibbles share a
byte: the weight matrix takes in/2 bytes per row.

References: Dettmers & Zettlemoyer 2023, "The case for 4-bit precision"; the Q4_0 format of ggml
(ggml_quants.py packs its nibbles differently, see there).
Check: `python tracker.py check w14.int4`
"""

import torch


def pack_int4(nibbles: torch.Tensor) -> torch.Tensor:
    """(..., 2n) uint8 values in 0..15 -> (..., n) uint8: byte j = nibbles[2j] | nibbles[2j+1] << 4.

    The even element goes in the LOW nibble (bits 0-3), the odd one in the HIGH nibble (bits 4-7).
    Example: [1, 2, 15, 0] -> [0x21, 0x0F] = [33, 15].

    Raises:
        ValueError: if the last dimension is odd.
    """
    if nibbles.shape[-1] % 2:
        raise ValueError(f"pack_int4 needs an even last dimension, got {nibbles.shape[-1]}")
    lo = nibbles[..., 0::2].to(torch.uint8)
    hi = nibbles[..., 1::2].to(torch.uint8)
    return lo | (hi << 4)


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    """The inverse of pack_int4: (..., n) uint8 -> (..., 2n) uint8 nibbles in 0..15.

    Example: [33, 15] -> [1, 2, 15, 0].
    """
    lo = packed & 0x0F
    hi = packed >> 4
    # interleave: (..., n, 2) -> (..., 2n) puts lo[j], hi[j] at 2j, 2j+1
    return torch.stack([lo, hi], dim=-1).flatten(-2)


def quantize_int4(w: torch.Tensor, group_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric 4-bit with one scale per group of `group_size` consecutive elements of a row.

    scale = max|group| / 7 (1.0 for an all-zero group), q = clamp(round(w / scale), -8, 7), stored
    as the nibble q + 8 and packed with pack_int4.

    Args:
        w: (out, in) float; in must be a multiple of group_size.
        group_size: elements per group along dim 1, even (a byte never holds two groups).

    Returns:
        packed: (out, in // 2) uint8.
        scale: (out, in // group_size) float32.

    Error: |w - w_hat| <= scale / 2 per element, with the scale of its group. An all-zero group
    gets scale 1.0 (its nibbles are all 8).
    Example: one group [0.7, -0.36, 0.0, 0.1]: scale = 0.1, q = [7, -4, 0, 1], nibbles
    [15, 4, 8, 9], packed [0x4F, 0x98] = [79, 152].

    Raises:
        ValueError: if in is not a multiple of group_size, or group_size is odd (even when it
            divides in: 6 with group_size 3 is refused).
    """
    out_features, in_features = w.shape
    if in_features % group_size or group_size % 2:
        raise ValueError(f"in_features {in_features} must be a multiple of an even group_size")
    groups = w.float().reshape(out_features, in_features // group_size, group_size)
    amax = groups.abs().amax(dim=-1, keepdim=True)
    scale = torch.where(amax > 0, amax / 7, torch.ones_like(amax))  # (out, groups, 1)
    q = (groups / scale).round().clamp(-8, 7)
    nibbles = (q + 8).to(torch.uint8).reshape(out_features, in_features)
    return pack_int4(nibbles), scale.squeeze(-1)


def dequantize_int4(packed: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """(out, in) float32 from quantize_int4's packed (out, in // 2) and scale (out, groups):
    w_hat = (nibble - 8) * scale of its group.

    Example: packed [[79, 152]], scale [[0.1]] -> [[0.7, -0.4, 0.0, 0.1]].
    """
    q = unpack_int4(packed).float() - 8  # (out, in)
    out_features, in_features = q.shape
    groups = q.reshape(out_features, scale.shape[1], -1) * scale.unsqueeze(-1)
    return groups.reshape(out_features, in_features)
