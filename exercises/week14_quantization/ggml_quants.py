"""Week 14: the ggml block formats Q8_0 and Q4_0, byte for byte as llama.cpp stores them.

ggml quantises a row in blocks of 32 values. Each block is its float16 scale `d` (2 bytes,
little-endian) followed by the block's quants:
  Q8_0 (34 bytes a block, 8.5 bits a weight): d = max|x| / 127, q = round(x / d) as int8.
  Q4_0 (18 bytes a block, 4.5 bits a weight): d = m / -8 where m is the value of largest magnitude
  (sign kept), q = x / d + 8 in 0..15; 16 bytes hold the 32 nibbles, element j (j < 16) in the LOW
  nibble of byte j and element j + 16 in the HIGH nibble of byte j (not interleaved like int4.py).
A row of n values (n a multiple of 32) becomes n / 32 consecutive blocks.

Reference: ggml-quants.c (quantize_row_q8_0_ref, quantize_row_q4_0_ref); the `gguf` package's
gguf/quants.py reproduces it in numpy, which is the check's oracle.
Check: `python tracker.py check w14.ggml_blocks`
"""

import numpy as np

QK = 32  # values per block


def round_half_away(x: np.ndarray) -> np.ndarray:
    """C's roundf: halves go away from zero (2.5 -> 3, -2.5 -> -3), unlike np.round (2.5 -> 2).

    Exact for every float32, including the largest one below 0.5: 0.49999997 -> 0 (floor(|x| +
    0.5) would give 1, because 0.49999997 + 0.5 rounds up to 1.0 in float32).
    Example: [0.5, -0.5, 1.5, 2.5, 0.49999997, 3.4999998] -> [1, -1, 2, 3, 0, 3].
    """
    # TODO(w14.ggml_blocks): return x rounded to the nearest integer, halves away from zero, exactly
    raise NotImplementedError(
        "w14.ggml_blocks: write round_half_away in exercises/week14_quantization/ggml_quants.py"
    )


def _blocks(x: np.ndarray) -> np.ndarray:
    """(..., n) -> (N, 32) float32 blocks, n a multiple of 32 (else ValueError)."""
    if x.shape[-1] % QK:
        raise ValueError(f"the last dimension ({x.shape[-1]}) must be a multiple of {QK}")
    return np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK)


def quantize_q8_0(x: np.ndarray) -> np.ndarray:
    """float (..., n) -> uint8 (..., n // 32 * 34), bit-identical to ggml's Q8_0.

    Per block, in float32: d = max|x| / 127; id = 1 / d (0 when d == 0); q = roundf(x * id) with
    roundf rounding halves away from zero; stored as d in float16 (2 bytes) then the 32 int8 q.
    Multiply by id, do not divide by d: ggml does, and x / d rounds differently in rare cases.
    Forbidden while the check runs: gguf.quants (it is the oracle).
    Example: a block [127, 2.5, -2.5, 0.5, 0, ..., 0]: d = 1.0, q = [127, 3, -3, 1, 0, ...]; bytes
    00 3c (float16 1.0) then 7f 03 fd 01 00 ... (34 in all).
    """
    # TODO(w14.ggml_blocks): return ggml's Q8_0 bytes of x, bit for bit
    raise NotImplementedError(
        "w14.ggml_blocks: write quantize_q8_0 in exercises/week14_quantization/ggml_quants.py"
    )


def dequantize_q8_0(data: np.ndarray) -> np.ndarray:
    """uint8 (..., m * 34) -> float32 (..., m * 32): x = float(d) * q per block.

    Example: a block with d = 0.5 (bytes 00 38) and q = [2, -4, 0, ...] -> [1.0, -2.0, 0.0, ...].
    """
    # TODO(w14.ggml_blocks): return the float32 values of Q8_0 blocks
    raise NotImplementedError(
        "w14.ggml_blocks: write dequantize_q8_0 in exercises/week14_quantization/ggml_quants.py"
    )


def quantize_q4_0(x: np.ndarray) -> np.ndarray:
    """float (..., n) -> uint8 (..., n // 32 * 18), bit-identical to ggml's Q4_0.

    Per block, in float32: m = the element of largest |x| (its sign kept; the first one on a tie);
    d = m / -8; id = 1 / d (0 when d == 0); q = min(15, trunc(x * id + 8.5)) as uint8 (so m itself
    becomes 0, i.e. -8 after the offset); byte j (0..15) = q[j] | q[j + 16] << 4; stored as d in
    float16 (2 bytes) then the 16 bytes.
    Forbidden while the check runs: gguf.quants (it is the oracle).
    Example: a block [-8, 2.5, -3.5, 0, ..., 0]: m = -8, d = 1, id = 1, q = [0, 11, 5, 8, ...]
    (2.5 + 8.5 = 11 exactly: a tie goes up); a block [8, ..., -8, ...] has m = +8 (the first),
    d = -1.
    """
    # TODO(w14.ggml_blocks): return ggml's Q4_0 bytes of x, bit for bit
    raise NotImplementedError(
        "w14.ggml_blocks: write quantize_q4_0 in exercises/week14_quantization/ggml_quants.py"
    )


def dequantize_q4_0(data: np.ndarray) -> np.ndarray:
    """uint8 (..., m * 18) -> float32 (..., m * 32): x = float(d) * (q - 8) per block.

    Example: d = 1 and byte 0 = 0xB0 (low nibble 0, high nibble 11) -> x[0] = -8.0, x[16] = 3.0.
    """
    # TODO(w14.ggml_blocks): return the float32 values of Q4_0 blocks
    raise NotImplementedError(
        "w14.ggml_blocks: write dequantize_q4_0 in exercises/week14_quantization/ggml_quants.py"
    )
