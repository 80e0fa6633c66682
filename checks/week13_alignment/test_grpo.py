"""Checks for w13.grpo: group-relative advantages.

Oracle: hand-computed groups, and the Bessel-corrected std written out in the check.
"""

import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week13_alignment.grpo")

GROUPS = "group i is rewards[i * G : (i + 1) * G] (consecutive samples), not every G-th one"


def test_known_answer():
    """[1, 0 | 0, 1 | 5, 5], G = 2: means 0.5, 0.5, 5; sample stds sqrt(0.5) = 0.70711, 0.70711, 0;
    (1 - 0.5) / (0.70711 + 1e-4) = 0.70700; the equal group gives 0."""
    got = mod.group_relative_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0, 5.0, 5.0]), 2)
    assert_close(
        got,
        torch.tensor([0.70700, -0.70700, -0.70700, 0.70700, 0.0, 0.0]),
        what="group_relative_advantages([1, 0, 0, 1, 5, 5], group_size 2)",
        hint="(r - group mean) / (group std + eps) with the SAMPLE std (divide by G - 1); "
        + GROUPS,
        atol=1e-5,
    )


def test_random_groups_against_the_formula():
    g = generator(1)
    G, n = 5, 4
    r = torch.randn(G * n, generator=g) * 3 + 1
    rows = r.view(n, G)
    mean = rows.mean(1, keepdim=True)
    std = ((rows - mean) ** 2).sum(1, keepdim=True).div(G - 1).sqrt()
    expected = ((rows - mean) / (std + 1e-4)).flatten()
    got = mod.group_relative_advantages(r, G)
    assert_close(
        got,
        expected,
        what="group_relative_advantages(20 rewards, group_size 5)",
        hint="Bessel-corrected std (G - 1), eps added to the std (not inside the sqrt); " + GROUPS,
        atol=1e-5,
    )
    for i in range(n):
        s = got[i * G : (i + 1) * G].sum().item()
        assert abs(s) < 1e-4, f"advantages of group {i} sum to {s}, expected 0; " + GROUPS


def test_eps_and_equal_groups():
    got = mod.group_relative_advantages(torch.tensor([3.0, 3.0, 3.0, 0.0, 0.0, 2.0]), 3, eps=0.5)
    std = (4 / 3 * 2 / 2) ** 0.5  # [0, 0, 2]: mean 2/3, squares 4/9 + 4/9 + 16/9 = 24/9, / 2
    std = (24 / 9 / 2) ** 0.5
    expected = torch.tensor([0.0, 0.0, 0.0, -2 / 3, -2 / 3, 4 / 3]) / (std + 0.5)
    assert_close(
        got,
        expected,
        what="group_relative_advantages([3, 3, 3, 0, 0, 2], 3, eps=0.5)",
        hint="divide by (std + eps); equal rewards give 0, never nan",
        atol=1e-5,
    )
