"""w12.qlora against peft + bitsandbytes: QLoRA on transformers' GPT-2 with a 4-bit NF4 base.

The week-05 GPT (C=64: bitsandbytes' CPU 4-bit kernels need widths divisible by 32) is exported with
solutions.week05_gpt.hf.export_hf, loaded fresh with `BitsAndBytesConfig(load_in_4bit=True,
bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=float32)` (Linear4bit layers, blocks of 64, no
double quantization) and wrapped with `get_peft_model(LoraConfig(..., fan_in_fan_out=True))`. Our
model: the same GPT with inject_qlora. Before any forward pass, every target's dequantized base
weight equals bitsandbytes' `dequantize_4bit` of the Linear4bit that transformers built (<= 1e-6).
Then, same A and B copied in, same batch, one forward and backward each: bitsandbytes' CPU 4-bit
matmul rounds on its own (measured: up to 0.06 on one (2, 5, 64) x (64, 192) product, ~1e-2 on these
logits), so logits agree within 0.05 and each LoRA gradient within 5% relative (norm of the
difference over the norm). Only one forward pass on the bnb model: on GPT-2 a forward before
training breaks its backward (bitsandbytes' in-place `result += bias`).
"""

import torch
import torch.nn.functional as F

from checks.week12_peft.support import randomize_lora, tiny_gpt
from roadmap.checking import assert_close, generator
from roadmap.impl import load
from solutions.week05_gpt.hf import export_hf

qlora = load("week12_peft.qlora")
inject = load("week12_peft.inject")

TARGETS = ["c_attn", "c_proj", "c_fc"]


def test_qlora_equals_peft_on_a_bitsandbytes_4bit_gpt2(tmp_path):
    # the learner's code first, on a throwaway model: a stub is todo before peft and transformers load
    qlora.inject_qlora(tiny_gpt(seed=21, n_embd=64, n_head=2), TARGETS, r=2, alpha=5.0)
    from peft import LoraConfig, get_peft_model
    from transformers import BitsAndBytesConfig, GPT2LMHeadModel

    model = tiny_gpt(seed=21, n_embd=64, n_head=2)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.5)
    export_hf(model, tmp_path)
    hf = GPT2LMHeadModel.from_pretrained(
        tmp_path,
        quantization_config=BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32
        ),
        device_map="cpu",
    )
    theirs = get_peft_model(
        hf,
        LoraConfig(
            r=2, lora_alpha=5, target_modules=TARGETS, fan_in_fan_out=True, lora_dropout=0.0
        ),
    )
    qlora.inject_qlora(model, TARGETS, r=2, alpha=5.0)
    randomize_lora(model, 21, std=0.2)
    ours = dict(model.named_parameters())
    their_params = dict(theirs.named_parameters())
    keys = sorted(k for k in ours if k.endswith(("lora_A", "lora_B")))
    with torch.no_grad():
        for key in keys:
            their_params[f"base_model.model.{key}.default.weight"].copy_(ours[key])
    import bitsandbytes.functional as bnbf

    for name in inject.find_targets(theirs.base_model.model, TARGETS):
        bnb_layer = theirs.base_model.model.get_submodule(name).base_layer
        expected = bnbf.dequantize_4bit(bnb_layer.weight.data, bnb_layer.weight.quant_state)
        assert_close(
            model.get_submodule(name).dequantized_weight(),
            expected,
            atol=1e-6,
            what=f"{name}.dequantized_weight() vs bitsandbytes' dequantize_4bit of the same weight",
            hint="quantize_nf4(base.weight) with blocks of 64 at construction (bitsandbytes' layout)",
        )
    idx = torch.randint(0, 23, (2, 9), generator=generator(21))
    targets = torch.randint(0, 23, (2, 9), generator=generator(22))
    their_logits = theirs(input_ids=idx).logits
    F.cross_entropy(their_logits.reshape(-1, 23), targets.reshape(-1)).backward()
    our_logits, loss = model(idx, targets)
    loss.backward()
    assert_close(
        our_logits,
        their_logits,
        atol=5e-2,
        what="our QLoRA GPT vs peft LoRA on a bitsandbytes 4-bit (NF4) GPT-2, same weights",
        hint="the base is dequantize_nf4(quantize_nf4(W)) with blocks of 64, the layout of "
        "bitsandbytes; the LoRA path adds (alpha / r) * (x @ A.T) @ B.T",
    )
    for key in keys:
        assert ours[key].grad is not None, f"{key} got no gradient"
        theirs_grad = their_params[f"base_model.model.{key}.default.weight"].grad
        rel = ((ours[key].grad - theirs_grad).norm() / theirs_grad.norm()).item()
        assert rel < 0.05, (
            f"gradient of {key}: {rel:.1%} away from peft + bitsandbytes' (relative norm), expected "
            "< 5%\n  likely cause: the LoRA path (alpha / r) * (x @ A.T) @ B.T on the dequantized base"
        )
