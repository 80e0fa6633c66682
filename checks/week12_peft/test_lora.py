"""Checks for w12.lora: LoRALinear's init, forward, dropout, merge and unmerge.

Oracles: the formula y = W x + b + (alpha / r) B A x computed here in float64, known answers by hand,
the Kaiming-uniform bound 1/sqrt(in) and its standard deviation, and a dropout statistic with a stated
bound. peft's own LoRA is compared with the whole model in test_peft_oracle.py.
"""

import math

import torch
import torch.nn as nn

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week12_peft.lora")

SCALING = "scaling is alpha / r (alpha=16, r=4 gives 4.0), not r / alpha"
FORMULA = "y = base(x) + scaling * (dropout(x) @ lora_A.T) @ lora_B.T with lora_A (r, in), lora_B (out, r)"


def make(in_f=36, out_f=20, r=3, alpha=5.0, dropout=0.0, seed=0, bias=True):
    torch.manual_seed(seed)
    base = nn.Linear(in_f, out_f, bias=bias)
    return base, mod.LoRALinear(base, r=r, alpha=alpha, dropout=dropout)


def fill(layer, seed):
    g = generator(seed)
    with torch.no_grad():
        layer.lora_A.copy_(torch.randn(layer.lora_A.shape, generator=g))
        layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=g))


def formula(base, A, B, scaling, x):
    x = x.double()
    y = x @ base.weight.double().T
    if base.bias is not None:
        y = y + base.bias.double()
    return y + scaling * (x @ A.double().T @ B.double().T)


def test_the_layer_wraps_and_freezes_the_base():
    base, layer = make(r=4, alpha=16.0)
    assert layer.base is base, (
        "LoRALinear(base, ...).base must be the same nn.Linear object, not a copy"
    )
    frozen = [n for n, p in base.named_parameters() if p.requires_grad]
    assert not frozen, (
        f"LoRALinear left base parameters {frozen} trainable\n  likely cause: freeze the base: "
        "requires_grad_(False) on its weight and bias"
    )
    assert tuple(layer.lora_A.shape) == (4, 36) and tuple(layer.lora_B.shape) == (20, 4), (
        f"LoRALinear(Linear(36, 20), r=4): lora_A should be (r, in) = (4, 36) and lora_B (out, r) = "
        f"(20, 4), got {tuple(layer.lora_A.shape)} and {tuple(layer.lora_B.shape)}"
    )
    assert isinstance(layer.lora_A, nn.Parameter) and layer.lora_A.requires_grad
    assert isinstance(layer.lora_B, nn.Parameter) and layer.lora_B.requires_grad
    assert not layer.merged, "a new LoRALinear is not merged (merged should be False)"


def test_scaling_is_alpha_over_r():
    """alpha=16, r=4 -> 4.0; alpha=4, r=8 -> 0.5 (r/alpha would give 0.25 and 2.0)."""
    for r, alpha, expected in ((4, 16.0, 4.0), (8, 4.0, 0.5)):
        _, layer = make(r=r, alpha=alpha)
        assert math.isclose(layer.scaling, expected), (
            f"LoRALinear(r={r}, alpha={alpha}).scaling = {layer.scaling}, expected {expected}\n"
            f"  likely cause: {SCALING}"
        )


def test_B_starts_at_zero_so_the_new_layer_equals_the_base():
    base, layer = make(seed=1)
    assert torch.count_nonzero(layer.lora_B) == 0, (
        f"a new LoRALinear's lora_B has {int(torch.count_nonzero(layer.lora_B))} nonzero entries\n"
        "  likely cause: B must start at zeros (A random): then B A = 0 and the model starts "
        "exactly at the pretrained one"
    )
    x = torch.randn(2, 7, 36, generator=generator(1))
    with torch.no_grad():
        assert_close(
            layer(x),
            base(x),
            atol=0,
            rtol=0,
            what="a new LoRALinear(x) vs base(x)",
            hint="B starts at zero, so the LoRA path adds exactly 0",
        )


def test_A_is_kaiming_uniform_from_the_global_rng():
    """kaiming_uniform_(a=sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / in) = 1/sqrt(in).

    For in=400 the bound is 0.05; U(-b, b) has std b / sqrt(3) = 0.02887. With 8 * 400 = 3200 draws the
    sample std is within 5% of that (its relative standard error is about 1.1%: a 4.4 sigma bound),
    and the largest |A| exceeds 0.95 b unless a draw is missing the top 5% of the range 3200 times.
    """
    _, layer = make(in_f=400, out_f=10, r=8)
    A = layer.lora_A.detach()
    bound = 1 / math.sqrt(400)
    assert A.abs().max() <= bound + 1e-7, (
        f"LoRALinear(Linear(400, 10), r=8).lora_A has |value| up to {A.abs().max():.4f} > "
        f"1/sqrt(in) = {bound}\n  likely cause: A is Kaiming-uniform with a = sqrt(5) (nn.Linear's "
        "and peft's init); kaiming_uniform_ with a = 0 or a normal draw is wider"
    )
    assert A.abs().max() > 0.95 * bound, (
        f"lora_A's largest |value| {A.abs().max():.4f} is far below the bound {bound}: "
        "is A initialised at all (zeros?), or with a narrower distribution?"
    )
    std = A.std().item()
    assert abs(std - bound / math.sqrt(3)) < 0.05 * bound / math.sqrt(3), (
        f"lora_A's std is {std:.5f}, expected {bound / math.sqrt(3):.5f} for U(-1/sqrt(in), "
        "1/sqrt(in))\n  likely cause: Kaiming-uniform with a = sqrt(5)"
    )
    _, again = make(in_f=400, out_f=10, r=8)
    assert torch.equal(again.lora_A, layer.lora_A), (
        "two LoRALinear built after the same torch.manual_seed got different lora_A: draw A from the "
        "global torch RNG (nn.init.kaiming_uniform_), not from a fresh generator or a fixed seed"
    )


