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
Check: `python tracker.py check w14.ggml_blocks`.
"""

import numpy as np

QK = 32  # values per block


def round_half_away(x: np.ndarray) -> np.ndarray:
    """C's roundf: halves go away from zero (2.5 -> 3, -2.5 -> -3), unlike np.round (2.5 -> 2)."""
    # TODO(w14.ggml_blocks): floor(|x|) plus floor(2 * fractional part), with the sign of x.
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
    """
    # TODO(w14.ggml_blocks): per block of 32: d = max|x| / 127, q = roundf(x * (1 / d)); write
    #   d as float16 bytes, then q as int8 bytes.
    raise NotImplementedError(
        "w14.ggml_blocks: write quantize_q8_0 in exercises/week14_quantization/ggml_quants.py"
    )


def dequantize_q8_0(data: np.ndarray) -> np.ndarray:
    """uint8 (..., m * 34) -> float32 (..., m * 32): x = float(d) * q per block."""
    # TODO(w14.ggml_blocks): split each 34-byte block into the float16 d and 32 int8 q; return
    #   d * q.
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
    """
    # TODO(w14.ggml_blocks): per block of 32: d = (signed extreme) / -8, q = min(15, trunc(x /
    #   d + 8.5)); byte j = q[j] | q[j+16] << 4; prepend d as float16.
    raise NotImplementedError(
        "w14.ggml_blocks: write quantize_q4_0 in exercises/week14_quantization/ggml_quants.py"
    )


def dequantize_q4_0(data: np.ndarray) -> np.ndarray:
    """uint8 (..., m * 18) -> float32 (..., m * 32): x = float(d) * (q - 8) per block."""
    # TODO(w14.ggml_blocks): split each 18-byte block into d and 16 bytes; low nibbles are
    #   elements 0..15, high ones 16..31; return d * (q - 8).
    raise NotImplementedError(
        "w14.ggml_blocks: write dequantize_q4_0 in exercises/week14_quantization/ggml_quants.py"
    )
