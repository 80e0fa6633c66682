"""Week 14: int8 quantisation by hand: absmax (symmetric) and zero-point (asymmetric), per tensor,
per channel (one scale per output row) and per group.

A quantiser maps a float w to a small integer q and back as w_hat = (q - zero_point) * scale. With
round-to-nearest and no clipping, |w - w_hat| <= scale / 2 for every element: the rounding moves q
by at most half a step, and one step is worth `scale`. The whole game is making `scale` small:
one outlier in a tensor inflates the scale of everything that shares it, hence per-channel and
group-wise scales.

References: Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference" (zero-point); Dettmers et al. 2022, "LLM.int8()" (absmax).
Check: `python tracker.py check w14.int8`
"""

import torch


def absmax_quantize(
    w: torch.Tensor, per_channel: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8: scale = max|w| / 127, q = clamp(round(w / scale), -127, 127).

    Args:
        w: float tensor; with per_channel it must be 2-D (out, in).
        per_channel: one scale per row (dim 0, the output channel) instead of one for the tensor.

    Returns:
        q: int8, same shape as w.
        scale: float32, shape () per tensor or (out, 1) per channel, so `q * scale` broadcasts to w.
            A tensor (or row) whose max|w| is 0 gets scale 1.0, so its q is all zeros.

    Rounding is torch.round (half to even); every element then satisfies |w - q * scale| <= scale/2.
    Example: w = [[0.5, -1.5], [2.0, 0.25]] per tensor: scale = 2/127, q = [[32, -95], [127, 16]]
    (0.5 * 63.5 = 31.75 -> 32, -1.5 * 63.5 = -95.25 -> -95, 0.25 * 63.5 = 15.875 -> 16).
    """
    # the largest magnitude maps to +-127; -128 is left unused so the grid is symmetric around 0
    w = w.float()
    amax = w.abs().amax(dim=1, keepdim=True) if per_channel else w.abs().amax()
    scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))
    q = (w / scale).round().clamp(-127, 127).to(torch.int8)
    return q, scale


def affine_quantize(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor) -> torch.Tensor:
    """Asymmetric uint8 with given parameters: q = clamp(round(x / scale) + zero_point, 0, 255).

    Args:
        x: float tensor.
        scale: float32, broadcastable to x.
        zero_point: int32, broadcastable to x: the integer that stands for 0.0.

    Returns:
        q: uint8, same shape as x. Values outside the range the parameters were made for saturate at
        0 or 255; they never wrap around.

    Example: scale 0.1, zero_point 10: x = [0.0, 0.5, -2.0, 30.0] -> q = [10, 15, 0, 255].
    """
    # subtle: clamp before the cast: uint8(256) is 0 and uint8(-1) is 255, a silent wrap-around
    q = (x.float() / scale).round() + zero_point
    return q.clamp(0, 255).to(torch.uint8)


def zeropoint_quantize(
    w: torch.Tensor, per_channel: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Asymmetric uint8 over the range [lo, hi] of w, widened to contain 0.

    lo = min(min(w), 0), hi = max(max(w), 0), scale = (hi - lo) / 255,
    zero_point = clamp(round(-lo / scale), 0, 255), q = affine_quantize(w, scale, zero_point).
    A range of width 0 (w all zero) gets scale 1.0 and zero_point 0.

    Args:
        w: float tensor; with per_channel it must be 2-D (out, in).
        per_channel: one (scale, zero_point) per row instead of one for the tensor.

    Returns:
        q: uint8, same shape as w.
        scale: float32, shape () or (out, 1).
        zero_point: int32, same shape as scale.

    Widening to contain 0 makes 0.0 exactly representable (q = zero_point), which padding and ReLU
    outputs need. Error: |w - (q - zero_point) * scale| <= scale / 2 for every element.
    Example: w = [-1.0, 0.0, 1.55] per tensor: scale = 2.55/255 = 0.01, zero_point = 100,
    q = [0, 100, 255].
    """
    w = w.float()
    if per_channel:
        lo = w.amin(dim=1, keepdim=True).clamp(max=0)
        hi = w.amax(dim=1, keepdim=True).clamp(min=0)
    else:
        lo, hi = w.min().clamp(max=0), w.max().clamp(min=0)
    scale = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))
    zero_point = (-lo / scale).round().clamp(0, 255).to(torch.int32)
    return affine_quantize(w, scale, zero_point), scale, zero_point


def dequantize(
    q: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor | int = 0
) -> torch.Tensor:
    """float32 w_hat = (q - zero_point) * scale; works for int8 absmax (zero_point 0) and uint8.

    Example: q = [0, 100, 255], scale 0.01, zero_point 100 -> [-1.0, 0.0, 1.55].
    """
    # subtle: widen before subtracting: uint8 arithmetic would wrap (0 - 100 = 156)
    return (q.to(torch.int32) - zero_point).float() * scale


def group_quantize(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Absmax int8 with one scale per group of `group_size` consecutive elements of each row.

    Args:
        w: (out, in) float; in must be a multiple of group_size (else ValueError).
        group_size: elements per group along the input dimension (dim 1).

    Returns:
        q: (out, in) int8, q = clamp(round(w / scale_of_its_group), -127, 127).
        scale: (out, in // group_size) float32, max|group| / 127 (1.0 for an all-zero group).

    Group g of row r holds w[r, g*group_size : (g+1)*group_size]. Dequantise with
    `group_dequantize`. Same error bound as absmax, with the scale of the element's own group.
    group_size may be anything that divides in, in itself included (one group per row).
    Example: w = [[0.5, -1.0, 0.0, 0.0]], group_size 2: scale = [[1/127, 1.0]] (the second group
    is all zero), q = [[64, -127, 0, 0]] (0.5 * 127 = 63.5 rounds half to even: 64).

    Raises:
        ValueError: if in is not a multiple of group_size.
    """
    out_features, in_features = w.shape
    if in_features % group_size:
        raise ValueError(f"in_features {in_features} is not a multiple of group_size {group_size}")
    # (out, in) -> (out, groups, group_size): each group is a row of the last dimension
    groups = w.float().reshape(out_features, in_features // group_size, group_size)
    amax = groups.abs().amax(dim=-1, keepdim=True)  # (out, groups, 1)
    scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))
    q = (groups / scale).round().clamp(-127, 127).to(torch.int8)
    return q.reshape(out_features, in_features), scale.squeeze(-1)


def group_dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """(out, in) float32 from group_quantize's q (out, in) and scale (out, groups).

    Example: q = [[64, -127, 0, 0]], scale = [[1/127, 1.0]] -> [[0.50394, -1.0, 0.0, 0.0]].
    """
    out_features, in_features = q.shape
    group_size = in_features // scale.shape[1]
    groups = q.float().reshape(out_features, -1, group_size) * scale.unsqueeze(-1)
    return groups.reshape(out_features, in_features)
