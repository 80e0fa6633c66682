"""Week 14: magnitude pruning, unstructured and 2:4 structured, and a sparsity report.

Unstructured pruning zeroes the smallest-magnitude weights anywhere in a tensor: the best accuracy
for a given sparsity, but irregular zeros that dense kernels cannot skip. 2:4 ("semi-structured")
sparsity keeps exactly 2 of every 4 consecutive weights of a row, a pattern NVIDIA's sparse tensor
cores run at up to twice the dense speed.

References: Han et al. 2015, "Learning both Weights and Connections for Efficient Neural Networks";
Mishra et al. 2021, "Accelerating Sparse Deep Neural Networks" (2:4).
Check: `python tracker.py check w14.pruning`
"""

import torch
from torch import nn


def magnitude_prune(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """A copy of w with the k = round(sparsity * numel) smallest-|w| entries set to 0.

    Args:
        w: float tensor of any shape (not modified).
        sparsity: fraction in [0, 1] to remove, both ends included (0: a copy, 1: all zeros);
            ValueError outside, below 0 as well as above 1.

    Returns:
        Same shape and dtype; exactly k entries zeroed (more only if w already had zeros among the
        kept ones), and every kept |w| >= every removed |w|. Ties at the threshold are broken by
        position (any k of them).
    Example: w = [0.3, -0.1, 0.5, 0.05], sparsity 0.5 -> [0.3, 0.0, 0.5, 0.0].
    """
    # TODO(w14.pruning): return a copy of w without its smallest-magnitude fraction
    raise NotImplementedError(
        "w14.pruning: write magnitude_prune in exercises/week14_quantization/pruning.py"
    )


def prune_2_4(w: torch.Tensor) -> torch.Tensor:
    """A copy of a 2-D w (out, in) keeping the 2 largest-|w| entries of every group of 4
    consecutive entries of each row (w[r, 4g : 4g+4]) and zeroing the other 2.

    in must be a multiple of 4 (else ValueError). On a tie the earlier position is kept.
    Example: row [0.1, -0.9, 0.4, 0.2, 1.0, 2.0, -3.0, 0.5] -> [0, -0.9, 0.4, 0, 0, 2.0, -3.0, 0];
    row [1, 1, 1, 1] -> [1, 1, 0, 0]; row [-1, 1, 1, -1] -> [-1, 1, 0, 0].
    """
    # TODO(w14.pruning): return a copy of w with the 2:4 pattern described above
    raise NotImplementedError(
        "w14.pruning: write prune_2_4 in exercises/week14_quantization/pruning.py"
    )


def sparsity_report(model: nn.Module) -> dict[str, float]:
    """Fraction of exact zeros in each nn.Linear weight of `model`, by module name
    ("transformer.h.0.mlp.c_fc"), plus "total": zeros / entries over all those weights together
    (weighted by size, not the mean of the fractions).

    Example: Linear "a" with 6 zeros of 12 and Linear "b" with none of 6 -> {"a": 0.5, "b": 0.0,
    "total": 6 / 18 = 0.333}.
    """
    # TODO(w14.pruning): return the fraction of zeros of each Linear weight and overall
    raise NotImplementedError(
        "w14.pruning: write sparsity_report in exercises/week14_quantization/pruning.py"
    )
