"""Checks for w03.init: gains, fans, Xavier/Glorot and Kaiming/He initialisation.

Oracles: torch.nn.init.calculate_gain and torch.nn.init._calculate_fan_in_and_fan_out (exact), and
statistics of large draws against the std that torch.nn.init's formulas give. The statistical
bound: std within 3 % on at least 92,160 entries, more than 13 standard errors of the sample std
(false-alarm probability below 1e-30); for a uniform draw every |w| <= the bound and the largest
above 0.99 of it (P(miss) = 0.99^92160, below 1e-400). The draws' random stream is not checked,
only that a seeded generator reproduces them. torch.nn.init's own functions are switched off
while your code runs.
"""

import math
from functools import partial

import pytest
import torch

from roadmap.checking import from_scratch, generator
from roadmap.impl import load

mod = load("week03_embeddings.weight_init")

LIBRARY = (
    "torch.nn.init.calculate_gain",
    "torch.nn.init._calculate_fan_in_and_fan_out",
    "torch.nn.init._calculate_correct_fan",
    "torch.nn.init.xavier_uniform_",
    "torch.nn.init.xavier_normal_",
    "torch.nn.init.kaiming_uniform_",
    "torch.nn.init.kaiming_normal_",
)

call = partial(
    from_scratch,
    forbid=LIBRARY,
    exercise="w03.init",
    instead="the formulas of the docstrings (math.sqrt, tensor.uniform_ / tensor.normal_)",
)

LINEAR = (384, 1000)  # nn.Linear(1000, 384).weight: fan_in 1000, fan_out 384
CONV = (96, 64, 3, 5)  # nn.Conv2d(64, 96, (3, 5)).weight: fan_in 960, fan_out 1440
REL_TOL = 0.03


@pytest.mark.parametrize(
    "nonlinearity,param",
    [
        ("linear", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 0.0),
        ("leaky_relu", 3.0),
    ],
)
def test_gain_equals_torch(nonlinearity, param):
    got = call(mod.calculate_gain, nonlinearity, param)
    want = torch.nn.init.calculate_gain(nonlinearity, param)
    hints = {
        "tanh": "tanh's gain is 5/3",
        "relu": "relu's gain is sqrt(2): it zeroes half of a symmetric input",
        "leaky_relu": "sqrt(2 / (1 + a^2)) with the negative slope a = param, 0.01 when param is None",
    }
    assert isinstance(got, float | int) and math.isclose(got, want, rel_tol=1e-9), (
        f"calculate_gain({nonlinearity!r}, {param}): expected {want:.6g} (torch.nn.init), got "
        f"{got!r}; likely cause: {hints.get(nonlinearity, 'linear and sigmoid have gain 1')}"
    )


def test_unknown_nonlinearity_raises_value_error():
    with pytest.raises(ValueError, match="softplus"):
        call(mod.calculate_gain, "softplus")


@pytest.mark.parametrize(
    "shape", [(5, 3), (3, 5), (6, 4, 3, 2), (7, 2, 5), (4, 3, 2, 1, 3), (8, 1, 1, 1), CONV]
)
def test_fans_equal_torch(shape):
    weight = torch.empty(shape)
    got = call(mod.fan_in_and_fan_out, weight)
    want = torch.nn.init._calculate_fan_in_and_fan_out(weight)
    cause = "fan_in counts the inputs of one output: in * prod(kernel)"
    if tuple(got) == want[::-1]:
        cause = "fan_in and fan_out swapped: a weight is (out, in, *kernel), fan_in from dim 1"
    elif tuple(got) == (shape[1], shape[0]):
        cause = "each kernel position is a connection: multiply both fans by prod(shape[2:])"
    assert tuple(got) == want, (
        f"fan_in_and_fan_out of a weight {shape}: expected (fan_in, fan_out) = {want}, got "
        f"{tuple(got)}; likely cause: {cause}"
    )


@pytest.mark.parametrize("shape", [(7,), ()])
def test_fans_of_a_bias_raise_value_error(shape):
    with pytest.raises(ValueError):
        call(mod.fan_in_and_fan_out, torch.empty(shape))


