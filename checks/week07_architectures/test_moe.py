"""Checks for w07.moe: top-k routing, gates, capacity, the load-balancing loss, the MoE forward.

Oracles: a hand example of routing and of the loss; transformers' MixtralSparseMoeBlock with the
same router and expert weights (dropless top-k routing, renormalised gates) and its
load_balancing_loss_func (which counts per token, so it is k times ours); properties.
"""

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week07_architectures.moe")

GATES = (
    "gates are the top-k probabilities divided by their sum (softmax over all E, topk, renormalise)"
)


def moe_with_router(logits_weight: torch.Tensor, top_k: int, capacity=None):
    """An MoE of width C = logits_weight.shape[1] whose router weight is given."""
    E, C = logits_weight.shape
    moe = mod.MoE(C, 6, E, top_k, capacity=capacity)
    with torch.no_grad():
        moe.router.weight.copy_(logits_weight)
    return moe


def test_route_known_answer():
    """Router = identity on C = E = 3, token x = ln [5, 3, 2] -> probs [0.5, 0.3, 0.2].

    k=2 keeps experts [0, 1] with gates [0.5, 0.3] / 0.8 = [0.625, 0.375].
    """
    moe = moe_with_router(torch.eye(3), top_k=2)
    x = torch.tensor([[5.0, 3.0, 2.0]]).log()
    probs, experts, gates = moe.route(x)
    assert_close(
        probs,
        torch.tensor([[0.5, 0.3, 0.2]]),
        what="route(ln [5, 3, 2]) probs",
        hint="probs = softmax(router(x)) over all experts",
    )
    assert experts.tolist() == [[0, 1]], (
        f"route(ln [5, 3, 2]) experts: expected [[0, 1]], got {experts.tolist()}; likely cause: "
        "choose the k largest probabilities (probs.topk(k)), most probable first"
    )
    assert_close(
        gates, torch.tensor([[0.625, 0.375]]), what="route(ln [5, 3, 2]) gates", hint=GATES
    )


@pytest.mark.parametrize("N,C,E,k", [(1, 5, 4, 1), (13, 7, 6, 2), (40, 9, 8, 3)])
def test_each_token_gets_k_distinct_experts_with_gates_summing_to_one(N, C, E, k):
    g = generator(N + E)
    moe = moe_with_router(torch.randn(E, C, generator=g), top_k=k)
    x = torch.randn(N, C, generator=g)
    probs, experts, gates = moe.route(x)
    assert tuple(experts.shape) == (N, k) and tuple(gates.shape) == (N, k), (
        f"route(x ({N}, {C})) with k={k}: expected experts and gates of shape ({N}, {k}), "
        f"got {tuple(experts.shape)} and {tuple(gates.shape)}"
    )
    distinct = [len(set(row)) for row in experts.tolist()]
    assert distinct == [k] * N, (
        f"route: every token must go to {k} distinct experts, got counts {distinct}"
    )
    assert_close(gates.sum(-1), torch.ones(N), what="route(x).gates.sum(-1)", hint=GATES)
    assert_close(
        gates,
        probs.gather(1, experts) / probs.gather(1, experts).sum(-1, keepdim=True),
        what="route(x).gates vs the chosen probabilities, renormalised",
        hint=GATES,
    )
    top = probs.topk(k, dim=-1).values
    assert_close(
        probs.gather(1, experts),
        top,
        what="route(x): probabilities of the chosen experts",
        hint="choose the k largest probabilities (probs.topk(k)), most probable first",
    )


def test_load_balancing_loss_known_answers():
    """Collapsed: every token to expert 0 with probability 1 -> f = [1, 0], P = [1, 0], loss = E * 1 = 2.

    Uniform probabilities: P_e = 1/E, so loss = E * sum_e f_e / E = sum_e f_e = 1, whatever f is.
    """
    collapsed = mod.load_balancing_loss(
        torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[0], [0]]), 2
    )
    assert_close(
        collapsed,
        torch.tensor(2.0),
        what="load_balancing_loss(collapsed, E=2)",
        hint="loss = E * sum_e f_e * P_e; f_e = slots routed to e / (N * k); P_e = mean prob",
    )
    uniform = mod.load_balancing_loss(torch.full((6, 4), 0.25), torch.tensor([[0, 1]] * 6), 4)
    assert_close(
        uniform,
        torch.tensor(1.0),
        what="load_balancing_loss(uniform probs, E=4, k=2)",
        hint="loss = E * sum_e f_e * P_e with P_e the mean router probability of e (here 1/E) "
        "and f_e a fraction of the N * k routing slots (sum to 1), not of the N tokens",
    )


def test_uniform_router_gives_the_minimal_loss():
    """A zero router weight is uniform: loss 1; a random router is above; a collapsing one near E."""
    E, C = 8, 6
    x = torch.randn(2, 11, C, generator=generator(9))
    _, uniform = moe_with_router(torch.zeros(E, C), top_k=2)(x)
    _, random = moe_with_router(torch.randn(E, C, generator=generator(10)), top_k=2)(x)
    skew = torch.zeros(E, C)
    skew[0] = 50.0 * x.reshape(-1, C).mean(0).sign()  # every token's logit for expert 0 is large
    _, collapsed = moe_with_router(skew, top_k=1)(x)
    assert abs(uniform.item() - 1.0) < 1e-5, (
        f"MoE aux loss with a uniform router: expected 1.0, got {uniform.item():.4f}"
    )
    assert random.item() > uniform.item(), (
        f"MoE aux loss: random router {random.item():.4f} should exceed the uniform router's 1.0"
    )
    assert collapsed.item() > 0.5 * E, (
        f"MoE aux loss with a router that sends (almost) every token to expert 0: expected close to "
        f"E = {E}, got {collapsed.item():.3f}; likely cause: P_e must be the mean over tokens of probs[:, e]"
    )


