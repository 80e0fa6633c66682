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
    # TODO(w14.int4): return the nibbles packed two a byte, the even one in the low bits
    raise NotImplementedError("w14.int4: write pack_int4 in exercises/week14_quantization/int4.py")


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    """The inverse of pack_int4: (..., n) uint8 -> (..., 2n) uint8 nibbles in 0..15.

    Example: [33, 15] -> [1, 2, 15, 0].
    """
    # TODO(w14.int4): return the nibbles that pack_int4 packed
    raise NotImplementedError(
        "w14.int4: write unpack_int4 in exercises/week14_quantization/int4.py"
    )


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
    # TODO(w14.int4): return the packed 4-bit weight and its group scales
    raise NotImplementedError(
        "w14.int4: write quantize_int4 in exercises/week14_quantization/int4.py"
    )


def dequantize_int4(packed: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """(out, in) float32 from quantize_int4's packed (out, in // 2) and scale (out, groups):
    w_hat = (nibble - 8) * scale of its group.

    Example: packed [[79, 152]], scale [[0.1]] -> [[0.7, -0.4, 0.0, 0.1]].
    """
    # TODO(w14.int4): return the float32 weight that packed and scale stand for
    raise NotImplementedError(
        "w14.int4: write dequantize_int4 in exercises/week14_quantization/int4.py"
    )
