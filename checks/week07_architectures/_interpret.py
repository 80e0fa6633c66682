"""Helpers for the checks of w07.hooks, w07.logit_lens and w07.induction (not a check module).

- `random_gpt`: a small week-05 GPT with seeded weights large enough that attention is not uniform.
- `transformer_lens_twin`: the same weights in TransformerLens's own transformer (its native model
  behind a TransformerBridge, built offline from a hand-made config), whose `run_with_cache` gives
  `blocks.{l}.hook_resid_pre/post` and `blocks.{l}.attn.hook_pattern` as the oracle.
- `induction_gpt`: a 2-block GPT whose weights are set by hand so that block 0, head 0 is a
  previous-token head and block 1, head 0 an induction head (heads 1 attend uniformly).
"""

import pytest
import torch

from roadmap.extras import install_hint, missing_modules
from solutions.week05_gpt.model import GPT, GPTConfig

INTERP = f"needs extra interp (TransformerLens): {install_hint(['interp'])}"


def random_gpt(
    seed: int = 0,
    n_layer: int = 3,
    n_head: int = 3,
    n_embd: int = 36,
    vocab_size: int = 53,
    block_size: int = 32,
    std: float = 0.3,
) -> GPT:
    """A week-05 GPT in eval mode; every weight ~ N(0, std) (LayerNorm gains around 1), seeded.

    Not week 08's tiny_gpt: its N(0, 0.5) weights grow random_gpt(0)'s residual stream to about
    100 and its float32 difference from TransformerLens to 6e-5, close to the checks' 1e-4; with
    std 0.3 the stream stays near 35 and the difference near 3e-5.
    """
    config = GPTConfig(
        block_size=block_size,
        vocab_size=vocab_size,
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        dropout=0.0,
        bias=True,
    )
    torch.manual_seed(seed)
    model = GPT(config).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g) * std
            p.copy_(1.0 + noise if ".ln_" in name and name.endswith("weight") else noise)
    return model


def manual_trace(model: GPT, idx: torch.Tensor, trace_cls):
    """(logits, trace_cls) with resid_pre/resid_post filled by running the blocks one by one
    (no hooks; patterns left None): the traces the logit-lens checks read."""
    with torch.no_grad():
        T = idx.shape[1]
        x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(T))  # (B, T, C)
        pre, post = [], []
        for block in model.transformer.h:
            pre.append(x)
            x = block(x)
            post.append(x)
        logits, _ = model(idx)
    return logits, trace_cls(pre, post, [None] * len(pre))


