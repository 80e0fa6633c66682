"""Checks for w07.hooks: `attention_pattern` and `record` on the week-05 GPT.

Oracles: the module's own output (the pattern times v must give what F.scaled_dot_product_attention
gave), properties (rows sum to 1, 0 above the diagonal, resid_pre[l + 1] == resid_post[l], no hook
left), and TransformerLens's native transformer with the same weights (extra "interp"):
`blocks.{l}.hook_resid_pre`, `hook_resid_post`, `attn.hook_pattern` and the logits.
"""

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

from ._interpret import hook_count, random_gpt, transformer_lens_run

mod = load("week07_architectures.interpret")

SOFTMAX = (
    "the pattern is the softmax of the scores over the keys (dim -1), after the causal mask; "
    "a query always sees its own key (s = t), so no row is masked entirely"
)
CAUSAL = "query t may only see keys 0..t: fill the scores of keys s > t with -inf before softmax"
SCALE = "divide q·k by sqrt(D), D = C // n_head the head size (not C)"
HEADS = (
    "q and k come from c_attn(x).split(C, dim=2) (q first, then k); view each as (B, T, H, D) "
    "and transpose to (B, H, T, D)"
)
REMOVED = (
    "every hook `record` registers must be removed when the with-block ends: keep the handles "
    "and call .remove() on each in a `finally:` after the yield"
)


def run(model, idx):
    """(logits, trace) of one forward pass inside the learner's record."""
    with torch.no_grad(), mod.record(model) as trace:
        logits, _ = model(idx)
    return logits, trace


def tokens(model, B: int, T: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, model.config.vocab_size, (B, T), generator=generator(seed))


def test_attention_pattern_rows_are_causal_distributions():
    model = random_gpt(0)
    x = torch.randn(2, 9, 36, generator=generator(3)) * 3
    with torch.no_grad():
        pattern = mod.attention_pattern(model.transformer.h[0].attn, x)
    assert (pattern >= 0).all(), (
        f"attention_pattern has negative weights (min {pattern.min().item():.3g}); likely cause: "
        f"{SOFTMAX}"
    )
    sums = pattern.sum(dim=-1)
    assert_close(
        sums,
        torch.ones_like(sums),
        what="attention_pattern(...).sum(dim=-1) (every query's weights over the keys)",
        atol=1e-5,
        hint=SOFTMAX,
    )
    above = torch.ones(9, 9, dtype=torch.bool).triu(1)
    leak = pattern[..., above].abs().max().item()
    assert leak == 0.0, (
        f"attention_pattern: weight {leak:.3g} on a future key (above the diagonal); likely "
        f"cause: {CAUSAL}"
    )


def test_attention_pattern_by_hand_two_heads():
    """C = 8, H = 2 (D = 4), q = k = x, T = 2. x0 = e0 + 2·e4, x1 = 2·e5: in head 0 (channels
    0..3) query 1 is zero, so its row is uniform [1/2, 1/2]; head 1 (channels 4..7) has
    q1·k0 = 0, q1·k1 = 4, divided by sqrt(D) = 2: softmax([0, 2]) = [0.1192, 0.8808]. Query 0
    sees only itself."""
    model = random_gpt(0, n_layer=1, n_head=2, n_embd=8)
    attn = model.transformer.h[0].attn
    with torch.no_grad():
        attn.c_attn.weight.zero_()
        attn.c_attn.bias.zero_()
        attn.c_attn.weight[:8] = torch.eye(8)  # q = x
        attn.c_attn.weight[8:16] = torch.eye(8)  # k = x
        x = torch.zeros(1, 2, 8)
        x[0, 0, 0] = 1.0
        x[0, 0, 4] = x[0, 1, 5] = 2.0
        pattern = mod.attention_pattern(attn, x)
    assert tuple(pattern.shape) == (1, 2, 2, 2), (
        f"attention_pattern: expected shape (1, 2, 2, 2) for x (1, 2, 8) and 2 heads, got "
        f"{tuple(pattern.shape)}; likely cause: {HEADS}"
    )
    assert_close(
        pattern[0, 0],
        torch.tensor([[1.0, 0.0], [0.5, 0.5]]),
        what="attention_pattern head 0 (channels 0..3; query 1 is zero there: uniform)",
        hint=HEADS,
    )
    assert_close(
        pattern[0, 1],
        torch.tensor([[1.0, 0.0], [0.119203, 0.880797]]),
        what="attention_pattern head 1 (scores [0, 4] for query 1)",
        hint=SCALE,
    )


