"""Checks for w14.ggml_blocks: Q8_0 and Q4_0 bytes identical to ggml's.

Oracle: `gguf.quants.quantize` / `dequantize` (a numpy port of ggml-quants.c that is bit-exact with
it), on random tensors of several magnitudes, rows of several blocks, leading dimensions, ties
(values that land exactly on .5) and an all-zero block. gguf.quants is forbidden while the
learner's code runs.
"""

import numpy as np
import pytest
from gguf import GGMLQuantizationType
from gguf.quants import dequantize, quantize

from roadmap.checking import from_scratch
from roadmap.impl import load

mod = load("week14_quantization.ggml_quants")

FORBID = ("gguf.quants.quantize", "gguf.quants.dequantize")
Q8, Q4 = GGMLQuantizationType.Q8_0, GGMLQuantizationType.Q4_0


def run(fn, x):
    return from_scratch(
        fn, x, forbid=FORBID, exercise="w14.ggml_blocks", instead="numpy and the block layout"
    )


def data(seed: int, shape=(3, 96), magnitude=1.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * magnitude).astype(np.float32)


def first_diff(got: np.ndarray, expected: np.ndarray, block_bytes: int) -> str:
    flat_g, flat_e = got.reshape(-1), expected.reshape(-1)
    i = int(np.flatnonzero(flat_g != flat_e)[0])
    where = "the float16 scale d" if i % block_bytes < 2 else f"quant byte {i % block_bytes - 2}"
    return (
        f"first differing byte {i} (block {i // block_bytes}, {where}): expected {flat_e[i]}, "
        f"got {flat_g[i]}"
    )


def assert_bytes(got, expected, *, what: str, block_bytes: int, hint: str) -> None:
    assert isinstance(got, np.ndarray) and got.dtype == np.uint8, (
        f"{what}: expected a uint8 numpy array, got {type(got).__name__} {getattr(got, 'dtype', '')}"
    )
    assert got.shape == expected.shape, (
        f"{what}: shape {got.shape}, expected {expected.shape} ({block_bytes} bytes per block of 32)"
    )
    if not np.array_equal(got, expected):
        raise AssertionError(
            f"{what}: {int((got != expected).sum())} bytes differ from ggml; "
            f"{first_diff(got, expected, block_bytes)}\n  likely cause: {hint}"
        )


@pytest.mark.parametrize("magnitude", [1e-3, 1.0, 300.0])
def test_q8_0_bit_identical(magnitude):
    x = data(0, magnitude=magnitude)
    assert_bytes(
        run(mod.quantize_q8_0, x),
        quantize(x, Q8),
        what=f"quantize_q8_0(x (3, 96) * {magnitude})",
        block_bytes=34,
        hint="d = max|x| / 127 in float32, q = roundf(x * (1 / d)), d stored as float16 first",
    )


def test_q8_0_ties_round_away_from_zero():
    """A block with max|x| = 127 has d = 1 exactly: x = 2.5 -> 3, -2.5 -> -3, 0.5 -> 1 in ggml
    (C roundf), where np.round would give 2, -2, 0."""
    x = np.zeros((1, 32), dtype=np.float32)
    x[0, :5] = [127.0, 2.5, -2.5, 0.5, -126.5]
    got = run(mod.quantize_q8_0, x)
    assert_bytes(
        got,
        quantize(x, Q8),
        what="quantize_q8_0([127, 2.5, -2.5, 0.5, -126.5, 0, ...])",
        block_bytes=34,
        hint="ties round AWAY from zero (C roundf), not to even like np.round",
    )


def test_q8_0_leading_dims_zero_block_and_dequantize():
    x = data(1, shape=(2, 3, 64), magnitude=5.0)
    x[1, 2, :32] = 0.0  # an all-zero block: d = 0 and every q = 0, no NaN
    expected = quantize(x, Q8)
    got = run(mod.quantize_q8_0, x)
    assert_bytes(
        got,
        expected,
        what="quantize_q8_0(x (2, 3, 64) with a zero block)",
        block_bytes=34,
        hint="reshape (..., n) to blocks of 32 along the last dimension; d == 0 -> id = 0",
    )
    back = run(mod.dequantize_q8_0, expected)
    np.testing.assert_array_equal(
        back,
        dequantize(expected, Q8),
        err_msg="dequantize_q8_0 differs from ggml: x = float(d) * q, d read as float16",
    )
    assert back.dtype == np.float32 and back.shape == x.shape, (
        f"dequantize_q8_0: {back.dtype} {back.shape}, expected float32 {x.shape}"
    )


@pytest.mark.parametrize("magnitude", [1e-3, 1.0, 300.0])
def test_q4_0_bit_identical(magnitude):
    x = data(2, magnitude=magnitude)
    assert_bytes(
        run(mod.quantize_q4_0, x),
        quantize(x, Q4),
        what=f"quantize_q4_0(x (3, 96) * {magnitude})",
        block_bytes=18,
        hint="d = (signed value of largest |x|) / -8, q = min(15, trunc(x / d + 8.5)); byte j = "
        "q[j] | q[j + 16] << 4 (first half in the LOW nibbles)",
    )


