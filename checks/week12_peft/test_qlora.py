"""Checks for w12.qlora: a 4-bit NF4 base dequantized on the fly plus trainable LoRA factors.

Oracles: the nf4 round trip of the same weight (the handout's bound: each weight within
0.15190 x its block's absmax), the formula x W^T + b + (alpha / r) x A^T B^T in float64, memory by
hand (4 bits per weight + 32 bits per block of 64). Against peft + bitsandbytes' Linear4bit:
test_qlora_bnb.py.
"""

import math

import torch
import torch.nn as nn

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week12_peft.qlora")
nf4 = load("week12_peft.nf4")

HALF_GAP = 0.15190  # (1 - 0.69619) / 2: see test_nf4.py


def make(in_f=36, out_f=20, r=3, alpha=6.0, seed=0, bias=True, **kwargs):
    torch.manual_seed(seed)
    base = nn.Linear(in_f, out_f, bias=bias)
    with torch.no_grad():
        base.weight.normal_(0, 0.5)
    return base, mod.QLoRALinear(base, r=r, alpha=alpha, **kwargs)


def test_the_base_is_stored_in_4_bits_and_nothing_of_it_trains():
    """Linear(36, 20): 720 weights -> 360 bytes of packed codes + ceil(720 / 64) = 12 absmax."""
    base, layer = make()
    assert layer.weight_packed.dtype == torch.uint8 and layer.weight_packed.numel() == 360, (
        f"QLoRALinear(Linear(36, 20)).weight_packed: {layer.weight_packed.dtype} "
        f"{tuple(layer.weight_packed.shape)}; expected 360 uint8 (two 4-bit codes per byte)"
    )
    assert layer.weight_absmax.numel() == 12, (
        f"weight_absmax has {layer.weight_absmax.numel()} values, expected ceil(720 / 64) = 12"
    )
    names = sorted(n for n, _ in layer.named_parameters())
    assert names == ["lora_A", "lora_B"], (
        f"QLoRALinear's parameters are {names}; only lora_A and lora_B may be parameters (the "
        "quantized weight and the bias are buffers: frozen, never seen by the optimizer)"
    )
    big = [n for n, b in layer.named_buffers() if b is not None and b.numel() >= 720]
    assert not big, f"QLoRALinear keeps a full-size buffer {big}: store the NF4 codes only"
    assert tuple(layer.lora_A.shape) == (3, 36) and tuple(layer.lora_B.shape) == (20, 3)
    assert torch.count_nonzero(layer.lora_B) == 0, "lora_B must start at zeros"
    assert layer.lora_A.abs().max() <= 1 / math.sqrt(36) + 1e-7 and layer.lora_A.abs().max() > 0, (
        "lora_A must be Kaiming-uniform (a = sqrt(5)): |A| <= 1/sqrt(in), not all zero"
    )
    assert math.isclose(layer.scaling, 2.0), f"scaling {layer.scaling}, expected alpha / r = 6 / 3"


def test_dequantized_weight_is_the_nf4_round_trip():
    base, layer = make(seed=1)
    w = base.weight.detach()
    deq = layer.dequantized_weight()
    assert deq.shape == (20, 36) and deq.dtype == torch.float32, (
        f"dequantized_weight() gave {tuple(deq.shape)} {deq.dtype}, expected (20, 36) float32"
    )
    packed, absmax = nf4.quantize_nf4(w)
    assert_close(
        deq,
        nf4.dequantize_nf4(packed, absmax, (20, 36)),
        atol=1e-6,
        what="QLoRALinear.dequantized_weight() vs dequantize_nf4(quantize_nf4(W))",
        hint="quantize base.weight with blocksize 64 at construction, dequantize per call",
    )
    bound = absmax.repeat_interleave(64)[:720].reshape(20, 36) * HALF_GAP + 1e-6
    assert ((deq - w).abs() <= bound).all(), "dequantized weight further from W than NF4 allows"
    assert not torch.equal(deq, w), "dequantized_weight() equals W exactly: is W quantized at all?"


