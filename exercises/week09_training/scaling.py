"""Scaling laws: fit L(N, D) = E + A / N**alpha + B / D**beta to training runs, then split a compute
budget C = 6 N D between parameters and tokens the way the fitted law says is best.

Hoffmann et al. 2022 ("Chinchilla"), section 3.3 (approach 3) and appendix D.2: the parameters are
(a, b, e, alpha, beta) with A = exp(a), B = exp(b), E = exp(e); the predicted log-loss is
LSE(a - alpha log N, b - beta log D, e) (LSE = log-sum-exp); the objective is the Huber loss
(delta = 1e-3) of the residuals in log space, summed over the runs, minimised with L-BFGS from every
start of a grid, the best end point kept. Here L-BFGS is scipy.optimize.minimize(method="L-BFGS-B")
with the objective's own gradient. Then section 3.3's question: which N (and D = C / (6 N))
minimises L(N, D) for a budget C? It has a closed form, yours to derive.
Check: `python tracker.py check w09.scaling_fit` (then w09.compute_optimal)
"""

import itertools
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber

DELTA = (
    1e-3  # Huber's delta on log-loss residuals (the paper's): quadratic below 0.1%, linear above
)
# subtle: L-BFGS-B's default ftol compares the objective's change with max(|f|, 1), and f is ~1e-4
TOLERANCES = {"ftol": 0.0, "gtol": 1e-10, "maxiter": 2000}  # stop on the gradient only


class ScalingLaw(NamedTuple):
    """L(N, D) = E + A / N**alpha + B / D**beta: loss in nats per token of a model with N parameters
    trained on D tokens. E is the loss no model size or data removes (the text's own entropy, as the
    tokenizer sees it); A / N**alpha is what a finite model costs, B / D**beta what finite data costs.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def loss(self, N, D):
        """The law's loss at N parameters and D tokens (floats or numpy arrays that broadcast)."""
        return self.E + self.A / np.power(N, self.alpha) + self.B / np.power(D, self.beta)


# Hoffmann et al. 2022, eq. (10): their fit on 400+ runs (70M to 16B parameters, 5B to 500B tokens)
CHINCHILLA = ScalingLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def init_grid() -> np.ndarray:
    """The starting points (K, 5), rows (a, b, e, alpha, beta): a coarse cut of the paper's grid.

    The paper starts from every combination of alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ...,
    1}, a, b in {0, 5, ..., 25} (4,500 starts); here a, b in {0, 5, 10}, e in {-1, 1}, alpha, beta
    in {0.5, 1}: 72 starts, seconds on a quiet CPU for a ladder of a dozen runs.
    """
    ab = (0.0, 5.0, 10.0)
    rows = itertools.product(ab, ab, (-1.0, 1.0), (0.5, 1.0), (0.5, 1.0))
    return np.array(list(rows))


def chinchilla_objective(
    theta: np.ndarray,
    log_N: np.ndarray,
    log_D: np.ndarray,
    log_L: np.ndarray,
    delta: float = DELTA,
) -> tuple[float, np.ndarray]:
    """The fit's objective and its gradient at theta = (a, b, e, alpha, beta).

    The prediction is log L_pred = LSE(a - alpha log_N, b - beta log_D, e) per run, computed so that
    it stays finite for terms of any size (a = 800 must not overflow); the objective is
    sum_i Huber_delta(log L_pred_i - log_L_i), with Huber_delta(r) = r**2 / 2 for |r| <= delta and
    delta * (|r| - delta / 2) above (the residual is taken in log space, not on L itself).

    Args:
        theta: (5,) float64, (a, b, e, alpha, beta).
        log_N, log_D, log_L: (n,) float64, the natural logs of each run's parameters, tokens, loss.
        delta: Huber's threshold.

    Returns:
        (value, gradient): the sum as a float and d value / d theta, (5,) float64, in theta's order.

    Example: theta = (0, 0, 0, 0, 0) predicts log 3 for every run (three terms exp(0)); for one run
    with log_L = log 3 + 0.01, r = -0.01: value = 1e-3 * (0.01 - 5e-4) = 9.5e-6 and the gradient is
    (-1e-3 / 3, -1e-3 / 3, -1e-3 / 3, 1e-3 / 3 * log_N, 1e-3 / 3 * log_D).
    """
    # TODO(w09.scaling_fit): return the Huber objective on log-loss residuals and its gradient
    raise NotImplementedError(
        "w09.scaling_fit: write chinchilla_objective in exercises/week09_training/scaling.py"
    )


def fit_scaling_law(N, D, L, inits: np.ndarray | None = None, delta: float = DELTA) -> ScalingLaw:
    """Fit the law to runs: N parameters, D tokens, L final loss (nats/token), one entry per run.

    Minimises chinchilla_objective from every row of `inits` (default init_grid()) with L-BFGS,
    each start run to convergence (until the gradient's largest entry is below 1e-10, the given
    TOLERANCES: the objective is tiny, about 1e-4 for residuals of 1%, so a stopping rule that
    compares its changes with 1 stops far from the minimum), and keeps the end point with the
    lowest objective; its (a, b, e) become A = exp(a), B = exp(b), E = exp(e).

    Args:
        N, D, L: sequences or arrays of n positive numbers.
        inits: (K, 5) starting points (a, b, e, alpha, beta); None: init_grid().
        delta: Huber's threshold.

    Returns:
        ScalingLaw(E, A, B, alpha, beta) as floats.

    Example: runs made by CHINCHILLA.loss on a grid of N in 1e7..1e10 and D in 1e9..1e12 (no noise)
    give back E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28 to 4 digits.

    Raises:
        ValueError: N, D, L differ in length, or a value is not positive (its log is undefined).
    """
    # TODO(w09.scaling_fit): return the law at the lowest objective reached from any start
    raise NotImplementedError(
        "w09.scaling_fit: write fit_scaling_law in exercises/week09_training/scaling.py"
    )


def compute_optimal(law: ScalingLaw, C):
    """The model size and token count with the lowest predicted loss for C training FLOPs.

    Minimises law.loss(N, D) subject to C = 6 N D (6 FLOPs per parameter per token, w09.flops),
    in closed form: with D = C / (6 N), set d/dN of law.loss(N, C / (6 N)) to zero and solve for N.
    N_opt * D_opt = C / 6 exactly; E plays no part.

    Args:
        law: the fitted ScalingLaw.
        C: training FLOPs, a positive float or an array of them.

    Returns:
        (N_opt, D_opt), floats (arrays for an array C).

    Example: CHINCHILLA and C = 5.76e23 (Gopher's budget) -> N_opt = 3.219e10 parameters,
    D_opt = 2.982e12 tokens (93 tokens per parameter); with alpha = beta and A = B,
    N_opt = D_opt = sqrt(C / 6).

    Raises:
        ValueError: C is not positive.
    """
    # TODO(w09.compute_optimal): return the N and D that spend C at the lowest predicted loss
    raise NotImplementedError(
        "w09.compute_optimal: write compute_optimal in exercises/week09_training/scaling.py"
    )
