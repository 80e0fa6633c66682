"""Checks for w12.lowrank: the truncated SVD as LoRA factors, its error, energy rank, the eigen view.

Oracles: torch.linalg.svd / svdvals (the truncation U_r diag(s_r) V_r^T computed here in float64),
torch.linalg.matrix_norm (Frobenius and spectral), torch.linalg.eigvalsh of torch.cov, known answers
by hand, and Eckart-Young as a property (no other rank-r matrix is closer). Factors are never
compared, only the product B @ A: the signs of singular vectors (and their directions for equal
singular values) are not unique. Random inputs are Gaussian, whose singular values are distinct.
"""

import math

import pytest
import torch
import torch.nn as nn

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week12_peft.lowrank")

SHAPES = [(7, 5), (5, 9), (6, 6)]  # tall, wide, square: out != in catches U / V^T mix-ups
EIGEN_SHORTCUTS = [
    "torch.cov",
    "torch.Tensor.cov",
    "torch.linalg.eigvalsh",
    "torch.linalg.eigh",
    "torch.linalg.eigvals",
    "torch.linalg.eig",
]


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=generator(seed), dtype=dtype)


def best(delta: torch.Tensor, r: int) -> torch.Tensor:
    """The truncated SVD U_r diag(s_r) V_r^T, in float64: Eckart-Young's optimum."""
    U, s, Vh = torch.linalg.svd(delta.double(), full_matrices=False)
    return U[..., :, :r] @ torch.diag_embed(s[..., :r]) @ Vh[..., :r, :]


def factors_cause(delta: torch.Tensor, product: torch.Tensor, r: int) -> str:
    """Name the likely mistake from the singular values of the learner's B @ A."""
    s = torch.linalg.svdvals(delta.double())
    got = torch.linalg.svdvals(product.double())[..., :r]
    top, low = s[..., :r], s[..., -r:] if r else s[..., :0]

    def same(a, b):
        return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-6 * float(s.max()))

    if same(got, low) and not same(got, top):
        return (
            "B @ A has the r smallest singular values: keep the r largest (torch.linalg.svd "
            "returns s in descending order: the first r, not the last r)"
        )
    if same(got, torch.ones_like(top)):
        return (
            "the singular values are missing from the factors: B @ A = U_r V_r^T has singular "
            "values 1; put s (or sqrt(s) on each side) into B and A"
        )
    if same(got, top.square()):
        return (
            "s is counted twice (B @ A has singular values s^2): put s in one factor, or sqrt(s) "
            "in each"
        )
    if same(got, top.sqrt()):
        return "only sqrt(s) made it into the product: sqrt(s) goes into both B and A"
    if same(got, top):
        return (
            "the right singular values in the wrong directions: B's columns are the first r "
            "columns of U, A's rows the first r rows of V^T (torch.linalg.svd returns Vh = V^T, "
            "not V)"
        )
    return "B @ A should be U_r diag(s_r) V_r^T: the r largest singular values with their vectors"


def check_product(delta, r, what, atol=1e-9):
    B, A = mod.low_rank_factors(delta, r)
    out, inp = delta.shape[-2], delta.shape[-1]
    lead = tuple(delta.shape[:-2])
    assert tuple(B.shape) == (*lead, out, r) and tuple(A.shape) == (*lead, r, inp), (
        f"{what}: got B {tuple(B.shape)} and A {tuple(A.shape)}, expected B {(*lead, out, r)} "
        f"(like lora_B: the first r columns of U) and A {(*lead, r, inp)} (like lora_A: the first "
        "r rows of V^T; torch.linalg.svd returns Vh = V^T)"
    )
    product = B @ A
    expected = best(delta, r)
    scale = float(torch.linalg.svdvals(delta.double()).max())
    assert_close(
        product,
        expected,
        what=f"{what}: B @ A",
        hint=factors_cause(delta, product, r),
        atol=atol * scale,
        rtol=0,
    )
    return B, A


# --- low_rank_factors --------------------------------------------------------------------------


