"""Shared pieces of the week-13 checks (not a check file itself): tiny GPTs and a log-prob oracle.

`logprob_oracle` is written with F.cross_entropy, a different road from the gather of the
exercises, so it can judge them.
"""

import torch
import torch.nn.functional as F

from solutions.week05_gpt.model import GPT, GPTConfig


def tiny_gpt(
    seed: int = 0, vocab_size: int = 11, block_size: int = 16, n_embd: int = 18, scale: float = 0.3
) -> GPT:
    """A (1 layer, 2 heads, C=18) week-05 GPT in eval mode, its init perturbed by N(0, scale) so the
    logits are far from uniform (a uniform model hides which positions were scored)."""
    torch.manual_seed(seed)
    model = GPT(
        GPTConfig(block_size=block_size, vocab_size=vocab_size, n_layer=1, n_head=2, n_embd=n_embd)
    ).eval()
    g = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return model


def logprob_oracle(logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sum over t with mask[:, t + 1] == 1 of log p(ids[:, t + 1] | logits[:, t]), via cross_entropy."""
    B, T, V = logits.shape
    nll = F.cross_entropy(
        logits[:, :-1].reshape(-1, V).double(), ids[:, 1:].reshape(-1), reduction="none"
    ).view(B, T - 1)
    return -(nll * mask[:, 1:].double()).sum(dim=-1)


class SGD:
    """A plain SGD with torch.optim's zero_grad/step interface: torch.optim's first use imports
    torch._dynamo (over a second of check time)."""

    def __init__(self, params, lr: float):
        self.params, self.lr = list(params), lr

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                p.sub_(self.lr * p.grad)


class Adam(SGD):
    """A bare Adam (betas 0.9, 0.999, eps 1e-8) with torch.optim's zero_grad/step interface."""

    def __init__(self, params, lr: float):
        super().__init__(params, lr)
        self.state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        for p, (m, v) in zip(self.params, self.state):
            if p.grad is None:
                continue
            m.mul_(0.9).add_(p.grad, alpha=0.1)
            v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
            m_hat, v_hat = m / (1 - 0.9**self.t), v / (1 - 0.999**self.t)
            p.sub_(self.lr * m_hat / (v_hat.sqrt() + 1e-8))