def test_forward_is_the_dequantized_linear_plus_lora():
    base, layer = make(seed=2)
    x = torch.randn(2, 7, 36, generator=generator(2))
    deq = layer.dequantized_weight().double()
    b = base.bias.detach().double()
    with torch.no_grad():
        assert_close(
            layer(x),
            x.double() @ deq.T + b,
            atol=1e-5,
            what="a new QLoRALinear(x (2, 7, 36))",
            hint="F.linear(x, dequantized weight, bias) + LoRA path that adds 0 at first",
        )
        g = generator(3)
        layer.lora_A.copy_(torch.randn(3, 36, generator=g))
        layer.lora_B.copy_(torch.randn(20, 3, generator=g))
        expected = (
            x.double() @ deq.T
            + b
            + 2.0 * (x.double() @ layer.lora_A.double().T @ layer.lora_B.double().T)
        )
        assert_close(
            layer(x),
            expected,
            atol=1e-4,
            what="QLoRALinear(r=3, alpha=6)(x) with random A, B",
            hint="y = x @ dequant(W).T + b + (alpha / r) * (dropout(x) @ A.T) @ B.T",
        )
    base, layer = make(in_f=5, out_f=4, r=2, alpha=2.0, bias=False, seed=4)
    x = torch.randn(3, 5, generator=generator(4))
    with torch.no_grad():
        assert_close(
            layer(x),
            x.double() @ layer.dequantized_weight().double().T,
            atol=1e-5,
            what="QLoRALinear(Linear(5, 4, bias=False))(x (3, 5))",
            hint="a base without bias has no bias term",
        )


def test_training_moves_only_lora():
    base, layer = make(seed=5)
    packed = layer.weight_packed.clone()
    x = torch.randn(4, 36, generator=generator(5))
    layer(x).pow(2).sum().backward()
    assert layer.lora_B.grad is not None and layer.lora_B.grad.abs().sum() > 0, (
        "lora_B got no gradient: the LoRA path must be in the forward pass"
    )
    assert layer.lora_A.grad.abs().max() == 0, "lora_A's first gradient must be 0 (B starts at 0)"
    assert torch.equal(layer.weight_packed, packed), "the packed base weight changed in backward"


def test_a_non_default_blocksize_is_used_to_quantize_and_to_dequantize():
    """blocksize=32: 720 weights -> ceil(720 / 32) = 23 absmax values, and the weight is the NF4
    round trip with blocks of 32."""
    base, layer = make(seed=6, blocksize=32)
    assert layer.weight_absmax.numel() == 23, (
        f"QLoRALinear(Linear(36, 20), blocksize=32).weight_absmax has {layer.weight_absmax.numel()} "
        "values, expected ceil(720 / 32) = 23\n  likely cause: pass blocksize on to quantize_nf4"
    )
    packed, absmax = nf4.quantize_nf4(base.weight.detach(), 32)
    assert_close(
        layer.dequantized_weight(),
        nf4.dequantize_nf4(packed, absmax, (20, 36), 32),
        atol=1e-6,
        what="QLoRALinear(blocksize=32).dequantized_weight()",
        hint="quantize and dequantize with the layer's blocksize",
    )


def test_dropout_only_on_the_lora_path_and_only_in_train_mode():
    """dropout=0.5: in eval mode the layer is exactly the formula; in train mode with A = 0 it is
    exactly the dequantized linear (the base path never sees dropout)."""
    base, layer = make(seed=7, dropout=0.5)
    x = torch.randn(2, 7, 36, generator=generator(7))
    with torch.no_grad():
        g = generator(8)
        layer.lora_A.copy_(torch.randn(3, 36, generator=g))
        layer.lora_B.copy_(torch.randn(20, 3, generator=g))
        deq, b = layer.dequantized_weight().double(), base.bias.detach().double()
        expected = x.double() @ deq.T + b
        lora = 2.0 * (x.double() @ layer.lora_A.double().T @ layer.lora_B.double().T)
        assert_close(
            layer.eval()(x),
            expected + lora,
            atol=1e-4,
            what="QLoRALinear(dropout=0.5) in eval mode",
            hint="dropout is off in eval mode: use the layer's nn.Dropout module",
        )
        layer.lora_A.zero_()
        assert_close(
            layer.train()(x),
            expected,
            atol=1e-5,
            what="QLoRALinear(dropout=0.5) in train mode with lora_A = 0",
            hint="dropout acts on the LoRA path's input only; the base path sees x itself",
        )


def test_the_bias_is_a_copy():
    """Changing the original Linear's bias afterwards must not change the QLoRA layer."""
    base, layer = make(seed=9)
    x = torch.randn(3, 36, generator=generator(9))
    with torch.no_grad():
        before = layer(x)
        base.bias.add_(1.0)
        after = layer(x)
    assert_close(
        after,
        before,
        atol=0,
        rtol=0,
        what="QLoRALinear(x) after the original base.bias was changed",
        hint="keep a copy of base.bias (detach().clone()), not the same tensor",
    )
