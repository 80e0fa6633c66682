"""Several LoRA adapters on one base model, switched at run time.

One frozen base in memory, many small adapters (one per task or per customer): switching is copying
a few A and B tensors into the LoRA layers, not reloading the model. For the fastest inference an
adapter can also be merged into the base weights; then switching must first unmerge the old one
(with the A and B it was merged with) before the new factors are loaded.
Check: `python tracker.py check w12.multi`
"""

import torch
import torch.nn as nn

from .inject import lora_state_dict
from .lora import LoRALinear


class AdapterBank:
    """Named adapters (lora_state_dict-style dicts) for one model that already has LoRA layers."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.adapters: dict[str, dict[str, torch.Tensor]] = {}
        self.active: str | None = None  # the adapter now in the LoRA layers; None: the base model
        self.merged = False  # whether the active adapter is merged into the base weights

    def layers(self) -> list[LoRALinear]:
        """The model's LoRALinear modules, in named_modules() order."""
        return [m for m in self.model.modules() if isinstance(m, LoRALinear)]

    def add(self, name: str, state: dict[str, torch.Tensor]) -> None:
        """Store a copy of `state` under `name`.

        Example: bank.add("a", lora_state_dict(model)); changing those tensors afterwards does not
        change adapter "a".

        Raises:
            KeyError: unless state's keys are exactly the keys of lora_state_dict(self.model).
        """
        expected = set(lora_state_dict(self.model))
        if set(state) != expected:
            raise KeyError(
                f"adapter {name!r} does not fit the model: missing {sorted(expected - set(state))}, "
                f"unexpected {sorted(set(state) - expected)}"
            )
        # copies: a caller that keeps training its tensors must not change the stored adapter
        self.adapters[name] = {k: v.detach().clone() for k, v in state.items()}

    @torch.no_grad()
    def activate(self, name: str | None, merge: bool = False) -> None:
        """Make adapter `name` (None: no adapter, the base model) the one the model computes with.

        Steps: unmerge every LoRA layer if the bank merged the previous adapter; copy the stored A
        and B of `name` into the layers (for None: A unchanged, B set to zeros, so the LoRA path adds
        exactly 0); if `merge`, merge every layer. Sets self.active and self.merged. Activating the
        same adapter twice is harmless; the base weights return to their original values (up to
        float rounding) whenever no adapter is merged.

        Example: activate("a", merge=True), then activate("b"): "a" is unmerged first, "b"'s
        factors are copied in unmerged; activate(None) makes the model compute like the base.

        Raises:
            KeyError: for a name that was never added, before anything changes (the active adapter
                stays active, merged or not).
        """
        if name is not None and name not in self.adapters:
            raise KeyError(f"no adapter {name!r}; added: {sorted(self.adapters)}")
        # subtle: unmerge with the factors that were merged, before they are overwritten
        if self.merged:
            for layer in self.layers():
                layer.unmerge()
        if name is None:
            for layer in self.layers():
                layer.lora_B.zero_()
        else:
            params = dict(self.model.named_parameters())
            for key, value in self.adapters[name].items():
                params[key].copy_(value)
        if merge:
            for layer in self.layers():
                layer.merge()
        self.active = name
        self.merged = merge
