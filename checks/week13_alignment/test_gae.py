"""Checks for w13.gae: generalised advantage estimation with episode ends.

Oracles: a 5-step table worked by hand, the lambda = 0 and lambda = 1 limits (TD error and
Monte-Carlo return), and column-by-column independence.
"""

import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week13_alignment.gae")

RESET = (
    "at an episode end (dones[t] = 1) there is no bootstrap (gamma * next_value * 0) AND the "
    "running advantage restarts (gamma * lam * 0 * A_{t+1})"
)


def test_the_inputs_are_not_modified():
    g = generator(3)
    r, v = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g)
    d, last = torch.rand(6, 2, generator=g) < 0.3, torch.randn(2, generator=g)
    before = [t.clone() for t in (r, v, d, last)]
    mod.gae(r, v, d, last, gamma=0.9, lam=0.8)
    for name, old, new in zip(
        ("rewards", "values", "dones", "last_value"), before, (r, v, d, last)
    ):
        assert torch.equal(old, new), (
            f"gae modified its input {name} in place (a detached tensor shares its storage: "
            "write into a new tensor)"
        )


def test_hand_table_with_a_terminal_in_the_middle():
    """rewards [1, 0, 2, 0, 1], values [.5, 1, 1.5, .5, 1], dones [0, 0, 1, 0, 0], last_value 2,
    gamma 0.9, lam 0.8 (gamma * lam = 0.72):
      t=4: delta = 1 + 0.9*2 - 1 = 1.8;            A = 1.8
      t=3: delta = 0 + 0.9*1 - 0.5 = 0.4;          A = 0.4 + 0.72*1.8 = 1.696
      t=2: done: delta = 2 - 1.5 = 0.5;            A = 0.5 (nothing carried back)
      t=1: delta = 0 + 0.9*1.5 - 1 = 0.35;         A = 0.35 + 0.72*0.5 = 0.71
      t=0: delta = 1 + 0.9*1 - 0.5 = 1.4;          A = 1.4 + 0.72*0.71 = 1.9112
    returns = A + values = [2.4112, 1.71, 2.0, 2.196, 2.8].
    """
    adv, ret = mod.gae(
        torch.tensor([1.0, 0.0, 2.0, 0.0, 1.0]),
        torch.tensor([0.5, 1.0, 1.5, 0.5, 1.0]),
        torch.tensor([False, False, True, False, False]),
        torch.tensor(2.0),
        gamma=0.9,
        lam=0.8,
    )
    assert_close(
        adv,
        torch.tensor([1.9112, 0.71, 0.5, 1.696, 1.8]),
        what="gae(5 steps, done at t=2, gamma 0.9, lam 0.8) advantages",
        hint=RESET + "; the recursion runs backwards from t = T - 1 with A_T = 0; next_value is "
        "values[t + 1] inside the rollout, last_value only after the last step",
        atol=1e-5,
    )
    assert_close(
        ret,
        torch.tensor([2.4112, 1.71, 2.0, 2.196, 2.8]),
        what="gae(...) returns",
        hint="returns = advantages + values",
        atol=1e-5,
    )


def test_lambda_zero_is_the_td_error():
    g = generator(1)
    r, v = torch.randn(6, generator=g), torch.randn(6, generator=g)
    d = torch.tensor([0, 1, 0, 0, 1, 0])
    last = torch.tensor(0.7)
    nxt = torch.cat([v[1:], last[None]])
    expected = r + 0.95 * nxt * (1 - d.float()) - v
    adv, _ = mod.gae(r, v, d, last, gamma=0.95, lam=0.0)
    assert_close(
        adv,
        expected,
        what="gae(..., lam=0): the one-step TD errors",
        hint="delta_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t), with V(s_T) = last_value",
        atol=1e-5,
    )


def test_lambda_one_gamma_one_is_the_monte_carlo_return():
    """Two episodes [r0, r1, r2 | r3, r4] (done at t=2), no discount: returns are the sums of the
    rewards to the end of each episode, plus last_value for the unfinished second one."""
    r = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    v = torch.tensor([0.3, -0.2, 0.5, 1.0, 2.0])
    _, ret = mod.gae(r, v, torch.tensor([0, 0, 1, 0, 0]), torch.tensor(10.0), gamma=1.0, lam=1.0)
    assert_close(
        ret,
        torch.tensor([6.0, 5.0, 3.0, 19.0, 15.0]),
        what="gae(..., gamma=1, lam=1) returns",
        hint=RESET,
        atol=1e-5,
    )


def test_columns_are_independent_episodes():
    g = generator(2)
    T, N = 7, 5
    r, v = torch.randn(T, N, generator=g), torch.randn(T, N, generator=g)
    d = torch.rand(T, N, generator=g) < 0.3
    last = torch.randn(N, generator=g)
    adv, ret = mod.gae(r, v, d, last, gamma=0.97, lam=0.9)
    assert tuple(adv.shape) == (T, N), f"gae on (7, 5) inputs returned {tuple(adv.shape)}"
    for n in range(N):
        a1, r1 = mod.gae(r[:, n], v[:, n], d[:, n], last[n], gamma=0.97, lam=0.9)
        assert_close(
            adv[:, n],
            a1,
            what=f"gae on (7, 5) inputs, column {n} vs that column alone",
            hint="time is dim 0; each trailing index is its own episode stream",
            atol=1e-5,
        )
        assert_close(ret[:, n], r1, what=f"gae returns, column {n}", atol=1e-5)


def test_no_gradient_flows_into_the_values():
    v = torch.tensor([0.5, 1.0, 0.2], requires_grad=True)
    adv, ret = mod.gae(torch.ones(3), v, torch.zeros(3), torch.tensor(0.0), 0.9, 0.9)
    assert not adv.requires_grad and not ret.requires_grad, (
        "gae: advantages and returns must be constants (targets), not functions of the values: "
        "detach the values"
    )