def test_factors_have_lora_shapes_and_keep_the_dtype():
    for out, inp in SHAPES:
        delta = randn(out, inp, seed=out)
        B, A = check_product(delta, 3, f"low_rank_factors(delta {out}x{inp}, r=3)")
        assert B.dtype == A.dtype == torch.float64, (
            f"low_rank_factors(float64 delta) returned {B.dtype} and {A.dtype}: keep delta's dtype"
        )


def test_product_is_the_truncated_svd_for_every_rank():
    """The optimum U_r diag(s_r) V_r^T for r = 1 .. min(out, in), tall, wide and square."""
    for out, inp in SHAPES:
        delta = randn(out, inp, seed=10 + out)
        for r in range(1, min(out, inp) + 1):
            check_product(delta, r, f"low_rank_factors(delta {out}x{inp}, r={r})")


def test_the_error_is_the_root_of_the_left_out_energy():
    """Eckart-Young-Mirsky: ||delta - B A||_F = sqrt(s_{r+1}^2 + ... + s_k^2), ||.||_2 = s_{r+1}."""
    delta = randn(11, 8, seed=3)
    s = torch.linalg.svdvals(delta)
    for r in range(0, 8):
        B, A = mod.low_rank_factors(delta, r)
        err = delta - B @ A
        fro = torch.linalg.matrix_norm(err, "fro")
        spec = torch.linalg.matrix_norm(err, 2)
        tail = s[r:].square().sum().sqrt()
        cause = factors_cause(delta, B @ A, r)
        assert math.isclose(fro, tail, rel_tol=1e-9), (
            f"low_rank_factors(delta 11x8, r={r}): ||delta - B @ A||_F = {fro:.6f}, but the best "
            f"rank-{r} error is sqrt(sum of the left-out s^2) = {tail:.6f}\n  likely cause: {cause}"
        )
        assert math.isclose(spec, s[r], rel_tol=1e-9), (
            f"low_rank_factors(delta 11x8, r={r}): ||delta - B @ A||_2 = {spec:.6f}, but the best "
            f"rank-{r} error is s_{{r+1}} = {s[r]:.6f}\n  likely cause: {cause}"
        )


def test_no_other_rank_r_matrix_is_closer():
    """Eckart-Young as a property: compete with 300 rank-r matrices in Frobenius and spectral norm.

    Competitors: delta projected on random r-dimensional column spaces (Q Q^T delta: the best
    matrix with that column space), the optimum with its column space turned a little (the same
    projection on U_r + 0.05 G), and random rank-r products. Each has error >= the optimum's
    (the theorem), so the learner's error must not exceed any of them (by more than 1e-9).
    """
    out, inp, r = 9, 7, 3
    delta = randn(out, inp, seed=5)
    B, A = mod.low_rank_factors(delta, r)
    fro = torch.linalg.matrix_norm(delta - B @ A, "fro")
    spec = torch.linalg.matrix_norm(delta - B @ A, 2)
    U = torch.linalg.svd(delta).U[:, :r]
    g = generator(6)
    for _ in range(100):
        competitors = []
        for basis in (
            torch.randn(out, r, generator=g, dtype=torch.float64),
            U + 0.05 * torch.randn(out, r, generator=g, dtype=torch.float64),
        ):
            Q = torch.linalg.qr(basis).Q  # (out, r) orthonormal columns
            competitors.append(Q @ Q.T @ delta)
        competitors.append(
            torch.randn(out, r, generator=g, dtype=torch.float64)
            @ torch.randn(r, inp, generator=g, dtype=torch.float64)
            * 0.3
        )
        for M in competitors:
            assert fro <= torch.linalg.matrix_norm(delta - M, "fro") + 1e-9, (
                f"low_rank_factors(delta 9x7, r=3): a rank-3 matrix found at random is closer to "
                f"delta in Frobenius norm than B @ A ({float(torch.linalg.matrix_norm(delta - M)):.4f}"
                f" < {float(fro):.4f})\n  likely cause: {factors_cause(delta, B @ A, r)}"
            )
            assert spec <= torch.linalg.matrix_norm(delta - M, 2) + 1e-9, (
                "low_rank_factors(delta 9x7, r=3): a rank-3 matrix found at random is closer to "
                f"delta in spectral norm than B @ A\n  likely cause: {factors_cause(delta, B @ A, r)}"
            )


