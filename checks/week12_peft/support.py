"""Shared pieces of the week-12 checks (not a check file itself): tiny GPTs and hand-made oracles.

`tiny_gpt` builds a week-05 GPT (V=23, block 16, 2 layers, 3 heads, C=36) with N(0, 0.5) weights, so
that small changes of any weight show in the logits. `lora_oracle` applies W + (alpha/r) B A by hand
to a copy of a base model: the independent answer for anything LoRA computes.
"""

import copy

import torch

from checks.week08_inference.support import tiny_gpt as week08_tiny_gpt
from solutions.week05_gpt.model import GPT

V, BLOCK, LAYERS, HEADS, C = 23, 16, 2, 3, 36

# Parameters of tiny_gpt() by hand: wte 23*36 = 828 (tied with lm_head, counted once),
# wpe 16*36 = 576, per block ln_1 72 + c_attn 36*108+108 = 3996 + attn.c_proj 36*36+36 = 1332
# + ln_2 72 + c_fc 36*144+144 = 5328 + mlp.c_proj 144*36+36 = 5220 = 16020, two blocks 32040,
# ln_f 72: 828 + 576 + 32040 + 72 = 33516.
TINY_GPT_PARAMS = 33_516

# The NF4 code book as bitsandbytes 0.50.2 stores it (bitsandbytes.functional.get_4bit_type("nf4")).
BNB_NF4 = (
    -1.0,
    -0.6961928009986877,
    -0.5250730514526367,
    -0.39491748809814453,
    -0.28444138169288635,
    -0.18477343022823334,
    -0.09105003625154495,
    0.0,
    0.07958029955625534,
    0.16093020141124725,
    0.24611230194568634,
    0.33791524171829224,
    0.44070982933044434,
    0.5626170039176941,
    0.7229568362236023,
    1.0,
)


def tiny_gpt(seed: int = 0, n_embd: int = C, n_head: int = HEADS) -> GPT:
    """A (2 layers, C=36) week-05 GPT in eval mode with N(0, 0.5) weights (LayerNorm weights 1)."""
    return week08_tiny_gpt(
        seed, V, BLOCK, LAYERS, n_embd, n_head, keep=("ln_1.weight", "ln_2.weight", "ln_f.weight")
    )


def randomize_lora(model: torch.nn.Module, seed: int, std: float = 0.3) -> None:
    """Give every lora_A / lora_B parameter N(0, std) values (B nonzero, so LoRA changes the model)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("lora_A", "lora_B")):
                p.copy_(torch.randn(p.shape, generator=g) * std)


def lora_oracle(base: GPT, state: dict[str, torch.Tensor], scaling: float) -> GPT:
    """A copy of `base` with W += scaling * B @ A for every (A, B) pair of `state`, done by hand.

    `state` has keys "<module name>.lora_A" (r, in) and "<module name>.lora_B" (out, r).
    """
    oracle = copy.deepcopy(base)
    with torch.no_grad():
        for key, A in state.items():
            if key.endswith(".lora_A"):
                module = key.removesuffix(".lora_A")
                B = state[module + ".lora_B"]
                oracle.get_submodule(module).weight += scaling * (B.double() @ A.double()).float()
    return oracle


def logits(model, idx: torch.Tensor) -> torch.Tensor:
    """Logits of a week-05-style model (returns (logits, loss)) without gradients."""
    with torch.no_grad():
        return model(idx)[0]
