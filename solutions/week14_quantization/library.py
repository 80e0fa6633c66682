"""Week 14: the library paths: PyTorch dynamic quantisation and bitsandbytes 8-bit / 4-bit layers.

What the earlier exercises built by hand, production code gets from a library:
  torch.ao.quantization.quantize_dynamic: int8 weights per tensor, activations quantised on the fly
    per batch (dynamic), fbgemm/onednn int8 kernels on CPU.
  bitsandbytes Linear8bitLt: LLM.int8() (vector-wise int8 weight, row-wise absmax scales).
  bitsandbytes Linear4bit: NF4 (4-bit NormalFloat levels, Dettmers et al. 2023 "QLoRA") or FP4,
    blocks of 64 with an absmax scale each, two values a byte.
bitsandbytes quantises a weight when its Params object is moved to a device (`.to("cpu")` here).
Check: `python tracker.py check w14.library`
"""

import copy

import torch
from torch import nn


def replace_linears(model: nn.Module, convert, skip: tuple[str, ...] = ("lm_head",)) -> nn.Module:
    """Replace, in place, every nn.Linear of `model` whose name does not end with one of `skip` by
    `convert(linear)`; returns the model. (Given: the tied lm_head shares the embedding's weight,
    so it stays in float by default.)"""
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.Linear) and not full.endswith(skip):
                setattr(module, child_name, convert(child))
    return model


def torch_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of `model` with every nn.Linear replaced by PyTorch's dynamic int8 linear
    (torch.ao.quantization.quantize_dynamic with {nn.Linear} and dtype torch.qint8).

    The original model is not modified (its train/eval mode included); the copy is in eval mode.
    Example: nn.Sequential(nn.Linear(64, 36), nn.GELU(), nn.Linear(36, 20)) -> a copy holding two
    torch.ao.nn.quantized.dynamic.Linear modules, within ~1% of the float model's outputs.
    """
    # quantize_dynamic swaps modules in place unless told otherwise: quantise a deep copy
    quantized = copy.deepcopy(model).eval()
    return torch.ao.quantization.quantize_dynamic(quantized, {nn.Linear}, dtype=torch.qint8)


def bnb_int8_linear(linear: nn.Linear) -> nn.Module:
    """A bitsandbytes Linear8bitLt holding `linear`'s weight in int8 and its bias in float.

    Build it with has_fp16_weights=False and threshold=0.0 (no outlier split: pure int8), set its
    weight to bnb.nn.Int8Params(the float weight, requires_grad=False, has_fp16_weights=False) and
    its bias to a copy of the bias, then `.to("cpu")`, which quantises. Its `weight` is then int8
    of shape (out, in). The original layer is not modified; a Linear built with bias=False gives a
    layer without bias (bias None).
    Example: nn.Linear(64, 36) -> weight int8 (36, 64), outputs within ~1% of the float layer's.
    """
    import bitsandbytes as bnb

    layer = bnb.nn.Linear8bitLt(
        linear.in_features,
        linear.out_features,
        bias=linear.bias is not None,
        has_fp16_weights=False,
        threshold=0.0,
    )
    layer.weight = bnb.nn.Int8Params(
        linear.weight.detach().clone(), requires_grad=False, has_fp16_weights=False
    )
    if linear.bias is not None:
        layer.bias = nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
    return layer.to("cpu")


def bnb_4bit_linear(linear: nn.Linear, quant_type: str = "nf4") -> nn.Module:
    """A bitsandbytes Linear4bit (quant_type "nf4" or "fp4", compute_dtype float32) holding
    `linear`'s weight in 4 bits and its bias in float.

    Set its weight to bnb.nn.Params4bit(the float weight, requires_grad=False,
    quant_type=quant_type) and its bias to a copy, then `.to("cpu")`, which quantises: the weight
    becomes uint8 with out * in / 2 bytes. The original layer is not modified; a Linear built with
    bias=False gives a layer without bias (bias None).
    Example: nn.Linear(64, 36), "nf4" -> weight uint8 with 1152 entries, quant_type "nf4".
    """
    import bitsandbytes as bnb

    layer = bnb.nn.Linear4bit(
        linear.in_features,
        linear.out_features,
        bias=linear.bias is not None,
        compute_dtype=torch.float32,
        quant_type=quant_type,
    )
    layer.weight = bnb.nn.Params4bit(
        linear.weight.detach().clone(), requires_grad=False, quant_type=quant_type
    )
    if linear.bias is not None:
        layer.bias = nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
    return layer.to("cpu")
