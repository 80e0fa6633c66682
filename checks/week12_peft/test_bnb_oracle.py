"""w12.nf4 against bitsandbytes: the same bytes, absmax and values as its NF4 quantization.

`bitsandbytes.functional.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=False)`
and `dequantize_4bit` on the same tensors: our packed bytes equal bitsandbytes' (the layout is
bitsandbytes'), absmax equal, dequantized values equal. bitsandbytes' get_4bit_type, quantize_4bit,
dequantize_4bit and quantize_blockwise are off-limits while the learner's functions run (from
scratch). bitsandbytes is imported only here.
"""

import torch

from checks.week12_peft.support import BNB_NF4
from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week12_peft.nf4")

BNB = (
    "bitsandbytes.functional.get_4bit_type",
    "bitsandbytes.functional.quantize_4bit",
    "bitsandbytes.functional.dequantize_4bit",
    "bitsandbytes.functional.quantize_blockwise",
)
INSTEAD = "torch.special.ndtri for the quantiles and plain tensor ops"
LAYOUT = (
    "flatten row-major, blocks of 64 (the last may be shorter), absmax per block, nearest code of "
    "value / absmax, two indices per byte: element 2i in the high nibble"
)


def scratch(fn, *args):
    return from_scratch(fn, *args, forbid=BNB, exercise="w12.nf4", instead=INSTEAD)


def test_code_book_from_scratch_equals_bitsandbytes():
    mod.nf4_code_book()  # the learner's function first: a stub is todo before bitsandbytes loads
    import bitsandbytes.functional as bnbf

    got = scratch(mod.nf4_code_book)
    assert_close(
        got,
        bnbf.get_4bit_type("nf4", device="cpu"),
        atol=2e-7,
        rtol=0,
        what="nf4_code_book() vs bitsandbytes get_4bit_type('nf4')",
        hint="quantiles of N(0, 1) as in QLoRA, divided by the largest; sorted",
    )
    assert_close(got, torch.tensor(BNB_NF4), atol=2e-7, rtol=0, what="nf4_code_book()")


def test_quantize_and_dequantize_match_bitsandbytes():
    """Shapes (7, 36) (4 blocks, the last of 60), (3, 130) and (64, 64) at scales 1e-3, 1 and 1e3."""
    mod.quantize_nf4(torch.ones(64))  # the learner's function first, before bitsandbytes loads
    import bitsandbytes.functional as bnbf

    g = generator(0)
    for shape, scale in (((7, 36), 1.0), ((3, 130), 1e-3), ((64, 64), 1e3)):
        w = torch.randn(shape, generator=g) * scale
        packed, absmax = scratch(mod.quantize_nf4, w)
        q, state = bnbf.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=False)
        assert_close(
            absmax,
            state.absmax,
            rtol=1e-6,
            what=f"quantize_nf4(w {shape}) absmax vs bnb",
            hint="one absmax per 64 consecutive values of the flattened tensor",
        )
        same = (packed == q.flatten()).float().mean().item()
        assert packed.shape == q.flatten().shape and same > 0.999, (
            f"quantize_nf4(w {shape} * {scale}): {packed.shape[0]} bytes, "
            f"{same:.1%} equal to bitsandbytes' {q.numel()} bytes\n  likely cause: {LAYOUT}"
        )
        expected = bnbf.dequantize_4bit(q, state)
        got = scratch(mod.dequantize_nf4, packed, absmax, shape)
        assert_close(
            got,
            expected,
            atol=1e-6 * scale,
            rtol=1e-6,
            what=f"dequantize_nf4(quantize_nf4(w {shape} * {scale})) vs bnb dequantize_4bit",
            hint="value = code[index] * absmax of its block; unpack high nibble first",
        )
