"""Softmax attention approximated in O(T): Performer's random features and Linformer's projections.

Exact attention softmax(q k^T / sqrt(D)) v costs O(T^2 D). w15.linear_attention swapped exp(q . k)
for elu(q) + 1 times elu(k) + 1: linear in T, but a different model. Performer (Choromanski et al.
2020, FAVOR+) keeps softmax attention *in expectation*: for w ~ N(0, I_D),
E[exp(w . q - |q|^2/2) exp(w . k - |k|^2/2)] = exp(q . k), so m random features
phi(x) = exp(W x - |x|^2/2) / sqrt(m) give phi(q) . phi(k) ~ exp(q . k), always positive, and the
linear-attention algebra (with its prefix sums for the causal case) applies unchanged. Orthogonal
rows lower the estimate's variance at the same m.

Linformer (Wang et al. 2020) projects the T keys and values along the sequence down to kdim rows:
softmax(q (E k)^T / sqrt(D)) (F v) costs O(T kdim D); it is exact for E = F = identity and, in the
paper, E and F are trained with the model. It is non-causal.
Check: `python tracker.py check w15.performer` (then w15.linformer)
"""

import math

import torch


def iid_random_features(
    m: int, d: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """m independent N(0, I_d) rows, (m, d): the baseline that orthogonal features improve on."""
    return torch.randn(m, d, generator=generator, dtype=dtype)


def orthogonal_random_features(
    m: int, d: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """m random rows (m, d), each distributed as N(0, I_d), exactly orthogonal within blocks of d.

    The rows come in ceil(m / d) independent blocks of d rows (the last block cut to what is left).
    A block is a uniformly random orthogonal matrix, taken from the QR decomposition of a (d, d)
    matrix of independent N(0, 1) entries with the signs fixed so that R's diagonal is positive
    (torch.linalg.qr's Q alone is *not* uniform: its diagonal leans negative), and each of its unit
    rows is then rescaled by an independent chi(d) length (the norm of a fresh N(0, I_d) vector).
    A uniform direction times a chi(d) length is exactly an N(0, I_d) vector, so each row alone is
    distributed like an iid Gaussian row (the feature estimate stays unbiased) while the rows of a
    block are orthogonal (its variance drops).
    All randomness comes from `generator` (torch's global generator when None): the same seeded
    generator gives the same rows; with a generator, the global random state is neither used nor
    advanced. The order of the draws is free.
    Example: m=5, d=2 -> rows {0, 1}, {2, 3} and {4} form three independent blocks; rows 0 and 1
    are orthogonal, rows 1 and 2 are not (in general); m=2, d=4 -> two orthogonal rows of one block.

    Args:
        m: number of rows (features), >= 1.
        d: dimension, >= 1.
        generator: the source of randomness.
        dtype: of the result.

    Returns:
        (m, d).
    """
    # TODO(w15.performer): return m rows, each N(0, I_d), orthogonal within each block of d
    raise NotImplementedError(
        "w15.performer: write orthogonal_random_features in exercises/week15_efficient_inference/attention_variants.py"
    )


def positive_random_features(
    x: torch.Tensor, w: torch.Tensor, dims: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """FAVOR+'s positive random features phi(x)_r = exp(w_r . x - |x|^2/2) / sqrt(m), as a stable pair.

    With the rows w_r ~ N(0, I_d), phi(q) . phi(k) is an unbiased estimate of exp(q . k), and it is
    always > 0. Its exponents z = x w^T - |x|^2/2 (..., m) easily leave float32's range (exp(-104)
    is already 0), so the features come back as a pair (f, c) with phi(x) = f * exp(c):
    c = z.amax(dim=dims, keepdim=True) and f = exp(z - c) / sqrt(m). So every f <= 1/sqrt(m), and
    the largest f of each group over `dims` is exactly 1/sqrt(m). Nothing here is scaled by
    d^(-1/4): the caller passes x already scaled (performer_attention does).
    Example: m=3, d=1, w = [[0], [1], [2]], x = [[1]] (one position), dims=(-1,):
    z = [0 - 0.5, 1 - 0.5, 2 - 0.5] = [-0.5, 0.5, 1.5], c = [[1.5]],
    f = [e^-2, e^-1, 1] / sqrt(3). x = 0 gives phi = 1/sqrt(m) in every feature (f = 1/sqrt(m),
    c = 0); w = 0 gives phi = exp(-|x|^2/2) / sqrt(m) in every feature.

    Args:
        x: (..., d), e.g. (B, H, T, d) queries or keys.
        w: (m, d) feature rows, same dtype as x.
        dims: the negative dims of z (..., m) over which one c is shared: (-1,) gives one c per
            position (queries), (-2, -1) one c per sequence of (B, H, T, d) keys.

    Returns:
        f: (..., m), the stabilised features, every entry in [0, 1/sqrt(m)].
        c: z.amax(dim=dims, keepdim=True): (..., 1) for dims=(-1,), (B, H, 1, 1) for (-2, -1).
    """
    # TODO(w15.performer): return the pair (f, c) of the docstring, finite for x of any size
    raise NotImplementedError(
        "w15.performer: write positive_random_features in exercises/week15_efficient_inference/attention_variants.py"
    )


def performer_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, w: torch.Tensor, causal: bool = False
) -> torch.Tensor:
    """Softmax attention estimated with FAVOR+ features: O(T m Dv) time, no (T, T) tensor.

    With s = D^(-1/4) (so that (s q) . (s k) = q . k / sqrt(D), softmax attention's exponent),
    phi_q = phi(s q) and phi_k = phi(s k) with the rows w (positive_random_features), and
    a_ij = phi_q_i . phi_k_j (an estimate of exp(q_i . k_j / sqrt(D))):
        out_i = sum_j a_ij v_j / sum_j a_ij,
    the sums over all keys j, or over j <= i (j = i included) when `causal`: prefix sums over time,
    the algebra of linear_attention, computed here (no eps; linear_attention itself cannot be
    called, it applies its own feature map). As m grows, out tends to softmax(q k^T / sqrt(D)) v
    (with the causal mask when `causal`).
    Stability: non-causal, queries and keys of size 15 in float32 (exponents near -300; exp gives
    0 below -104) must give finite outputs, so the features are computed as pairs (f, c) and the
    offsets c dropped, which is exact because they cancel: queries take one c per position
    (dims=(-1,)), a factor exp(c_i) shared by the numerator and the denominator of row i; keys take
    one c per sequence and head (dims=(-2, -1), over all positions and features), a factor shared
    by every key, so it cancels in every row. (One c per key would reweight the keys: wrong. One c
    for the whole batch cancels too, but then a sequence of large keys next to one of small keys
    underflows to 0 / 0.) Causal rows that see only a short prefix can still underflow for keys
    that large (their keys may all lie far below the sequence's max); a running max rescaled as in
    the online softmax (w15.flash_attention) would fix that and is not asked for here.
    Example: q = k = 0 -> every a_ij = 1/m, so each non-causal row is the mean of all v, and causal
    row i is the mean of v_0 .. v_i; for v = [[1], [3]]: non-causal [2, 2], causal [1, 2].
    q, k, v and w are not modified.

    Args:
        q: (B, H, T, D) queries.
        k: (B, H, T, D) keys.
        v: (B, H, T, Dv) values.
        w: (m, D) feature rows (iid_random_features or orthogonal_random_features), q's dtype.
        causal: query i sees keys j <= i only.

    Returns:
        (B, H, T, Dv).
    """
    # TODO(w15.performer): return the FAVOR+ estimate, causal by prefix sums, no (T, T) tensor
    raise NotImplementedError(
        "w15.performer: write performer_attention in exercises/week15_efficient_inference/attention_variants.py"
    )


def random_projection(
    kdim: int, T: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Linformer's untrained projection: (kdim, T) with N(0, 1/kdim) entries (a Johnson-Lindenstrauss
    map; the paper trains E and F from such a start)."""
    return torch.randn(kdim, T, generator=generator, dtype=dtype) / math.sqrt(kdim)


def mean_pooling_projection(kdim: int, T: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(kdim, T): row r averages the positions floor(r T / kdim) .. floor((r + 1) T / kdim) - 1,
    kdim consecutive segments that cover 0 .. T - 1 (kdim <= T; kdim = T gives the identity).
    Example: kdim=2, T=4 -> [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]]."""
    seg = torch.arange(T) * kdim // T  # (T,) segment of each position
    onehot = (seg[None, :] == torch.arange(kdim)[:, None]).to(dtype)  # (kdim, T)
    return onehot / onehot.sum(dim=1, keepdim=True)


def linformer_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, proj_k: torch.Tensor, proj_v: torch.Tensor
) -> torch.Tensor:
    """Linformer attention softmax(q (E k)^T / sqrt(D)) (F v), with E = proj_k and F = proj_v.

    E and F (kdim, T) mix the T positions, the sequence axis (dim -2 of k and v), into kdim rows;
    the same E and F serve every batch row and head: E k is (B, H, kdim, D) and F v is
    (B, H, kdim, Dv). Queries are not projected, so the output keeps its T rows, each a softmax
    over the kdim projected keys. O(T kdim D) time, no (T, T) tensor. With kdim = T and
    E = F = identity it is exact softmax attention.
    Non-causal, and there is no causal version of this formula: every projected key mixes all
    positions, later ones too, so output i depends on the keys and values after i (Linformer is
    for encoders, or needs other machinery for decoding).
    Example: T = 2, kdim = 1, E = F = [[0.5, 0.5]] -> one projected key, softmax over one score is
    1, so every output row is (v_0 + v_1) / 2. q, k, v, E and F are not modified.

    Args:
        q: (B, H, T, D) queries.
        k: (B, H, T, D) keys.
        v: (B, H, T, Dv) values.
        proj_k: (kdim, T), E.
        proj_v: (kdim, T), F.

    Returns:
        (B, H, T, Dv).

    Raises:
        ValueError: if proj_k or proj_v is not 2-D with T columns (T = k.shape[-2]), or if they
            have different numbers of rows.
    """
    # TODO(w15.linformer): return attention over the kdim projected keys and values
    raise NotImplementedError(
        "w15.linformer: write linformer_attention in exercises/week15_efficient_inference/attention_variants.py"
    )
