"""SGD with momentum, dampening, Nesterov and (coupled) weight decay, as torch.optim.SGD steps.

Plain SGD moves each parameter against its gradient, p <- p - lr * g. Momentum (Polyak 1964) keeps
a velocity buf, a running sum of past gradients, and moves along it instead: steps add up along
directions the gradients agree on and cancel where they zig-zag. Nesterov's variant (Sutskever et
al. 2013) looks one step ahead: it moves along g + momentum * buf. Weight decay here is the coupled
kind (L2): wd * p is added to the gradient, so it flows through the momentum buffer too; AdamW
(adamw.py) decouples it.
Check: `python tracker.py check w09.sgd`
"""

import torch


class SGD(torch.optim.Optimizer):
    """SGD with the update of `torch.optim.SGD` (maximize off).

    The constructor (given: it refuses the settings torch refuses), `zero_grad`, `state_dict` and
    `load_state_dict` come from torch.optim.Optimizer; you write `step`. Per parameter,
    `self.state[p]["momentum_buffer"]` holds the velocity buf (torch's key, so checkpoints of either
    load into the other), created on the parameter's first update and only when its group's
    momentum is not 0. Forbidden in `step` (the check makes them raise): torch.optim.SGD and its
    functional form torch.optim.sgd.sgd.

    Raises:
        ValueError: lr, momentum or weight_decay < 0, or nesterov=True with momentum 0 or a
            non-zero dampening (torch's rule).
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"SGD: lr {lr}, momentum {momentum} and weight_decay {weight_decay} must be >= 0"
            )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient, group by group.

        With the group's lr, momentum, dampening, wd (weight_decay), nesterov and the parameter's
        gradient g:
            d = g + wd * p                                 coupled weight decay: through the gradient
            if momentum != 0:
                buf = copy of d                            on the parameter's first update: no
                                                           dampening, no zeros to average with
                                                           (a copy: never p.grad itself)
                buf = momentum * buf + (1 - dampening) * d     on every later update
                d = d + momentum * buf   if nesterov, else   d = buf
            p <- p - lr * d
        With momentum 0 there is no buffer (dampening is ignored). Parameters whose .grad is None
        are skipped: no decay, and no buffer is created or moved. lr, momentum, dampening,
        weight_decay and nesterov are read from each group at every step: a scheduler writes a
        new group["lr"] between steps, and a group's own values override the constructor's.
        The gradient in p.grad is left as it was (d is a new tensor).

        Args:
            closure: optional; if given it is called first, with gradients enabled (step itself
                runs under torch.no_grad), and usually recomputes the loss and its gradients.

        Example: lr=0.1, momentum=0.9, dampening=0.5, wd=0, g=1 at two steps. Step 1: buf = 1,
        p moves by -0.1. Step 2: buf = 0.9 * 1 + 0.5 * 1 = 1.4, p moves by -0.14. With
        nesterov=True (dampening 0), step 1 moves by -0.1 * (1 + 0.9 * 1) = -0.19.

        Returns:
            the closure's loss if a closure was given, else None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                # subtle: coupled decay joins the gradient before momentum sees it
                d = p.grad.add(p, alpha=wd) if wd != 0 else p.grad
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        # the first update starts the velocity at d itself, undamped
                        buf = state["momentum_buffer"] = d.clone()
                    else:
                        buf.mul_(momentum).add_(d, alpha=1 - dampening)
                    # Nesterov: the gradient plus where the velocity is about to carry us
                    d = d.add(buf, alpha=momentum) if nesterov else buf
                p.add_(d, alpha=-lr)
        return loss
