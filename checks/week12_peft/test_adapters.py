"""Checks for w12.adapters: the bottleneck adapter and where add_adapters puts it.

Oracles: the formula h + up(gelu_tanh(down(h))) computed here with torch's own GELU; a block forward
written out by hand (x = x + adapter(attn(ln_1(x))); x = x + adapter(mlp(ln_2(x)))); parameter
counts by hand: 2 per block, each C m + m + m C + C (C=36, m=5: 401; 2 layers: 1,604).
"""

import torch
import torch.nn.functional as F

from checks.week12_peft.support import C, logits, tiny_gpt
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week12_peft.adapters")


def adapter_formula(adapter, h):
    z = F.linear(h, adapter.down.weight, adapter.down.bias)
    return h + F.linear(F.gelu(z, approximate="tanh"), adapter.up.weight, adapter.up.bias)


def randomize(module, seed, std=0.3):
    """N(0, std) into every parameter of the adapters (all of them for a bare BottleneckAdapter)."""
    g = generator(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if isinstance(module, mod.BottleneckAdapter) or ".adapter." in name:
                p.copy_(torch.randn(p.shape, generator=g) * std)


def test_a_new_adapter_is_the_identity():
    torch.manual_seed(0)
    adapter = mod.BottleneckAdapter(C, 5)
    assert tuple(adapter.down.weight.shape) == (5, C) and tuple(adapter.up.weight.shape) == (
        C,
        5,
    ), "down is Linear(C, m) and up Linear(m, C)"
    assert adapter.up.weight.abs().max() == 0 and adapter.up.bias.abs().max() == 0, (
        "a new adapter's up weight and bias must be zero: then it is exactly the identity"
    )
    std = adapter.down.weight.std().item()
    assert 0.012 < std < 0.028 and adapter.down.bias.abs().max() == 0, (
        f"down.weight std {std:.4f}, expected N(0, 0.02) (180 draws: 0.012-0.028 is a 6 sigma band), "
        "bias 0; a zero down would never learn"
    )
    h = torch.randn(2, 7, C, generator=generator(0))
    with torch.no_grad():
        assert_close(
            adapter(h),
            h,
            atol=0,
            rtol=0,
            what="a new BottleneckAdapter(h)",
            hint="h + up(gelu(down(h))) with up = 0 returns h: add the residual h back",
        )


def test_adapter_forward_formula():
    torch.manual_seed(1)
    adapter = mod.BottleneckAdapter(C, 5)
    randomize(adapter, 1)
    h = torch.randn(3, 7, C, generator=generator(1)) * 2
    with torch.no_grad():
        assert_close(
            adapter(h),
            adapter_formula(adapter, h),
            atol=1e-5,
            what="BottleneckAdapter(36, 5)(h (3, 7, 36)) with random weights",
            hint="h + up(gelu(down(h))): the residual h is added back, GELU is the tanh form",
        )


def test_add_adapters_places_them_after_each_sublayer():
    model = tiny_gpt(seed=2)
    reference = tiny_gpt(seed=2)
    idx = torch.randint(0, 23, (2, 7), generator=generator(2))
    before = logits(model, idx)
    names = mod.add_adapters(model, 5)
    expected_names = [f"transformer.h.{i}.{s}.adapter" for i in range(2) for s in ("attn", "mlp")]
    assert names == expected_names, f"add_adapters returned {names}, expected {expected_names}"
    assert_close(
        logits(model, idx),
        before,
        atol=1e-6,
        what="logits right after add_adapters",
        hint="new adapters are the identity (up = 0)",
    )
    randomize(model, 3)
    adapters = [model.get_submodule(n) for n in names]
    with torch.no_grad():
        t = reference.transformer
        x = t.wte(idx) + t.wpe(torch.arange(7))
        for i, block in enumerate(t.h):
            x = x + adapter_formula(adapters[2 * i], block.attn(block.ln_1(x)))
            x = x + adapter_formula(adapters[2 * i + 1], block.mlp(block.ln_2(x)))
        expected = reference.lm_head(t.ln_f(x))
    assert_close(
        logits(model, idx),
        expected,
        atol=1e-4,
        what="GPT with add_adapters (random adapter weights) vs the block written by hand",
        hint="the adapter reads the sublayer's output, before the residual add: x = x + "
        "adapter(attn(ln_1(x))), not adapter(x + attn(...)) and not attn(adapter(...))",
    )


def test_only_adapters_train_and_the_count_by_hand():
    model = tiny_gpt(seed=4)
    mod.add_adapters(model, 5)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all(".adapter." in n for n in trainable), (
        f"trainable parameters outside the adapters: {[n for n in trainable if '.adapter.' not in n][:3]}"
        "; freeze the whole model before adding the adapters"
    )
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert n == 1604, (
        f"{n} trainable parameters, expected 4 adapters x (36*5 + 5 + 5*36 + 36) = 1604"
    )
    idx = torch.randint(0, 23, (2, 7), generator=generator(4))
    model.train()
    _, loss = model(idx, idx)
    loss.backward()
    up = model.transformer.h[0].attn.adapter.up.weight.grad
    down = model.transformer.h[0].attn.adapter.down.weight.grad
    assert up is not None and up.abs().sum() > 0, "the adapter's up weight got no gradient"
    assert down is not None and down.abs().max() == 0, (
        "down got a nonzero first gradient: with up = 0 it must be 0; is up initialised randomly?"
    )
