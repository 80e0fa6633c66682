"""AdamW from scratch, and the parameter-group rule that decides what weight decay touches.

Adam (Kingma & Ba 2015) keeps running averages of the gradient (m) and of its square (v), corrects
their bias towards zero in the first steps, and moves each parameter by lr * m_hat / (sqrt(v_hat) +
eps). AdamW (Loshchilov & Hutter 2019) decays the weights directly, p <- p - lr * wd * p, instead of
adding wd * p to the gradient (L2), where Adam's normalisation would weaken it.
Check: `python tracker.py check w09.adamw`
"""

import torch
import torch.nn as nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Split the trainable parameters into a decayed and a non-decayed AdamW group.

    Rule: a parameter is decayed iff `p.dim() >= 2` and it is not the weight of an `nn.Embedding`
    (a head tied to an embedding is that embedding, so it is not decayed either). Biases, LayerNorm
    weights and embedding tables get weight decay 0. Parameters with `requires_grad=False` are left
    out; a shared parameter appears once (iterate `model.parameters()`).

    Example: the week-05 GPT(n_layer=1, bias=True) decays attn.c_attn.weight, attn.c_proj.weight,
    mlp.c_fc.weight, mlp.c_proj.weight; it does not decay wte.weight (= lm_head.weight),
    wpe.weight, the ln_1 / ln_2 / ln_f weights and biases, or any Linear bias.

    Returns:
        [{"params": decayed, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}]
    """
    # embeddings are looked up, not multiplied: decaying rare tokens' rows only shrinks them
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        if p.dim() >= 2 and id(p) not in embeddings:
            decay.append(p)
        else:
            no_decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


class AdamW(torch.optim.Optimizer):
    """AdamW with the update of `torch.optim.AdamW` (amsgrad off, maximize off).

    The constructor, `zero_grad`, `state_dict` and `load_state_dict` come from torch.optim.Optimizer
    (given); you write `step`. Per parameter, `self.state[p]` holds "step" (an int, the number of
    updates so far), "exp_avg" (m) and "exp_avg_sq" (v), created as zeros on its first update.
    Forbidden in `step` (the check makes them raise): torch.optim.AdamW, torch.optim.Adam and their
    functional forms torch.optim.adamw.adamw, torch.optim.adam.adam.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient, group by group.

        With the group's lr, (beta1, beta2), eps, wd and the parameter's gradient g, after
        t = state["step"] + 1:
            p <- p * (1 - lr * wd)                       decoupled weight decay, first
            m <- beta1 * m + (1 - beta1) * g
            v <- beta2 * v + (1 - beta2) * g * g
            m_hat = m / (1 - beta1 ** t);  v_hat = v / (1 - beta2 ** t)    bias correction
            p <- p - lr * m_hat / (sqrt(v_hat) + eps)
        Parameters whose .grad is None are skipped (their step count does not move): t is each
        parameter's own count of updates, not the number of step() calls.
        lr, betas, eps and weight_decay are read from each group at every step: a scheduler
        writes a new group["lr"] between steps, and a group's own values override the
        constructor's (which are only the defaults of groups that set none).

        Args:
            closure: optional; if given it is called first, with gradients enabled (step itself
                runs under torch.no_grad), and usually recomputes the loss and its gradients.

        Example: first step, wd=0, g=0.5 everywhere: m_hat = 0.5, v_hat = 0.25, so every
        parameter moves by -lr * 0.5 / (0.5 + eps) ~= -lr, whatever the gradient's size.

        Returns:
            the closure's loss if a closure was given, else None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2) = group["lr"], group["betas"]
            eps, wd = group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                # subtle: decay the weight itself, scaled by lr; not through the gradient (L2)
                p.mul_(1 - lr * wd)
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                # m and v start at 0, so early averages are too small: divide by 1 - beta^t
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                p.addcdiv_(m_hat, v_hat.sqrt().add_(eps), value=-lr)
        return loss
