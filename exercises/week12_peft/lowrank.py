"""Low rank: the truncated SVD of a weight update, its error, its energy, and the eigen view.

Why LoRA can work at all: if the update a fine-tune makes to a weight, delta = W_tuned - W (out, in),
is close to a low-rank matrix, a rank-r product B A loses little. The SVD says how close.
delta = U diag(s) V^T with s_1 >= s_2 >= ... >= 0; the Eckart-Young-Mirsky theorem: the best rank-r
approximation, in Frobenius and in spectral norm alike, keeps the r largest singular values,
U_r diag(s_r) V_r^T, and its error is known from the singular values alone:
||delta - best||_F = sqrt(s_{r+1}^2 + ... + s_k^2) and ||delta - best||_2 = s_{r+1}.
Written as B (out, r) and A (r, in), the optimum plugs into LoRALinear (lora.py) directly: an SVD
initialisation of LoRA (as PiSSA does with the base weight itself).
The eigen view of the same decomposition: the sample covariance of data X (n, d) has the
eigenvalues s_i^2 / (n - 1), where s are the singular values of the centred X; PCA is that SVD.

References: Eckart & Young, *The approximation of one matrix by another of lower rank* (1936);
Mirsky (1960) for every unitarily invariant norm; Meng et al., *PiSSA* (2024) for the SVD
initialisation of LoRA.
Check: `python tracker.py check w12.lowrank`
"""

import torch
import torch.nn as nn

from .lora import LoRALinear