def test_forward_matches_the_formula():
    """Odd sizes (in 36, out 20, r 3, alpha 5), batch of 2 x 7 positions and a 1-D input."""
    base, layer = make(seed=2)
    fill(layer, 2)
    x = torch.randn(2, 7, 36, generator=generator(3))
    with torch.no_grad():
        got = layer(x)
    assert_close(
        got,
        formula(base, layer.lora_A, layer.lora_B, 5 / 3, x),
        atol=1e-4,
        what="LoRALinear(Linear(36, 20), r=3, alpha=5)(x (2, 7, 36)) with random A and B",
        hint=f"{FORMULA}; scaling = alpha / r = 5/3",
    )
    one = torch.randn(36, generator=generator(4))
    with torch.no_grad():
        got = layer(one)
    assert_close(
        got,
        formula(base, layer.lora_A, layer.lora_B, 5 / 3, one),
        atol=1e-4,
        what="LoRALinear(...)(x (36,)), a single vector",
        hint="use x @ A.T @ B.T (works for any leading dimensions), not torch.bmm or a fixed (B, T)",
    )
    base, layer = make(in_f=5, out_f=4, r=2, alpha=2.0, bias=False, seed=3)
    fill(layer, 5)
    x = torch.randn(3, 5, generator=generator(6))
    with torch.no_grad():
        assert_close(
            layer(x),
            formula(base, layer.lora_A, layer.lora_B, 1.0, x),
            atol=1e-5,
            what="LoRALinear(Linear(5, 4, bias=False), r=2, alpha=2)(x (3, 5))",
            hint=FORMULA,
        )


def test_dropout_acts_on_the_input_of_the_lora_path_only():
    """r=1, A = ones(1, C), B = ones(out, 1), alpha = 1: the LoRA path adds sum_j dropout(x)_j to
    every output, the same number for all out channels of a row. Dropout on the input keeps it
    equal across channels; dropout on the output would zero some channels and not others. p = 0.5
    in train mode: at least one of 40 rows differs from the no-dropout sum (false alarm 2^-(40*36)).
    The base path never sees dropout: with A = 0 the output is exactly base(x) in train mode.
    """
    base, layer = make(in_f=36, out_f=12, r=1, alpha=1.0, dropout=0.5, seed=4)
    layer.train()
    x = torch.randn(40, 36, generator=generator(7))
    with torch.no_grad():
        layer.lora_A.zero_()
        layer.lora_B.fill_(1.0)
        assert_close(
            layer(x),
            base(x),
            atol=1e-6,
            what="LoRALinear(dropout=0.5) in train mode with lora_A = 0",
            hint="dropout belongs to the LoRA path's input only: base(x) + scaling * (dropout(x) @ "
            "A.T) @ B.T; the frozen base path sees x itself",
        )
        layer.lora_A.fill_(1.0)
        extra = layer(x) - base(x)  # (40, 12)
    spread = (extra - extra[:, :1]).abs().max()
    assert spread < 1e-4, (
        f"LoRALinear(r=1, A=1, B=1, dropout=0.5) in train mode: the LoRA output differs across the "
        f"out channels of one row (by up to {spread:.3g})\n  likely cause: apply dropout to x before "
        "lora_A, not to the LoRA output"
    )
    changed = (extra[:, 0] - x.sum(dim=1)).abs() > 1e-4
    assert changed.any(), (
        "LoRALinear(dropout=0.5) in train mode gave exactly the no-dropout result for 40 rows: "
        "is self.dropout applied on the LoRA path?"
    )


def test_delta_weight_by_hand():
    """r=1, alpha=2 (scaling 2): A = [[1, 2]], B = [[3], [4]] -> 2 * B A = [[6, 12], [8, 16]]."""
    _, layer = make(in_f=2, out_f=2, r=1, alpha=2.0)
    with torch.no_grad():
        layer.lora_A.copy_(torch.tensor([[1.0, 2.0]]))
        layer.lora_B.copy_(torch.tensor([[3.0], [4.0]]))
    assert_close(
        layer.delta_weight(),
        torch.tensor([[6.0, 12.0], [8.0, 16.0]]),
        what="delta_weight() with A=[[1, 2]], B=[[3], [4]], alpha=2, r=1",
        hint="delta = scaling * B @ A, (out, in); did you forget the scale or write A @ B?",
    )