def diagnose(ratio: float, alternatives: dict[str, float], fallback: str) -> str:
    """The mistake whose predicted std ratio (got / expected) is closest to the measured one."""
    close = {why: r for why, r in alternatives.items() if abs(ratio / r - 1) < REL_TOL}
    return min(close, key=lambda why: abs(ratio / close[why] - 1)) if close else fallback


SQRT3 = "the bound b of U(-b, b) is sqrt(3) * std (U(-b, b) has std b / sqrt(3))"


def assert_draw(weight, std: float, uniform: bool, what: str, alternatives: dict[str, float]):
    """weight looks like N(0, std^2) or like U(-sqrt(3) std, sqrt(3) std)."""
    w = weight.detach().double().flatten()
    got = w.std().item()
    alternatives = {**alternatives, SQRT3: 1 / math.sqrt(3)} if uniform else alternatives
    cause = diagnose(got / std, alternatives, "compare your std with the docstring's formula")
    assert abs(got / std - 1) < REL_TOL, (
        f"{what}: expected std {std:.5g}, got {got:.5g} (ratio {got / std:.4f}); likely cause: {cause}"
    )
    mean_bound = 6 * std / math.sqrt(w.numel())
    assert abs(w.mean().item()) < mean_bound, (
        f"{what}: the mean is {w.mean().item():.3g}, expected 0 (within {mean_bound:.2g}); "
        "likely cause: the draw is not symmetric around 0"
    )
    inside = (w.abs() <= std).double().mean().item()
    if uniform:
        bound = math.sqrt(3) * std
        assert w.abs().max().item() <= bound * (1 + 1e-6), (
            f"{what}: max |w| = {w.abs().max().item():.5g} exceeds the uniform bound "
            f"sqrt(3) * std = {bound:.5g}; likely cause: a normal draw where a uniform one belongs"
        )
        assert w.abs().max().item() >= 0.99 * bound, (
            f"{what}: max |w| = {w.abs().max().item():.5g}, the bound is {bound:.5g}: the draw "
            "does not fill [-b, b]"
        )
    else:
        assert abs(inside - 0.6827) < 0.01, (
            f"{what}: {inside:.1%} of |w| lie within one std, a normal draw has 68.3% (a uniform "
            "57.7%); likely cause: a uniform draw where a normal one belongs"
        )


def xavier_alternatives(shape, gain: float) -> dict[str, float]:
    w = torch.empty(shape)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(w)
    mean = (fan_in + fan_out) / 2
    return {
        "the gain is forgotten: std = gain * sqrt(2 / (fan_in + fan_out))": 1 / gain,
        "the gain multiplies the std once (gain^2 is the variance's factor)": gain,
        "Glorot's std uses fan_in + fan_out, not fan_in alone": math.sqrt(mean / fan_in),
        "Glorot's std uses fan_in + fan_out, not fan_out alone": math.sqrt(mean / fan_out),
        "Var(w) = 2 / (fan_in + fan_out): the 2 is missing": math.sqrt(0.5),
    }


@pytest.mark.parametrize("shape", [LINEAR, CONV], ids=["linear", "conv"])
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "normal"])
def test_xavier_statistics_match_the_formula(shape, gain, uniform):
    fill = mod.xavier_uniform_ if uniform else mod.xavier_normal_
    weight = torch.empty(shape)
    out = call(fill, weight, gain=gain, generator=generator(7))
    assert out is weight, f"{fill.__name__} must fill `weight` in place and return it"
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(weight)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    what = f"{fill.__name__}(weight {shape}, gain={gain:.4g})"
    assert_draw(weight, std, uniform, what, xavier_alternatives(shape, gain))


