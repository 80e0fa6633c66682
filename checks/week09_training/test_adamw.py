"""Checks for w09.adamw: the parameter-group rule and AdamW against torch.optim.AdamW.

The oracle is torch.optim.AdamW with the same hyper-parameters on a copy of the same model, fed the
same gradients; hand-derived first steps name the usual mistakes (bias correction, L2 instead of
decoupled decay, eps inside the square root).
"""

import copy

import torch
import torch.nn as nn

from roadmap.checking import assert_close, from_scratch
from roadmap.impl import load

from .support import batch, learner_optimizer, tiny_gpt

mod = load("week09_training.adamw")

FORBID = [
    "torch.optim.AdamW",
    "torch.optim.Adam",
    "torch.optim.adamw.adamw",
    "torch.optim.adam.adam",
]


def scratch_step(opt) -> None:
    from_scratch(
        opt.step,
        forbid=FORBID,
        exercise="w09.adamw",
        instead="tensor arithmetic on exp_avg / exp_avg_sq",
    )


def adamw(params, **hyper) -> torch.optim.Optimizer:
    return learner_optimizer(mod.AdamW, params, **hyper)


def names_of(model: nn.Module, params) -> set[str]:
    by_id = {id(p): n for n, p in model.named_parameters()}
    return {by_id[id(p)] for p in params}


def test_param_groups_decay_matrices_only():
    """GPT(n_layer=1, bias=True): the four block matrices are decayed; wte (= lm_head), wpe,
    LayerNorm weights/biases and Linear biases are not; every trainable parameter appears once."""
    model = tiny_gpt(n_layer=1)
    groups = mod.param_groups(model, 0.1)
    assert isinstance(groups, list) and len(groups) == 2, (
        f"param_groups returned {type(groups).__name__} of length {len(groups)}; expected a list "
        "of two dicts (decayed, not decayed)"
    )
    assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0, (
        f"param_groups(model, 0.1): weight_decay of the groups are "
        f"{groups[0]['weight_decay']}, {groups[1]['weight_decay']}; expected 0.1 then 0.0"
    )
    decayed = names_of(model, groups[0]["params"])
    expected = {
        "transformer.h.0.attn.c_attn.weight",
        "transformer.h.0.attn.c_proj.weight",
        "transformer.h.0.mlp.c_fc.weight",
        "transformer.h.0.mlp.c_proj.weight",
    }
    assert decayed == expected, (
        f"param_groups: decayed {sorted(decayed)}\n  expected {sorted(expected)}\n  likely cause: "
        "the rule decays p.dim() >= 2 except embeddings (wte, tied to lm_head, and wpe); biases "
        "and LayerNorm parameters are never decayed"
    )
    all_ids = [id(p) for g in groups for p in g["params"]]
    assert len(all_ids) == len(set(all_ids)) == len(list(model.parameters())), (
        f"param_groups: {len(all_ids)} entries for {len(list(model.parameters()))} parameters "
        "(duplicates or missing ones); every trainable parameter must appear exactly once"
    )


def test_param_groups_on_a_mixed_module():
    """nn.Embedding(7, 5) + nn.Linear(5, 9) + nn.LayerNorm(9) + a frozen Linear: only the first
    Linear's weight is decayed; the frozen one is left out."""
    model = nn.Sequential(nn.Embedding(7, 5), nn.Linear(5, 9), nn.LayerNorm(9), nn.Linear(9, 3))
    model[3].requires_grad_(False)
    groups = mod.param_groups(model, 0.5)
    decayed = names_of(model, groups[0]["params"])
    others = names_of(model, groups[1]["params"])
    assert decayed == {"1.weight"}, (
        f"param_groups on Embedding+Linear+LayerNorm: decayed {sorted(decayed)}, expected "
        "['1.weight']\n  likely cause: embedding tables (2-D too) must not be decayed"
    )
    assert groups[0]["weight_decay"] == 0.5 and groups[1]["weight_decay"] == 0.0, (
        f"param_groups(model, 0.5): weight_decay of the groups are {groups[0]['weight_decay']}, "
        f"{groups[1]['weight_decay']}; expected 0.5 then 0.0\n  likely cause: the decayed group "
        "gets the weight_decay argument, whatever its value"
    )
    assert others == {"0.weight", "1.bias", "2.weight", "2.bias"}, (
        f"param_groups: not-decayed group {sorted(others)}, expected 0.weight, 1.bias, 2.weight, "
        "2.bias\n  likely cause: frozen parameters (requires_grad=False) are left out"
    )