def test_a_rank_r_matrix_is_reproduced_exactly():
    """delta = P Q with P (10, 3), Q (3, 7) has rank 3: r = 3 (and any r >= 3) gives delta back."""
    delta = randn(10, 3, seed=7) @ randn(3, 7, seed=8)
    for r in (3, 5, 7):
        B, A = mod.low_rank_factors(delta, r)
        assert_close(
            B @ A,
            delta,
            what=f"low_rank_factors(a rank-3 10x7 delta, r={r}): B @ A",
            hint="a rank-3 matrix has only 3 nonzero singular values: keeping the largest r >= 3 "
            "loses nothing",
            atol=1e-10,
            rtol=1e-10,
        )


def test_rank_zero_is_empty_and_full_rank_is_exact():
    for out, inp in SHAPES:
        delta = randn(out, inp, seed=20 + out)
        B, A = mod.low_rank_factors(delta, 0)
        assert tuple(B.shape) == (out, 0) and tuple(A.shape) == (0, inp), (
            f"low_rank_factors(delta {out}x{inp}, r=0): got B {tuple(B.shape)} and A "
            f"{tuple(A.shape)}, expected empty factors ({out}, 0) and (0, {inp}) (B @ A = 0)"
        )
        assert torch.count_nonzero(B @ A) == 0
        k = min(out, inp)
        B, A = mod.low_rank_factors(delta, k)
        assert_close(
            B @ A,
            delta,
            what=f"low_rank_factors(delta {out}x{inp}, r=min(out, in)={k}): B @ A",
            hint="with every singular value kept, B @ A = U diag(s) V^T = delta; "
            + factors_cause(delta, B @ A, k),
            atol=1e-10,
            rtol=1e-10,
        )


def test_a_rank_outside_0_to_min_out_in_raises():
    delta = randn(5, 8, seed=1)
    for r in (-1, 6):
        with pytest.raises(ValueError):
            mod.low_rank_factors(delta, r)


def test_a_batch_gives_each_matrix_its_own_factors():
    """(4, 7, 5) and (2, 3, 5, 6): every matrix of the batch is truncated on its own."""
    for shape, r in (((4, 7, 5), 2), ((2, 3, 5, 6), 4)):
        delta = randn(*shape, seed=30)
        check_product(delta, r, f"low_rank_factors(delta {shape}, r={r})")


def test_float32_and_tiny_or_huge_magnitudes():
    """float32 stays float32 (close to the float64 optimum); scaling delta scales B @ A."""
    delta = randn(12, 9, seed=40, dtype=torch.float32)
    B, A = mod.low_rank_factors(delta, 4)
    assert B.dtype == A.dtype == torch.float32, (
        f"low_rank_factors(float32 delta) returned {B.dtype} and {A.dtype}: keep delta's dtype"
    )
    check_product(delta, 4, "low_rank_factors(float32 delta 12x9, r=4)", atol=1e-5)
    for factor in (1e-8, 1e6):
        check_product(randn(8, 6, seed=41) * factor, 2, f"low_rank_factors(delta * {factor}, r=2)")


# --- low_rank_error --------------------------------------------------------------------------


def error_cause(s, r, fro, spec):
    """Name the likely mistake from what low_rank_error returned."""
    s = s.double()
    if math.isclose(fro, float(s[..., :r].square().sum().sqrt()), rel_tol=1e-6) and r:
        return "that sums the kept singular values: the error is what is left out, s[r:]"
    if math.isclose(fro, float(s[r:].square().sum()), rel_tol=1e-6):
        return "the Frobenius norm is the square root of the left-out energy"
    if math.isclose(fro, float(s[r:].sum()), rel_tol=1e-6):
        return "the Frobenius error squares the left-out values: sqrt(sum s_i^2), not sum s_i"
    if 0 < r <= len(s) and math.isclose(spec, float(s[r - 1]), rel_tol=1e-6):
        return "the spectral error is s_{r+1} (index r), the largest value left out, not s_r"
    return "frobenius = sqrt(sum of s[r:]^2), spectral = s[r] (0 when r = k)"


