"""Checks for w07.load_llama: transformers LlamaForCausalLM / MistralForCausalLM -> our Llama.

Oracles: the transformers models themselves (tiny random configs built here, no downloads): after
loading, our logits must equal theirs; a hand example of the RoPE row reordering; the key table.
"""

import pytest
import torch

from roadmap.checking import assert_close, generator, learner_first
from roadmap.impl import load

mod = load("week07_architectures.load_llama")

LAYOUT = (
    "transformers rotates (x[j], x[j + D/2]); we rotate (x[2i], x[2i+1]): reorder the q and k rows "
    "per head with half_to_interleaved (view (H, 2, D/2, C), swap dims 1 and 2); v and o stay as they are"
)


def shape_errors_explained(fn, *args):
    """Call fn; turn a reshape/load RuntimeError into a message that names the likely cause."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise  # a stub (NotImplementedError is a RuntimeError): reported as todo
    except RuntimeError as error:
        raise AssertionError(
            f"{fn.__name__} raised {error}; likely cause: q_proj has n_head heads but k_proj only "
            "n_kv_head heads: reorder q with config.n_head and k with config.n_kv_head"
        ) from error


def hf_tiny(cls_name: str, seed: int, **overrides):
    """A tiny random transformers model; a check calls the learner's function first (learner_first),
    so an untouched stub is todo before transformers loads (seconds)."""
    import transformers

    fields = dict(
        vocab_size=67,
        hidden_size=48,
        intermediate_size=72,
        num_hidden_layers=2,
        num_attention_heads=6,
        num_key_value_heads=2,
        max_position_embeddings=40,
        rms_norm_eps=1e-5,
        bos_token_id=None,
        eos_token_id=None,
        attn_implementation="eager",
    )
    fields.update(overrides)
    config = getattr(transformers, cls_name.replace("ForCausalLM", "Config"))(**fields)
    torch.manual_seed(seed)
    model = getattr(transformers, cls_name)(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(1.0 if "norm" in name else 0.0, 0.3)
    return model


def test_half_to_interleaved_known_answer():
    """D=6: a head's rows are (a0, a1, a2, b0, b1, b2) = rows [0..5]; pairs (a_j, b_j) become
    neighbours: [0, 3, 1, 4, 2, 5]. Two heads repeat it per head: [..., 6, 9, 7, 10, 8, 11]."""
    w = torch.arange(12.0)[:, None].expand(12, 3)
    got = [int(r) for r in mod.half_to_interleaved(w, n_head=2)[:, 0].tolist()]
    expected = [0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11]
    assert got == expected, (
        f"half_to_interleaved(rows 0..11, n_head=2): expected rows {expected}, got {got}; "
        f"likely cause: {LAYOUT}"
    )
    bias = mod.half_to_interleaved(torch.arange(6.0), n_head=1)
    assert bias.tolist() == [0, 3, 1, 4, 2, 5], (
        f"half_to_interleaved(bias rows 0..5, n_head=1): expected [0, 3, 1, 4, 2, 5], got {bias.tolist()}; "
        "likely cause: keep the trailing dims generic (*w.shape[1:]) so 1-D biases work too"
    )


def test_config_from_hf_reads_every_field():
    learner_first(mod.config_from_hf, None)
    hf = hf_tiny(
        "MistralForCausalLM",
        0,
        sliding_window=5,
        tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 777.0},
    )
    cfg = mod.config_from_hf(hf.config)
    expected = dict(
        vocab_size=67,
        dim=48,
        n_layer=2,
        n_head=6,
        n_kv_head=2,
        hidden_dim=72,
        max_seq_len=40,
        rope_base=777.0,
        norm_eps=1e-5,
        sliding_window=5,
        tie_embeddings=True,
    )
    got = {k: getattr(cfg, k) for k in expected}
    wrong = ", ".join(
        f"{k} (expected {expected[k]!r}, got {got[k]!r})" for k in expected if got[k] != expected[k]
    )
    assert got == expected, (
        f"config_from_hf(MistralConfig): wrong fields: {wrong}; likely cause: read each from the "
        "HF config (sliding_window, rope_parameters['rope_theta'], rms_norm_eps, ...)"
    )


def test_config_from_hf_refuses_biases():
    learner_first(mod.config_from_hf, None)
    from transformers import LlamaConfig

    with pytest.raises(ValueError):
        mod.config_from_hf(LlamaConfig(hidden_size=16, num_attention_heads=2, attention_bias=True))


def test_convert_produces_exactly_our_keys_and_fuses_qkv():
    learner_first(mod.config_from_hf, None)
    hf = hf_tiny("LlamaForCausalLM", 1)
    cfg = mod.config_from_hf(hf.config)
    sd = shape_errors_explained(mod.convert_llama_state_dict, hf.state_dict(), cfg)
    model_cls = load("week07_architectures.llama").Llama
    expected = {k: tuple(v.shape) for k, v in model_cls(cfg).state_dict().items()}
    got = {k: tuple(v.shape) for k, v in sd.items()}
    assert got.keys() == expected.keys(), (
        f"convert_llama_state_dict: missing {sorted(expected.keys() - got.keys())[:4]}, "
        f"unexpected {sorted(got.keys() - expected.keys())[:4]}"
    )
    assert got == expected, (
        f"convert_llama_state_dict: shapes differ: {[(k, got[k], expected[k]) for k in got if got[k] != expected[k]][:3]}"
    )
    hf_sd = hf.state_dict()
    for ours, theirs in (
        ("feed_forward.w1", "mlp.gate_proj"),
        ("feed_forward.w3", "mlp.up_proj"),
        ("feed_forward.w2", "mlp.down_proj"),
        ("attention.wo", "self_attn.o_proj"),
        ("attention_norm", "input_layernorm"),
        ("ffn_norm", "post_attention_layernorm"),
    ):
        assert_close(
            sd[f"layers.1.{ours}.weight"],
            hf_sd[f"model.layers.1.{theirs}.weight"],
            what=f"converted layers.1.{ours}.weight",
            hint=f"it comes from model.layers.1.{theirs}.weight (the table: gate_proj -> w1, "
            "up_proj -> w3, down_proj -> w2)",
        )
    v = hf.state_dict()["model.layers.0.self_attn.v_proj.weight"]
    assert_close(
        sd["layers.0.attention.wqkv.weight"][-v.shape[0] :],
        v,
        what="wqkv rows for v (the last KV*D rows)",
        hint="wqkv = cat([q, k, v], dim=0); v is not reordered",
    )


@pytest.mark.parametrize(
    "cls_name,overrides",
    [
        ("LlamaForCausalLM", {}),
        ("LlamaForCausalLM", {"num_key_value_heads": 1, "tie_word_embeddings": True}),
        ("MistralForCausalLM", {"sliding_window": 4}),
    ],
    ids=["llama-gqa", "llama-mqa-tied", "mistral-window4"],
)
def test_loaded_model_reproduces_transformers_logits(cls_name, overrides):
    learner_first(mod.config_from_hf, None)
    hf = hf_tiny(cls_name, 2, **overrides)
    before = {k: v.clone() for k, v in hf.state_dict().items()}
    ours = shape_errors_explained(mod.llama_from_hf, hf)
    idx = torch.randint(0, 67, (2, 13), generator=generator(3))
    with torch.no_grad():
        expected = hf(idx).logits
        got = ours(idx)[0]
    assert_close(
        got,
        expected,
        what=f"llama_from_hf({cls_name} {overrides})(idx (2, 13)) logits",
        hint=LAYOUT,
    )
    for k, v in hf.state_dict().items():
        assert torch.equal(v, before[k]), f"llama_from_hf modified the transformers model's {k}"


def test_tied_head_comes_from_the_embedding_when_lm_head_is_absent():
    """A tied checkpoint may store the matrix once (no lm_head.weight key): output = embedding."""
    learner_first(mod.config_from_hf, None)
    hf = hf_tiny("LlamaForCausalLM", 4, tie_word_embeddings=True)
    hf_sd = {k: v for k, v in hf.state_dict().items() if k != "lm_head.weight"}
    cfg = mod.config_from_hf(hf.config)
    try:
        sd = mod.convert_llama_state_dict(hf_sd, cfg)
    except KeyError as error:
        raise AssertionError(
            f"convert_llama_state_dict raised KeyError {error} on a tied checkpoint without "
            "lm_head.weight; likely cause: take output.weight from lm_head.weight, or from "
            "model.embed_tokens.weight when lm_head.weight is absent"
        ) from error
    assert_close(
        sd["output.weight"],
        hf_sd["model.embed_tokens.weight"],
        what="converted output.weight of a tied checkpoint without lm_head.weight",
        hint="without lm_head.weight the head is the embedding matrix",
    )


def test_convert_returns_new_tensors():
    """Nothing shared with the HF state dict (the docstring: "Returns new tensors")."""
    learner_first(mod.convert_llama_state_dict, {}, None)
    hf = hf_tiny("LlamaForCausalLM", 5)
    hf_sd = hf.state_dict()
    storages = {v.untyped_storage().data_ptr() for v in hf_sd.values()}
    sd = mod.convert_llama_state_dict(hf_sd, mod.config_from_hf(hf.config))
    shared = [k for k, v in sd.items() if v.untyped_storage().data_ptr() in storages]
    assert not shared, (
        f"convert_llama_state_dict returned tensors that share storage with the HF model: "
        f"{shared[:3]}; likely cause: the HF tensors themselves or views of them: clone them "
        "(value.detach().clone())"
    )