@pytest.mark.parametrize("B,T,C,E,k", [(1, 1, 8, 4, 1), (2, 7, 10, 6, 2), (3, 5, 12, 8, 3)])
def test_forward_matches_transformers_mixtral_block(B, T, C, E, k):
    hidden = 6
    torch.manual_seed(B * T + E)
    ours = mod.MoE(C, hidden, E, k)
    for p in ours.parameters():
        torch.nn.init.normal_(p, std=0.5)
    x = torch.randn(B, T, C, generator=generator(C))
    y, aux = ours(x)  # the learner's first: a stub is todo before transformers loads (seconds)
    from transformers import MixtralConfig
    from transformers.models.mixtral.modeling_mixtral import (
        MixtralSparseMoeBlock,
        load_balancing_loss_func,
    )

    config = MixtralConfig(
        hidden_size=C,
        intermediate_size=hidden,
        num_local_experts=E,
        num_experts_per_tok=k,
        num_attention_heads=1,
    )
    oracle = MixtralSparseMoeBlock(config).eval()
    with torch.no_grad():
        oracle.gate.weight.copy_(ours.router.weight)
        for e, expert in enumerate(ours.experts):
            oracle.experts.gate_up_proj[e].copy_(torch.cat([expert.w1.weight, expert.w3.weight]))
            oracle.experts.down_proj[e].copy_(expert.w2.weight)
    assert_close(
        y,
        oracle(x),
        what=f"MoE(C={C}, E={E}, k={k})(x {(B, T, C)})",
        hint="y[token] = sum over its k experts of gate * expert(token); " + GATES,
    )
    hf_aux = load_balancing_loss_func((ours.router(x.reshape(-1, C)),), E, k)
    assert_close(
        aux,
        hf_aux / k,
        what=f"MoE(E={E}, k={k}) aux loss vs transformers' / k",
        hint="E * sum_e f_e * P_e with f_e over the N * k routing slots",
    )


def test_capacity_drops_the_latest_tokens():
    """capacity=2, k=1, all 6 tokens prefer expert 0: tokens 0 and 1 are served, 2..5 get zeros."""
    C, E = 4, 3
    router = torch.zeros(E, C)
    router[0, 0] = 10.0  # expert 0 wins for every token with x[0] > 0
    x = torch.rand(1, 6, C, generator=generator(11)) + 0.5
    dropless = moe_with_router(router, top_k=1)
    capped = moe_with_router(router, top_k=1, capacity=2)
    capped.load_state_dict(dropless.state_dict())
    full, _ = dropless(x)
    got, _ = capped(x)
    assert_close(
        got[0, :2],
        full[0, :2],
        what="MoE(capacity=2) outputs of tokens 0, 1",
        hint="the first tokens in (B*T) order fill the capacity",
    )
    assert_close(
        got[0, 2:],
        torch.zeros(4, C),
        what="MoE(capacity=2) outputs of dropped tokens 2..5",
        hint="a token beyond an expert's capacity gets nothing from it (zeros; the residual carries it)",
    )
    roomy = moe_with_router(router, top_k=1, capacity=6)
    roomy.load_state_dict(dropless.state_dict())
    assert_close(
        roomy(x)[0],
        full,
        what="MoE(capacity=6) on 6 tokens vs dropless",
        hint="a capacity that is never reached must change nothing",
    )


def test_capacity_is_first_come_first_served_in_token_order():
    """k=2, capacity=2, E=C=3 with the router = identity, so x is the logits. Expert 0 is wanted by
    token 0 (as its second choice), token 1 and token 2 (first choices). In token order it serves
    tokens 0 and 1 and drops token 2, whatever the slot: token 2 keeps only gate * expert 1.
    (Serving all first choices before second choices would drop token 0 instead.)
    """
    x = torch.tensor([[[2.0, 3.0, 0.0], [3.0, 0.0, 2.0], [3.0, 2.0, 0.0]]])  # (1, 3, 3)
    dropless = moe_with_router(torch.eye(3), top_k=2)
    capped = moe_with_router(torch.eye(3), top_k=2, capacity=2)
    capped.load_state_dict(dropless.state_dict())
    with torch.no_grad():
        full, _ = dropless(x)
        got, _ = capped(x)
        top = x[0, 2].softmax(-1)[[0, 1]]
        gate0 = top[0] / top.sum()  # token 2's gate for expert 0, its first choice
        expected2 = full[0, 2] - gate0 * capped.experts[0](x[0, 2:3])[0]
    order = (
        "capacity is first come, first served in token order (flattened B*T), whatever the slot: "
        "list the (token, slot) pairs routed to e sorted by token (nonzero of experts == e)"
    )
    assert_close(
        got[0, :2], full[0, :2], what="MoE(k=2, capacity=2) outputs of tokens 0, 1", hint=order
    )
    assert_close(
        got[0, 2],
        expected2,
        what="MoE(k=2, capacity=2) output of token 2 (dropped by expert 0, kept by expert 1)",
        hint=order + "; the kept gate is not renormalised",
    )