def test_error_known_answers():
    """s = [4, 2, 1]: r=1 -> (sqrt(2^2 + 1^2) = sqrt 5, 2), r=2 -> (1, 1), r=3 -> (0, 0),
    r=0 -> (sqrt 21, 4): the norms of the matrix itself."""
    s = torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64)
    for r, fro_exp, spec_exp in ((1, 5**0.5, 2.0), (2, 1.0, 1.0), (3, 0.0, 0.0), (0, 21**0.5, 4.0)):
        fro, spec = mod.low_rank_error(s, r)
        assert isinstance(fro, torch.Tensor) and fro.shape == () and spec.shape == (), (
            f"low_rank_error(s (3,), r={r}) should return two 0-d tensors, got "
            f"{type(fro).__name__} {getattr(fro, 'shape', '')}, {getattr(spec, 'shape', '')}"
        )
        assert math.isclose(fro, fro_exp, abs_tol=1e-12) and math.isclose(
            spec, spec_exp, abs_tol=1e-12
        ), (
            f"low_rank_error(s=[4, 2, 1], r={r}) = ({float(fro):.4f}, {float(spec):.4f}), expected "
            f"({fro_exp:.4f}, {spec_exp:.4f})\n  likely cause: {error_cause(s, r, fro, spec)}"
        )


def test_error_equals_the_norms_of_the_truncation_error():
    """For random 9x13 matrices, every r: the matrix norms of delta - U_r diag(s_r) V_r^T."""
    delta = randn(9, 13, seed=50)
    s = torch.linalg.svdvals(delta)
    for r in range(0, 10):
        fro, spec = mod.low_rank_error(s, r)
        err = delta - best(delta, r)
        fro_exp = float(torch.linalg.matrix_norm(err, "fro"))
        spec_exp = float(torch.linalg.matrix_norm(err, 2))
        assert math.isclose(fro, fro_exp, rel_tol=1e-9, abs_tol=1e-12), (
            f"low_rank_error(s of a 9x13 matrix, r={r}): frobenius {float(fro):.6f}, but "
            f"||delta - best rank {r}||_F = {fro_exp:.6f}\n  likely cause: "
            f"{error_cause(s, r, fro, spec)}"
        )
        assert math.isclose(spec, spec_exp, rel_tol=1e-9, abs_tol=1e-12), (
            f"low_rank_error(s of a 9x13 matrix, r={r}): spectral {float(spec):.6f}, but "
            f"||delta - best rank {r}||_2 = {spec_exp:.6f}\n  likely cause: "
            f"{error_cause(s, r, fro, spec)}"
        )


def test_error_of_a_batch_and_in_float32():
    s = torch.linalg.svdvals(randn(3, 6, 4, seed=51, dtype=torch.float32))  # (3, 4)
    fro, spec = mod.low_rank_error(s, 1)
    assert tuple(fro.shape) == (3,) and tuple(spec.shape) == (3,), (
        f"low_rank_error(s (3, 4), r=1) should give one error per matrix, shapes (3,) and (3,); "
        f"got {tuple(fro.shape)} and {tuple(spec.shape)} (reduce over the last dimension only)"
    )
    assert fro.dtype == spec.dtype == torch.float32, f"float32 s gave {fro.dtype}, {spec.dtype}"
    assert_close(fro, s[:, 1:].double().square().sum(-1).sqrt(), what="frobenius", rtol=1e-6)
    assert_close(spec, s[:, 1], what="spectral", rtol=1e-6, hint="s_{r+1}: the largest left out")
    fro, spec = mod.low_rank_error(s, 4)
    assert torch.count_nonzero(fro) == 0 and torch.count_nonzero(spec) == 0, (
        f"low_rank_error(s (3, 4), r=4) = ({fro.tolist()}, {spec.tolist()}): with every value "
        "kept nothing is left out, both errors are 0"
    )


def test_error_rank_outside_0_to_k_raises():
    s = torch.tensor([3.0, 2.0, 1.0])
    for r in (-1, 4):
        with pytest.raises(ValueError):
            mod.low_rank_error(s, r)


# --- energy_rank --------------------------------------------------------------------------------