def test_attention_pattern_reproduces_the_modules_own_output():
    """pattern @ v per head, heads side by side, through c_proj: the module's output exactly. This
    ties the recomputed weights to what the model really did (scale, mask, head split)."""
    model = random_gpt(0)
    attn = model.transformer.h[1].attn
    x = torch.randn(3, 7, 36, generator=generator(2))
    with torch.no_grad():
        pattern = mod.attention_pattern(attn, x)
        B, T, C = x.shape
        H = attn.n_head
        v = attn.c_attn(x).split(C, dim=2)[2].view(B, T, H, C // H).transpose(1, 2)
        assert tuple(pattern.shape) == (B, H, T, T), (
            f"attention_pattern(attn, x (3, 7, 36)) with 3 heads: expected shape (3, 3, 7, 7), "
            f"got {tuple(pattern.shape)}; likely cause: {HEADS}"
        )
        merged = (pattern @ v).transpose(1, 2).reshape(B, T, C)
        expected = attn(x)
        got = attn.c_proj(merged)
    assert_close(
        got,
        expected,
        what="c_proj(pattern @ v) vs the module's output (3 heads, T=7)",
        atol=1e-5,
        hint=f"the weights must be those scaled_dot_product_attention uses: {SCALE}; {CAUSAL}; "
        f"{HEADS}",
    )


def test_attention_pattern_of_equal_scores_is_uniform_over_the_past():
    """The docstring's example: q = k = 0 gives row t = 1/(t + 1) on keys 0..t."""
    model = random_gpt(0, n_layer=1, n_head=2, n_embd=8)
    attn = model.transformer.h[0].attn
    with torch.no_grad():
        attn.c_attn.weight.zero_()
        attn.c_attn.bias.zero_()
        pattern = mod.attention_pattern(attn, torch.randn(1, 3, 8, generator=generator(4)))
    expected = torch.tensor([[1, 0, 0], [1 / 2, 1 / 2, 0], [1 / 3, 1 / 3, 1 / 3]])
    assert_close(
        pattern,
        expected.expand(1, 2, 3, 3),
        what="attention_pattern with q = k = 0, T = 3",
        hint=f"{CAUSAL}, then {SOFTMAX}",
    )


def test_trace_has_one_entry_per_block_with_the_documented_shapes():
    model = random_gpt(0)  # 3 blocks, 3 heads, C = 36
    logits, trace = run(model, tokens(model, 3, 7))
    for name, shape in (
        ("resid_pre", (3, 7, 36)),
        ("resid_post", (3, 7, 36)),
        ("patterns", (3, 3, 7, 7)),
    ):
        entries = getattr(trace, name)
        assert len(entries) == 3, (
            f"record: trace.{name} has {len(entries)} entries after one forward pass of a 3-block "
            "GPT; expected 3, one per block (a pass sets entry l, it does not append)"
        )
        for i, entry in enumerate(entries):
            assert isinstance(entry, torch.Tensor) and tuple(entry.shape) == shape, (
                f"record: trace.{name}[{i}] is {getattr(entry, 'shape', entry)}, expected a "
                f"tensor of shape {shape}"
            )


def test_residual_stream_is_the_blocks_input_and_output():
    """resid_pre[0] is the embeddings, resid_pre[l + 1] is resid_post[l], and resid_post[-1]
    through ln_f and lm_head is the model's logits."""
    model = random_gpt(0)
    idx = tokens(model, 2, 7)
    logits, trace = run(model, idx)
    with torch.no_grad():
        embeddings = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(7))
        readout = model.lm_head(model.transformer.ln_f(trace.resid_post[-1]))
    assert_close(
        trace.resid_pre[0],
        embeddings,
        what="trace.resid_pre[0] (the input of block 0)",
        hint="resid_pre[l] is what enters block l (a forward pre-hook on the block), not the "
        "block's ln_1 output or the attention's input",
    )
    for i in range(2):
        assert_close(
            trace.resid_pre[i + 1],
            trace.resid_post[i],
            what=f"trace.resid_pre[{i + 1}] vs trace.resid_post[{i}]",
            hint="resid_post[l] is block l's output (a forward hook on the block), which is the "
            "next block's input",
        )
    assert_close(
        readout,
        logits,
        what="lm_head(ln_f(trace.resid_post[-1])) vs the model's logits",
        hint="resid_post[l] is what block l returns, after both residual branches",
    )


