"""A mixture-of-experts (MoE) feed-forward layer: a router sends each token to its top-k experts.

The router is a linear map C -> E followed by a softmax. Each token goes to the k experts with the
largest probabilities, and their outputs are mixed with gates = those k probabilities renormalised
to sum to 1 (Mixtral). Only k of the E SwiGLU experts run per token, so parameters grow with E while
compute per token grows with k.

Capacity and token dropping: with `capacity=None` the layer is "dropless" (Mixtral): every expert
takes every token sent to it. With `capacity=c` (Switch Transformer, GShard) an expert processes at
most c token-slots per call, first come first served in flattened (B*T) order; a token beyond an
expert's capacity is dropped by that expert: it gets no output from it and its gate is not
renormalised, so a token dropped by all its experts leaves the layer as zeros and is carried only by
the residual connection around the layer.

Load balancing: without a penalty the router collapses onto a few experts. The auxiliary loss of
Switch Transformer, E * sum_e f_e * P_e, with f_e the fraction of the N*k routing slots that went to
expert e and P_e the mean router probability of e, is 1 for a perfectly uniform router and grows to
E when one expert takes everything. (transformers' load_balancing_loss_func counts f_e per token,
not per slot, so its value is k times this one.)
Papers: Shazeer et al. 2017, https://arxiv.org/abs/1701.06538; Fedus et al. 2021, Switch
Transformer, https://arxiv.org/abs/2101.03961; Jiang et al. 2024, Mixtral, https://arxiv.org/abs/2401.04088
Check: `python tracker.py check w07.moe`
"""

import torch
from torch import nn

from .swiglu import SwiGLU


def load_balancing_loss(probs: torch.Tensor, experts: torch.Tensor, n_experts: int) -> torch.Tensor:
    """Switch-style auxiliary loss E * sum_e f_e * P_e.

    Args:
        probs: (N, E) router probabilities (softmax over all experts) of N tokens.
        experts: (N, k) int64, the experts each token was routed to.
        n_experts: E.

    Returns:
        A scalar: 1.0 when probs is uniform (P_e = 1/E), up to E when one expert gets every token
        with probability 1. f_e = (slots routed to e) / (N * k); P_e = probs[:, e].mean().

    Example: N=2, E=2, k=1, probs=[[1, 0], [1, 0]], experts=[[0], [0]] -> f=[1, 0], P=[1, 0], loss=2.
    """
    # f counts hard assignments (no gradient), P carries the gradient back into the router
    counts = torch.zeros(n_experts, dtype=probs.dtype, device=probs.device)
    counts = counts.index_add(
        0, experts.reshape(-1), torch.ones_like(experts, dtype=probs.dtype).reshape(-1)
    )
    f = counts / experts.numel()  # (E,), sums to 1
    P = probs.mean(dim=0)  # (E,)
    return n_experts * (f * P).sum()


class MoE(nn.Module):
    """Top-k routed SwiGLU experts with an optional per-expert capacity."""

    def __init__(
        self,
        dim: int,
        hidden_dim: int,
        n_experts: int,
        top_k: int,
        capacity: int | None = None,
    ) -> None:
        super().__init__()
        assert 1 <= top_k <= n_experts, "top_k must be between 1 and n_experts"
        self.n_experts = n_experts
        self.top_k = top_k
        self.capacity = capacity  # max token-slots per expert per call; None = dropless
        self.router = nn.Linear(dim, n_experts, bias=False)
        self.experts = nn.ModuleList(SwiGLU(dim, hidden_dim) for _ in range(n_experts))

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Router probabilities, chosen experts and their gates for N tokens.

        Args:
            x: (N, C) tokens.

        Returns:
            probs: (N, E) softmax of the router logits over all experts.
            experts: (N, k) int64, the k most probable experts per token, most probable first.
            gates: (N, k) the chosen probabilities renormalised to sum to 1 per token.

        Example: probs of one token [0.5, 0.3, 0.2], k=2 -> experts [0, 1], gates [0.625, 0.375].
        """
        # renormalising the top-k probabilities equals a softmax over the top-k logits alone
        probs = self.router(x).float().softmax(dim=-1)  # (N, E)
        top_probs, experts = probs.topk(self.top_k, dim=-1)  # (N, k)
        gates = top_probs / top_probs.sum(dim=-1, keepdim=True)
        return probs, experts, gates.to(x.dtype)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Route every token, run each expert on its tokens only, mix the outputs with the gates.

        Args:
            x: (B, T, C).

        Returns:
            y: (B, T, C), sum over the token's kept experts of gate * expert(token).
            aux_loss: scalar load-balancing loss of this call (add it, scaled by ~0.01, to the LM loss).

        Example: k=2, capacity=None: a token routed to experts [3, 1] with gates [0.6, 0.4] gets
        0.6 * expert_3(token) + 0.4 * expert_1(token). With capacity=1 and tokens 0, 1, 2 all
        routed to expert 3, only token 0 gets expert 3's term; tokens 1 and 2 keep their other
        expert's term, its gate unchanged.
        """
        # loop over experts, not tokens: each expert runs once on the batch of tokens routed to it
        B, T, C = x.shape
        flat = x.reshape(B * T, C)  # (N, C)
        probs, experts, gates = self.route(flat)
        y = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            # every (token, slot) pair routed to e, in token order (first come, first served)
            token_idx, slot = (experts == e).nonzero(as_tuple=True)
            if self.capacity is not None:
                token_idx, slot = token_idx[: self.capacity], slot[: self.capacity]
            if token_idx.numel() == 0:
                continue
            out = expert(flat[token_idx]) * gates[token_idx, slot, None]  # (n_e, C)
            y = y.index_add(0, token_idx, out)
        return y.view(B, T, C), load_balancing_loss(probs, experts, self.n_experts)
