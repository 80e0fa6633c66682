"""Put LoRA into a whole model by module name, count what trains, merge it away, save only the adapter.

peft's recipe (`get_peft_model(model, LoraConfig(target_modules=[...]))`) in a few functions: find the
nn.Linear modules whose names match the targets, freeze every parameter of the model, replace each
target by a LoRALinear around it. The adapter is then just the lora_A / lora_B tensors: megabytes
instead of the model's gigabytes, saved with safetensors. The checks also compare with peft itself.
Check: `python tracker.py check w12.inject`
"""

from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

from .lora import LoRALinear


def find_targets(model: nn.Module, targets: list[str]) -> list[str]:
    """Names of the nn.Linear modules of `model` that match a target, in `named_modules()` order.

    A name matches a target when it equals it or ends with "." + target (peft's rule for a list of
    target_modules), so "c_proj" matches "transformer.h.0.attn.c_proj" and
    "transformer.h.0.mlp.c_proj", "attn.c_proj" only the first, and "proj" neither.
    Modules that are not nn.Linear never match.

    Example: for the week-05 GPT with 2 layers, targets ["c_attn"] ->
    ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"].
    """
    # a dot boundary, so a target never matches the middle of a name
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and any(name == t or name.endswith("." + t) for t in targets)
    ]


def set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    """Replace the submodule called `name` ("transformer.h.0.attn.c_attn") by `module`."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def inject_lora(
    model: nn.Module, targets: list[str], r: int, alpha: float, dropout: float = 0.0
) -> list[str]:
    """Freeze every parameter of `model`, then wrap each target Linear in a LoRALinear, in place.

    Args:
        model: any nn.Module (the week-05 GPT in this course).
        targets: module-name patterns, matched as in find_targets.
        r, alpha, dropout: passed to every LoRALinear.

    Returns:
        The names of the wrapped modules (find_targets' order). Afterwards the trainable parameters
        are exactly the lora_A and lora_B of the new layers, and each new layer is in the model's
        train/eval mode (a model in eval mode gets no LoRA dropout).

    Example: inject_lora(gpt, ["c_attn"], r=2, alpha=4.0, dropout=0.1) on a 2-layer GPT ->
    ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"], each a LoRALinear with
    scaling 2.0 and dropout.p 0.1.
    """
    names = find_targets(model, targets)
    # freeze first: the new LoRA factors are created trainable afterwards
    for p in model.parameters():
        p.requires_grad_(False)
    for name in names:
        layer = LoRALinear(model.get_submodule(name), r, alpha, dropout)
        # subtle: a new module starts in train mode, whatever mode the model is in
        set_module(model, name, layer.train(model.training))
    return names


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) numbers of parameters; a tied weight (wte = lm_head) is counted once.

    Example: the week-05 GPT (V=23, block 16, 2 layers, C=36) with LoRA r=1 on "c_attn" has
    2 * 1 * (36 + 108) = 288 trainable parameters.
    """
    # model.parameters() yields each Parameter object once, so tied weights are not doubled
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter alone: every state-dict entry whose last name part is lora_A or lora_B.

    Keys are the model's own state-dict keys ("transformer.h.0.attn.c_attn.lora_A"); values are
    detached contiguous copies (changing the model later does not change them).

    Example: a 2-layer GPT with LoRA on "c_attn" -> the 4 keys transformer.h.{0,1}.attn.c_attn.
    {lora_A, lora_B}, no base weight.
    """
    return {
        k: v.detach().clone().contiguous()
        for k, v in model.state_dict().items()
        if k.rsplit(".", 1)[-1] in ("lora_A", "lora_B")
    }


def save_adapter(model: nn.Module, path: str | Path) -> Path:
    """Write lora_state_dict(model) to `path` with safetensors (no base weights); return the path.

    Example: r=2 on c_attn, c_proj and c_fc of a 2-layer C=36 GPT: 2,304 float32 values, a file
    of about 9 KB (the base's 33,516 weights are not in it).
    """
    save_file(lora_state_dict(model), str(path))
    return Path(path)


def load_adapter(model: nn.Module, path: str | Path) -> None:
    """Copy an adapter saved by save_adapter into a model that already has the same LoRA layers.

    Example: save_adapter(trained, "a.safetensors"); a fresh copy of the base with the same
    inject_lora call, after load_adapter(fresh, "a.safetensors"), gives the trained logits.

    Raises:
        KeyError: if the file lacks a lora tensor of the model, or holds a key the model's adapter
            does not have (a file with base weights is rejected, not silently loaded).
    """
    # subtle: compare key sets both ways; load_state_dict(strict=False) would ignore either mistake
    state = load_file(str(path))
    expected = set(lora_state_dict(model))
    missing, unexpected = expected - set(state), set(state) - expected
    if missing or unexpected:
        raise KeyError(
            f"adapter {path} does not fit: missing {sorted(missing)}, unexpected {sorted(unexpected)}"
        )
    model.load_state_dict(state, strict=False)


def merge_and_unload(model: nn.Module) -> list[str]:
    """Merge every LoRALinear into its base weight and put the plain nn.Linear back, in place.

    Afterwards the model has no LoRA modules and gives the same outputs (peft's merge_and_unload).
    Returns the names of the replaced modules.

    Example: after inject_lora(gpt, ["c_attn"], ...), merge_and_unload(gpt) returns
    ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"], each now a plain nn.Linear
    with weight W + scaling * B A.
    """
    names = [name for name, m in model.named_modules() if isinstance(m, LoRALinear)]
    for name in names:
        layer = model.get_submodule(name)
        layer.merge()
        set_module(model, name, layer.base)
    return names