def test_first_step_is_bias_corrected():
    """Hand derivation: wd=0, every gradient 0.5, lr=0.01. Step 1: m = 0.1 * 0.5 = 0.05, v = 0.001 *
    0.25; m_hat = 0.5, v_hat = 0.25, so p moves by -0.01 * 0.5 / (0.5 + 1e-8) = -0.01 (uncorrected:
    0.05 / sqrt(0.00025) = 3.16 times more)."""
    p = nn.Parameter(torch.linspace(-1, 1, 7))
    opt = adamw([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    start = p.detach().clone()
    p.grad = torch.full_like(p, 0.5)
    scratch_step(opt)
    assert_close(
        p.detach() - start,
        torch.full((7,), -0.01),
        what="AdamW(lr=0.01, wd=0).step() with every gradient 0.5: the first step's move",
        hint="bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t), t from 1; "
        "v averages g * g (then the first step moves every weight by lr, whatever g is)",
        atol=1e-7,
    )


def test_state_holds_step_exp_avg_and_exp_avg_sq():
    """After the first step with g = 0.5 (betas 0.9, 0.999): state[p] = {"step": 1, "exp_avg":
    0.1 * 0.5 = 0.05, "exp_avg_sq": 0.001 * 0.25 = 0.00025} (what state_dict saves and a resumed
    run loads)."""
    p = nn.Parameter(torch.linspace(-1, 1, 7))
    opt = adamw([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    p.grad = torch.full_like(p, 0.5)
    scratch_step(opt)
    state = opt.state[p]
    missing = {"step", "exp_avg", "exp_avg_sq"} - set(state)
    assert not missing, (
        f"AdamW: after one step self.state[p] has the keys {sorted(state)}, missing "
        f"{sorted(missing)}\n  likely cause: keep m in state['exp_avg'], v in state['exp_avg_sq'] "
        "and the update count in state['step'] (the names torch.optim.AdamW uses: state_dict "
        "saves them and a checkpoint loads them)"
    )
    assert int(state["step"]) == 1, f"AdamW: state['step'] is {state['step']} after one update"
    for key, value in (("exp_avg", 0.05), ("exp_avg_sq", 0.00025)):
        assert_close(
            state[key],
            torch.full((7,), value),
            what=f"AdamW state[{key!r}] after one step with g = 0.5",
            hint="exp_avg is m (not bias-corrected), exp_avg_sq is v; both start at zeros",
            atol=1e-9,
        )


def test_weight_decay_is_decoupled():
    """Hand derivation: a zero gradient with wd=0.1, lr=0.05: m = v = 0 so the Adam move is 0 and
    p <- p * (1 - 0.05 * 0.1) = 0.995 p exactly. L2 (wd * p added to the gradient) would move every
    weight by about -lr * sign(p) instead."""
    p = nn.Parameter(torch.tensor([2.0, -1.0, 0.5, 3.0, -4.0]))
    opt = adamw([p], lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    start = p.detach().clone()
    p.grad = torch.zeros_like(p)
    scratch_step(opt)
    assert_close(
        p.detach(),
        start * (1 - 0.05 * 0.1),
        what="AdamW(lr=0.05, wd=0.1).step() with a zero gradient",
        hint="decoupled weight decay: p *= 1 - lr * wd, applied to the weight itself, not added "
        "to the gradient as L2; and multiplied by lr",
        atol=1e-7,
    )


def test_eps_is_added_after_the_square_root():
    """Tiny gradients (1e-6), wd=0, lr=1: the move is -1e-6 / (1e-6 + 1e-8) = -0.990099; with eps
    inside the root it would be -1e-6 / sqrt(1e-12 + 1e-8) = -0.0099995."""
    p = nn.Parameter(torch.zeros(5))
    opt = adamw([p], lr=1.0, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    p.grad = torch.full_like(p, 1e-6)
    scratch_step(opt)
    assert_close(
        p.detach(),
        torch.full((5,), -1e-6 / (1e-6 + 1e-8)),
        what="AdamW(lr=1, eps=1e-8).step() with gradients 1e-6",
        hint="eps is added to sqrt(v_hat), outside the square root",
        atol=1e-6,
    )


COMPARE_AT = (1, 2, 3, 5, 10, 20, 35, 50)  # every step runs in both; these are compared


def run_both(groups_fn, lr, betas, eps, wd, steps=50, seed=0):
    """Train two float64 copies of one tiny GPT for `steps` steps on the same batches.

    float64: float32 rounding differences (m/sqrt(v) of near-zero gradients) would grow over 50
    steps into differences that look like a wrong update."""
    ours = tiny_gpt(seed=seed).double()
    ref = copy.deepcopy(ours)
    opt = adamw(groups_fn(ours), lr=lr, betas=betas, eps=eps, weight_decay=wd)
    ref_opt = torch.optim.AdamW(groups_fn(ref), lr=lr, betas=betas, eps=eps, weight_decay=wd)
    for step in range(1, steps + 1):
        x, y = batch(seed * 1000 + step, B=3, T=7)
        for model, o in ((ours, opt), (ref, ref_opt)):
            o.zero_grad(set_to_none=True)
            model(x, y)[1].backward()
        scratch_step(opt)
        ref_opt.step()
        yield step, ours, ref


def compare(ours, ref, what: str, lr: float) -> None:
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        assert_close(
            p.detach(),
            q.detach(),
            what=f"{what}: parameter {name}",
            hint="compare each line with the docstring's update: v averages g * g, bias "
            "correction uses t counted from 1, decay p *= 1 - lr * wd comes first, eps is added "
            "after the square root",
            atol=lr * 1e-6,
            rtol=1e-6,
        )


def test_matches_torch_adamw_without_weight_decay():
    """50 steps, one group, wd=0, betas (0.9, 0.95): equal to torch.optim.AdamW (steps COMPARE_AT)."""
    for step, ours, ref in run_both(lambda m: m.parameters(), 3e-3, (0.9, 0.95), 1e-8, 0.0):
        if step in COMPARE_AT:
            compare(ours, ref, f"AdamW vs torch.optim.AdamW (wd=0) after step {step}", 3e-3)


def test_matches_torch_adamw_with_groups():
    """50 steps, param_groups(model, 0.1) with group-level decay, betas (0.8, 0.99), eps 1e-6."""
    run = run_both(lambda m: mod.param_groups(m, 0.1), 1e-2, (0.8, 0.99), 1e-6, 0.1)
    for step, ours, ref in run:
        if step not in COMPARE_AT:
            continue
        what = f"AdamW vs torch.optim.AdamW (param_groups, wd=0.1) after step {step}"
        compare(ours, ref, what, 1e-2)


def test_parameters_without_grad_are_skipped():
    """A parameter whose .grad is None stays put and its step count does not move."""
    a, b = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(4))
    opt = adamw([a, b], lr=0.1, weight_decay=0.1)
    a.grad = torch.ones(3)
    scratch_step(opt)
    assert_close(
        b.detach(),
        torch.ones(4),
        what="AdamW.step() on a parameter whose .grad is None",
        hint="skip parameters without a gradient (no decay either)",
    )
    assert not (a.detach() == 1).all(), (
        "AdamW.step(): a parameter with a gradient did not move\n  likely cause: the update is "
        "not written into p (in place: p.sub_, p.mul_)"
    )


def test_each_group_uses_its_own_hyper_parameters():
    """Two groups with lr, betas, eps and weight_decay all different from the constructor's
    defaults, and group 0's lr changed between steps (as a scheduler does): 6 steps equal
    torch.optim.AdamW given the same groups (float64)."""
    g = torch.Generator().manual_seed(5)
    start = [torch.randn(4, 3, generator=g, dtype=torch.float64) for _ in range(2)]
    grads = [
        [torch.randn(4, 3, generator=g, dtype=torch.float64) for _ in range(2)] for _ in range(6)
    ]

    def groups(ps):
        return [
            {"params": [ps[0]], "lr": 0.03, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.2},
            {"params": [ps[1]], "lr": 0.07, "betas": (0.7, 0.95), "eps": 1e-6, "weight_decay": 0.0},
        ]

    ours = [nn.Parameter(s.clone()) for s in start]
    ref = [nn.Parameter(s.clone()) for s in start]
    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    opt = adamw(groups(ours), **defaults)
    ref_opt = torch.optim.AdamW(groups(ref), **defaults)
    for step, gs in enumerate(grads):
        if step == 3:  # a scheduler writes the new lr into the group
            opt.param_groups[0]["lr"] = ref_opt.param_groups[0]["lr"] = 0.011
        for p, q, gr in zip(ours, ref, gs):
            p.grad, q.grad = gr.clone(), gr.clone()
        scratch_step(opt)
        ref_opt.step()
        for i, (p, q) in enumerate(zip(ours, ref)):
            assert_close(
                p.detach(),
                q.detach(),
                what=f"AdamW with two param groups (own lr, betas, eps, weight_decay), group {i} "
                f"after step {step + 1}",
                hint="read lr, betas, eps and weight_decay from each group at every step (a "
                "scheduler changes group['lr']), not from self.defaults or the constructor's "
                "arguments",
                atol=1e-12,
                rtol=1e-9,
            )


def test_each_parameter_has_its_own_step_count():
    """a has a gradient at steps 1 and 2, b only at step 2. b's first update is its t = 1 update:
    with g = 0.5 and wd = 0 it moves by exactly -lr (bias-corrected), as in the first-step
    derivation; a t = 2 counter would move it by -0.744 lr."""
    a, b = nn.Parameter(torch.zeros(3)), nn.Parameter(torch.zeros(4))
    opt = adamw([a, b], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    a.grad = torch.ones(3)
    scratch_step(opt)
    a.grad, b.grad = torch.ones(3), torch.full((4,), 0.5)
    scratch_step(opt)
    assert_close(
        b.detach(),
        torch.full((4,), -0.01),
        what="AdamW: b's first update, at the optimizer's second step (b had no grad at step 1)",
        hint="each parameter keeps its own step count (state['step']), which moves only when it "
        "is updated: b's first update uses t = 1, whatever the optimizer's step number",
        atol=1e-7,
    )


def test_step_calls_the_closure_and_returns_its_loss():
    """step(closure): the closure runs first, with gradients enabled (step itself runs under
    no_grad), computes loss = sum(p ** 2) and its gradient 2p; step returns that loss."""
    p = nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    opt = adamw([p], lr=0.1, weight_decay=0.0)

    def closure():
        p.grad = None
        loss = (p**2).sum()
        loss.backward()
        return loss

    got = from_scratch(
        opt.step,
        closure,
        forbid=FORBID,
        exercise="w09.adamw",
        instead="tensor arithmetic on exp_avg / exp_avg_sq",
    )
    value = got.detach() if isinstance(got, torch.Tensor) else got
    assert value is not None and float(value) == 14.0, (
        f"AdamW.step(closure) returned {got!r}, expected the closure's loss 14.0\n  likely cause: "
        "call the closure first (under torch.enable_grad(): step runs under no_grad) and return "
        "what it returned"
    )
    assert_close(
        p.detach(),
        torch.tensor([0.9, -1.9, 2.9]),
        what="AdamW(lr=0.1).step(closure) with the closure's gradient 2p: first step",
        hint="the closure computes the gradients that this step uses",
        atol=1e-6,
    )
