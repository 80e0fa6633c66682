"""Checks for w12.nf4: the NF4 code book, block-wise quantize/dequantize, double quantization.

Oracles: bitsandbytes' NF4 code book (support.BNB_NF4, copied from bitsandbytes 0.50.2); known
answers by hand; the error bound derived in the handout: every value is within absmax * g / 2 of its
dequantized value, g = 1 - 0.69619 = 0.30381 the widest gap between neighbouring codes (-1 and
-0.69619). bitsandbytes itself (quantize_4bit / dequantize_4bit on the same tensors, and the
from-scratch guard) is imported only in test_bnb_oracle.py.
"""

import torch

from checks.week12_peft.support import BNB_NF4
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week12_peft.nf4")

HALF_GAP = (1.0 + BNB_NF4[1]) / 2  # 0.15190: the largest possible rounding error per unit absmax
LAYOUT = (
    "flatten row-major, blocks of 64 (the last may be shorter), absmax per block, nearest code of "
    "value / absmax, two indices per byte: element 2i in the high nibble"
)


def scratch(fn, *args):
    return fn(*args)


def test_code_book_equals_bitsandbytes_nf4():
    got = scratch(mod.nf4_code_book)
    assert_close(
        got,
        torch.tensor(BNB_NF4),
        atol=2e-7,
        rtol=0,
        what="nf4_code_book() vs bitsandbytes' NF4 values",
        hint="8 positive quantiles ndtri(linspace(0.9677083, 0.5, 9)[:-1]), 7 negative "
        "-ndtri(linspace(0.9677083, 0.5, 8)[:-1]), an exact 0, all divided by the largest; sorted",
    )
    assert got.dtype == torch.float32, f"nf4_code_book() dtype {got.dtype}, expected float32"


def test_quantize_known_answer():
    """[0.5, -1, 0, 1]: absmax 1; 0.5 is 0.0593 from 0.4407 (index 12) and 0.0626 from 0.5626, so
    indices [12, 0, 7, 15] -> bytes [12 * 16 + 0, 7 * 16 + 15] = [192, 127]."""
    packed, absmax = scratch(mod.quantize_nf4, torch.tensor([0.5, -1.0, 0.0, 1.0]))
    assert packed.dtype == torch.uint8, f"quantize_nf4 packed dtype {packed.dtype}, expected uint8"
    assert packed.tolist() == [192, 127], (
        f"quantize_nf4([0.5, -1, 0, 1]) packed {packed.tolist()}, expected [192, 127]\n  likely "
        f"cause: nearest code index (12, 0, 7, 15), element 2i in the HIGH nibble: (i0 << 4) | i1"
    )
    assert_close(
        absmax,
        torch.tensor([1.0]),
        what="quantize_nf4([0.5, -1, 0, 1]) absmax",
        hint="absmax is max |value| of the block, a float32 per block",
    )
    for dtype in (torch.bfloat16, torch.float64):
        packed, absmax = scratch(mod.quantize_nf4, torch.tensor([0.5, -1.0, 0.0, 1.0], dtype=dtype))
        assert packed.tolist() == [192, 127] and absmax.dtype == torch.float32, (
            f"quantize_nf4 of a {dtype} weight: packed {packed.tolist()}, absmax {absmax.dtype}; "
            "expected [192, 127] and float32\n  likely cause: absmax is float32 whatever the "
            "weight's dtype (convert to float32 first)"
        )


def test_a_smaller_blocksize_is_used_both_ways():
    """blocksize=4 on [0.5, -1, 0, 2, 0.25, -0.5]: blocks [0.5, -1, 0, 2] (absmax 2) and
    [0.25, -0.5] (absmax 0.5); scaled [0.25, -0.5, 0, 1] -> indices [10, 2, 7, 15] (0.2461,
    -0.5251, 0, 1) and [0.5, -1] -> [12, 0]: bytes [162, 127, 192]. Dequantized with blocksize 4:
    [2 code[10], 2 code[2], 0, 2, 0.5 code[12], -0.5]."""
    w = torch.tensor([0.5, -1.0, 0.0, 2.0, 0.25, -0.5])
    packed, absmax = scratch(mod.quantize_nf4, w, 4)
    assert_close(
        absmax,
        torch.tensor([2.0, 0.5]),
        what="quantize_nf4([0.5, -1, 0, 2, 0.25, -0.5], blocksize=4) absmax",
        hint="one absmax per block of `blocksize` values (the argument, not always 64)",
    )
    assert packed.tolist() == [162, 127, 192], (
        f"quantize_nf4(..., blocksize=4) packed {packed.tolist()}, expected [162, 127, 192]\n  "
        "likely cause: divide each value by the absmax of ITS block of `blocksize` values"
    )
    code = torch.tensor(BNB_NF4)
    expected = torch.stack(
        [2 * code[10], 2 * code[2], code[7], 2 * code[15], 0.5 * code[12], -0.5 * code[15]]
    )
    assert_close(
        scratch(mod.dequantize_nf4, packed, absmax, (2, 3), 4),
        expected.reshape(2, 3),
        what="dequantize_nf4(packed, absmax, (2, 3), blocksize=4)",
        hint="each index is scaled by the absmax of its block of `blocksize` values (the argument)",
    )