def test_q4_0_sign_of_the_extreme_and_nibble_halves():
    """Block 0's extreme is negative (-8.0), block 1's positive (+8.0): d = +1 and -1. The ramp
    makes every nibble distinct, so a wrong nibble order shows. Block 2 holds -8 first and +8 last:
    d = 1 and +8 * 1 + 8.5 = 16.5 must be clipped to 15."""
    x = np.zeros((1, 96), dtype=np.float32)
    x[0, :32] = np.linspace(-8.0, 7.0, 32)
    x[0, 32:64] = np.linspace(-7.0, 8.0, 32)[::-1]
    x[0, 64:] = np.linspace(-8.0, 8.0, 32)  # both extremes: +8 maps to 16.5 -> clipped to 15
    assert_bytes(
        run(mod.quantize_q4_0, x),
        quantize(x, Q4),
        what="quantize_q4_0(two ramps with extremes -8 and +8)",
        block_bytes=18,
        hint="keep the sign of the extreme (d = m / -8); q = min(15, trunc(...)); element j + 16 "
        "goes in the HIGH nibble of byte j, not element 2j + 1",
    )


def test_q4_0_dequantize_and_leading_dims():
    x = data(3, shape=(2, 5, 32), magnitude=2.0)
    x[0, 1] = 0.0
    expected = quantize(x, Q4)
    assert_bytes(
        run(mod.quantize_q4_0, x),
        expected,
        what="quantize_q4_0(x (2, 5, 32) with a zero block)",
        block_bytes=18,
        hint="blocks along the last dimension; d == 0 -> id = 0 (all nibbles 8)",
    )
    back = run(mod.dequantize_q4_0, expected)
    np.testing.assert_array_equal(
        back,
        dequantize(expected, Q4),
        err_msg="dequantize_q4_0 differs from ggml: x = float(d) * (q - 8), low nibbles first",
    )


def test_round_half_away_is_exact():
    """C's roundf on float32: halves away from zero (2.5 -> 3, -2.5 -> -3, 0.5 -> 1), and the
    largest float32 below 0.5, 0.49999997, rounds to 0: floor(|x| + 0.5) would give 1, because
    0.49999997 + 0.5 rounds up to 1.0 in float32."""
    x = np.array([0.49999997, -0.49999997, 0.5, -0.5, 1.5, 2.5, -2.5, 3.4999998, 0.0], np.float32)
    expected = np.array([0, 0, 1, -1, 2, 3, -3, 3, 0], np.float32)
    got = np.asarray(run(mod.round_half_away, x), dtype=np.float32)
    assert np.array_equal(got, expected), (
        f"round_half_away({x.tolist()}) = {got.tolist()}, expected {expected.tolist()}\n  likely "
        "cause: halves go away from zero, and the result must be exact for 0.49999997 (floor(|x| "
        "+ 0.5) rounds it to 1 in float32): add floor(2 * fractional part) to floor(|x|)"
    )


def test_q8_0_multiplies_by_the_inverse():
    """Block 3211 of 4096 standard-normal blocks (seed 10): one value has x * (1 / d) = -65.49999
    (rounds to -65) but x / d = -65.5 (rounds to -66). ggml multiplies by id = 1 / d."""
    x = np.random.default_rng(10).standard_normal((4096, 32)).astype(np.float32)[3210:3212]
    assert_bytes(
        run(mod.quantize_q8_0, x),
        quantize(x, Q8),
        what="quantize_q8_0(blocks 3210-3211 of a seed-10 standard-normal tensor)",
        block_bytes=34,
        hint="q = roundf(x * id) with id = 1 / d in float32, not x / d (they round differently "
        "here: -65.49999 vs -65.5)",
    )


def test_q4_0_ties_truncate_up_and_the_first_extreme_wins():
    """Block 0: -8 first, so d = 1 and id = 1: x = 2.5 -> trunc(2.5 + 8.5) = 11 (not round(2.5) +
    8 = 10), -3.5 -> 5, 0.5 -> 9, -0.5 -> 8. Block 1: +8 comes before -8 (equal magnitudes): m is
    the FIRST, +8, so d = -1."""
    x = np.zeros((1, 64), dtype=np.float32)
    x[0, :8] = [-8.0, 2.5, -3.5, 0.5, -0.5, 6.5, -6.5, 1.5]
    x[0, 32:40] = [1.0, 8.0, 2.5, -8.0, -3.5, 0.5, 4.5, -1.5]
    assert_bytes(
        run(mod.quantize_q4_0, x),
        quantize(x, Q4),
        what="quantize_q4_0(blocks with exact halves and a +8 / -8 tie)",
        block_bytes=18,
        hint="q = min(15, trunc(x * id + 8.5)) (a tie goes up, not to even), and m is the FIRST "
        "element of largest |x|, its sign kept (a tie between +8 and -8 takes whichever comes first)",
    )


def test_not_a_multiple_of_32():
    with pytest.raises(ValueError):
        mod.quantize_q8_0(np.zeros((2, 40), dtype=np.float32))
