"""Weight initialisation from the formulas: fans, gains, Xavier/Glorot and Kaiming/He.

A linear layer sums fan_in products, so with independent zero-mean weights the variance of its
output is fan_in * Var(w) * Var(input); backward, a gradient is summed over fan_out outputs.
Glorot & Bengio (2010) keep both near 1 with Var(w) = 2 / (fan_in + fan_out); He et al. (2015)
keep one direction exact, Var(w) = 1 / fan, and a gain makes up for what the nonlinearity
removes (relu zeroes half its inputs: gain sqrt(2)). A uniform draw on [-b, b] has variance
b^2 / 3. Same names, conventions and defaults as torch.nn.init, so the two can be compared.
Check: `python tracker.py check w03.init`
"""

import math

import torch


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: torch.nn.init.calculate_gain's values.

    "linear" and "sigmoid": 1; "tanh": 5/3; "relu": sqrt(2); "leaky_relu": sqrt(2 / (1 + a^2))
    for the negative slope a = param, 0.01 when param is None.

    Example: calculate_gain("leaky_relu", 0.2) = sqrt(2 / 1.04) = 1.3868;
    calculate_gain("leaky_relu") = sqrt(2 / 1.0001) = 1.4141.

    Raises:
        ValueError: for any other nonlinearity, naming it.
    """
    # TODO(w03.init): return torch's recommended gain for each nonlinearity of the docstring
    raise NotImplementedError(
        "w03.init: write calculate_gain in exercises/week03_embeddings/weight_init.py"
    )


def fan_in_and_fan_out(weight: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight in torch's layout, as torch.nn.init computes them.

    fan_in is how many inputs feed one output, fan_out how many outputs one input feeds. A Linear
    weight is (out, in); a conv weight is (out, in, *kernel), and every kernel position is one
    more connection.

    Example: nn.Linear(3, 5).weight (5, 3) -> (3, 5); nn.Conv2d(4, 6, (3, 2)).weight
    (6, 4, 3, 2) -> (24, 36).

    Raises:
        ValueError: for a tensor with fewer than 2 dimensions (a bias has no fans).
    """
    # TODO(w03.init): return how many connections enter one output and leave one input
    raise NotImplementedError(
        "w03.init: write fan_in_and_fan_out in exercises/week03_embeddings/weight_init.py"
    )


def xavier_uniform_(
    weight: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fill `weight` in place with Glorot's uniform draw and return it.

    Every entry is drawn independently from a uniform distribution symmetric around 0 whose
    std is gain * sqrt(2 / (fan_in + fan_out)), fans from fan_in_and_fan_out.

    Example: a (300, 700) weight, gain 1: std = sqrt(2 / 1000) = 0.0447, every |w| below
    0.0775.

    Works on an nn.Parameter (the fill is not recorded by autograd). Random numbers come from
    `generator` when one is given, from torch's global generator otherwise: two generators seeded
    alike give the same weights.
    """
    # TODO(w03.init): fill weight with Glorot's uniform draw, in place, and return it
    raise NotImplementedError(
        "w03.init: write xavier_uniform_ in exercises/week03_embeddings/weight_init.py"
    )


def xavier_normal_(
    weight: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fill `weight` in place with Glorot's normal draw N(0, std^2) and return it.

    std = gain * sqrt(2 / (fan_in + fan_out)). Same in-place, Parameter and generator rules as
    xavier_uniform_.

    Example: a (300, 700) weight, gain 5/3 (tanh): std = (5/3) sqrt(2 / 1000) = 0.0745.
    """
    # TODO(w03.init): fill weight with Glorot's normal draw, in place, and return it
    raise NotImplementedError(
        "w03.init: write xavier_normal_ in exercises/week03_embeddings/weight_init.py"
    )


def kaiming_std(weight: torch.Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """He's std, gain / sqrt(fan): the fan that `mode` names, the gain of nonlinearity (slope a).

    Example: a (300, 700) weight, mode "fan_in", "relu": sqrt(2) / sqrt(700) = 0.0535.

    Raises:
        ValueError: when mode is neither "fan_in" nor "fan_out".
    """
    # TODO(w03.init): return He's standard deviation for this weight, mode and nonlinearity
    raise NotImplementedError(
        "w03.init: write kaiming_std in exercises/week03_embeddings/weight_init.py"
    )


def kaiming_uniform_(
    weight: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill `weight` in place with He's uniform draw and return it.

    A uniform distribution symmetric around 0 whose std is kaiming_std(weight, a, mode,
    nonlinearity). torch.nn.init.kaiming_uniform_'s defaults: with a = 0 and "leaky_relu" the gain
    is sqrt(2), as for relu. Same in-place, Parameter and generator rules as xavier_uniform_.

    Example: a (300, 700) weight, defaults: std = sqrt(2 / 700) = 0.0535, every |w| below
    0.0926.

    Raises:
        ValueError: for an unknown mode or nonlinearity.
    """
    # TODO(w03.init): fill weight with He's uniform draw, in place, and return it
    raise NotImplementedError(
        "w03.init: write kaiming_uniform_ in exercises/week03_embeddings/weight_init.py"
    )


def kaiming_normal_(
    weight: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill `weight` in place with He's normal draw N(0, std^2), std = kaiming_std(...); return it.

    Same defaults as kaiming_uniform_, same in-place, Parameter and generator rules.

    Example: a (300, 700) weight, mode "fan_out", "tanh": std = (5/3) / sqrt(300) = 0.0962.

    Raises:
        ValueError: for an unknown mode or nonlinearity.
    """
    # TODO(w03.init): fill weight with He's normal draw, in place, and return it
    raise NotImplementedError(
        "w03.init: write kaiming_normal_ in exercises/week03_embeddings/weight_init.py"
    )