def test_one_absmax_per_block_of_64():
    """130 values: 64 of 0.5, 64 of -2.0, then [1.0, 0.25]: blocks of 64, 64 and 2, absmax
    [0.5, 2.0, 1.0]; every value of the first two blocks is +-absmax (index 15 or 0)."""
    w = torch.cat([torch.full((64,), 0.5), torch.full((64,), -2.0), torch.tensor([1.0, 0.25])])
    packed, absmax = scratch(mod.quantize_nf4, w)
    assert_close(
        absmax,
        torch.tensor([0.5, 2.0, 1.0]),
        what="quantize_nf4(64 x 0.5, 64 x -2.0, [1.0, 0.25]) absmax",
        hint="one absmax per block of 64 consecutive values of the flattened tensor (the last "
        "block may be shorter), not one for the whole tensor",
    )
    assert packed[:32].tolist() == [0xFF] * 32 and packed[32:64].tolist() == [0x00] * 32, (
        "quantize_nf4: a block of 0.5s should be all index 15 (0.5 / 0.5 = 1.0) and a block of "
        "-2.0s all index 0 (-1.0)"
    )


def test_rounding_error_is_within_half_the_widest_code_gap():
    """Handout bound: |w - dequant(quant(w))| <= absmax_block * 0.15190 for every value."""
    g = generator(1)
    for scale in (1e-6, 1.0, 1e3):
        w = torch.randn(5, 77, generator=g) * scale
        original = w.clone()
        packed, absmax = scratch(mod.quantize_nf4, w)
        assert torch.equal(w, original), (
            "quantize_nf4(w) changed w itself\n  likely cause: an in-place operation (div_, a "
            "view of w written to); work on a copy, the caller's weight must stay as it was"
        )
        back = scratch(mod.dequantize_nf4, packed, absmax, (5, 77))
        assert back.shape == w.shape, (
            f"dequantize_nf4 returned {tuple(back.shape)}, expected (5, 77)"
        )
        per_value = absmax.repeat_interleave(64)[: w.numel()].reshape(w.shape)
        err = (back - w).abs()
        worst = (err / per_value).max().item()
        assert worst <= HALF_GAP + 1e-5, (
            f"NF4 round trip of w (5, 77) * {scale}: error up to {worst:.4f} x absmax, but rounding "
            f"to the nearest code can be off by at most {HALF_GAP:.4f} x absmax\n  likely cause: "
            f"nearest code (argmin of |value / absmax - code|), and {LAYOUT}"
        )
        assert err.mean() <= HALF_GAP * absmax.mean() + 1e-12, "mean error above the handout bound"


def test_zero_blocks_and_odd_sizes():
    """An all-zero block stays 0 (no NaN from 0 / 0). 35 values -> 18 bytes, the last low nibble is
    the index of 0.0, i.e. 7."""
    w = torch.zeros(2, 64)
    w[1] = torch.linspace(-2, 2, 64)
    packed, absmax = scratch(mod.quantize_nf4, w)
    back = scratch(mod.dequantize_nf4, packed, absmax, (2, 64))
    assert not torch.isnan(back).any(), (
        "dequantize_nf4 gave NaN for an all-zero block: scale 1 there"
    )
    assert packed[:32].tolist() == [0x77] * 32, (
        f"quantize_nf4: the all-zero block packed to {sorted(set(packed[:32].tolist()))}, expected "
        "every byte 0x77 (index 7, the code 0.0, twice)\n  likely cause: an all-zero block has "
        "absmax 0; divide by 1 there (0 / 0 is NaN, and argmin over NaN picks index 0, the code -1)"
    )
    assert_close(
        back[0],
        torch.zeros(64),
        what="NF4 round trip of an all-zero block",
        hint="an all-zero block has absmax 0: divide by 1 instead, every index is 7 (0.0)",
    )
    w = torch.randn(5, 7, generator=generator(2))
    packed, absmax = scratch(mod.quantize_nf4, w)
    assert packed.shape == (18,) and absmax.shape == (1,), (
        f"quantize_nf4(w (5, 7)): packed {tuple(packed.shape)}, absmax {tuple(absmax.shape)}; "
        "expected (18,) (ceil(35 / 2)) and (1,)"
    )
    assert int(packed[-1]) & 0x0F == 7, (
        f"quantize_nf4 of 35 values: last byte {int(packed[-1])}, its low nibble should be 7 (the "
        "index of 0.0) padding the odd count"
    )
    back = scratch(mod.dequantize_nf4, packed, absmax, (5, 7))
    assert back.shape == (5, 7), f"dequantize_nf4(..., (5, 7)) gave {tuple(back.shape)}"


