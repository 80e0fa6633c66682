"""Checks for w05.mlm: BERT's 80/10/10 masking, by hand-checkable rules and statistics."""

import math

import torch

from roadmap.checking import generator
from roadmap.impl import load

mlm = load("week05_gpt.mlm")
V, MASK, PAD = 50, 1, 0


def corrupt(ids, seed=0, **kw):
    return mlm.mask_tokens(ids, MASK, V, generator(seed), **kw)


def test_labels_mark_exactly_the_selected_positions():
    ids = torch.randint(2, V, (8, 33), generator=generator(1))
    inputs, labels = corrupt(ids)
    selected = labels != -100
    assert torch.equal(labels[selected], ids[selected]), (
        "labels must hold the ORIGINAL id at selected positions"
    )
    assert torch.equal(inputs[~selected], ids[~selected]), (
        "mask_tokens changed a position whose label is -100: only selected positions may be corrupted"
    )
    again = corrupt(ids)
    assert torch.equal(again[0], inputs) and torch.equal(again[1], labels), (
        "mask_tokens with the same seed must give the same result: draw everything from `generator`"
    )


def test_special_tokens_are_never_selected():
    ids = torch.randint(2, V, (16, 64), generator=generator(2))
    ids[:, 40:] = PAD
    _, labels = corrupt(ids, special_ids=(PAD,), mask_prob=0.5)
    assert (labels[:, 40:] == -100).all(), "padding (a special id) was selected for prediction"


def test_80_10_10_proportions():
    """200 x 500 = 100,000 positions, mask_prob 0.15: about 15,000 selected (sd 113). Of the selected,
    [MASK] ~ 0.8, a different random id ~ 0.1 * 49/50 = 0.098, unchanged ~ 0.1 + 0.1/50 = 0.102. Bands of
    5 standard deviations: a correct implementation fails with probability < 1e-5."""
    ids = torch.randint(2, V, (200, 500), generator=generator(3))
    inputs, labels = corrupt(ids, seed=4)
    sel = labels != -100
    n, N = sel.sum().item(), ids.numel()
    sd = math.sqrt(N * 0.15 * 0.85)
    assert abs(n - 0.15 * N) < 5 * sd, (
        f"selected {n} of {N} positions, expected about {0.15 * N:.0f} (mask_prob 0.15)"
    )
    shares = {
        "[MASK]": ((inputs == MASK) & sel).sum().item() / n,
        "random": ((inputs != MASK) & (inputs != ids) & sel).sum().item() / n,
        "unchanged": ((inputs == ids) & sel).sum().item() / n,
    }
    for name, p in (("[MASK]", 0.8), ("random", 0.098), ("unchanged", 0.102)):
        band = 5 * math.sqrt(p * (1 - p) / n)
        assert abs(shares[name] - p) < band, (
            f"of the selected positions {shares[name]:.3f} are {name}, expected {p:.3f} +- {band:.3f}; "
            f"all shares: { {k: round(v, 3) for k, v in shares.items()} }. Likely cause: 80/10/10 applied to "
            "all positions instead of the selected ones, or thresholds 0.8 / 0.9 off"
        )


def test_selection_rate_follows_mask_prob():
    """mask_prob=0.4 on 100 x 100 positions: about 4,000 selected (sd 49); a band of 5 sd. A
    hard-coded 0.15 selects about 1,500."""
    ids = torch.randint(2, V, (100, 100), generator=generator(8))
    _, labels = corrupt(ids, seed=9, mask_prob=0.4)
    n, N = (labels != -100).sum().item(), ids.numel()
    band = 5 * math.sqrt(N * 0.4 * 0.6)
    assert abs(n - 0.4 * N) < band, (
        f"mask_tokens(mask_prob=0.4) selected {n} of {N} positions, expected about {0.4 * N:.0f}; "
        "likely cause: the selection probability is hard-coded instead of using mask_prob"
    )