def brute_energy_rank(s: torch.Tensor, fraction: float, square=True, strict=False) -> int:
    """The definition, one r at a time, in exact fractions of float64 values.

    square=False and strict=True give the answers of two mistakes: energy as the sum of the values
    themselves, and a fraction met exactly not counted (> instead of >=).
    """
    from fractions import Fraction

    energy = [Fraction(float(v)) ** (2 if square else 1) for v in s.double()]
    target = Fraction(fraction) * sum(energy)
    for r in range(len(energy) + 1):
        kept = sum(energy[:r])
        if kept > target or (kept == target and not strict):
            return r
    return len(energy)


def energy_cause(s: torch.Tensor, fraction: float, got: int, why: str) -> str:
    if got == brute_energy_rank(s, fraction, square=False):
        return "energy is the sum of the squared singular values, not of the values"
    if got == brute_energy_rank(s, fraction, strict=True):
        return "a fraction met exactly counts: the smallest r with kept energy >=, not >, target"
    if got == brute_energy_rank(s, fraction) + 1:
        return "one too many: r counts the values kept (r = 0 keeps none), not an index"
    return why


def test_energy_rank_known_answers():
    """s = [2, 1, 1, 1, 1]: energies 4, 1, 1, 1, 1 (total 8); s = [3, 2, 0, 0]."""
    s = torch.tensor([2.0, 1.0, 1.0, 1.0, 1.0])
    cases = [
        (s, 0.0, 0, "no energy needs no values"),
        (s, 0.5, 1, "the top value holds 4 of 8: exactly half"),
        (s, 0.6, 2, "4 < 4.8 <= 5"),
        (s, 0.75, 3, "the top 3 hold 6 of 8: exactly three quarters"),
        (s, 1.0, 5, "all the energy needs every nonzero value"),
        (torch.tensor([3.0, 2.0, 0.0, 0.0]), 1.0, 2, "zeros hold no energy: the rank is 2"),
    ]
    for values, fraction, expected, why in cases:
        got = mod.energy_rank(values, fraction)
        assert isinstance(got, int), f"energy_rank should return a Python int, got {type(got)}"
        assert got == expected, (
            f"energy_rank(s={values.tolist()}, fraction={fraction}) = {got}, expected {expected} "
            f"({why})\n  likely cause: {energy_cause(values, fraction, got, why)}"
        )


def test_energy_rank_matches_the_definition_for_random_spectra():
    """Fraction 1 for 40 float32 spectra (k = 30 .. 69, all nonzero) -> k; 200 fractions of a 37x50
    matrix against the definition. A float32 total summed apart from the cumulative sums rounds
    above their last value for about 1 spectrum in 5 here, and fraction 1 is then never reached."""
    for k in range(30, 70):
        s = torch.linalg.svdvals(randn(k, k + 13, seed=100 + k, dtype=torch.float32))
        got = mod.energy_rank(s, 1.0)
        assert got == k, (
            f"energy_rank(s of a random {k}x{k + 13} float32 matrix, fraction=1.0) = {got}, "
            f"expected {k} (all {k} values are nonzero)\n  likely cause: fraction 1 must be reached "
            "whatever the rounding: compare against the last cumulative sum, not a total summed "
            "separately (in float32 the two differ in the last bits)"
        )
    s = torch.linalg.svdvals(randn(37, 50, seed=60, dtype=torch.float32))
    fractions = torch.rand(200, generator=generator(61), dtype=torch.float64).tolist()
    for fraction in fractions:
        got = mod.energy_rank(s, fraction)
        expected = brute_energy_rank(s, fraction)
        assert got == expected, (
            f"energy_rank(s of a random 37x50 matrix, fraction={fraction:.4f}) = {got}, expected "
            f"{expected}: the smallest r with s_1^2 + ... + s_r^2 >= fraction * sum s_i^2"
            f"\n  likely cause: {energy_cause(s, fraction, got, 'see the docstring')}"
        )


def test_energy_fraction_outside_0_to_1_raises():
    s = torch.tensor([2.0, 1.0])
    for fraction in (-0.1, 1.5):
        with pytest.raises(ValueError):
            mod.energy_rank(s, fraction)


# --- covariance_eigenvalues ----------------------------------------------------------------------