def test_double_quantization_known_answer():
    """absmax [1, 3]: offset 2, centred [-1, 1], scale 1/127, q [-127, 127]; back to [1, 3]."""
    q, scales, offset = scratch(mod.double_quantize, torch.tensor([1.0, 3.0]))
    assert q.dtype == torch.int8 and q.tolist() == [-127, 127], (
        f"double_quantize([1, 3]) q = {q.tolist()} ({q.dtype}), expected [-127, 127] int8\n  likely "
        "cause: subtract the mean (2.0) first, then q = round(value / (max |value| / 127))"
    )
    assert isinstance(offset, float) and abs(offset - 2.0) < 1e-6, (
        f"double_quantize([1, 3]) offset {offset!r}, expected the mean 2.0 as a Python float "
        "(.item())"
    )
    assert_close(
        scales,
        torch.tensor([1 / 127]),
        what="double_quantize([1, 3]) scales",
        hint="scale = max |centred value| / 127 per block of 256",
    )
    assert_close(
        scratch(mod.double_dequantize, q, scales, offset),
        torch.tensor([1.0, 3.0]),
        what="double_dequantize(double_quantize([1, 3]))",
        hint="q * scale + offset",
    )


def test_double_quantization_scales_per_block():
    """blocksize=2 on [1, 3, 10, 20]: offset 8.5, centred [-7.5, -5.5, 1.5, 11.5], per-block scales
    [7.5 / 127, 11.5 / 127], q = round([-127, -93.13, 16.57, 127]) = [-127, -93, 17, 127]."""
    q, scales, offset = scratch(mod.double_quantize, torch.tensor([1.0, 3.0, 10.0, 20.0]), 2)
    assert_close(
        scales,
        torch.tensor([7.5 / 127, 11.5 / 127]),
        what="double_quantize([1, 3, 10, 20], blocksize=2) scales",
        hint="scale = max |centred value| / 127 per block, one scale for each block of blocksize",
    )
    assert q.tolist() == [-127, -93, 17, 127], (
        f"double_quantize([1, 3, 10, 20], blocksize=2) q = {q.tolist()}, expected "
        "[-127, -93, 17, 127]: q = round(centred / scale of its block)"
    )
    assert abs(offset - 8.5) < 1e-6, f"offset {offset}, expected the mean 8.5"
    back = scratch(mod.double_dequantize, q, scales, offset, 2)
    err = (back - torch.tensor([1.0, 3.0, 10.0, 20.0])).abs()
    bound = scales.repeat_interleave(2) / 2 + 1e-6
    assert (err <= bound).all(), (
        f"double_dequantize(q, scales, offset, blocksize=2) = {back.tolist()}, expected [1, 3, 10, "
        "20] within scale / 2 of each block\n  likely cause: q * the scale of ITS block of "
        "`blocksize` values (the argument, not always 256) + offset"
    )


def test_double_quantization_error_bound_on_real_absmax():
    """600 absmax values of a 600 x 64 normal weight: 3 blocks of 256; each value back within
    scale / 2 of the original; NF4 with the double-dequantized absmax stays within 1% of single."""
    w = torch.randn(600, 64, generator=generator(3))
    packed, absmax = scratch(mod.quantize_nf4, w)
    q, scales, offset = scratch(mod.double_quantize, absmax)
    assert q.shape == (600,) and scales.shape == (3,), (
        f"double_quantize(absmax (600,)): q {tuple(q.shape)}, scales {tuple(scales.shape)}; expected "
        "(600,) and (3,) (ceil(600 / 256) blocks)"
    )
    back = scratch(mod.double_dequantize, q, scales, offset)
    bound = scales.repeat_interleave(256)[:600] / 2 + 1e-6
    err = (back - absmax).abs()
    assert (err <= bound).all(), (
        f"double_dequantize error up to {err.max():.3g}, above scale / 2 of its block\n  likely "
        "cause: q = round((absmax - mean) / scale), scale = max |absmax - mean| / 127 per block of 256"
    )
    single = scratch(mod.dequantize_nf4, packed, absmax, (600, 64))
    double = scratch(mod.dequantize_nf4, packed, back, (600, 64))
    rel = ((double - single).abs().max() / single.abs().max()).item()
    assert rel < 0.01, (
        f"weights through double-quantized absmax differ by {rel:.2%} (expected < 1%)"
    )
