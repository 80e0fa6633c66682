"""w12.inject against peft: our LoRA GPT and peft's LoRA on transformers' GPT-2 with the same weights.

The week-05 GPT is copied into a GPT2LMHeadModel (roadmap.checking.to_hf_gpt2) and wrapped with
`get_peft_model(LoraConfig(r, lora_alpha, target_modules, fan_in_fan_out=True))` (GPT-2 keeps
c_attn/c_proj/c_fc in Conv1D modules whose weight is (in, out); peft's lora_A (r, in) and lora_B
(out, r) have the same layout as ours). Our A and B are copied into peft's; the logits must agree
before and after one identical Adam step on the same batch, and after merge_and_unload (<= 1e-5
relative to logits of size ~10: atol 1e-4). peft is imported only here.
"""

import torch
import torch.nn.functional as F

from checks.week12_peft.support import BLOCK, HEADS, LAYERS, C, V, logits, randomize_lora, tiny_gpt
from roadmap.checking import adam, assert_close, generator, to_hf_gpt2
from roadmap.impl import load

inject = load("week12_peft.inject")

TARGETS = ["c_attn", "c_proj", "c_fc"]
R, ALPHA = 4, 6.0


def peft_key(ours: str) -> str:
    """transformer.h.0.attn.c_attn.lora_A -> base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight"""
    return f"base_model.model.{ours}.default.weight"


def build(seed: int):
    model = tiny_gpt(seed=seed)
    base = {k: v.clone() for k, v in model.state_dict().items()}  # the weights before injection
    # the learner's first: an untouched stub is todo before transformers and peft load (seconds)
    inject.inject_lora(model, TARGETS, r=R, alpha=ALPHA)
    randomize_lora(model, seed)
    from peft import LoraConfig, get_peft_model

    hf = to_hf_gpt2(base, V, BLOCK, LAYERS, HEADS, C)
    config = LoraConfig(
        r=R, lora_alpha=ALPHA, target_modules=TARGETS, fan_in_fan_out=True, lora_dropout=0.0
    )
    peft_model = get_peft_model(hf, config).eval()
    theirs = dict(peft_model.named_parameters())
    ours = dict(model.named_parameters())
    pairs = []
    with torch.no_grad():
        for key in sorted(inject.lora_state_dict(model)):
            theirs[peft_key(key)].copy_(ours[key])
            pairs.append((key, ours[key], theirs[peft_key(key)]))
    return model, peft_model, pairs


def hf_logits(peft_model, idx):
    with torch.no_grad():
        return peft_model(input_ids=idx).logits


def test_logits_equal_peft_before_and_after_one_adam_step():
    model, peft_model, pairs = build(seed=11)
    idx = torch.randint(0, V, (3, 9), generator=generator(11))
    targets = torch.randint(0, V, (3, 9), generator=generator(12))
    assert_close(
        logits(model, idx),
        hf_logits(peft_model, idx),
        atol=1e-4,
        what="our LoRA GPT vs peft get_peft_model(GPT-2, LoraConfig(r=4, lora_alpha=6, "
        "fan_in_fan_out=True)), same weights",
        hint="y = W x + b + (alpha / r) * B A x on every target Linear: c_attn, both c_proj, c_fc",
    )
    assert len(pairs) == 2 * LAYERS * 4, f"expected {2 * LAYERS * 4} LoRA tensors, got {len(pairs)}"
    model.train()
    _, loss = model(idx, targets)
    loss.backward()
    their_logits = peft_model(input_ids=idx).logits
    F.cross_entropy(their_logits.reshape(-1, V), targets.reshape(-1)).backward()
    for key, ours, theirs in pairs:
        assert ours.grad is not None, f"{key} has no gradient after backward: is LoRA in the graph?"
        assert_close(
            ours.grad,
            theirs.grad,
            atol=1e-5,
            rtol=1e-4,
            what=f"gradient of {key} vs peft",
            hint="the LoRA path is scaling * (x @ A.T) @ B.T; only A and B train",
        )
    step_ours = adam([p for _, p, _ in pairs], lr=1e-2)
    step_theirs = adam([p for _, _, p in pairs], lr=1e-2)
    step_ours()
    step_theirs()
    model.eval()
    assert_close(
        logits(model, idx),
        hf_logits(peft_model, idx),
        atol=1e-4,
        what="our LoRA GPT vs peft after one identical Adam step on the same batch",
        hint="every LoRA factor must get the same gradient as peft's",
    )
    merged_theirs = peft_model.merge_and_unload()
    inject.merge_and_unload(model)
    assert_close(
        logits(model, idx),
        hf_logits(merged_theirs, idx),
        atol=1e-4,
        what="our merge_and_unload vs peft's merge_and_unload",
        hint="merged W = W + (alpha / r) * B @ A (peft stores GPT-2's Conv1D weight transposed)",
    )
    ours_w = model.transformer.h[1].attn.c_attn.weight
    theirs_w = merged_theirs.transformer.h[1].attn.c_attn.weight.T
    assert_close(
        ours_w,
        theirs_w,
        atol=1e-5,
        what="merged h.1.attn.c_attn.weight vs peft's (transposed)",
        hint="merge adds scaling * B @ A, (out, in), into base.weight",
    )