def hook_count(model: torch.nn.Module) -> int:
    """Forward hooks and forward pre-hooks on the model and all its submodules."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def skip_without_transformer_lens() -> None:
    """Skip the calling check (after the learner's code ran) when the interp extra is missing."""
    if missing_modules("interp"):
        pytest.skip(INTERP)


def native_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """The week-05 GPT's weights under TransformerLens native-model names: c_attn split into q, k,
    v; c_proj -> o; c_fc / mlp.c_proj -> fc_in / fc_out; ln_1/ln_2/ln_f -> ln1/ln2/ln_out;
    wte/wpe/lm_head -> tok_embed/pos/head. Both use nn.Linear, so nothing is transposed."""
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    C = model.config.n_embd
    out = {
        "tok_embed.weight": sd["transformer.wte.weight"],
        "pos.weight": sd["transformer.wpe.weight"],
        "ln_out.weight": sd["transformer.ln_f.weight"],
        "ln_out.bias": sd["transformer.ln_f.bias"],
        "head.weight": sd["lm_head.weight"],
    }
    for i in range(model.config.n_layer):
        ours = f"transformer.h.{i}."
        q, k, v = sd[ours + "attn.c_attn.weight"].split(C, dim=0)
        qb, kb, vb = sd[ours + "attn.c_attn.bias"].split(C)
        names = {
            "ln1.weight": sd[ours + "ln_1.weight"],
            "ln1.bias": sd[ours + "ln_1.bias"],
            "ln2.weight": sd[ours + "ln_2.weight"],
            "ln2.bias": sd[ours + "ln_2.bias"],
            "attn.q.weight": q,
            "attn.k.weight": k,
            "attn.v.weight": v,
            "attn.q.bias": qb,
            "attn.k.bias": kb,
            "attn.v.bias": vb,
            "attn.o.weight": sd[ours + "attn.c_proj.weight"],
            "attn.o.bias": sd[ours + "attn.c_proj.bias"],
            "mlp.fc_in.weight": sd[ours + "mlp.c_fc.weight"],
            "mlp.fc_in.bias": sd[ours + "mlp.c_fc.bias"],
            "mlp.fc_out.weight": sd[ours + "mlp.c_proj.weight"],
            "mlp.fc_out.bias": sd[ours + "mlp.c_proj.bias"],
        }
        out.update({f"layers.{i}.{name}": value for name, value in names.items()})
    return out


def transformer_lens_twin(model: GPT):
    """A TransformerLens TransformerBridge around its native transformer holding `model`'s weights.

    The config is written by hand (TransformerLens 4 boots hub models by name; this needs no
    network): GPT-2's pre-LN block, learned positions, tanh GELU ("gelu_new"), LayerNorm eps 1e-5,
    an untied head without bias, scores divided by sqrt(d_head). Nothing is folded or centred
    (no enable_compatibility_mode), so activations are the raw ones, comparable to ours.
    """
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge.sources import build_bridge_from_module
    from transformer_lens.model_bridge.sources.native import NativeModel

    c = model.config
    config = TransformerBridgeConfig(
        d_model=c.n_embd,
        n_layers=c.n_layer,
        n_heads=c.n_head,
        d_head=c.n_embd // c.n_head,
        d_mlp=4 * c.n_embd,
        d_vocab=c.vocab_size,
        n_ctx=c.block_size,
        act_fn="gelu_new",
        normalization_type="LN",
        positional_embedding_type="standard",
        eps=1e-5,
        init_weights=False,
    )
    native = NativeModel(config)
    native.load_state_dict(native_state_dict(model), strict=True)
    return build_bridge_from_module(native.eval(), "TransformerLensNative", tl_config=config)


_RUNS: dict = {}


def transformer_lens_run(seed: int, idx: torch.Tensor):
    """(logits, cache) of the TransformerLens twin of random_gpt(seed) on idx (B, T); skips the
    check without the interp extra. Cached: the import costs seconds and the checks of the three
    exercises read the same few runs."""
    skip_without_transformer_lens()
    key = (seed, tuple(idx.flatten().tolist()), tuple(idx.shape))
    if key not in _RUNS:
        bridge = transformer_lens_twin(random_gpt(seed))
        with torch.no_grad():
            _RUNS[key] = bridge.run_with_cache(idx)
    return _RUNS[key]


# --- a GPT with a planted induction head ----------------------------------------------------------
IND_V = 8  # tokens
IND_P = 16  # positions (block_size)
IND_C = 2 * IND_V + IND_P  # channels: [token | position | previous token]
TOK, POS, PREV = 0, IND_V, IND_V + IND_P  # where each subspace starts


def induction_gpt() -> GPT:
    """A 2-block, 2-head GPT (V=8, block 16, C=32, D=16) built by hand, MLPs off:

    - embeddings: token v -> e[TOK + v], position t -> e[POS + t]; the head is tied to wte, so the
      logit of v is channel TOK + v after ln_f.
    - block 0, head 0 (previous-token head): q reads the position t, k maps position s to s + 1,
      so query t matches key s = t - 1 (score 4 * 16 / 4 = 16 per unit match after LayerNorm);
      v reads the token and c_proj writes it into the PREV subspace: after block 0, position t
      holds the token at t - 1 in PREV.
    - block 1, head 0 (induction head): q reads the token at t, k reads PREV at s, so query t
      matches every key s whose previous token equals its own token; a q bias times a negative k
      weight on position 0 keeps key 0 out (its PREV holds its own token: query 0 sees only itself).
      v reads the token at s and c_proj writes it, 10 times over, into TOK: the prediction.
    - heads 1: q = k = 0 (uniform over the keys 0..t), v = 0.
    On [r, r] with r a permutation's first `half` tokens (no repeats inside r), block 1 head 0 puts
    nearly all weight on t - half + 1 for every query of the repeat, and the model predicts the
    repeat's next tokens with a loss near 0.
    """
    config = GPTConfig(
        block_size=IND_P, vocab_size=IND_V, n_layer=2, n_head=2, n_embd=IND_C, dropout=0.0
    )
    model = GPT(config).eval()
    C, D = IND_C, IND_C // 2
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for block in model.transformer.h:
            block.ln_1.weight.fill_(1.0)
            block.ln_2.weight.fill_(1.0)
        model.transformer.ln_f.weight.fill_(1.0)
        for v in range(IND_V):
            model.transformer.wte.weight[v, TOK + v] = 1.0  # tied: also the unembedding
        for t in range(IND_P):
            model.transformer.wpe.weight[t, POS + t] = 1.0

        w0 = model.transformer.h[0].attn.c_attn.weight  # (3C, C): rows q | k | v
        for t in range(IND_P):
            w0[t, POS + t] = 4.0  # q of head 0: position t
            if t + 1 < D:
                w0[C + t + 1, POS + t] = 4.0  # k of head 0: position s lands on s + 1
        for v in range(IND_V):
            w0[2 * C + v, TOK + v] = 1.0  # v of head 0: the token
            model.transformer.h[0].attn.c_proj.weight[PREV + v, v] = 1.0  # into PREV

        w1 = model.transformer.h[1].attn.c_attn.weight
        b1 = model.transformer.h[1].attn.c_attn.bias
        for v in range(IND_V):
            w1[v, TOK + v] = 4.0  # q of head 0: the token at t
            w1[C + v, PREV + v] = 4.0  # k of head 0: the token before s
            w1[2 * C + v, TOK + v] = 1.0  # v of head 0: the token at s
            model.transformer.h[1].attn.c_proj.weight[TOK + v, v] = 10.0  # the prediction
        b1[IND_V] = 20.0  # q: a constant channel ...
        w1[C + IND_V, POS + 0] = -4.0  # ... that only key 0 answers, negatively
    return model


def permuted_repeats(batch: int, half: int, seed: int) -> torch.Tensor:
    """(B, 2 * half): r = the first `half` tokens of a random permutation of the IND_V tokens (no
    token twice inside r), then r again."""
    g = torch.Generator().manual_seed(seed)
    r = torch.stack([torch.randperm(IND_V, generator=g)[:half] for _ in range(batch)])
    return torch.cat([r, r], dim=1)
