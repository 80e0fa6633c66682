"""NF4 from scratch: the 4-bit NormalFloat code book, block-wise absmax quantization, double quantization.

Dettmers et al., *QLoRA: Efficient Finetuning of Quantized LLMs* (2023), section 3. Pretrained
weights are roughly normal, so the 16 code values are quantiles of N(0, 1) (scaled to [-1, 1]) rather
than evenly spaced: each code is then used about equally often. A tensor is cut into blocks of 64
values (row-major order of the flattened tensor); each block is divided by its absolute maximum
("absmax", kept in float32) and each value is replaced by the index of the nearest code: 4 bits,
two per byte. Double quantization then stores the absmax values themselves in 8 bits.
The layout matches bitsandbytes' `quantize_4bit(..., quant_type="nf4")` byte for byte.
Check: `python tracker.py check w12.nf4`
"""

import torch

NF4_OFFSET = 0.9677083  # QLoRA's outermost quantile: (1 - 1/(2*15) + 1 - 1/(2*16)) / 2


def nf4_code_book() -> torch.Tensor:
    """The 16 NF4 values, ascending, float32, from -1.0 through 0.0 to 1.0.

    Built as in QLoRA (bitsandbytes' create_normal_map): 8 positive values
    Phi^-1(p) for p = the first 8 of torch.linspace(NF4_OFFSET, 0.5, 9), 7 negative values
    -Phi^-1(p) for p = the first 7 of torch.linspace(NF4_OFFSET, 0.5, 8), and an exact 0; then
    every value divided by the largest one. Phi^-1 is the standard normal quantile function
    (torch.special.ndtri). From scratch: bitsandbytes' get_4bit_type is off-limits in the check.

    Example: the result starts [-1.0, -0.6962, -0.5251, ...], has 0.0 at index 7 and ends
    [..., 0.5626, 0.7230, 1.0].
    """
    # asymmetric on purpose: 8 positive, 7 negative and an exact zero fill 16 codes
    positive = torch.special.ndtri(torch.linspace(NF4_OFFSET, 0.5, 9, dtype=torch.float64)[:-1])
    negative = -torch.special.ndtri(torch.linspace(NF4_OFFSET, 0.5, 8, dtype=torch.float64)[:-1])
    values = torch.cat([positive, negative, torch.zeros(1, dtype=torch.float64)])
    values = values / values.max()
    return values.sort().values.to(torch.float32)


def quantize_nf4(w: torch.Tensor, blocksize: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Block-wise absmax NF4 quantization of any tensor.

    Flatten `w` (row-major) and cut it into blocks of `blocksize` values; the last block may be
    shorter. Per block, absmax = max |value| (float32); each value v becomes the index (0..15) of
    the code nearest to v / absmax (an all-zero block uses scale 1, so it stays 0). Indices are
    packed two per byte: element 2i in the high nibble, element 2i+1 in the low nibble; an odd
    count is padded with the index of 0.0 (7).

    Args:
        w: (...) float tensor with n elements.
        blocksize: values per absmax block (64 in QLoRA).

    Returns:
        packed (ceil(n / 2),) uint8 and absmax (ceil(n / blocksize),) float32.

    Example: w = [0.5, -1.0, 0.0, 1.0] in one block: absmax 1.0, indices [12, 0, 7, 15]
    (0.5 is nearer to 0.4407 than to 0.5626), packed [12 * 16 + 0, 7 * 16 + 15] = [192, 127].
    With blocksize 2 the same w has absmax [1.0, 1.0]. `w` itself is not modified.
    """
    code = nf4_code_book()
    flat = w.detach().reshape(-1).to(torch.float32)
    n = flat.numel()
    n_blocks = -(-n // blocksize)
    # pad with zeros to whole blocks: zeros never raise a block's absmax
    padded = torch.zeros(n_blocks * blocksize, dtype=torch.float32)
    padded[:n] = flat
    blocks = padded.view(n_blocks, blocksize)  # (n_blocks, blocksize)
    absmax = blocks.abs().amax(dim=1)  # (n_blocks,)
    scale = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    normed = (blocks / scale[:, None]).reshape(-1)[:n]  # (n,) in [-1, 1]
    idx = (normed[:, None] - code[None, :]).abs().argmin(dim=1).to(torch.uint8)  # (n,)
    if n % 2:
        idx = torch.cat([idx, torch.tensor([7], dtype=torch.uint8)])
    packed = (idx[0::2] << 4) | idx[1::2]
    return packed, absmax


def dequantize_nf4(
    packed: torch.Tensor, absmax: torch.Tensor, shape: tuple[int, ...], blocksize: int = 64
) -> torch.Tensor:
    """The inverse of quantize_nf4 up to rounding: code[index] * absmax of the index's block.

    Args:
        packed: (ceil(n / 2),) uint8 from quantize_nf4.
        absmax: (ceil(n / blocksize),) float32 from quantize_nf4 (or from double_dequantize).
        shape: the original shape, n = its number of elements.
        blocksize: as used to quantize.

    Returns:
        (shape) float32.

    Example: packed [192, 127], absmax [2.0], shape (4,) -> indices [12, 0, 7, 15] ->
    [2 * 0.4407, -2.0, 0.0, 2.0].
    """
    code = nf4_code_book()
    n = 1
    for s in shape:
        n *= s
    # unpack: high nibble first, then low nibble, interleaved back into element order
    idx = torch.stack([packed >> 4, packed & 0x0F], dim=1).reshape(-1)[:n].long()  # (n,)
    scale = absmax.repeat_interleave(blocksize)[:n]  # (n,)
    return (code[idx] * scale).reshape(shape)


def double_quantize(
    absmax: torch.Tensor, blocksize: int = 256
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Quantize the float32 absmax values to int8 (QLoRA's double quantization, linear variant).

    Subtract offset = absmax.mean() (the absmax values are all positive: centring them uses the
    int8 range on both sides), cut the result into blocks of `blocksize`, and per block store
    scale = max |value| / 127 (float32; 1.0 for an all-zero block) and q = round(value / scale) as
    int8 in [-127, 127].

    Args:
        absmax: (m,) float32, from quantize_nf4.
        blocksize: values per second-level block (256 in QLoRA).

    Returns:
        q (m,) int8, scales (ceil(m / blocksize),) float32, offset (a Python float).

    Example: absmax [1.0, 3.0] -> offset 2.0, centred [-1.0, 1.0], scale 1/127, q [-127, 127].
    """
    offset = absmax.mean().item()
    centred = absmax.to(torch.float32) - offset
    m = centred.numel()
    n_blocks = -(-m // blocksize)
    padded = torch.zeros(n_blocks * blocksize)
    padded[:m] = centred
    blocks = padded.view(n_blocks, blocksize)
    peak = blocks.abs().amax(dim=1)
    scales = torch.where(peak > 0, peak / 127, torch.ones_like(peak))
    q = torch.round(blocks / scales[:, None]).clamp(-127, 127).to(torch.int8).reshape(-1)[:m]
    return q, scales, offset


def double_dequantize(
    q: torch.Tensor, scales: torch.Tensor, offset: float, blocksize: int = 256
) -> torch.Tensor:
    """absmax again, up to rounding: q * scale of q's block + offset; (m,) float32.

    Example: q [-127, 127], scales [1/127], offset 2.0 -> [1.0, 3.0]; with blocksize 2 each pair
    of q uses its own scale.
    """
    m = q.numel()
    return q.to(torch.float32) * scales.repeat_interleave(blocksize)[:m] + offset