def eigen(x: torch.Tensor) -> torch.Tensor:
    return from_scratch(
        mod.covariance_eigenvalues,
        x,
        forbid=EIGEN_SHORTCUTS,
        exercise="w12.lowrank",
        instead="torch.linalg.svdvals of the centred data",
    )


def eigen_cause(x: torch.Tensor, got: torch.Tensor) -> str:
    """Compare what came back with the eigenvalues of the usual mistakes."""
    x = x.double()
    n, d = x.shape[-2], x.shape[-1]

    def from_svd(data, divide):
        s = torch.linalg.svdvals(data)
        return nn.functional.pad(s.square() / divide, (0, d - s.shape[-1]))

    right = from_svd(x - x.mean(-2, keepdim=True), n - 1)
    candidates = [
        (right * (n - 1) / n, "ddof: the sample covariance divides by n - 1 (ddof 1), not by n"),
        (from_svd(x, n - 1), "not centred: subtract each column's mean before the SVD"),
        (
            from_svd(x - x.mean(-1, keepdim=True), n - 1),
            "centred each row: subtract each column's (variable's) mean, over the n rows (dim -2)",
        ),
        (right.flip(-1), "ascending order: return the eigenvalues in descending order"),
        (
            nn.functional.pad(
                torch.linalg.svdvals(x - x.mean(-2, keepdim=True)) / (n - 1),
                (0, d - min(n, d)),
            ),
            "the eigenvalues are the squared singular values / (n - 1), not s / (n - 1)",
        ),
    ]
    for candidate, cause in candidates:
        if got.shape == candidate.shape and torch.allclose(got.double(), candidate, rtol=1e-5):
            return cause
    return "cov = Xc^T Xc / (n - 1), Xc the data minus its column means: eigenvalues s^2 / (n - 1)"


def check_eigen(x: torch.Tensor, what: str, rtol=1e-9):
    got = eigen(x)
    xd = x.double()
    n, d = x.shape[-2], x.shape[-1]
    lead = tuple(x.shape[:-2])
    assert tuple(got.shape) == (*lead, d), (
        f"{what}: expected shape {(*lead, d)}, got {tuple(got.shape)}\n  likely cause: "
        + (
            "when n < d there are only n singular values: the other eigenvalues are 0 (pad)"
            if n < d
            else "one eigenvalue per variable (column) of x"
        )
    )
    # the oracle, matrix by matrix: eigvalsh sorts ascending, hence the flip
    matrices = xd.reshape(-1, n, d)
    expected = torch.stack([torch.linalg.eigvalsh(torch.cov(m.T)).flip(-1) for m in matrices])
    expected = expected.reshape(*lead, d)
    scale = float(expected.abs().max())
    assert_close(
        got,
        expected,
        what=f"{what} vs torch.linalg.eigvalsh(torch.cov(x.T)), descending",
        hint=eigen_cause(x, got),
        atol=rtol * scale,
        rtol=rtol,
    )
    via_svd = torch.linalg.svdvals(xd - xd.mean(-2, keepdim=True)).square() / (n - 1)
    assert_close(
        got[..., : via_svd.shape[-1]],
        via_svd,
        what=f"{what} vs torch.linalg.svdvals(x - column means)^2 / (n - 1)",
        hint=eigen_cause(x, got),
        atol=rtol * scale,
        rtol=rtol,
    )
    return got


def test_covariance_known_answer_and_the_mean_does_not_matter():
    """x = [[0, 0], [2, 0], [0, 2], [2, 2]]: centred rows (+-1, +-1), cov = (4/3) I -> [4/3, 4/3].

    The same x + 5 has the same covariance; ddof 0 would give [1, 1].
    """
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]], dtype=torch.float64)
    for shift in (0.0, 5.0):
        got = eigen(x + shift)
        assert_close(
            got,
            torch.tensor([4 / 3, 4 / 3], dtype=torch.float64),
            what=f"covariance_eigenvalues(x + {shift}) for x = [[0, 0], [2, 0], [0, 2], [2, 2]]",
            hint=eigen_cause(x + shift, got),
            atol=1e-12,
        )