def low_rank_factors(delta: torch.Tensor, r: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The best rank-r approximation of `delta` (Eckart-Young-Mirsky), as factors B @ A.

    B @ A = U_r diag(s_r) V_r^T: the r largest singular values of delta with their singular
    vectors. How the singular values are shared between the two factors is yours to choose; the
    checks compare only the product B @ A, never the factors (their signs and, for equal singular
    values, their directions are not unique). A batch of matrices
    (..., out, in) gives one pair of factors per matrix.

    Args:
        delta: (..., out, in) float32 or float64, e.g. W_tuned - W of an nn.Linear.
        r: the rank, 0 <= r <= min(out, in).

    Returns:
        B: (..., out, r) and A: (..., r, in), delta's dtype. r = 0 gives empty factors (B @ A = 0),
        r = min(out, in) gives B @ A = delta (up to rounding).

    Example: delta = [[3, 0], [0, 1]], r = 1 -> B @ A = [[3, 0], [0, 0]] (for instance B = [[sqrt 3],
    [0]], A = [[sqrt 3, 0]]): the error [[0, 0], [0, 1]] has Frobenius and spectral norm 1 = s_2.

    Raises:
        ValueError: if r < 0 or r > min(out, in).
    """
    # TODO(w12.lowrank): return factors whose product is the best rank-r approximation of delta
    raise NotImplementedError(
        "w12.lowrank: write low_rank_factors in exercises/week12_peft/lowrank.py"
    )


def low_rank_error(s: torch.Tensor, r: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The error of the best rank-r approximation, from the singular values alone.

    Frobenius: sqrt(s_{r+1}^2 + ... + s_k^2), the root of the energy left out; spectral (the
    largest singular value of the error): s_{r+1}, 0 when r = k (nothing is left out).

    Args:
        s: (..., k) singular values of one matrix (or a batch), in descending order, as
            torch.linalg.svdvals returns them.
        r: the rank kept, 0 <= r <= k.

    Returns:
        frobenius, spectral: (...) each (0-d tensors for a single matrix), s's dtype.

    Example: s = [3, 2, 1], r = 1 -> frobenius sqrt(2^2 + 1^2) = sqrt(5) = 2.2361, spectral 2;
    r = 0 -> sqrt(14) and 3 (the norms of the matrix itself); r = 3 -> 0 and 0.

    Raises:
        ValueError: if r < 0 or r > k.
    """
    # TODO(w12.lowrank): return both norms of the best rank-r approximation's error, from s alone
    raise NotImplementedError(
        "w12.lowrank: write low_rank_error in exercises/week12_peft/lowrank.py"
    )


def energy_rank(s: torch.Tensor, fraction: float) -> int:
    """The smallest r whose r largest singular values hold `fraction` of the energy.

    Energy is the squared Frobenius norm, sum_i s_i^2; the answer is the smallest r with
    s_1^2 + ... + s_r^2 >= fraction * (s_1^2 + ... + s_k^2) (>=: a fraction met exactly counts, compared in
    float64 as computed; only fraction = 1 is promised whatever the rounding).
    fraction = 0 gives 0; fraction = 1 gives the number of nonzero singular values, whatever the
    rounding of the sums.

    Args:
        s: (k,) singular values of one matrix, in descending order (torch.linalg.svdvals).
        fraction: in [0, 1].

    Returns:
        r, a Python int in [0, k].

    Example: s = [2, 1, 1, 1, 1] has energies [4, 1, 1, 1, 1], total 8: fraction 0.5 -> 1 (4 >= 4),
    0.6 -> 2 (5 >= 4.8), 0.75 -> 3, 1.0 -> 5; s = [3, 2, 0, 0], fraction 1.0 -> 2.

    Raises:
        ValueError: if fraction is outside [0, 1].
    """
    # TODO(w12.lowrank): return the smallest rank that holds the given fraction of the energy
    raise NotImplementedError("w12.lowrank: write energy_rank in exercises/week12_peft/lowrank.py")


def covariance_eigenvalues(x: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the sample covariance of the rows of x, from the singular values of the data.

    cov = Xc^T Xc / (n - 1) with Xc = x minus its column means (ddof = 1, as torch.cov and
    numpy.cov by default); its eigenvalues are s_i^2 / (n - 1), s the singular values of Xc. Compute
    them that way, without forming the covariance: torch.cov and torch.linalg's eig, eigh, eigvals
    and eigvalsh raise while the check runs.

    Args:
        x: (..., n, d) float32 or float64: n observations (rows) of d variables, n >= 2.

    Returns:
        (..., d), x's dtype, in descending order. When n < d the data has at most n singular values
        (and rank at most n - 1 once centred): the d - n eigenvalues beyond the n singular values
        are exactly 0 (the n-th is 0 up to rounding).

    Example: x = [[0, 0], [2, 0], [0, 2], [2, 2]] (n = 4, d = 2): column means [1, 1], the centred
    rows are (+-1, +-1), cov = [[4/3, 0], [0, 4/3]] -> [1.3333, 1.3333]. Adding 5 to every
    value changes nothing (centring); with ddof 0 it would be [1, 1].

    Raises:
        ValueError: if n < 2 (a sample covariance needs two observations).
    """
    # TODO(w12.lowrank): return the covariance's eigenvalues, descending, via the data's SVD
    raise NotImplementedError(
        "w12.lowrank: write covariance_eigenvalues in exercises/week12_peft/lowrank.py"
    )


def lora_from_delta(base: nn.Linear, delta: torch.Tensor, r: int, alpha: float) -> LoRALinear:
    """A LoRALinear around `base` whose update delta_weight() is the best rank-r approximation
    of `delta`.

    The layer is LoRALinear(base, r, alpha) (A drawn from the global RNG, then overwritten) with its
    factors set from low_rank_factors(delta, r), so that scaling * lora_B @ lora_A equals
    U_r diag(s_r) V_r^T; lora_A and lora_B stay trainable parameters (training can go on from the
    SVD start). The layer then computes base(x) + x @ best^T: the base plus the truncated update.

    Args:
        base: the frozen layer, weight (out, in), float32.
        delta: (out, in) float32, e.g. the weight a full fine-tune reached minus base.weight.
        r: the rank, 1 <= r <= min(out, in) (LoRALinear needs r >= 1).
        alpha: LoRA's alpha; scaling = alpha / r.

    Returns:
        the new LoRALinear (base is wrapped, not copied, as LoRALinear does).

    Example: base = nn.Linear(2, 2), delta = [[3, 0], [0, 1]], r = 1, alpha = 2 (scaling 2)
    -> delta_weight() = [[3, 0], [0, 0]], for instance lora_B = [[sqrt(3) / 2], [0]] and
    lora_A = [[sqrt 3, 0]].

    Raises:
        ValueError: if r < 1 or r > min(out, in), or delta's shape is not base.weight's.
    """
    # TODO(w12.lowrank): return a LoRALinear whose update is the best rank-r approximation of delta
    raise NotImplementedError(
        "w12.lowrank: write lora_from_delta in exercises/week12_peft/lowrank.py"
    )