def test_trace_matches_transformer_lens():
    """TransformerLens's own transformer with our weights: the residual stream before and after
    every block agrees within 1e-4, every attention pattern within 1e-5 (float32; measured max
    |diff| about 6e-6 on logits up to 7, 2e-6 on patterns, 3e-5 on residual streams up to 35)."""
    model = random_gpt(0)
    idx = tokens(model, 3, 7)
    logits, trace = run(model, idx)  # the learner's code first: a stub is todo before TL loads
    tl_logits, cache = transformer_lens_run(0, idx)
    assert_close(logits, tl_logits, what="test setup: our GPT vs TransformerLens logits", atol=1e-4)
    for i in range(model.config.n_layer):
        for name, hint in (
            ("resid_pre", "a forward pre-hook on block l keeps its input args[0]"),
            ("resid_post", "a forward hook on block l keeps its output"),
        ):
            assert_close(
                getattr(trace, name)[i],
                cache[f"blocks.{i}.hook_{name}"],
                what=f"trace.{name}[{i}] vs TransformerLens blocks.{i}.hook_{name}",
                atol=1e-4,
                hint=hint,
            )
        assert_close(
            trace.patterns[i],
            cache[f"blocks.{i}.attn.hook_pattern"],
            what=f"trace.patterns[{i}] vs TransformerLens blocks.{i}.attn.hook_pattern",
            atol=1e-5,
            hint=f"block l's pattern comes from the attention module's input (ln_1 of the "
            f"stream); {SCALE}; {CAUSAL}",
        )


def test_hooks_only_look_and_are_removed_afterwards():
    model = random_gpt(0)
    idx = tokens(model, 2, 5)
    before = hook_count(model)
    with torch.no_grad():
        plain, _ = model(idx)
        with mod.record(model) as trace:
            inside, _ = model(idx)
            assert hook_count(model) > before, (
                "record: no hook is registered inside the with-block; register them before "
                "the yield"
            )
        after, _ = model(idx)
    assert torch.equal(inside, plain), (
        "record: the model's logits inside the with-block differ from those without hooks; "
        "likely cause: a hook returned a value (a forward hook that returns replaces the output)"
    )
    left = hook_count(model) - before
    assert left == 0, f"record: {left} hooks are still on the model after the with-block; {REMOVED}"
    assert torch.equal(after, plain), "record: the model computes something else afterwards"
    assert trace.patterns[0] is not None, "record: the trace is empty after a forward pass"


def test_hooks_are_removed_when_the_block_raises():
    model = random_gpt(0)
    before = hook_count(model)
    with pytest.raises(KeyError, match="inside the with-block"):
        with mod.record(model):
            raise KeyError("inside the with-block")
    left = hook_count(model) - before
    assert left == 0, (
        f"record: {left} hooks are still on the model after an exception inside the with-block; "
        "likely cause: remove them in a `finally:` around the yield, so an error removes them too "
        "(and let the exception propagate)"
    )


def test_trace_holds_the_latest_forward_pass_only():
    """Two forward passes inside one block: every list keeps n_layer entries, the second's."""
    model = random_gpt(0)
    first, second = tokens(model, 2, 5, seed=1), tokens(model, 3, 7, seed=2)
    with torch.no_grad(), mod.record(model) as trace:
        model(first)
        model(second)
    expected_logits, expected = run(model, second)
    assert len(trace.patterns) == 3 and len(trace.resid_pre) == 3, (
        f"record: after two forward passes trace.patterns has {len(trace.patterns)} entries and "
        f"resid_pre {len(trace.resid_pre)}, expected 3 each; likely cause: a second pass must "
        "replace entry l (trace.patterns[l] = ...), not append to the list (the latest forward "
        "pass only)"
    )
    assert_close(
        trace.patterns[2],
        expected.patterns[2],
        what="trace.patterns[2] after passes on (2, 5) then (3, 7) tokens",
        hint="the trace holds the latest forward pass (replace entry l on each pass)",
    )


def test_trace_is_detached_from_the_graph():
    """With gradients on, the kept tensors must not hold the graph (memory, and no accidental
    backward through a trace)."""
    model = random_gpt(0)
    with mod.record(model) as trace:
        logits, _ = model(tokens(model, 2, 5))
    assert logits.requires_grad, "test setup: the forward pass should build a graph"
    kept = [
        f"{name}[{i}]"
        for name in ("resid_pre", "resid_post", "patterns")
        for i, t in enumerate(getattr(trace, name))
        if t.requires_grad
    ]
    assert not kept, (
        f"record: {', '.join(kept)} still require grad; the docstring promises detached tensors "
        "(.detach() what a hook keeps; compute the pattern under torch.no_grad())"
    )


def test_batch_of_one_and_a_single_token():
    model = random_gpt(0)
    _, trace = run(model, tokens(model, 1, 1))
    assert_close(
        trace.patterns[0],
        torch.ones(1, 3, 1, 1),
        what="trace.patterns[0] for idx of shape (1, 1)",
        hint="a single token can only attend to itself: weight 1",
    )
