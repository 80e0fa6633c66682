"""Checks for w14.library: torch dynamic int8 and bitsandbytes 8-bit / 4-bit layers.

Oracles: the float layers themselves with error bounds (int8: relative RMS error < 3%; NF4/FP4 4-bit:
< 20%), the libraries' own module and storage types (int8 (out, in); 4-bit packed uint8 with
out * in / 2 bytes), and the promise that the original layers are left unchanged.
"""

import pytest
import torch
from torch import nn

from roadmap.checking import generator
from roadmap.impl import load

mod = load("week14_quantization.library")


def rel_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    return ((got.float() - ref).pow(2).mean() / ref.pow(2).mean()).sqrt().item()


def layer(seed: int, d_in: int = 64, d_out: int = 36) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(d_in, d_out)


def test_torch_dynamic_int8_copies_and_quantises():
    model = nn.Sequential(layer(0), nn.GELU(), layer(1, 36, 20))
    x = torch.randn(2, 7, 64, generator=generator(0))
    with torch.no_grad():
        ref = model(x)
        q = mod.torch_dynamic_int8(model)
        got = q(x)
    assert isinstance(model[0], nn.Linear) and type(model[0]) is nn.Linear, (
        "torch_dynamic_int8 modified the original model: quantise a deep copy"
    )
    kinds = {type(m).__name__ for m in q.modules()}
    assert "Linear" in kinds and all(type(m) is not nn.Linear for m in q.modules()), (
        f"torch_dynamic_int8: the copy still has float nn.Linear layers ({sorted(kinds)})\n"
        "  likely cause: quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)"
    )
    assert rel_error(got, ref) < 0.03, (
        f"torch_dynamic_int8: relative error {rel_error(got, ref):.3f} vs the float model"
    )


def test_bnb_int8_linear():
    lin = layer(2)
    before = lin.weight.detach().clone()
    q = mod.bnb_int8_linear(lin)
    assert torch.equal(lin.weight.detach(), before) and lin.weight.dtype == torch.float32, (
        "bnb_int8_linear modified the original layer: give bitsandbytes a copy of the weight"
    )
    assert q.weight.dtype == torch.int8 and tuple(q.weight.shape) == (36, 64), (
        f"bnb_int8_linear: weight {q.weight.dtype} {tuple(q.weight.shape)}, expected int8 (36, 64)"
        "\n  likely cause: has_fp16_weights=False and .to('cpu') is what quantises"
    )
    x = torch.randn(3, 5, 64, generator=generator(1))
    with torch.no_grad():
        err = rel_error(q(x), lin(x))
    assert err < 0.03, f"bnb_int8_linear(x): relative error {err:.3f} vs nn.Linear, expected < 0.03"


@pytest.mark.parametrize("quant_type", ["nf4", "fp4"])
def test_bnb_4bit_linear(quant_type):
    lin = layer(3)
    q = mod.bnb_4bit_linear(lin, quant_type=quant_type)
    assert q.weight.dtype == torch.uint8 and q.weight.numel() == 36 * 64 // 2, (
        f"bnb_4bit_linear({quant_type}): weight {q.weight.dtype} with {q.weight.numel()} entries, "
        f"expected packed uint8 with {36 * 64 // 2}\n  likely cause: Params4bit(...) then .to('cpu')"
    )
    assert q.weight.quant_type == quant_type, (
        f"bnb_4bit_linear: quant_type {q.weight.quant_type}, expected {quant_type}"
    )
    x = torch.randn(3, 5, 64, generator=generator(2))
    with torch.no_grad():
        err = rel_error(q(x), lin(x))
    assert err < 0.2, f"bnb_4bit_linear({quant_type})(x): relative error {err:.3f} > 0.2"
    assert lin.weight.dtype == torch.float32, "bnb_4bit_linear modified the original layer"


def test_torch_dynamic_int8_copy_is_in_eval_mode_and_the_original_keeps_its_mode():
    model = nn.Sequential(layer(4), nn.Dropout(0.5), layer(5, 36, 20)).train()
    q = mod.torch_dynamic_int8(model)
    dropouts = [m for m in q.modules() if isinstance(m, nn.Dropout)]
    assert not q.training and dropouts and not any(m.training for m in dropouts), (
        "torch_dynamic_int8 returned a copy in training mode (its Dropout is active)\n  likely "
        "cause: the copy is returned in eval mode: deepcopy, then .eval() the copy"
    )
    assert all(m.training for m in model.modules()), (
        "torch_dynamic_int8 switched the ORIGINAL model to eval mode\n  likely cause: the "
        "original is not modified, its mode included: call .eval() on the copy, not on the model"
    )


@pytest.mark.parametrize("kind", ["int8", "nf4"])
def test_bnb_layers_without_bias(kind):
    lin = nn.Linear(64, 36, bias=False)
    try:
        q = mod.bnb_int8_linear(lin) if kind == "int8" else mod.bnb_4bit_linear(lin, "nf4")
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - reported with its likely cause
        raise AssertionError(
            f"bnb {kind} layer from nn.Linear(64, 36, bias=False) raised {error!r}\n  likely "
            "cause: a Linear built with bias=False has bias None: build the bnb layer with "
            "bias=False and copy no bias"
        ) from error
    assert q.bias is None, f"the bnb {kind} layer of a bias=False Linear has a bias"
    x = torch.randn(3, 64, generator=generator(3))
    with torch.no_grad():
        err = rel_error(q(x), lin(x))
    assert err < (0.03 if kind == "int8" else 0.2), (
        f"bnb {kind} (bias=False): relative error {err:.3f}"
    )
