"""Attention below O(T^2): linear attention with a kernel feature map, and a block-sparse mask.

Linear attention (Katharopoulos et al. 2020) replaces exp(q . k) by phi(q) . phi(k) with a positive
feature map phi (here elu(x) + 1). Then sum_j phi(q_i).phi(k_j) v_j = phi(q_i)^T (sum_j phi(k_j)
v_j^T): the (D, D) sum is shared by every query, so the cost is O(T D^2) instead of O(T^2 D). The
causal version keeps *prefix sums* S_i = sum_{j<=i} phi(k_j) v_j^T and z_i = sum_{j<=i} phi(k_j):
a recurrent state of fixed size, which is why such models decode in constant memory per token.

Block-sparse attention (Child et al. 2019, Sparse Transformer; Zaheer et al. 2020, BigBird) keeps
softmax but lets each query see only some key blocks: its local neighbourhood and a few strided
"summary" blocks, so the work grows like T * (local + T / stride) instead of T^2.
Check: `python tracker.py check w15.linear_attention`
"""

import math

import torch
import torch.nn.functional as F


def elu_feature_map(x: torch.Tensor) -> torch.Tensor:
    """phi(x) = elu(x) + 1: positive everywhere, so the normaliser of linear attention is > 0."""
    return F.elu(x) + 1.0


def linear_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False, eps: float = 1e-6
) -> torch.Tensor:
    """Linear attention with phi = elu_feature_map, in O(T D^2) time and without a (T, T) tensor.

    out_i = phi(q_i)^T S_i / (phi(q_i)^T z_i + eps), with S_i = sum_j phi(k_j) v_j^T (D, Dv) and
    z_i = sum_j phi(k_j) (D,), the sums over all keys j, or over j <= i when `causal` (prefix sums,
    e.g. torch.cumsum over time). Equivalently, with A = phi(q) phi(k)^T (masked to j <= i when
    causal): out = A v / (A.sum(-1, keepdim=True) + eps); that quadratic form is the definition,
    not the way to compute it.
    Example (B = H = 1, D = Dv = 1, q = k = 0 so phi = 1, v = [[1], [3]]): non-causal -> both rows
    (1 + 3) / 2 = 2; causal -> row 0: 1 / 1 = 1, row 1: (1 + 3) / 2 = 2 (up to eps; with eps = 2
    the rows are 4 / 4 = 1 and, causal, 1 / 3 and 4 / 4). q, k and v are not modified.

    Args:
        q: (B, H, T, D) queries.
        k: (B, H, T, D) keys.
        v: (B, H, T, Dv) values.
        causal: prefix sums instead of full sums.
        eps: added to the normaliser.

    Returns:
        (B, H, T, Dv).
    """
    fq, fk = elu_feature_map(q), elu_feature_map(k)  # (B, H, T, D)
    if causal:
        # running sums over time: S_i (B, H, T, D, Dv) and z_i (B, H, T, D)
        kv = torch.einsum("bhtd,bhte->bhtde", fk, v).cumsum(dim=2)
        z = fk.cumsum(dim=2)
        num = torch.einsum("bhtd,bhtde->bhte", fq, kv)
        den = (fq * z).sum(dim=-1)  # (B, H, T)
    else:
        kv = torch.einsum("bhtd,bhte->bhde", fk, v)  # (B, H, D, Dv), shared by all queries
        z = fk.sum(dim=2)  # (B, H, D)
        num = torch.einsum("bhtd,bhde->bhte", fq, kv)
        den = torch.einsum("bhtd,bhd->bht", fq, z)
    return num / (den[..., None] + eps)


def block_sparse_mask(T: int, block: int, local_blocks: int, stride: int) -> torch.Tensor:
    """A causal local + strided block mask: (T, T) bool, True where query i may attend to key j.

    Positions are grouped into blocks of `block` (block b holds positions b*block .. b*block +
    block - 1; the last block may be shorter). With bi = i // block and bj = j // block, query i
    sees key j iff j <= i and
      - local: bi - bj < local_blocks (its own block and the local_blocks - 1 blocks before it), or
      - strided: bj % stride == stride - 1 (every stride-th block is a summary block all later
        queries read).
    Example: T=6, block=2, local_blocks=1, stride=2 -> blocks {0,1}, {2,3}, {4,5}; block 1 (keys 2,
    3) is a summary block. Query 5 sees keys 2, 3 (strided), 4, 5 (local), not 0, 1; query 1 sees
    keys 0, 1; query 3 sees keys 2, 3 (local) and not 0, 1.

    Args:
        T: sequence length.
        block: positions per block, >= 1.
        local_blocks: >= 1.
        stride: >= 1 (stride 1 makes every block a summary block: the full causal mask).

    Returns:
        (T, T) bool.
    """
    pos = torch.arange(T)
    bi = (pos // block)[:, None]  # (T, 1) query blocks
    bj = (pos // block)[None, :]  # (1, T) key blocks
    causal = pos[None, :] <= pos[:, None]
    local = (bi - bj) < local_blocks
    strided = (bj % stride) == (stride - 1)
    return causal & (local | strided)


def masked_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """softmax(q k^T / sqrt(D), restricted to mask) v: (B, H, T, D) with a (T, T) bool mask whose
    every row has at least one True (so no row is empty)."""
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1) @ v
