"""Checks for w09.compute_optimal: the closed-form allocation of a compute budget C = 6 N D.

Oracles: brute force (scipy's bounded minimize_scalar of law.loss(N, C / (6 N)) over log N: the
loss along the budget is convex in log N, so its minimum is the one the closed form must give);
the budget itself (N * D = C / 6); hand-derived boundaries: alpha = beta and A = B split evenly,
N = D = sqrt(C / 6); swapping the N and D terms of the law swaps the answers; ten times the
compute multiplies N_opt by 10**(beta / (alpha + beta)).
"""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from roadmap.impl import load

mod = load("week09_training.scaling")

LAWS = {
    "chinchilla": (1.69, 406.4, 410.7, 0.34, 0.28),
    "small": (1.8, 60.0, 300.0, 0.45, 0.3),
    "data-hungry": (2.1, 9.0, 2500.0, 0.2, 0.6),
}
BUDGETS = [1e15, 3.3e18, 5.76e23]


def law_of(params):
    return mod.ScalingLaw(*params)


def slips(params, C) -> dict[str, tuple[float, float]]:
    """What common slips return instead of (N_opt, D_opt), keyed by the cause they point to."""
    E, A, B, alpha, beta = params
    s = alpha + beta
    G = (alpha * A / (beta * B)) ** (1 / s)
    return {
        "C = 6 N D: the budget over 6, not over 2": (
            G * (C / 2) ** (beta / s),
            (C / 2) ** (alpha / s) / G,
        ),
        "the exponents are crossed over: N grows with beta / (alpha + beta), D with alpha / "
        "(alpha + beta)": (G * (C / 6) ** (alpha / s), (C / 6) ** (beta / s) / G),
        "G is inverted: G = (alpha A / (beta B))**(1 / (alpha + beta))": (
            (C / 6) ** (beta / s) / G,
            G * (C / 6) ** (alpha / s),
        ),
        "G without its root: G = (alpha A / (beta B))**(1 / (alpha + beta))": (
            G**s * (C / 6) ** (beta / s),
            (C / 6) ** (alpha / s) / G**s,
        ),
        "C = 6 N D: the formulas take C / 6, not C": (G * C ** (beta / s), C ** (alpha / s) / G),
        "D_opt is multiplied by G: D_opt = (C / 6)**(alpha / (alpha + beta)) / G": (
            G * (C / 6) ** (beta / s),
            G * (C / 6) ** (alpha / s),
        ),
    }


def cause_of(params, C, got, default: str) -> str:
    for cause, (n, d) in slips(params, C).items():
        if np.isclose(got[0], n, rtol=1e-6) and np.isclose(got[1], d, rtol=1e-6):
            return cause
    return default


def brute_force(params, C) -> float:
    """argmin over N of law.loss(N, C / (6 N)), searched in log N between 1 and C / 6."""
    E, A, B, alpha, beta = params

    def loss(log_n):
        n = np.exp(log_n)
        return A / n**alpha + B / (C / (6 * n)) ** beta

    found = minimize_scalar(
        loss, bounds=(0.0, np.log(C / 6)), method="bounded", options={"xatol": 1e-10}
    )
    return float(np.exp(found.x))


def test_chinchilla_worked_example():
    """The docstring's example: C = 5.76e23 -> N_opt = 3.219e10, D_opt = 2.982e12."""
    n, d = mod.compute_optimal(law_of(LAWS["chinchilla"]), 5.76e23)
    ok = np.isclose(n, 3.2190e10, rtol=1e-4) and np.isclose(d, 2.9823e12, rtol=1e-4)
    assert ok, (
        f"compute_optimal(CHINCHILLA, 5.76e23) = ({n:.4g}, {d:.4g}), expected (3.219e+10, "
        "2.982e+12)\n  likely cause: "
        + cause_of(
            LAWS["chinchilla"],
            5.76e23,
            (n, d),
            "minimise L(N, C / (6 N)) over N: alpha A N**-alpha = beta B D**-beta at the optimum",
        )
    )


@pytest.mark.parametrize("name", LAWS)
@pytest.mark.parametrize("C", BUDGETS)
def test_matches_brute_force_minimisation(name, C):
    params = LAWS[name]
    n, d = mod.compute_optimal(law_of(params), C)
    best = brute_force(params, C)
    assert np.isclose(n, best, rtol=1e-4), (
        f"compute_optimal(law {params}, C = {C:g}) gives N_opt = {n:.6g}; minimising "
        f"law.loss(N, C / (6 N)) over N finds {best:.6g}\n  likely cause: "
        + cause_of(
            params,
            C,
            (n, d),
            "N_opt = G (C / 6)**(beta / (alpha + beta)), G = (alpha A / (beta B))**(1 / (alpha "
            "+ beta))",
        )
    )


