"""Checks for w12.inject: target matching, injection, parameter counts, adapter files, merge_and_unload.

Oracles: counts derived by hand (support.TINY_GPT_PARAMS), the hand-merged model of
support.lora_oracle, safetensors' own reader for the saved file. peft itself: test_peft_oracle.py.
"""

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import save_file

from checks.week12_peft.support import (
    TINY_GPT_PARAMS,
    logits,
    lora_oracle,
    randomize_lora,
    tiny_gpt,
)
from roadmap.checking import assert_close, generator
from roadmap.impl import load

inject = load("week12_peft.inject")
lora = load("week12_peft.lora")

ALL = ["c_attn", "c_proj", "c_fc"]


def lora_keys(model):
    return [
        f"{n}.{p}"
        for n, m in model.named_modules()
        if isinstance(m, lora.LoRALinear)
        for p in ("lora_A", "lora_B")
    ]


def test_find_targets_matches_whole_name_parts():
    model = tiny_gpt()
    cases = [
        (["c_attn"], ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"]),
        (
            ["c_proj"],
            [
                "transformer.h.0.attn.c_proj",
                "transformer.h.0.mlp.c_proj",
                "transformer.h.1.attn.c_proj",
                "transformer.h.1.mlp.c_proj",
            ],
        ),
        (["attn.c_proj"], ["transformer.h.0.attn.c_proj", "transformer.h.1.attn.c_proj"]),
        (
            ["mlp.c_fc", "lm_head"],
            ["transformer.h.0.mlp.c_fc", "transformer.h.1.mlp.c_fc", "lm_head"],
        ),
        (["proj"], []),
        (["ln_1", "h.0.attn"], []),
    ]
    for targets, expected in cases:
        got = inject.find_targets(model, targets)
        assert got == expected, (
            f"find_targets(GPT, {targets}) = {got}, expected {expected}\n  likely cause: a name "
            "matches when it equals a target or ends with '.' + target (a dot boundary, so 'proj' "
            "matches nothing), only nn.Linear modules count, in named_modules() order"
        )


def test_inject_wraps_the_targets_and_keeps_the_model_equal():
    model = tiny_gpt(seed=1)
    idx = torch.randint(0, 23, (2, 7), generator=generator(1))
    before = logits(model, idx)
    originals = {n: model.get_submodule(n) for n in inject.find_targets(model, ALL)}
    names = inject.inject_lora(model, ALL, r=2, alpha=4.0)
    assert names == list(originals), (
        f"inject_lora returned {names}, expected the find_targets names {list(originals)}"
    )
    for name, original in originals.items():
        layer = model.get_submodule(name)
        assert isinstance(layer, lora.LoRALinear), (
            f"{name} is {type(layer).__name__}, not LoRALinear"
        )
        assert layer.base is original, f"{name}.base is not the original nn.Linear object"
        assert layer.r == 2 and layer.scaling == 2.0, (
            f"{name}: r={layer.r}, scaling={layer.scaling}; inject_lora(r=2, alpha=4) should pass "
            "r, alpha and dropout on to every LoRALinear"
        )
    assert_close(
        logits(model, idx),
        before,
        atol=1e-6,
        what="the GPT's logits right after inject_lora",
        hint="a new adapter changes nothing (B = 0)",
    )


def test_inject_passes_dropout_and_the_new_layers_take_the_model_mode():
    """inject_lora(dropout=0.25) gives every LoRALinear nn.Dropout(0.25); a model in eval mode gets
    new layers in eval mode (no dropout at inference), a model in train mode layers in train mode."""
    for training in (False, True):
        model = tiny_gpt(seed=7).train(training)
        names = inject.inject_lora(model, ["c_attn", "c_fc"], r=2, alpha=3.0, dropout=0.25)
        for name in names:
            layer = model.get_submodule(name)
            assert layer.dropout.p == 0.25, (
                f"inject_lora(..., dropout=0.25): {name}.dropout.p = {layer.dropout.p}\n  likely "
                "cause: pass r, alpha AND dropout on to every LoRALinear"
            )
            assert layer.training == training, (
                f"inject_lora on a model in {'train' if training else 'eval'} mode left {name} in "
                f"{'train' if layer.training else 'eval'} mode\n  likely cause: a new module starts "
                "in train mode; give each new layer the model's mode (layer.train(model.training))"
            )
        assert model.training == training, "inject_lora changed the model's own train/eval mode"


def test_only_lora_parameters_are_trainable_and_get_gradients():
    model = tiny_gpt(seed=2)
    inject.inject_lora(model, ["c_attn", "mlp.c_fc"], r=4, alpha=8.0)
    trainable = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    assert trainable == sorted(lora_keys(model)), (
        f"after inject_lora the trainable parameters are {trainable}\n  expected only the lora_A "
        "and lora_B of the new layers: freeze every parameter of the model first (embeddings, "
        "LayerNorms, the untargeted Linears too), then create the LoRA layers"
    )
    randomize_lora(model, 2)
    idx = torch.randint(0, 23, (3, 7), generator=generator(2))
    model.train()
    _, loss = model(idx, idx)
    loss.backward()
    with_grad = sorted(n for n, p in model.named_parameters() if p.grad is not None)
    assert with_grad == sorted(lora_keys(model)), (
        f"after backward these parameters have gradients: {with_grad}; only LoRA's should"
    )


def test_parameter_counts_by_hand():
    """Tiny GPT (C=36, 2 layers) has 33,516 parameters (support.TINY_GPT_PARAMS). LoRA on a Linear
    (in, out) adds r * (in + out): c_attn 36 -> 108: 144 r, attn.c_proj 36 -> 36: 72 r, c_fc 36 -> 144:
    180 r, mlp.c_proj 144 -> 36: 180 r; all four in 2 layers: 2 * 576 r = 1,152 r.
    r=1 on c_attn only: 288; r=8 on all four: 9,216.
    """
    model = tiny_gpt()
    got = inject.count_parameters(model)
    assert got == (TINY_GPT_PARAMS, TINY_GPT_PARAMS), (
        f"count_parameters(plain tiny GPT) = {got}, expected ({TINY_GPT_PARAMS}, {TINY_GPT_PARAMS})\n"
        "  likely cause: the tied wte / lm_head weight counted twice? use model.parameters(), which "
        "yields each Parameter once"
    )
    for r, targets, n_lora in ((1, ["c_attn"], 288), (8, ALL, 9216), (1, ALL, 1152)):
        model = tiny_gpt()
        inject.inject_lora(model, targets, r=r, alpha=2.0 * r)
        got = inject.count_parameters(model)
        expected = (n_lora, TINY_GPT_PARAMS + n_lora)
        assert got == expected, (
            f"count_parameters after inject_lora(targets={targets}, r={r}) = {got}, expected "
            f"{expected} (trainable, total)\n  likely cause: LoRA on (in, out) adds r * (in + out), "
            "all trainable; the base stays in the total"
        )


def test_lora_state_dict_holds_copies_of_the_adapter_only():
    model = tiny_gpt(seed=3)
    inject.inject_lora(model, ALL, r=2, alpha=2.0)
    randomize_lora(model, 3)
    state = inject.lora_state_dict(model)
    assert sorted(state) == sorted(lora_keys(model)), (
        f"lora_state_dict keys {sorted(state)[:4]}... expected exactly the lora_A/lora_B keys "
        f"{sorted(lora_keys(model))[:4]}... (no base weights)"
    )
    key = "transformer.h.0.attn.c_attn.lora_B"
    snapshot = state[key].clone()
    with torch.no_grad():
        model.get_parameter(key).add_(1.0)
    assert torch.equal(state[key], snapshot), (
        "changing the model changed the tensors lora_state_dict returned: return copies "
        "(detach().clone()), not views of the parameters"
    )


def test_save_and_load_the_adapter_only(tmp_path):
    model = tiny_gpt(seed=4)
    inject.inject_lora(model, ALL, r=2, alpha=4.0)
    randomize_lora(model, 4)
    idx = torch.randint(0, 23, (2, 9), generator=generator(4))
    expected = logits(model, idx)
    path = tmp_path / "adapter.safetensors"
    inject.save_adapter(model, path)
    with safe_open(str(path), framework="pt") as f:
        keys = sorted(f.keys())
    assert keys == sorted(lora_keys(model)), (
        f"the saved adapter holds {keys}\n  expected only the LoRA tensors {sorted(lora_keys(model))}"
        ": an adapter file must not carry the base weights"
    )
    n_lora = 2 * 2 * (144 + 72 + 180 + 180)
    assert path.stat().st_size < 4 * n_lora + 4096, (
        f"adapter file is {path.stat().st_size} bytes for {n_lora} float32 LoRA values: base weights "
        "saved too?"
    )
    fresh = tiny_gpt(seed=4)
    inject.inject_lora(fresh, ALL, r=2, alpha=4.0)
    inject.load_adapter(fresh, path)
    assert_close(
        logits(fresh, idx),
        expected,
        atol=1e-6,
        what="logits of a fresh model + inject_lora + load_adapter vs the model that saved it",
        hint="load_adapter copies every saved lora tensor into the model's parameter of the same key",
    )


def test_load_adapter_rejects_files_that_do_not_fit(tmp_path):
    model = tiny_gpt(seed=5)
    inject.inject_lora(model, ALL, r=2, alpha=4.0)
    state = {k: v.detach().clone() for k, v in inject.lora_state_dict(model).items()}
    with_base = dict(state, **{"transformer.h.0.attn.c_attn.base.weight": torch.zeros(108, 36)})
    save_file(with_base, str(tmp_path / "with_base.safetensors"))
    partial = {k: v for k, v in state.items() if ".h.1." not in k}
    save_file(partial, str(tmp_path / "partial.safetensors"))
    for name, what in (
        ("with_base", "a base weight"),
        ("partial", "layer 1's LoRA tensors missing"),
    ):
        try:
            inject.load_adapter(model, tmp_path / f"{name}.safetensors")
        except KeyError:
            continue
        raise AssertionError(
            f"load_adapter accepted a file with {what}; it must raise KeyError when the file's keys "
            "are not exactly the model's lora keys (load_state_dict(strict=False) alone checks nothing)"
        )


def test_merge_and_unload_leaves_plain_linears_with_the_same_outputs():
    model = tiny_gpt(seed=6)
    base = tiny_gpt(seed=6)
    inject.inject_lora(model, ALL, r=3, alpha=6.0)
    randomize_lora(model, 6)
    state = {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}
    idx = torch.randint(0, 23, (3, 7), generator=generator(6))
    before = logits(model, idx)
    names = inject.merge_and_unload(model)
    assert sorted(names) == sorted(inject.find_targets(base, ALL)), (
        f"merge_and_unload returned {names}; expected the names of the LoRA layers it replaced"
    )
    left = [n for n, m in model.named_modules() if isinstance(m, lora.LoRALinear)]
    assert not left and all(type(model.get_submodule(n)) is nn.Linear for n in names), (
        f"after merge_and_unload LoRA layers remain at {left}: put each layer's base Linear back"
    )
    oracle = lora_oracle(base, state, scaling=2.0)
    assert_close(
        logits(model, idx),
        logits(oracle, idx),
        atol=1e-4,
        what="logits after merge_and_unload vs W + (alpha / r) B A merged by hand",
        hint="merge each layer (scaling * B @ A into base.weight) before unloading it",
    )
    assert_close(
        logits(model, idx),
        before,
        atol=1e-4,
        what="logits after merge_and_unload vs before",
        hint="merging must not change the outputs",
    )
