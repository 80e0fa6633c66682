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
    # TODO(w12.nf4): return QLoRA's 16 NF4 values, ascending, from -1 through 0 to 1
    raise NotImplementedError("w12.nf4: write nf4_code_book in exercises/week12_peft/nf4.py")


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
    # TODO(w12.nf4): return the packed 4-bit codes and per-block absmax of w
    raise NotImplementedError("w12.nf4: write quantize_nf4 in exercises/week12_peft/nf4.py")


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
    # TODO(w12.nf4): return the float tensor the codes and absmax stand for
    raise NotImplementedError("w12.nf4: write dequantize_nf4 in exercises/week12_peft/nf4.py")


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
    # TODO(w12.nf4): return absmax as int8 codes, one scale per block, and the offset
    raise NotImplementedError("w12.nf4: write double_quantize in exercises/week12_peft/nf4.py")


def double_dequantize(
    q: torch.Tensor, scales: torch.Tensor, offset: float, blocksize: int = 256
) -> torch.Tensor:
    """absmax again, up to rounding: q * scale of q's block + offset; (m,) float32.

    Example: q [-127, 127], scales [1/127], offset 2.0 -> [1.0, 3.0]; with blocksize 2 each pair
    of q uses its own scale.
    """
    # TODO(w12.nf4): return the absmax values the int8 codes stand for
    raise NotImplementedError("w12.nf4: write double_dequantize in exercises/week12_peft/nf4.py")
