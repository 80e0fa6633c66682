"""Checks for w05.hf: export to transformers' GPT2LMHeadModel and load one back (logits equal)."""

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from roadmap.checking import assert_close, generator
from roadmap.impl import load

model = load("week05_gpt.model")
hf = load("week05_gpt.hf")

TRANSPOSE = "HF's Conv1D stores c_attn, c_proj and c_fc weights as (in, out): transpose those four per block"


def test_to_hf_state_dict_shapes():
    """n_embd=16: our c_attn.weight is (48, 16) (out, in); HF's is (16, 48). mlp.c_fc: (64, 16) -> (16, 64)."""
    torch.manual_seed(0)
    gpt = model.GPT(model.GPTConfig(block_size=8, vocab_size=10, n_layer=1, n_head=2, n_embd=16))
    sd = hf.to_hf_state_dict(gpt.state_dict())
    assert set(sd) == set(gpt.state_dict()), "to_hf_state_dict must keep every key, unchanged"
    for key, shape in [
        ("transformer.h.0.attn.c_attn.weight", (16, 48)),
        ("transformer.h.0.mlp.c_fc.weight", (16, 64)),
        ("transformer.h.0.mlp.c_proj.weight", (64, 16)),
        ("transformer.wte.weight", (10, 16)),
    ]:
        assert tuple(sd[key].shape) == shape, (
            f"to_hf_state_dict: {key} is {tuple(sd[key].shape)}, expected {shape}; {TRANSPOSE}"
        )
    back = hf.from_hf_state_dict(sd)
    for k, v in gpt.state_dict().items():
        assert_close(
            back[k],
            v,
            atol=0,
            rtol=0,
            what=f"from_hf_state_dict(to_hf_state_dict(sd))[{k!r}]",
            hint="from_hf_state_dict is the inverse: " + TRANSPOSE,
        )


def test_exported_directory_loads_in_transformers_with_equal_logits(tmp_path):
    torch.manual_seed(1)
    gpt = model.GPT(
        model.GPTConfig(block_size=20, vocab_size=29, n_layer=2, n_head=3, n_embd=24)
    ).eval()
    hf.export_hf(gpt, tmp_path / "hf")
    theirs = GPT2LMHeadModel.from_pretrained(tmp_path / "hf").eval()
    idx = torch.randint(0, 29, (2, 19), generator=generator(2))
    with torch.no_grad():
        assert_close(
            theirs(idx).logits,
            gpt(idx)[0],
            atol=1e-5,
            what="GPT2LMHeadModel.from_pretrained(exported dir) logits",
            hint=TRANSPOSE,
        )


@pytest.mark.parametrize("n_layer", [1, 3])
def test_transformers_model_imports_with_equal_logits(tmp_path, n_layer):
    torch.manual_seed(n_layer)
    theirs = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=31,
            n_positions=16,
            n_embd=32,
            n_layer=n_layer,
            n_head=4,
            bos_token_id=None,
            eos_token_id=None,
        )
    ).eval()
    with torch.no_grad():  # nonzero biases and LayerNorm weights, so every copied tensor matters
        for name, p in theirs.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(0.1 * torch.randn(p.shape))
    theirs.save_pretrained(tmp_path / "gpt2")
    ours = hf.import_hf(tmp_path / "gpt2")
    idx = torch.randint(0, 31, (3, 16), generator=generator(3))
    with torch.no_grad():
        assert_close(
            ours(idx)[0],
            theirs(idx).logits,
            atol=1e-5,
            what="import_hf(GPT-2 dir) logits vs transformers",
            hint=TRANSPOSE,
        )


def test_converters_return_new_tensors_and_drop_attention_buffers():
    """Both converters return new tensors: writing into the result must leave the input alone
    (a view, e.g. a bare v.t(), shares storage). from_hf_state_dict drops HF's attention buffers
    `.attn.bias` and `.attn.masked_bias` (older transformers versions keep them in the state dict)."""
    torch.manual_seed(2)
    gpt = model.GPT(model.GPTConfig(block_size=8, vocab_size=10, n_layer=1, n_head=2, n_embd=16))
    ours = {k: v.clone() for k, v in gpt.state_dict().items()}
    theirs = hf.to_hf_state_dict(ours)
    theirs_copy = {k: v.clone() for k, v in theirs.items()}
    for name, out, src in (("to_hf_state_dict", theirs, ours), ("from_hf_state_dict", None, None)):
        if out is None:
            src = {k: v.clone() for k, v in theirs_copy.items()}
            src["transformer.h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 8, 8))
            src["transformer.h.0.attn.masked_bias"] = torch.tensor(-1e4)
            out = hf.from_hf_state_dict(src)
            extra = sorted(k for k in out if k.endswith((".attn.bias", ".attn.masked_bias")))
            assert not extra, (
                f"from_hf_state_dict kept {extra}; likely cause: HF's attention buffers "
                "(.attn.bias, .attn.masked_bias) are not weights of our GPT, drop those keys"
            )
        before = {k: v.clone() for k, v in src.items()}
        for v in out.values():
            v.add_(1.0)
        shared = [k for k, v in src.items() if not torch.equal(v, before[k])]
        assert not shared, (
            f"{name}: adding 1 to its output changed the input tensors {shared[:3]}; likely cause: "
            "the result is a view of the input (v.t() shares storage): return new tensors with "
            ".contiguous().clone()"
        )
