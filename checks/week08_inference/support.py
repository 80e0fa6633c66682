"""Shared pieces of the week-08 checks (not a check file itself): tiny models and a chi-square test.

`tiny_gpt` builds a week-05 GPT whose weights are larger than GPT-2's init, so that greedy decoding
wanders over many tokens instead of repeating one (a repeating model would let a wrong cache pass).
`to_hf` copies its weights into a transformers GPT2LMHeadModel: the independent oracle.
"""

import torch

from roadmap.checking import to_hf_gpt2
from solutions.week05_gpt.model import GPT, GPTConfig


def tiny_gpt(
    seed: int = 0,
    vocab_size: int = 23,
    block_size: int = 16,
    n_layer: int = 2,
    n_embd: int = 36,
    n_head: int = 3,
    keep: tuple[str, ...] = ("ln_1.weight", "ln_2.weight"),
) -> GPT:
    """A (2 layers, 3 heads, C=36) GPT in eval mode with N(0, 0.5) weights.

    Parameters whose names end with one of `keep` stay at their init (LayerNorm weights 1), the
    others are redrawn in named_parameters() order from a generator seeded `seed`. Weeks 12, 15
    and 17 build their tiny GPTs here too (weeks 12 and 17 also keep ln_f.weight).
    """
    torch.manual_seed(seed)
    config = GPTConfig(
        block_size=block_size, vocab_size=vocab_size, n_layer=n_layer, n_head=n_head, n_embd=n_embd
    )
    model = GPT(config).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.endswith(keep):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model


def to_hf(model: GPT):
    """The same weights in a transformers GPT2LMHeadModel (Conv1D weights are transposed)."""
    c = model.config
    return to_hf_gpt2(model.state_dict(), c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd)


# chi-square critical values at false-alarm rate 1e-4 (scipy.stats.chi2.isf(1e-4, df)), df 1..30
CHI2_CRITICAL_1E4 = (
    15.14,
    18.42,
    21.11,
    23.51,
    25.74,
    27.86,
    29.88,
    31.83,
    33.72,
    35.56,
    37.37,
    39.13,
    40.87,
    42.58,
    44.26,
    45.92,
    47.57,
    49.19,
    50.80,
    52.39,
    53.96,
    55.52,
    57.07,
    58.61,
    60.14,
    61.66,
    63.16,
    64.66,
    66.15,
    67.63,
)


def chi_square_check(counts: torch.Tensor, probs: torch.Tensor, *, what: str, hint: str) -> None:
    """Pearson goodness-of-fit of `counts` (V,) against `probs` (V,), false-alarm rate 1e-4.

    Cells with probability 0 must have count 0 (a sample there is an error, not noise); the rest
    give chi2 = sum (observed - expected)^2 / expected with df = cells - 1. A correct sampler fails
    for 1 seed in 10,000; the checks use fixed seeds, so a correct sampler passes every time.
    """
    counts = counts.to(torch.float64)
    probs = probs.to(torch.float64)
    n = counts.sum()
    zero = probs <= 0
    assert not (counts[zero] > 0).any(), (
        f"{what}: sampled tokens {zero.nonzero().flatten()[counts[zero] > 0].tolist()} whose "
        f"probability after processing is 0\n  likely cause: {hint}"
    )
    expected = n * probs[~zero]
    stat = float(((counts[~zero] - expected) ** 2 / expected).sum())
    df = int((~zero).sum()) - 1
    critical = CHI2_CRITICAL_1E4[df - 1]
    assert stat <= critical, (
        f"{what}: frequencies do not match the expected distribution: chi2 = {stat:.1f} > "
        f"{critical} (df {df}, false-alarm rate 1e-4)\n"
        f"  expected {[round(x, 4) for x in probs.tolist()]}\n"
        f"  got      {[round(x, 4) for x in (counts / n).tolist()]}\n  likely cause: {hint}"
    )
