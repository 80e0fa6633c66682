"""Checks for w15.linformer: softmax attention over keys and values projected along the sequence.

Oracles: torch.nn.functional.scaled_dot_product_attention (exact attention), which Linformer equals
for identity projections and, with mean pooling, for keys constant within the pooled segments
(derivation in that check's docstring); the formula written out here, per batch row and head, for
random projections; a hand-derived one-key example.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from checks.week15_efficient_inference.support import LargestTensor
from roadmap.checking import assert_close, describe, generator
from roadmap.impl import load

mod = load("week15_efficient_inference.attention_variants")

SEQUENCE_AXIS = (
    "E and F act on the sequence axis: E k mixes the T positions (dim -2 of k, length T), "
    "not the D features"
)


def linformer(q, k, v, proj_k, proj_v):
    """The learner's linformer_attention; a shape error names the axis E and F act on, and the
    inputs must come back unchanged."""
    before = [t.clone() for t in (q, k, v, proj_k, proj_v)]
    try:
        out = mod.linformer_attention(q, k, v, proj_k, proj_v)
    except NotImplementedError:
        raise  # a stub: todo
    except RuntimeError as error:
        raise AssertionError(
            f"linformer_attention(q {describe(q)}, k {describe(k)}, v {describe(v)}, proj_k "
            f"{describe(proj_k)}, proj_v {describe(proj_v)}) raised {error}\n  likely cause: "
            f"{SEQUENCE_AXIS}; queries are not projected"
        ) from error
    names = ("q", "k", "v", "proj_k", "proj_v")
    for name, t, b in zip(names, (q, k, v, proj_k, proj_v), before):
        assert torch.equal(t, b), f"linformer_attention changed its input {name}; use new tensors"
    return out


def naive(q, k, v, e, f, scale=True, dim=-1):
    """The formula, one (batch row, head) at a time: softmax(q (E k)^T / sqrt(D)) (F v)."""
    B, H, T, D = q.shape
    out = torch.empty(B, H, T, v.shape[-1], dtype=torch.float64)
    for b in range(B):
        for h in range(H):
            keys, values = e @ k[b, h], f @ v[b, h]  # (kdim, D), (kdim, Dv)
            s = q[b, h] @ keys.T / (math.sqrt(D) if scale else 1.0)  # (T, kdim)
            out[b, h] = torch.softmax(s, dim=dim) @ values
    return out


def shape_hint(got, T):
    if isinstance(got, torch.Tensor) and got.dim() == 4 and got.shape[-2] != T:
        return f"the output has {got.shape[-2]} rows, not T = {T}: queries are not projected"
    return "the output is (B, H, T, Dv): one row per query"


def likely_cause(got, variants: dict[str, torch.Tensor], default: str) -> str:
    got = got.detach().double()
    for cause, out in variants.items():
        if got.shape == out.shape and torch.allclose(got, out, rtol=1e-6, atol=1e-9):
            return cause
    return default


def test_identity_projections_give_exact_attention():
    """kdim = T = 7, E = F = identity: nothing is mixed, so the output is exact softmax attention
    (oracle: F.scaled_dot_product_attention). B=2, H=3, D=5, Dv=4, float64."""
    g = generator(51)
    q, k = (torch.randn(2, 3, 7, 5, generator=g, dtype=torch.float64) for _ in "qk")
    v = torch.randn(2, 3, 7, 4, generator=g, dtype=torch.float64)
    eye = torch.eye(7, dtype=torch.float64)
    got = linformer(q, k, v, eye, eye)
    assert isinstance(got, torch.Tensor) and tuple(got.shape) == (2, 3, 7, 4), (
        f"linformer_attention(B=2, H=3, T=7, D=5, Dv=4, kdim=7): expected (2, 3, 7, 4), got "
        f"{describe(got)}\n  likely cause: {shape_hint(got, 7)}"
    )
    variants = {
        "the scores lack the 1/sqrt(D) scale": naive(q, k, v, eye, eye, scale=False),
        "the softmax runs over the queries (dim -2); it is over the kdim projected keys (dim -1)": (
            naive(q, k, v, eye, eye, dim=-2)
        ),
    }
    assert_close(
        got,
        F.scaled_dot_product_attention(q, k, v),
        what="linformer_attention(E = F = identity (7, 7), B=2, H=3, T=7, D=5, Dv=4)",
        hint=likely_cause(got, variants, "softmax(q (E k)^T / sqrt(D)) (F v)"),
    )


def test_one_projected_key_averages_the_values():
    """T = 2, kdim = 1, E = F = [[0.5, 0.5]]: one projected key, and a softmax over one score is 1,
    so every output row is (v_0 + v_1) / 2 = (1 + 3) / 2 = 2 whatever q and k are."""
    g = generator(52)
    q, k = (torch.randn(1, 1, 2, 3, generator=g, dtype=torch.float64) for _ in "qk")
    v = torch.tensor([1.0, 3.0], dtype=torch.float64).view(1, 1, 2, 1)
    e = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    got = linformer(q, k, v, e, e)
    assert_close(
        got,
        torch.full((1, 1, 2, 1), 2.0, dtype=torch.float64),
        what="linformer_attention(T=2, kdim=1, E = F = [[0.5, 0.5]], v=[1, 3])",
        hint=shape_hint(got, 2)
        if not isinstance(got, torch.Tensor) or got.shape != (1, 1, 2, 1)
        else "with one projected key the softmax is 1 and every row is F v = (v_0 + v_1) / 2: "
        "softmax(q (E k)^T / sqrt(D)) (F v), a softmax over the kdim projected keys (dim -1)",
    )


@pytest.mark.parametrize("T,D,kdim", [(9, 5, 4), (5, 5, 5), (6, 6, 3)])
def test_equals_the_formula_for_random_projections(T, D, kdim):
    """B=2, H=3, Dv=4, E and F different N(0, 1/kdim) matrices (kdim, T), float64: the output is
    softmax(q (E k)^T / sqrt(D)) (F v), computed here per batch row and head. T = D = kdim = 5 and
    T = D = 6 make E fit the feature axis too, so only the values tell the axes apart."""
    g = generator(53 + T)
    q, k = (torch.randn(2, 3, T, D, generator=g, dtype=torch.float64) for _ in "qk")
    v = torch.randn(2, 3, T, 4, generator=g, dtype=torch.float64)
    e, f = (torch.randn(kdim, T, generator=g, dtype=torch.float64) / math.sqrt(kdim) for _ in "ef")
    got = linformer(q, k, v, e, f)
    assert isinstance(got, torch.Tensor) and tuple(got.shape) == (2, 3, T, 4), (
        f"linformer_attention(B=2, H=3, T={T}, D={D}, Dv=4, kdim={kdim}): expected "
        f"(2, 3, {T}, 4), got {describe(got)}\n  likely cause: {shape_hint(got, T)}"
    )
    variants = {
        "proj_k and proj_v are swapped: E = proj_k projects the keys, F = proj_v the values": (
            naive(q, k, v, f, e)
        ),
        "the values are projected with proj_k; they take proj_v (F)": naive(q, k, v, e, e),
        "the keys are projected with proj_v; they take proj_k (E)": naive(q, k, v, f, f),
        "the scores lack the 1/sqrt(D) scale": naive(q, k, v, e, f, scale=False),
        "the softmax runs over the queries (dim -2); it is over the kdim projected keys (dim -1)": (
            naive(q, k, v, e, f, dim=-2)
        ),
    }
    if T == D == kdim:  # E applied to the keys' features: k E^T instead of E k
        s = torch.softmax(q @ (k @ e.T).transpose(-2, -1) / math.sqrt(D), dim=-1)
        variants[SEQUENCE_AXIS] = s @ (f @ v)
    assert_close(
        got,
        naive(q, k, v, e, f),
        what=f"linformer_attention(B=2, H=3, T={T}, D={D}, Dv=4, kdim={kdim}, random E != F)",
        hint=likely_cause(got, variants, f"softmax(q (E k)^T / sqrt(D)) (F v); {SEQUENCE_AXIS}"),
    )


def test_mean_pooling_is_exact_for_keys_constant_within_segments():
    """T = 12, kdim = 4, E = F = mean pooling over segments of 3 positions, keys constant within
    each segment (values arbitrary). Exact attention gives each segment r the weight
    3 exp(s_r) / sum_r' 3 exp(s_r') = softmax over the 4 distinct keys, shared by its 3 values:
    out = sum_r p_r mean_r(v), which is Linformer's answer with these E and F. Oracle:
    F.scaled_dot_product_attention. B=2, H=2, D=3, Dv=5."""
    g = generator(54)
    q = torch.randn(2, 2, 12, 3, generator=g, dtype=torch.float64)
    k = torch.randn(2, 2, 4, 3, generator=g, dtype=torch.float64).repeat_interleave(3, dim=2)
    v = torch.randn(2, 2, 12, 5, generator=g, dtype=torch.float64)
    pool = (torch.arange(12)[None, :] // 3 == torch.arange(4)[:, None]).double() / 3  # (4, 12)
    got = linformer(q, k, v, pool, pool)
    assert_close(
        got,
        F.scaled_dot_product_attention(q, k, v),
        what="linformer_attention(T=12, kdim=4, mean pooling, keys constant within segments)",
        hint=f"{SEQUENCE_AXIS}: E k averages each segment's keys, F v its values",
    )


def test_error_shrinks_as_kdim_grows_on_smooth_inputs():
    """Keys and values that vary slowly along the sequence (3 low sine frequencies, T=32), mean
    pooling E = F: the relative error against exact attention at kdim = 4, 8, 16, 32 falls by at
    least half at each step and is ~0 at kdim = T (the identity). The reference measured 0.28,
    0.052, 0.012, 3e-16; with random N(0, 1/kdim) projections instead it stays above 1 (untrained
    projections do not approximate a given attention; Linformer trains them)."""
    g = generator(55)
    t = torch.linspace(0, 1, 32, dtype=torch.float64)
    basis = torch.stack([torch.sin(math.pi * (f + 1) * t) for f in range(3)])  # (3, T)

    def smooth(D):
        return torch.einsum("ft,bhfd->bhtd", basis, torch.randn(2, 3, 3, D, generator=g).double())

    q = torch.randn(2, 3, 32, 8, generator=g, dtype=torch.float64)
    k, v = smooth(8) * 1.5, smooth(8)
    exact = F.scaled_dot_product_attention(q, k, v)
    errors = []
    for kdim in (4, 8, 16, 32):
        pool = mod.mean_pooling_projection(kdim, 32, torch.float64)
        errors.append(float((linformer(q, k, v, pool, pool) - exact).norm() / exact.norm()))
    shrinks = all(b < 0.5 * a for a, b in zip(errors, errors[1:]))
    assert shrinks and errors[-1] < 1e-10, (
        "linformer_attention with mean pooling on smooth inputs (T=32): relative errors at kdim "
        f"4, 8, 16, 32: {[round(e, 4) for e in errors]}; expected each below half the previous "
        f"and ~0 at kdim = T\n  likely cause: softmax(q (E k)^T / sqrt(D)) (F v); {SEQUENCE_AXIS}"
    )


def test_is_not_causal():
    """Linformer is non-causal (the docstring says so): changing only the last value changes the
    output of row 0, because every projected value mixes all positions. T=6, kdim=3."""
    g = generator(56)
    q, k, v = (torch.randn(1, 1, 6, 4, generator=g, dtype=torch.float64) for _ in "qkv")
    e, f = (torch.randn(3, 6, generator=g, dtype=torch.float64) for _ in "ef")
    a = linformer(q, k, v, e, f)
    v2 = v.clone()
    v2[0, 0, 5] += 1.0
    b = linformer(q, k, v2, e, f)
    assert not torch.allclose(a[0, 0, 0], b[0, 0, 0]), (
        "linformer_attention: changing v at the last position left row 0 unchanged\n  likely "
        "cause: F v mixes all positions, so every row depends on every value (no causal mask)"
    )


@pytest.mark.parametrize(
    "e_shape,f_shape",
    [((3, 8), (3, 7)), ((3, 7), (3, 8)), ((3, 7), (4, 7)), ((7,), (7,)), ((3, 6), (3, 6))],
)
def test_raises_on_projections_of_the_wrong_shape(e_shape, f_shape):
    """T = 7: E and F must both be 2-D (kdim, 7) with the same kdim, else ValueError."""
    g = generator(57)
    q, k, v = (torch.randn(1, 2, 7, 4, generator=g) for _ in "qkv")
    e, f = torch.randn(*e_shape, generator=g), torch.randn(*f_shape, generator=g)
    what = f"linformer_attention(T=7, proj_k {e_shape}, proj_v {f_shape})"
    try:
        out = mod.linformer_attention(q, k, v, e, f)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except (RuntimeError, IndexError) as error:
        raise AssertionError(
            f"{what} raised {type(error).__name__}: {error}\n  likely cause: check the shapes "
            "first and raise a ValueError (the docstring's Raises): both (kdim, T), same kdim"
        ) from error
    raise AssertionError(
        f"{what} returned {describe(out)}; expected a ValueError (the docstring's Raises): both "
        "are (kdim, T), with the same kdim"
    )


def test_never_builds_a_T_by_T_tensor():
    """T=64, D=4, kdim=8, B=H=1: the scores are (T, kdim) = 512 elements; a (T, T) matrix has
    4096. Bound: every tensor created stays below 4096 / 2."""
    g = generator(58)
    q, k, v = (torch.randn(1, 1, 64, 4, generator=g) for _ in "qkv")
    e, f = (torch.randn(8, 64, generator=g) for _ in "ef")
    with LargestTensor() as rec:
        linformer(q, k, v, e, f)
    assert rec.numel < 2048, (
        f"linformer_attention(T=64, kdim=8) created a tensor of shape {rec.shape}\n  likely "
        "cause: a (T, T) matrix; only the kdim projected keys are scored"
    )