@pytest.mark.parametrize("name", LAWS)
def test_spends_the_whole_budget(name):
    """N_opt * D_opt = C / 6 for every C (an array of budgets in one call)."""
    C = np.array(BUDGETS)
    n, d = mod.compute_optimal(law_of(LAWS[name]), C)
    n, d = np.asarray(n, dtype=float), np.asarray(d, dtype=float)
    assert n.shape == C.shape and d.shape == C.shape, (
        f"compute_optimal(law, C of shape {C.shape}) returned shapes {n.shape}, {d.shape}: "
        "one N_opt and one D_opt per budget"
    )
    assert np.allclose(n * d, C / 6, rtol=1e-9), (
        f"N_opt * D_opt = {(n * d).tolist()}, the budgets give C / 6 = {(C / 6).tolist()}\n  "
        "likely cause: "
        + cause_of(LAWS[name], C[0], (n[0], d[0]), "D_opt = C / (6 N_opt): C = 6 N D")
    )


@pytest.mark.parametrize("exponent", [0.3, 0.5])
def test_equal_terms_split_evenly(exponent):
    """alpha = beta and A = B: the law is symmetric in N and D, so N_opt = D_opt = sqrt(C / 6)."""
    C = 6e20
    n, d = mod.compute_optimal(mod.ScalingLaw(1.5, 100.0, 100.0, exponent, exponent), C)
    assert np.isclose(n, 1e10, rtol=1e-9) and np.isclose(d, 1e10, rtol=1e-9), (
        f"alpha = beta = {exponent}, A = B = 100, C = 6e20: got ({n:.6g}, {d:.6g}), expected "
        "N_opt = D_opt = sqrt(C / 6) = 1e10\n  likely cause: C = 6 N D and, with equal "
        "exponents, G = (A / B)**(1 / (2 alpha)) = 1"
    )


def test_equal_exponents_follow_the_coefficients():
    """alpha = beta = 0.25 and A = 4 B: G = 4**(1 / 0.5) = 16, so N_opt = 16 sqrt(C / 6) and
    D_opt = sqrt(C / 6) / 16: the costlier N term gets the larger share."""
    n, d = mod.compute_optimal(mod.ScalingLaw(1.5, 400.0, 100.0, 0.25, 0.25), 6e20)
    assert np.isclose(n, 1.6e11, rtol=1e-9) and np.isclose(d, 6.25e8, rtol=1e-9), (
        f"alpha = beta = 0.25, A = 400, B = 100, C = 6e20: got ({n:.6g}, {d:.6g}), expected "
        "(1.6e11, 6.25e8)\n  likely cause: "
        + cause_of((1.5, 400.0, 100.0, 0.25, 0.25), 6e20, (n, d), "G = (A / B)**(1 / (2 alpha))")
    )


@pytest.mark.parametrize("name", LAWS)
def test_swapping_the_terms_swaps_n_and_d(name):
    E, A, B, alpha, beta = LAWS[name]
    n, d = mod.compute_optimal(mod.ScalingLaw(E, A, B, alpha, beta), 3.3e18)
    n_swapped, d_swapped = mod.compute_optimal(mod.ScalingLaw(E, B, A, beta, alpha), 3.3e18)
    ok = np.isclose(n_swapped, d, rtol=1e-9) and np.isclose(d_swapped, n, rtol=1e-9)
    assert ok, (
        f"law {LAWS[name]} gives ({n:.6g}, {d:.6g}); with the N and D terms swapped (A <-> B, "
        f"alpha <-> beta) ({n_swapped:.6g}, {d_swapped:.6g}), expected ({d:.6g}, {n:.6g})\n  "
        "likely cause: "
        + cause_of(LAWS[name], 3.3e18, (n, d), "D_opt is N_opt's formula with the terms swapped")
    )


@pytest.mark.parametrize("name", LAWS)
def test_ten_times_the_compute(name):
    """N_opt grows as C**(beta / (alpha + beta)), D_opt as C**(alpha / (alpha + beta))."""
    E, A, B, alpha, beta = LAWS[name]
    law = law_of(LAWS[name])
    (n1, d1), (n2, d2) = mod.compute_optimal(law, 1e18), mod.compute_optimal(law, 1e19)
    want_n, want_d = 10 ** (beta / (alpha + beta)), 10 ** (alpha / (alpha + beta))
    ok = np.isclose(n2 / n1, want_n, rtol=1e-9) and np.isclose(d2 / d1, want_d, rtol=1e-9)
    assert ok, (
        f"law {LAWS[name]}: 10x the compute multiplies N_opt by {n2 / n1:.4f} and D_opt by "
        f"{d2 / d1:.4f}, expected {want_n:.4f} and {want_d:.4f}\n  likely cause: the exponents "
        "are crossed over: N_opt grows with beta / (alpha + beta) (the data term's exponent)"
    )


@pytest.mark.parametrize("C", [0.0, -1e20])
def test_rejects_a_budget_that_is_not_positive(C):
    with pytest.raises(ValueError):
        mod.compute_optimal(law_of(LAWS["small"]), C)
