"""Checks for w03.sinusoidal: the closed-form sinusoidal positional encoding.

Oracle: the formula of Vaswani et al. evaluated entry by entry with Python's math module.
"""

import math

import pytest
import torch

from roadmap.checking import assert_close
from roadmap.impl import load

mod = load("week03_embeddings.positional")


def closed_form(T: int, C: int, base: float) -> torch.Tensor:
    rows = []
    for t in range(T):
        row = []
        for c in range(C):
            angle = t / base ** (2 * (c // 2) / C)
            row.append(math.sin(angle) if c % 2 == 0 else math.cos(angle))
        rows.append(row)
    return torch.tensor(rows)


def test_first_rows_by_hand():
    """Row 0: every angle is 0, so [sin 0, cos 0, ...] = [0, 1, 0, 1]. Row 1, pair 0: angle 1 rad."""
    pe = mod.sinusoidal_positions(2, 4)
    row0 = pe[0].tolist() if pe.shape == (2, 4) else []
    if row0 and max(abs(a - b) for a, b in zip(row0, [1.0, 0.0, 1.0, 0.0])) < 1e-6:
        hint = "sin and cos swapped: sin goes in the even channels, cos in the odd ones"
    elif row0 and max(abs(a - b) for a, b in zip(row0, [0.0, 0.0, 1.0, 1.0])) < 1e-6:
        hint = "sin and cos halves concatenated: interleave them, sin at 2i and cos at 2i + 1"
    elif row0 and abs(row0[0] - math.sin(1.0)) < 1e-6:
        hint = "positions start at 1; row 0 is position 0, where every angle is 0"
    else:
        hint = "row 0 is position 0: sin 0 = 0 in the even channels, cos 0 = 1 in the odd ones"
    assert_close(
        pe[0], torch.tensor([0.0, 1.0, 0.0, 1.0]), what="sinusoidal_positions(2, 4)[0]", hint=hint
    )
    assert_close(
        pe[1, :2],
        torch.tensor([math.sin(1.0), math.cos(1.0)]),
        what="sinusoidal_positions(2, 4)[1, :2]",
        hint="channel 2i holds sin(t / base^(2i / C)) and 2i + 1 holds cos of the same angle",
    )
    assert_close(
        pe[1, 2:],
        torch.tensor([math.sin(0.01), math.cos(0.01)]),
        what="sinusoidal_positions(2, 4)[1, 2:] (angle 1 / 10000^(2/4) = 0.01)",
        hint="the exponent is 2i / C with i the pair index, so pair 1 of C = 4 uses 10000^(1/2)",
    )


@pytest.mark.parametrize(
    "T,C,base", [(7, 10, 10000.0), (13, 6, 100.0), (1, 2, 10000.0), (50, 32, 10000.0)]
)
def test_matches_closed_form(T, C, base):
    got = mod.sinusoidal_positions(T, C, base=base)
    assert got.dtype == torch.float32, f"expected float32, got {got.dtype}"
    assert_close(
        got,
        closed_form(T, C, base),
        atol=1e-5,
        what=f"sinusoidal_positions({T}, {C}, base={base})",
        hint="interleave: even channels sin, odd channels cos, frequency base^(-2i / C) shared by a pair "
        "(not all sines first, then all cosines)",
    )


def test_dot_product_depends_only_on_the_offset():
    """PE[t] . PE[t + k] = sum_i cos(k w_i) for every t: attention can read relative positions."""
    pe = mod.sinusoidal_positions(40, 16).double()
    for k in (1, 5):
        dots = (pe[:-k] * pe[k:]).sum(-1)
        assert_close(
            dots,
            dots[:1].expand_as(dots),
            atol=1e-5,
            what=f"PE[t] . PE[t + {k}] over t",
            hint="sin and cos of the same angle must share a pair of channels",
        )


def test_odd_channels_rejected():
    try:
        out = mod.sinusoidal_positions(4, 7)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as e:
        raise AssertionError(
            f"sinusoidal_positions(4, C=7) raised {type(e).__name__}({e}); an odd C must raise "
            "ValueError before any computation"
        ) from None
    raise AssertionError(
        f"sinusoidal_positions(4, C=7) returned shape {tuple(out.shape)}; an odd C cannot pair "
        "sin and cos channels and must raise ValueError"
    )
