"""FlashAttention-style tiled attention: online softmax over key blocks, backward from the logsumexp.

Naive attention builds the (T, S) score matrix, softmaxes it and multiplies by V: memory O(T S).
Tiled attention walks over blocks of queries and, inside, over blocks of keys, keeping per query row
only a running maximum m, a running sum l of exp(s - m) and an accumulator of exp(s - m) V. When a
new key block raises the maximum, the old sum and accumulator are rescaled by exp(m_old - m_new)
(the *online softmax*), so the final acc / l is exactly softmax(s) V. Nothing of size T x S exists.

The forward saves only the output O and the per-row logsumexp L = m + log l. The backward recomputes
each block of probabilities from L (P = exp(S - L)) instead of storing them, and uses
rowsum(dP * P) = rowsum(dO * O) so it never needs a whole row of P at once.

Papers: Dao et al. 2022 (FlashAttention), Dao 2023 (FlashAttention-2), Milakov & Gimelshein 2018
(online normaliser calculation for softmax), Rabe & Staats 2021 (self-attention does not need O(n^2)
memory).
Check: `python tracker.py check w15.flash_attention`
"""

import math

import torch


def naive_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False
) -> torch.Tensor:
    """The definition: softmax(q k^T / sqrt(D) + mask) v, with the whole (T, S) score matrix.

    Args:
        q: (B, H, T, D) queries.
        k: (B, H, S, D) keys.
        v: (B, H, S, D) values.
        causal: if True (needs S == T), query i sees keys 0..i only.

    Returns:
        (B, H, T, D).
    """
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # (B, H, T, S)
    if causal:
        T, S = scores.shape[-2:]
        allowed = torch.ones(T, S, dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def flash_attention_forward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    block_q: int = 16,
    block_k: int = 16,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tiled attention forward with an online softmax; returns the output and the logsumexp.

    Queries are cut into blocks of `block_q` rows starting at 0 (the last block may be shorter),
    keys and values into blocks of `block_k` rows. For each query block, loop over key blocks keeping
    per row a running max m, a running sum l and an accumulator acc (rescale l and acc by
    exp(m_old - m_new) whenever the max grows); at the end O = acc / l and L = m + log(l).

    Causal block skipping: with `causal`, a key block whose first key comes after the query block's
    last query is never read (not even masked), so a query block starting at row r reads only the
    key blocks that start before r + block_q. Inside the blocks it reads, key j > query i is masked.

    Memory: no intermediate larger than a (B, H, block_q, block_k) block of scores or the
    (B, H, T, D) output; nothing of size T x S is ever created. q, k and v are not modified.
    Forbidden while its check runs: torch.softmax, torch.nn.functional.softmax, Tensor.softmax,
    torch.logsumexp, Tensor.logsumexp and torch.nn.functional.scaled_dot_product_attention.
    Example: q = 0 (every score 0), v = [0, 2, 4, 6, 8] (B = H = D = 1), blocks of 2:
    non-causal -> every row of o is the mean 4.0 and lse = log 5; causal -> o = [0, 1, 2, 3, 4]
    (row i averages v[0..i]) and lse = [log 1, log 2, ..., log 5].

    Args:
        q: (B, H, T, D) queries.
        k: (B, H, S, D) keys.
        v: (B, H, S, D) values.
        causal: if True (needs S == T), query i sees keys 0..i only.
        block_q: rows per query block.
        block_k: rows per key/value block.

    Returns:
        o (B, H, T, D), equal to naive_attention(q, k, v, causal), and
        lse (B, H, T): logsumexp over keys of the scaled (and masked) scores q k^T / sqrt(D).
    """
    B, H, T, D = q.shape
    S = k.shape[2]
    scale = 1.0 / math.sqrt(D)
    o = torch.empty_like(q)
    lse = torch.empty(B, H, T, dtype=q.dtype, device=q.device)
    for qs in range(0, T, block_q):
        qe = min(qs + block_q, T)
        qi = q[:, :, qs:qe] * scale  # (B, H, bq, D)
        m = torch.full((B, H, qe - qs), float("-inf"), dtype=q.dtype, device=q.device)
        denom = torch.zeros(B, H, qe - qs, dtype=q.dtype, device=q.device)
        acc = torch.zeros(B, H, qe - qs, D, dtype=q.dtype, device=q.device)
        # causal: key blocks starting at or after qe lie entirely in the future: skip them
        k_end = min(S, qe) if causal else S
        for ks in range(0, k_end, block_k):
            ke = min(ks + block_k, S)
            s = qi @ k[:, :, ks:ke].transpose(-2, -1)  # (B, H, bq, bk)
            if causal and ke - 1 > qs:  # the block reaches past the first query: mask j > i
                qpos = torch.arange(qs, qe, device=q.device)[:, None]
                kpos = torch.arange(ks, ke, device=q.device)[None, :]
                s = s.masked_fill(kpos > qpos, float("-inf"))
            m_new = torch.maximum(m, s.amax(dim=-1))  # (B, H, bq); finite: key 0 is in block 0
            p = torch.exp(s - m_new[..., None])  # (B, H, bq, bk)
            # subtle: the old sum and accumulator were taken relative to the old max; rescale them
            alpha = torch.exp(m - m_new)  # (B, H, bq), 0 on the first block (m = -inf)
            denom = denom * alpha + p.sum(dim=-1)
            acc = acc * alpha[..., None] + p @ v[:, :, ks:ke]
            m = m_new
        o[:, :, qs:qe] = acc / denom[..., None]
        lse[:, :, qs:qe] = m + torch.log(denom)
    return o, lse


def flash_attention_backward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    o: torch.Tensor,
    lse: torch.Tensor,
    do: torch.Tensor,
    causal: bool = False,
    block_q: int = 16,
    block_k: int = 16,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of tiled attention, recomputing each block of probabilities from the logsumexp.

    With scale = 1/sqrt(D), S = q k^T * scale, P = exp(S - lse) (masked entries 0), O = P v:
        dV = P^T dO,  dP = dO V^T,  dS = P * (dP - delta),  delta = rowsum(dO * O),
        dQ = dS K * scale,  dK = dS^T Q * scale.
    delta equals rowsum(dP * P) and is computed once from dO and O, so no full row of P is needed.
    Loop over the same blocks as the forward (causal: skip the blocks the forward skips).

    Memory: like the forward, nothing of size T x S; no input is modified. Forbidden while its
    check runs: everything the forward forbids, plus torch.autograd.grad and
    torch.autograd.backward (no autograd replay).
    Example: T = S = 1: P = [[1]], so dV = dO, delta = dO . O = dO . V, dS = 1 * (dO . V - dO . V)
    = 0, hence dQ = dK = 0 (one key: its weight is 1 whatever the score).

    Args:
        q, k, v: the forward's inputs, (B, H, T, D), (B, H, S, D), (B, H, S, D).
        o: (B, H, T, D) the forward's output.
        lse: (B, H, T) the forward's logsumexp.
        do: (B, H, T, D) the gradient of the loss with respect to o.
        causal, block_q, block_k: as in the forward.

    Returns:
        dq (B, H, T, D), dk (B, H, S, D), dv (B, H, S, D).
    """
    T, D = q.shape[2], q.shape[3]
    S = k.shape[2]
    scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
    delta = (do * o).sum(dim=-1)  # (B, H, T) = rowsum(dP * P)
    for ks in range(0, S, block_k):
        ke = min(ks + block_k, S)
        kj, vj = k[:, :, ks:ke], v[:, :, ks:ke]  # (B, H, bk, D)
        # causal: query blocks that end before this key block starts never see it
        first = (ks // block_q) * block_q if causal else 0
        for qs in range(first, T, block_q):
            qe = min(qs + block_q, T)
            qi, doi = q[:, :, qs:qe], do[:, :, qs:qe]  # (B, H, bq, D)
            s = (qi @ kj.transpose(-2, -1)) * scale  # (B, H, bq, bk)
            if causal and ke - 1 > qs:
                qpos = torch.arange(qs, qe, device=q.device)[:, None]
                kpos = torch.arange(ks, ke, device=q.device)[None, :]
                s = s.masked_fill(kpos > qpos, float("-inf"))
            p = torch.exp(s - lse[:, :, qs:qe, None])  # the softmax, recomputed, not stored
            dv[:, :, ks:ke] += p.transpose(-2, -1) @ doi
            dp = doi @ vj.transpose(-2, -1)  # (B, H, bq, bk)
            ds = p * (dp - delta[:, :, qs:qe, None])
            dq[:, :, qs:qe] += (ds @ kj) * scale
            dk[:, :, ks:ke] += (ds.transpose(-2, -1) @ qi) * scale
    return dq, dk, dv


class FlashAttention(torch.autograd.Function):
    """Tiled attention as an autograd Function: saves q, k, v, o and lse (no probabilities)."""

    @staticmethod
    def forward(ctx, q, k, v, causal: bool, block_q: int, block_k: int):
        o, lse = flash_attention_forward(q, k, v, causal, block_q, block_k)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.causal, ctx.block_q, ctx.block_k = causal, block_q, block_k
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, lse = ctx.saved_tensors
        dq, dk, dv = flash_attention_backward(
            q, k, v, o, lse, do, ctx.causal, ctx.block_q, ctx.block_k
        )
        return dq, dk, dv, None, None, None


def flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    block_q: int = 16,
    block_k: int = 16,
) -> torch.Tensor:
    """Differentiable tiled attention: (B, H, T, D) -> (B, H, T, D), gradients via the tiled backward."""
    return FlashAttention.apply(q, k, v, causal, block_q, block_k)
