"""Checks for w12.prefix: attention with learned key/value prefixes, and the prefix-tuned GPT.

Oracle: a prefix that equals the keys and values the frozen GPT itself computes for P real tokens p.
Then the prefix-tuned model on x must give exactly the logits the plain GPT gives for x after p
(the last T positions of GPT(cat(p, x))): in the plain model, x's tokens sit at positions P.. and
attend to p's keys and values at every layer, which is the promise of the docstring. The same holds
for one attention layer: attention_with_prefix(attn, x2, k(x1), v(x1)) = attn(cat(x1, x2))[:, P:].
"""

import torch

from checks.week12_peft.support import C, logits, tiny_gpt
from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week12_peft.prefix")

MASK = (
    "every real query sees all P prefix positions and the real positions up to itself: mask "
    "torch.ones(T, P + T).tril(diagonal=P) (is_causal=True aligns top-left and hides the prefix)"
)
POSITIONS = "the real tokens take positions P .. P + T - 1 (wpe rows after the virtual tokens)"


def own_prefix(model, p):
    """Per layer, the keys and values the GPT computes for tokens p (1, P): (n_layer, 2, P, C)."""
    P = p.shape[1]
    with torch.no_grad():
        x = model.transformer.wte(p) + model.transformer.wpe(torch.arange(P))
        out = []
        for block in model.transformer.h:
            _, k, v = block.attn.c_attn(block.ln_1(x)).split(C, dim=2)
            out.append(torch.stack([k[0], v[0]]))
            x = block(x)
    return torch.stack(out)


def test_one_layer_with_real_keys_as_prefix():
    model = tiny_gpt(seed=1)
    attn = model.transformer.h[0].attn
    g = generator(1)
    x1, x2 = torch.randn(1, 4, C, generator=g), torch.randn(3, 5, C, generator=g)
    with torch.no_grad():
        _, k, v = attn.c_attn(x1).split(C, dim=2)
        got = mod.attention_with_prefix(attn, x2, k[0], v[0])
        expected = torch.stack([attn(torch.cat([x1[0], row]).unsqueeze(0))[0, 4:] for row in x2])
    assert_close(
        got,
        expected,
        atol=1e-5,
        what="attention_with_prefix(attn, x (3, 5, 36), prefix_k (4, 36), prefix_v (4, 36))",
        hint=MASK + "; the prefix is shared by every batch row and split into heads like "
        "c_attn's keys: (P, C) -> (H, P, D)",
    )


def test_an_empty_prefix_is_plain_attention():
    model = tiny_gpt(seed=2)
    attn = model.transformer.h[1].attn
    x = torch.randn(2, 7, C, generator=generator(2))
    with torch.no_grad():
        got = mod.attention_with_prefix(attn, x, torch.zeros(0, C), torch.zeros(0, C))
        expected = attn(x)
    assert_close(
        got,
        expected,
        atol=1e-5,
        what="attention_with_prefix with P = 0 vs attn(x)",
        hint="with no prefix this is the week-05 causal attention",
    )


def test_prefix_of_real_tokens_reproduces_the_longer_sequence():
    """P = 3 virtual tokens set to the GPT's own keys/values of p; x of T = 6: 3 + 6 <= block 16."""
    model = tiny_gpt(seed=3)
    g = generator(3)
    p = torch.randint(0, 23, (1, 3), generator=g)
    x = torch.randint(0, 23, (2, 6), generator=g)
    expected = torch.stack([logits(model, torch.cat([p[0], row])[None])[0, 3:] for row in x])
    tuned = mod.PrefixTuning(model, n_prefix=3)
    with torch.no_grad():
        tuned.prefix.copy_(own_prefix(model, p))
        got = tuned(x)[0]
    assert_close(
        got,
        expected,
        atol=1e-4,
        what="PrefixTuning(GPT, 3)(x (2, 6)) with the prefix set to the GPT's own keys and "
        "values of 3 real tokens, vs GPT(cat(p, x))[:, 3:]",
        hint=f"{POSITIONS}; each layer l uses prefix[l, 0] as keys and prefix[l, 1] as "
        f"values; {MASK}",
    )


def test_only_the_prefix_trains_and_the_loss_ignores_minus_100():
    model = tiny_gpt(seed=4)
    tuned = mod.PrefixTuning(model, n_prefix=2)
    trainable = [n for n, p in tuned.named_parameters() if p.requires_grad]
    assert trainable == ["prefix"], f"trainable parameters {trainable}, expected only ['prefix']"
    assert tuned.prefix.numel() == 2 * 2 * 2 * C, "prefix should be (n_layer, 2, P, C)"
    idx = torch.randint(0, 23, (2, 7), generator=generator(4))
    targets = idx.clone()
    targets[:, :3] = -100
    out, loss = tuned(idx, targets)
    expected = torch.nn.functional.cross_entropy(out[:, 3:].reshape(-1, 23), idx[:, 3:].reshape(-1))
    assert loss is not None and abs(loss.item() - expected.item()) < 1e-5, (
        f"PrefixTuning loss {None if loss is None else loss.item()}, expected {expected.item():.6f}: "
        "mean cross-entropy over positions whose target is not -100"
    )
    loss.backward()
    assert tuned.prefix.grad is not None and tuned.prefix.grad.abs().sum() > 0, (
        "the prefix got no gradient: feed it into every layer's attention"
    )
    assert tuned.prefix.grad[0, 0].abs().sum() > 0 and tuned.prefix.grad[1, 1].abs().sum() > 0, (
        "layer 0's keys or layer 1's values got no gradient: each layer must use its own prefix"
    )
    frozen = [n for n, p in model.named_parameters() if p.grad is not None]
    assert not frozen, f"frozen GPT parameters got gradients: {frozen[:3]}"
