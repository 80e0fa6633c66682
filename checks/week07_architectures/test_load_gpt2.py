"""Checks for w07.load_gpt2: a transformers GPT2LMHeadModel -> the week-05 GPT.

Oracles: the transformers model itself (tiny random GPT2Config built here, no downloads): after
loading, our logits must equal its logits; Conv1D's (in, out) weight layout read from the HF model.
"""

import pytest
import torch

from roadmap.checking import assert_close, generator, learner_first
from roadmap.impl import load

mod = load("week07_architectures.load_gpt2")

CONV1D = (
    "HF's Conv1D stores weights (in, out), nn.Linear (out, in): transpose c_attn, c_proj and c_fc "
    "weights (not the biases, not the embeddings or LayerNorms)"
)


def hf_gpt2(seed: int, **overrides):
    """A tiny random GPT2LMHeadModel; a check calls the learner's function first (learner_first),
    so an untouched stub is todo before transformers loads (seconds)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    fields = dict(
        n_layer=2,
        n_embd=48,
        n_head=4,
        vocab_size=101,
        n_positions=32,
        bos_token_id=None,
        eos_token_id=None,
        attn_implementation="eager",
    )
    fields.update(overrides)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(**fields)).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(1.0 if ".ln_" in name and name.endswith("weight") else 0.0, 0.2)
    return model


def test_config_from_hf():
    learner_first(mod.gpt_config_from_hf, None)
    hf = hf_gpt2(0, n_positions=64, vocab_size=77)
    cfg = mod.gpt_config_from_hf(hf.config)
    got = (cfg.block_size, cfg.vocab_size, cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.bias)
    assert got == (64, 77, 2, 4, 48, True), (
        f"gpt_config_from_hf: expected (block_size, vocab, n_layer, n_head, n_embd, bias) = "
        f"(64, 77, 2, 4, 48, True), got {got}"
    )


def test_config_from_hf_is_an_inference_copy_without_dropout():
    """The docstring's GPTConfig has dropout=0.0, whatever HF's attn/resid/embd pdrop say."""
    learner_first(mod.gpt_config_from_hf, None)
    hf = hf_gpt2(0)
    cfg = mod.gpt_config_from_hf(hf.config)
    assert cfg.dropout == 0.0, (
        f"gpt_config_from_hf: dropout={cfg.dropout}; likely cause: the loaded copy is for "
        "inference: dropout=0.0 (a model put back in train mode must not drop activations)"
    )


@pytest.mark.parametrize(
    "field,value",
    [("layer_norm_epsilon", 1e-6), ("n_inner", 40), ("activation_function", "gelu")],
)
def test_config_from_hf_refuses_what_our_gpt_cannot_express(field, value):
    """Each would load without error and compute something else: ValueError, as documented."""
    learner_first(mod.gpt_config_from_hf, None)
    from transformers import GPT2Config

    config = GPT2Config(n_layer=1, n_embd=16, n_head=2, **{field: value})
    try:
        mod.gpt_config_from_hf(config)
    except ValueError:
        return
    raise AssertionError(
        f"gpt_config_from_hf(GPT2Config({field}={value!r})) did not raise ValueError; likely "
        f"cause: refuse {field} other than ours (gelu_new, n_inner None or 4C, layer_norm_epsilon 1e-5)"
    )


def test_convert_drops_attention_buffers():
    """Older transformers versions carry attn.bias (the causal mask) and attn.masked_bias buffers."""
    learner_first(mod.convert_gpt2_state_dict, {})
    hf_sd = dict(hf_gpt2(1).state_dict())
    hf_sd["transformer.h.0.attn.bias"] = torch.ones(1, 1, 32, 32).tril()
    hf_sd["transformer.h.1.attn.masked_bias"] = torch.tensor(-1e4)
    sd = mod.convert_gpt2_state_dict(hf_sd)
    kept = [k for k in sd if k.endswith((".attn.bias", ".attn.masked_bias"))]
    assert not kept, (
        f"convert_gpt2_state_dict kept {kept}; likely cause: attention buffers are not parameters "
        "of our GPT: drop keys ending in '.attn.bias' or '.attn.masked_bias' (keep c_attn.bias)"
    )
    assert "transformer.h.0.attn.c_attn.bias" in sd, (
        "convert_gpt2_state_dict dropped transformer.h.0.attn.c_attn.bias, a parameter; "
        "likely cause: match the key's end ('.attn.bias'), not a substring"
    )


def test_convert_returns_new_tensors():
    """Nothing shared with the HF state dict: a later in-place update of one model (training,
    quantising) must not change the other."""
    learner_first(mod.convert_gpt2_state_dict, {})
    hf_sd = hf_gpt2(1).state_dict()
    storages = {v.untyped_storage().data_ptr() for v in hf_sd.values()}
    sd = mod.convert_gpt2_state_dict(hf_sd)
    shared = [k for k, v in sd.items() if v.untyped_storage().data_ptr() in storages]
    assert not shared, (
        f"convert_gpt2_state_dict returned tensors that share storage with the HF model: "
        f"{shared[:3]}; likely cause: views (.t(), the tensor itself): clone them "
        "(value.detach().clone().contiguous())"
    )
    assert all(v.is_contiguous() for v in sd.values()), (
        "convert_gpt2_state_dict: some tensors are not contiguous; the docstring promises contiguous"
    )


def test_config_from_hf_refuses_another_activation():
    learner_first(mod.gpt_config_from_hf, None)
    from transformers import GPT2Config

    with pytest.raises(ValueError):
        mod.gpt_config_from_hf(
            GPT2Config(n_layer=1, n_embd=16, n_head=2, activation_function="relu")
        )


def test_convert_transposes_conv1d_weights_only():
    learner_first(mod.convert_gpt2_state_dict, {})
    hf = hf_gpt2(1)
    hf_sd = hf.state_dict()
    sd = mod.convert_gpt2_state_dict(hf_sd)
    c_attn = hf_sd["transformer.h.0.attn.c_attn.weight"]
    assert tuple(c_attn.shape) == (48, 144), "test setup: HF c_attn should be (C, 3C)"
    assert_close(
        sd["transformer.h.0.attn.c_attn.weight"],
        c_attn.t(),
        what="converted c_attn.weight",
        hint=CONV1D,
    )
    assert_close(
        sd["transformer.h.1.mlp.c_proj.weight"],
        hf_sd["transformer.h.1.mlp.c_proj.weight"].t(),
        what="converted mlp.c_proj.weight",
        hint=CONV1D,
    )
    assert_close(
        sd["transformer.wte.weight"],
        hf_sd["transformer.wte.weight"],
        what="converted wte.weight",
        hint="embeddings are nn.Embedding in both: copy as they are",
    )
    assert_close(
        sd["transformer.h.0.attn.c_attn.bias"],
        hf_sd["transformer.h.0.attn.c_attn.bias"],
        what="converted c_attn.bias",
        hint="biases are 1-D: nothing to transpose",
    )


@pytest.mark.parametrize(
    "overrides", [{}, {"n_layer": 3, "n_embd": 36, "n_head": 3, "vocab_size": 53}]
)
def test_loaded_gpt_reproduces_transformers_logits(overrides):
    learner_first(mod.gpt_config_from_hf, None)
    hf = hf_gpt2(2, **overrides)
    before = {k: v.clone() for k, v in hf.state_dict().items()}
    ours = mod.gpt2_from_hf(hf)
    V = hf.config.vocab_size
    idx = torch.randint(0, V, (2, 9), generator=generator(4))
    with torch.no_grad():
        expected = hf(idx).logits
        got = ours(idx)[0]
    assert_close(
        got, expected, what=f"gpt2_from_hf(GPT2 {overrides})(idx (2, 9)) logits", hint=CONV1D
    )
    for k, v in hf.state_dict().items():
        assert torch.equal(v, before[k]), f"gpt2_from_hf modified the transformers model's {k}"
