"""Checks for w14.int4: 4-bit group quantisation and nibble packing.

Oracles: hand-worked packing ([1, 2, 15, 0] -> [0x21, 0x0F]: even element in the LOW nibble); the
docstring's group example; round trip of pack/unpack; the error bound scale / 2 per element;
the size (in / 2 bytes per row).
"""

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week14_quantization.int4")


def test_pack_known_answer_low_nibble_first():
    packed = mod.pack_int4(torch.tensor([[1, 2, 15, 0]], dtype=torch.uint8))
    assert_close(
        packed,
        torch.tensor([[0x21, 0x0F]], dtype=torch.uint8),
        what="pack_int4([1, 2, 15, 0])",
        hint="byte j = nibbles[2j] | nibbles[2j+1] << 4: the EVEN element in the low nibble",
    )
    assert packed.dtype == torch.uint8, f"pack_int4 must return uint8, got {packed.dtype}"


def test_unpack_known_answer_and_round_trip():
    assert_close(
        mod.unpack_int4(torch.tensor([33, 15], dtype=torch.uint8)),
        torch.tensor([1, 2, 15, 0], dtype=torch.uint8),
        what="unpack_int4([33, 15])",
        hint="low nibble (b & 0x0F) first, then the high nibble (b >> 4)",
    )
    nib = torch.randint(0, 16, (3, 5, 14), generator=generator(0), dtype=torch.uint8)
    packed = mod.pack_int4(nib)
    assert tuple(packed.shape) == (3, 5, 7), f"pack_int4 (3, 5, 14) -> {tuple(packed.shape)}"
    assert_close(
        mod.unpack_int4(packed),
        nib,
        what="unpack_int4(pack_int4(n)) for n (3, 5, 14)",
        hint="interleave: unpacked[2j] = low nibble of byte j, unpacked[2j+1] = its high nibble",
    )


def test_quantize_known_answer():
    """Docstring: [0.7, -0.36, 0.0, 0.1], group 4: scale = 0.7 / 7 = 0.1, q = [7, -4, 0, 1],
    nibbles q + 8 = [15, 4, 8, 9], bytes [15 | 4 << 4, 8 | 9 << 4] = [79, 152]."""
    packed, scale = mod.quantize_int4(torch.tensor([[0.7, -0.36, 0.0, 0.1]]), group_size=4)
    assert_close(scale, torch.tensor([[0.1]]), what="quantize_int4 scale", hint="max|group| / 7")
    assert_close(
        packed,
        torch.tensor([[79, 152]], dtype=torch.uint8),
        what="quantize_int4([[0.7, -0.36, 0.0, 0.1]], group_size=4) packed",
        hint="q = round(w / scale) clamped to [-8, 7]; nibble = q + 8 (offset, not two's "
        "complement); even element in the low nibble",
    )


@pytest.mark.parametrize("group_size", [4, 12, 36])
@pytest.mark.parametrize("magnitude", [1e-3, 1.0, 500.0])
def test_error_bound_per_group(group_size, magnitude):
    w = torch.randn(7, 36, generator=generator(1)) * magnitude
    packed, scale = mod.quantize_int4(w, group_size=group_size)
    what = f"quantize_int4(w (7, 36) * {magnitude}, group_size={group_size})"
    assert tuple(packed.shape) == (7, 18) and packed.dtype == torch.uint8, (
        f"{what}: packed {packed.dtype} {tuple(packed.shape)}, expected uint8 (7, 18)"
    )
    groups = w.reshape(7, -1, group_size)
    expected = groups.abs().amax(-1) / 7
    assert_close(
        scale,
        expected,
        what=f"{what} scale",
        hint="one scale per group of consecutive elements of a row, max|group| / 7",
        rtol=1e-5,
        atol=0,
    )
    back = mod.dequantize_int4(packed, scale)
    err = (w - back).abs().reshape(7, -1, group_size)
    bound = expected.unsqueeze(-1) / 2 * (1 + 1e-5)
    assert (err <= bound).all(), (
        f"{what}: max error / scale = {(err / expected.unsqueeze(-1)).max().item():.2f} > 0.5\n"
        "  likely cause: nibble order reversed in pack or unpack, offset other than 8, or "
        "truncation instead of rounding"
    )


def expect_value_error(fn, *args, what: str, cause: str, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - reported with its likely cause
        raise AssertionError(
            f"{what} raised {error!r}, expected ValueError\n  likely cause: {cause}"
        ) from error
    pytest.fail(f"{what} did not raise ValueError\n  likely cause: {cause}")


def test_invalid_sizes_are_refused():
    """in not a multiple of group_size; an odd group_size even when it divides in (6 = 2 x 3);
    an odd number of nibbles to pack."""
    expect_value_error(
        mod.quantize_int4,
        torch.randn(2, 10),
        group_size=4,
        what="quantize_int4(w (2, 10), group_size=4)",
        cause="in must be a multiple of group_size",
    )
    expect_value_error(
        mod.quantize_int4,
        torch.randn(2, 6),
        group_size=3,
        what="quantize_int4(w (2, 6), group_size=3)",
        cause="group_size must be even (two nibbles a byte never straddle a group), even when "
        "it divides in",
    )
    expect_value_error(
        mod.pack_int4,
        torch.zeros(2, 5, dtype=torch.uint8),
        what="pack_int4(nibbles (2, 5))",
        cause="an odd last dimension cannot be packed two a byte: raise ValueError first",
    )


def test_all_zero_group_gets_scale_one():
    w = torch.randn(2, 8, generator=generator(3))
    w[0, :4] = 0.0
    packed, scale = mod.quantize_int4(w, group_size=4)
    assert scale[0, 0] == 1.0, (
        f"quantize_int4: the all-zero group's scale is {scale[0, 0].item()}, expected 1.0\n  "
        "likely cause: max|group| / 7 is 0 there: use scale 1.0 (q = 0, nibble 8)"
    )
    back = mod.dequantize_int4(packed, scale)
    assert torch.isfinite(back).all() and torch.equal(back[0, :4], torch.zeros(4)), (
        "dequantize_int4(quantize_int4(w with an all-zero group)) is not 0 in that group"
    )
