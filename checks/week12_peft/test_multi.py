"""Checks for w12.multi: several LoRA adapters on one model, switched (and merged) at run time.

Oracle: support.lora_oracle, a copy of the base GPT with W + (alpha / r) B A added by hand for the
adapter that should be active; the base GPT itself for None. Switching back and forth must leave
the base weights where they started (within float rounding, 1e-5).
"""

import torch

from checks.week12_peft.support import logits, lora_oracle, randomize_lora, tiny_gpt
from roadmap.checking import assert_close, generator
from roadmap.impl import load

multi = load("week12_peft.multi")
inject = load("week12_peft.inject")

TARGETS = ["c_attn", "mlp.c_proj"]
SCALING = 2.0  # r = 2, alpha = 4


def setup(seed):
    base = tiny_gpt(seed=seed)
    model = tiny_gpt(seed=seed)
    inject.inject_lora(model, TARGETS, r=2, alpha=4.0)
    bank = multi.AdapterBank(model)
    states = {}
    for i, name in enumerate(("a", "b")):
        randomize_lora(model, seed * 10 + i)
        states[name] = inject.lora_state_dict(model)
        bank.add(name, states[name])
    return base, model, bank, states


def weights(model):
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}


def test_each_adapter_computes_its_own_update_unmerged_and_merged():
    base, model, bank, states = setup(1)
    idx = torch.randint(0, 23, (2, 7), generator=generator(1))
    for merge in (False, True):
        for name in ("a", "b", "a", None, "b"):
            bank.activate(name, merge=merge)
            expected = (
                logits(base, idx)
                if name is None
                else logits(lora_oracle(base, states[name], SCALING), idx)
            )
            assert_close(
                logits(model, idx),
                expected,
                atol=1e-4,
                what=f"logits after activate({name!r}, merge={merge}) (sequence a, b, a, None, b)",
                hint="copy the adapter's A and B into the LoRA layers (None: B = 0); when switching "
                "from a merged adapter, unmerge BEFORE loading the new factors",
            )
            assert bank.active == name and bank.merged == merge, (
                f"after activate({name!r}, merge={merge}): active={bank.active!r}, "
                f"merged={bank.merged}"
            )


def test_switching_leaves_the_base_weights_unchanged():
    base, model, bank, _ = setup(2)
    start = weights(model)
    for name, merge in (("a", True), ("b", True), ("a", False), ("b", True), (None, False)):
        bank.activate(name, merge=merge)
    for key, value in weights(model).items():
        assert_close(
            value,
            start[key],
            atol=1e-5,
            what=f"{key} after switching a, b, a, b merged and unmerged, then None",
            hint="unmerge the previous adapter with the factors it was merged with, before "
            "copying the next adapter in",
        )


def test_add_stores_copies_and_checks_the_keys():
    _, model, bank, states = setup(3)
    idx = torch.randint(0, 23, (1, 5), generator=generator(3))
    bank.activate("a")
    expected = logits(model, idx)
    with torch.no_grad():
        for tensor in states["a"].values():
            tensor.add_(1.0)
    bank.activate("b")
    bank.activate("a")
    assert_close(
        logits(model, idx),
        expected,
        atol=1e-5,
        what="activate('b'), then activate('a') after the caller changed the dict it added as 'a'",
        hint="add() must store copies (detach().clone()), not the caller's tensors",
    )
    partial = {k: v for k, v in states["b"].items() if ".h.1." not in k}
    for call, what in (
        (lambda: bank.add("partial", partial), "add('partial', a state missing layer 1)"),
        (lambda: bank.activate("never-added"), "activate('never-added')"),
    ):
        try:
            call()
        except KeyError:
            continue
        raise AssertionError(
            f"AdapterBank.{what} did not raise KeyError: check the keys against "
            "lora_state_dict(self.model), and the name against the added adapters"
        )


def test_extra_keys_are_refused_and_a_failed_activate_changes_nothing():
    """add() refuses a state with a key the model's adapter lacks (both directions of 'exactly');
    activate('never-added') while 'a' is merged raises KeyError and leaves 'a' merged and active."""
    base, model, bank, states = setup(4)
    extra = dict(states["b"], **{"transformer.h.0.attn.c_attn.base.weight": torch.zeros(108, 36)})
    try:
        bank.add("extra", extra)
    except KeyError:
        pass
    else:
        raise AssertionError(
            "AdapterBank.add('extra', a state with an extra base weight) did not raise KeyError\n"
            "  likely cause: the keys must be EXACTLY those of lora_state_dict(model): none missing "
            "and none extra"
        )
    idx = torch.randint(0, 23, (2, 7), generator=generator(4))
    bank.activate("a", merge=True)
    try:
        bank.activate("never-added")
    except KeyError:
        pass
    still = [layer.merged for layer in bank.layers()]
    assert bank.active == "a" and bank.merged and all(still), (
        f"after a failed activate('never-added'): active={bank.active!r}, merged={bank.merged}, "
        f"{sum(still)} of {len(still)} LoRA layers still merged; expected 'a', True and all\n  "
        "likely cause: check the name before unmerging or changing anything"
    )
    assert_close(
        logits(model, idx),
        logits(lora_oracle(base, states["a"], SCALING), idx),
        atol=1e-4,
        what="logits after activate('a', merge=True) then a failed activate('never-added')",
        hint="raise KeyError for an unknown name before unmerging or copying anything",
    )
