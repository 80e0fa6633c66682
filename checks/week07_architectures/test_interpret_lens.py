"""Checks for w07.logit_lens: `logit_lens` and `lens_losses`.

Oracles: the model's own logits and loss (the last lens entry), torch's F.layer_norm and
F.cross_entropy on hand-picked entries, a model whose blocks add nothing (every entry equals the
logits), and TransformerLens's `logit_lens` over its accumulated residual stream with the same
weights (extra "interp"). The traces are filled by running the blocks one by one here, not by
your `record` (w07.hooks is checked on its own).
"""

import math

import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

from ._interpret import manual_trace, random_gpt, transformer_lens_run

mod = load("week07_architectures.interpret")

FINAL_LN = (
    "every entry goes through the model's final LayerNorm (model.transformer.ln_f) and then "
    "model.lm_head, exactly as the model reads its last stream"
)
ORDER = (
    "entry 0 reads trace.resid_pre[0] (the embeddings), entry l >= 1 trace.resid_post[l - 1]: "
    "L + 1 entries, the last one the model's logits"
)


def reference_trace(model, idx):
    """(logits, loss, targets, Trace) with targets = idx shifted by one (-100 at the end)."""
    targets = torch.roll(idx, -1, dims=1)
    targets[:, -1] = -100
    logits, trace = manual_trace(model, idx, mod.Trace)
    with torch.no_grad():
        loss = model(idx, targets)[1]
    return logits, loss, targets, trace


def tokens(model, B: int, T: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, model.config.vocab_size, (B, T), generator=generator(seed))


def test_last_entry_is_the_models_logits_and_the_shape_is_layers_plus_one():
    model = random_gpt(0)  # 3 blocks, V = 53
    logits, _, _, trace = reference_trace(model, tokens(model, 3, 7))
    with torch.no_grad():
        lens = mod.logit_lens(model, trace)
    assert tuple(lens.shape) == (4, 3, 7, 53), (
        f"logit_lens on a 3-block GPT, idx (3, 7), V=53: expected shape (4, 3, 7, 53), got "
        f"{tuple(lens.shape)}; likely cause: {ORDER}"
    )
    assert_close(
        lens[-1],
        logits,
        what="logit_lens(...)[-1] vs the model's logits",
        hint=f"{FINAL_LN}; {ORDER}",
    )


def test_first_entry_reads_the_embeddings_through_the_final_layernorm():
    """Entry 0 by hand: F.layer_norm of wte[idx] + wpe[t] with ln_f's weights, then the tied head."""
    model = random_gpt(0)
    idx = tokens(model, 2, 5)
    _, _, _, trace = reference_trace(model, idx)
    with torch.no_grad():
        lens = mod.logit_lens(model, trace)
        ln_f = model.transformer.ln_f
        emb = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(5))
        normed = F.layer_norm(emb, (36,), ln_f.weight, ln_f.bias, eps=1e-5)
        expected = normed @ model.transformer.wte.weight.T
    assert_close(
        lens[0],
        expected,
        what="logit_lens(...)[0] (the embeddings' readout)",
        atol=1e-4,
        hint=f"{ORDER}; {FINAL_LN}",
    )


def test_every_entry_equals_the_logits_when_blocks_add_nothing():
    """With each block's c_proj weights and biases at 0 the stream never changes (docstring)."""
    model = random_gpt(0)
    with torch.no_grad():
        for block in model.transformer.h:
            for proj in (block.attn.c_proj, block.mlp.c_proj):
                proj.weight.zero_()
                proj.bias.zero_()
    logits, _, _, trace = reference_trace(model, tokens(model, 2, 6))
    with torch.no_grad():
        lens = mod.logit_lens(model, trace)
    for i in range(len(lens)):
        assert_close(
            lens[i],
            logits,
            what=f"logit_lens(...)[{i}] of a GPT whose blocks add nothing",
            hint=FINAL_LN,
        )


def test_lens_matches_transformer_lens():
    """TransformerLens's logit_lens (accumulated residual stream, final norm recomputed per entry,
    then W_U) with the same weights, every position: within 1e-4 (measured max |diff| 3e-6)."""
    model = random_gpt(0)
    idx = tokens(model, 3, 7)
    _, _, _, trace = reference_trace(model, idx)
    with torch.no_grad():
        lens = mod.logit_lens(model, trace)  # the learner's code first
    _, cache = transformer_lens_run(0, idx)
    from transformer_lens.tools.analysis.logit_lens import logit_lens as tl_logit_lens

    expected = tl_logit_lens(cache, positions=None).values  # (L + 1, B, T, V)
    assert_close(
        lens,
        expected,
        what="logit_lens vs TransformerLens logit_lens(cache, positions=None)",
        atol=1e-4,
        hint=f"{ORDER}; {FINAL_LN}",
    )


def test_lens_losses_by_hand():
    """The docstring's examples: zero logits give ln 8; 10 on the target gives log(1 + 7e^-10)."""
    targets = torch.tensor([[3, 1, -100], [0, 7, 2]])
    zeros = torch.zeros(2, 2, 3, 8)
    sharp = torch.zeros(2, 2, 3, 8)
    sharp[1].scatter_(-1, targets.clamp(min=0)[..., None], 10.0)
    got = mod.lens_losses(torch.cat([zeros[:1], sharp[1:]]), targets)
    expected = torch.tensor([math.log(8), math.log(1 + 7 * math.exp(-10))])
    assert_close(
        got,
        expected,
        what="lens_losses(entries [zeros, 10 on each target], V=8)",
        atol=1e-6,
        hint="per entry: the mean over the counted positions of -log softmax(logits)[target] "
        "(F.cross_entropy takes the logits, not probabilities)",
    )


def test_lens_losses_leave_out_ignored_positions_and_keep_entries_apart():
    model = random_gpt(0)
    idx = tokens(model, 3, 7)
    _, loss, targets, trace = reference_trace(model, idx)
    targets[0, :4] = -100  # rows of different lengths
    with torch.no_grad():
        lens = torch.randn(4, 3, 7, 53, generator=generator(5)) * 3
        got = mod.lens_losses(lens, targets)
    assert tuple(got.shape) == (4,), (
        f"lens_losses on (4, 3, 7, 53) logits: expected one loss per entry (4,), got "
        f"{tuple(got.shape)}; likely cause: average over the batch and positions, not the entries"
    )
    expected = torch.stack(
        [F.cross_entropy(e.reshape(-1, 53), targets.reshape(-1), ignore_index=-100) for e in lens]
    )
    assert_close(
        got,
        expected,
        what="lens_losses vs F.cross_entropy(entry, targets, ignore_index=-100) per entry",
        hint="positions whose target is -100 do not count: neither in the sum nor in the "
        "number you divide by (a mean over the counted positions of the whole batch)",
    )


def test_lens_losses_last_entry_is_the_models_loss():
    model = random_gpt(0)
    _, loss, targets, trace = reference_trace(model, tokens(model, 2, 9))
    with torch.no_grad():
        lens = mod.logit_lens(model, trace)
        got = mod.lens_losses(lens, targets)
    assert_close(
        got[-1],
        loss,
        what="lens_losses(logit_lens(...), targets)[-1] vs model(idx, targets)[1]",
        hint="the mean next-token cross-entropy of the logits (not of probabilities: "
        "F.cross_entropy takes logits)",
    )