@pytest.mark.parametrize(
    "a,mode,nonlinearity",
    [
        (0.0, "fan_in", "leaky_relu"),
        (0.0, "fan_out", "relu"),
        (0.2, "fan_in", "leaky_relu"),
        (0.2, "fan_out", "leaky_relu"),
        (0.0, "fan_out", "tanh"),
        (0.0, "fan_in", "linear"),
    ],
)
def test_kaiming_std_matches_the_formula(a, mode, nonlinearity):
    for shape in (LINEAR, CONV):
        weight = torch.empty(shape)
        got = call(mod.kaiming_std, weight, a, mode, nonlinearity)
        fans = dict(zip(("fan_in", "fan_out"), torch.nn.init._calculate_fan_in_and_fan_out(weight)))
        gain = torch.nn.init.calculate_gain(nonlinearity, a)
        want = gain / math.sqrt(fans[mode])
        other = "fan_out" if mode == "fan_in" else "fan_in"
        cause = diagnose(
            got / want,
            {
                f"mode {mode!r} picks {mode}; the fans are swapped": math.sqrt(
                    fans[mode] / fans[other]
                ),
                f"the gain of {nonlinearity!r} (slope {a}) is forgotten": 1 / gain,
                "He's std is gain / sqrt(fan), not gain / fan": 1 / math.sqrt(fans[mode]),
                "std = gain / sqrt(fan): the gain multiplies once, not squared": gain,
            },
            "std = gain / sqrt(fan), with calculate_gain(nonlinearity, a)",
        )
        assert math.isclose(got, want, rel_tol=1e-6), (
            f"kaiming_std(weight {shape}, a={a}, mode={mode!r}, {nonlinearity!r}): expected "
            f"{want:.6g}, got {got!r}; likely cause: {cause}"
        )


def test_kaiming_std_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="fan_avg"):
        call(mod.kaiming_std, torch.empty(4, 3), 0.0, "fan_avg", "relu")


@pytest.mark.parametrize("shape", [LINEAR, CONV], ids=["linear", "conv"])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "normal"])
def test_kaiming_statistics_match_the_formula(shape, mode, uniform):
    fill = mod.kaiming_uniform_ if uniform else mod.kaiming_normal_
    weight = torch.empty(shape)
    out = call(fill, weight, a=0.2, mode=mode, generator=generator(8))  # leaky_relu, the default
    assert out is weight, f"{fill.__name__} must fill `weight` in place and return it"
    fans = dict(zip(("fan_in", "fan_out"), torch.nn.init._calculate_fan_in_and_fan_out(weight)))
    gain = torch.nn.init.calculate_gain("leaky_relu", 0.2)
    std = gain / math.sqrt(fans[mode])
    other = "fan_out" if mode == "fan_in" else "fan_in"
    alternatives = {
        f"mode {mode!r} picks {mode}; the fans are swapped": math.sqrt(fans[mode] / fans[other]),
        "the gain is forgotten": 1 / gain,
    }
    what = f"{fill.__name__}(weight {shape}, a=0.2, mode={mode!r})"
    assert_draw(weight, std, uniform, what, alternatives)


FILLS = ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


@pytest.mark.parametrize("name", FILLS)
def test_same_seeded_generator_gives_the_same_weights(name):
    """Two generators seeded alike give equal weights, whatever the global generator did in
    between; another seed gives other weights; the global generator is not used."""
    fill = getattr(mod, name)
    first, second, third = torch.empty(50, 70), torch.empty(50, 70), torch.empty(50, 70)
    torch.manual_seed(0)
    call(fill, first, generator=generator(5))
    global_state = torch.get_rng_state()
    call(fill, second, generator=generator(5))
    assert torch.equal(torch.get_rng_state(), global_state), (
        f"{name} drew from torch's global generator although a generator was given; likely "
        "cause: the generator is not passed on to the draw"
    )
    assert torch.equal(first, second), f"{name}: the same seeded generator gave different weights"
    call(fill, third, generator=generator(6))
    assert not torch.equal(first, third), f"{name}: generators seeded 5 and 6 gave equal weights"


@pytest.mark.parametrize("name", FILLS)
def test_fills_a_parameter_in_place_without_autograd(name):
    """nn.Linear's weight is an nn.Parameter: filling it is not an operation to differentiate."""
    layer = torch.nn.Linear(30, 20)
    try:
        out = call(getattr(mod, name), layer.weight, generator=generator(9))
    except NotImplementedError:
        raise  # a stub (NotImplementedError is a RuntimeError): todo, not a failure
    except RuntimeError as err:
        raise AssertionError(
            f"{name}(nn.Linear(30, 20).weight) raised {err}; likely cause: an in-place fill of an "
            "nn.Parameter (a leaf that requires grad) must run outside autograd, under "
            "torch.no_grad()"
        ) from None
    assert out is layer.weight, f"{name} must fill the Parameter in place and return it"
    assert layer.weight.requires_grad and layer.weight.grad_fn is None, (
        f"{name}: the Parameter must stay a trainable leaf (requires_grad, no grad_fn)"
    )