def test_covariance_eigenvalues_match_eigvalsh_and_svdvals():
    """Correlated data with a large mean (offset 3 plus a random mean per column), n > d."""
    g = generator(70)
    for n, d in ((40, 7), (9, 9), (200, 3)):
        mix = torch.randn(d, d, generator=g, dtype=torch.float64)
        x = torch.randn(n, d, generator=g, dtype=torch.float64) @ mix + 3.0
        x = x + torch.randn(d, generator=g, dtype=torch.float64) * 4
        check_eigen(x, f"covariance_eigenvalues(x {n}x{d})")


def test_fewer_observations_than_variables_pads_with_zeros():
    """n = 4 rows of d = 9 variables: centred rank <= 3, so at least 6 eigenvalues are 0."""
    x = randn(4, 9, seed=71) + 2.0
    got = check_eigen(x, "covariance_eigenvalues(x 4x9)", rtol=1e-9)
    assert torch.all(got[4:] == 0), (
        f"covariance_eigenvalues(x 4x9): the last 5 eigenvalues should be exactly 0 (only 4 "
        f"singular values exist), got {got[4:].tolist()}"
    )


def test_covariance_of_a_batch_and_float32():
    x = randn(3, 25, 6, seed=72) * 2 + 1
    check_eigen(x, "covariance_eigenvalues(x (3, 25, 6))")
    x32 = randn(30, 5, seed=73, dtype=torch.float32) * 10 + 1
    got = eigen(x32)
    assert got.dtype == torch.float32, f"float32 x gave {got.dtype}: keep x's dtype"
    check_eigen(x32, "covariance_eigenvalues(float32 x 30x5)", rtol=1e-4)


def test_covariance_of_one_observation_raises():
    with pytest.raises(ValueError):
        mod.covariance_eigenvalues(torch.ones(1, 4))


# --- lora_from_delta -----------------------------------------------------------------------------


def test_lora_from_delta_adds_the_best_rank_r_update():
    """alpha=16, r=4 (scaling 4): scaling * lora_B @ lora_A is the truncated SVD of delta, and the
    layer computes base(x) + x @ best^T; the factors stay trainable, the base is wrapped as is."""
    torch.manual_seed(0)
    base = nn.Linear(10, 14)
    delta = randn(14, 10, seed=80, dtype=torch.float32)
    layer = mod.lora_from_delta(base, delta, r=4, alpha=16.0)
    lora = load("week12_peft.lora")
    assert isinstance(layer, lora.LoRALinear) and layer.base is base, (
        "lora_from_delta should return LoRALinear(base, r, alpha) around the same base module"
    )
    assert layer.scaling == 4.0 and layer.r == 4, f"scaling {layer.scaling}, r {layer.r}"
    expected = best(delta, 4)
    update = layer.delta_weight().detach()
    hint = "B carries 1 / scaling: the layer multiplies lora_B @ lora_A by scaling = alpha / r"
    for factor in (4.0, 1 / 4.0):
        if torch.allclose(update.double(), expected * factor, rtol=1e-4, atol=1e-5):
            break
    else:
        hint = factors_cause(delta, update, 4)
    assert_close(
        update,
        expected,
        what="lora_from_delta(base 10->14, delta, r=4, alpha=16).delta_weight()",
        hint=hint,
        atol=1e-5,
    )
    for p in (layer.lora_A, layer.lora_B):
        assert isinstance(p, nn.Parameter) and p.requires_grad, "lora_A/lora_B must stay trainable"
    x = randn(3, 5, 10, seed=81, dtype=torch.float32)
    with torch.no_grad():
        assert_close(
            layer(x),
            base(x) + x @ expected.float().T,
            what="lora_from_delta(...)(x) vs base(x) + x @ best^T",
            hint=hint,
            atol=1e-5,
        )


def test_lora_from_delta_rejects_rank_zero_and_a_wrong_shape():
    base = nn.Linear(6, 5)
    with pytest.raises(ValueError):
        mod.lora_from_delta(base, torch.zeros(5, 6), r=0, alpha=1.0)
    with pytest.raises(ValueError):
        mod.lora_from_delta(base, torch.zeros(6, 5), r=2, alpha=1.0)