def test_merge_adds_the_scaled_update_and_unmerge_restores_the_weights():
    base, layer = make(seed=5)
    fill(layer, 8)
    w0 = base.weight.detach().clone()
    x = torch.randn(3, 7, 36, generator=generator(9))
    with torch.no_grad():
        before = layer(x)
        layer.merge()
    assert layer.merged, "after merge() the layer's merged flag should be True"
    expected = w0.double() + (5 / 3) * layer.lora_B.double() @ layer.lora_A.double()
    assert_close(
        base.weight,
        expected,
        atol=1e-5,
        what="base.weight after merge()",
        hint="merge adds scaling * B @ A (alpha / r times) into base.weight in place",
    )
    with torch.no_grad():
        after = layer(x)
    assert_close(
        after,
        before,
        atol=1e-4,
        what="LoRALinear(x) after merge() vs before",
        hint="while merged, base.weight already holds the update: forward returns base(x) alone "
        "(adding the LoRA path again counts it twice)",
    )
    layer.merge()
    assert_close(
        base.weight,
        expected,
        atol=1e-5,
        what="base.weight after a second merge()",
        hint="merge() on a merged layer must do nothing",
    )
    layer.unmerge()
    assert not layer.merged, "after unmerge() the merged flag should be False"
    assert_close(
        base.weight,
        w0,
        atol=1e-6,
        what="base.weight after merge() then unmerge()",
        hint="unmerge subtracts exactly what merge added: scaling * B @ A",
    )
    layer.unmerge()
    assert_close(
        base.weight,
        w0,
        atol=1e-6,
        what="base.weight after a second unmerge()",
        hint="unmerge() on an unmerged layer must do nothing",
    )
    with torch.no_grad():
        assert_close(
            layer(x),
            before,
            atol=1e-4,
            what="LoRALinear(x) after merge() and unmerge()",
            hint="clear merged in unmerge so that forward adds the LoRA path again",
        )


def test_only_A_and_B_get_gradients_and_B_first():
    """At the first step B = 0: dL/dA = scaling * B^T (dL/dy)^T x = 0, while dL/dB is not 0."""
    base, layer = make(seed=6)
    x = torch.randn(4, 36, generator=generator(10))
    layer(x).pow(2).sum().backward()
    assert base.weight.grad is None and base.bias.grad is None, (
        "the base Linear got a gradient: freeze it (requires_grad_(False) on weight and bias)"
    )
    assert layer.lora_B.grad is not None and layer.lora_B.grad.abs().sum() > 0, (
        "lora_B got no gradient at the first step\n  likely cause: B must start at zero and A "
        "random; with A = 0 (or both 0) nothing can ever learn"
    )
    assert layer.lora_A.grad is not None and layer.lora_A.grad.abs().max() == 0, (
        "lora_A got a nonzero gradient at the first step: with B = 0 it must be 0; is B "
        "initialised randomly?"
    )


def test_dropout_is_off_in_eval_mode_and_rescales_kept_inputs_in_train_mode():
    """nn.Dropout semantics on the LoRA path. Eval mode with dropout=0.5: exactly the formula (the
    wrapper must equal the plain forward). Train mode, r=1, A=1, B=1, alpha=1, x = ones (1000, 36):
    each output is sum_j dropout(x)_j = 2 * Binomial(36, 1/2) (kept inputs scaled by 1 / (1 - p)
    = 2), mean 36 and std 6 per row; the mean of 1000 rows is within 36 +- 1.2 (a 6 sigma band).
    Without the rescale it would be 18."""
    base, layer = make(seed=7, dropout=0.5)
    fill(layer, 11)
    layer.eval()
    x = torch.randn(2, 7, 36, generator=generator(12))
    with torch.no_grad():
        assert_close(
            layer(x),
            formula(base, layer.lora_A, layer.lora_B, 5 / 3, x),
            atol=1e-4,
            what="LoRALinear(r=3, alpha=5, dropout=0.5) in eval mode with random A and B",
            hint="dropout is off in eval mode: use the layer's nn.Dropout module (it follows "
            "train()/eval()), never a dropout that is always on",
        )
    base, layer = make(in_f=36, out_f=3, r=1, alpha=1.0, dropout=0.5, seed=8)
    layer.train()
    ones = torch.ones(1000, 36)
    with torch.no_grad():
        layer.lora_A.fill_(1.0)
        layer.lora_B.fill_(1.0)
        extra = (layer(ones) - base(ones))[:, 0]
    mean = extra.mean().item()
    assert abs(mean - 36.0) < 1.2, (
        f"LoRALinear(dropout=0.5) in train mode, A = B = 1, x = 1: the LoRA path averages {mean:.2f} "
        "over 1000 rows, expected 36 (half the inputs kept, each scaled by 1 / (1 - p) = 2)\n  "
        "likely cause: "
        + (
            "the kept inputs are not rescaled by 1 / (1 - p): use nn.Dropout"
            if abs(mean - 18.0) < 1.2
            else "dropout acts on the LoRA path's input with nn.Dropout(p) semantics"
        )
    )
