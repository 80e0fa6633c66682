"""Checks for w07.llama: the LLaMA-style block and model, against transformers with copied weights.

Oracles: LlamaForCausalLM and MistralForCausalLM (eager attention, sliding window 3 < T so it is
active) carrying our weights (q/k rows moved to their half-split RoPE layout); torch's cross-entropy;
causality.
"""

import pytest
import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

from ._hf import hf_llama_like, randomize_

mod = load("week07_architectures.llama")

BLOCK = (
    "pre-norm: x = x + attention(attention_norm(x)); x = x + feed_forward(ffn_norm(x)); "
    "then norm, then output"
)


def tiny(**overrides):
    fields = dict(
        vocab_size=61, dim=48, n_layer=2, n_head=6, n_kv_head=2, hidden_dim=80, max_seq_len=32
    )
    fields.update(overrides)
    return mod.LlamaConfig(**fields)


def model_for(config, seed: int):
    torch.manual_seed(seed)
    return randomize_(mod.Llama(config), seed).eval()


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"n_kv_head": 6},
        {"n_kv_head": 1, "tie_embeddings": True, "norm_eps": 1e-5, "rope_base": 500.0},
    ],
    ids=["gqa", "mha", "mqa-tied"],
)
def test_logits_match_transformers_llama(overrides):
    model = model_for(tiny(**overrides), seed=1)
    idx = torch.randint(0, 61, (2, 11), generator=generator(2))
    with torch.no_grad():
        # the learner's model first: an untouched stub is todo before transformers loads (seconds)
        logits, loss = model(idx)
        expected = hf_llama_like(model, "LlamaForCausalLM")(idx).logits
    assert loss is None, "Llama(idx) without targets must return loss None"
    assert_close(logits, expected, what=f"Llama({overrides})(idx (2, 11)) logits", hint=BLOCK)


def test_logits_match_transformers_mistral_with_active_sliding_window():
    """Window 3 < T = 12: a token sees only itself and two before it, in every layer."""
    model = model_for(tiny(sliding_window=3), seed=3)
    idx = torch.randint(0, 61, (2, 12), generator=generator(4))
    with torch.no_grad():
        got = model(idx)[0]
        expected = hf_llama_like(model, "MistralForCausalLM")(idx).logits
        model.config.sliding_window = None
        unwindowed = model(idx)[0]
    assert (expected - unwindowed).abs().max() > 1e-3, "test setup: the window should matter here"
    assert_close(
        got,
        expected,
        what="Llama(sliding_window=3)(idx (2, 12)) vs MistralForCausalLM",
        hint="build the mask with sliding_window_mask(T, config.sliding_window) and pass it to every layer",
    )


def test_loss_is_cross_entropy_of_the_logits():
    model = model_for(tiny(), seed=5)
    idx = torch.randint(0, 61, (3, 9), generator=generator(6))
    targets = torch.randint(0, 61, (3, 9), generator=generator(7))
    targets[0, :4] = -100
    logits, loss = model(idx, targets)
    expected = F.cross_entropy(logits.reshape(-1, 61), targets.reshape(-1), ignore_index=-100)
    assert loss is not None, "Llama(idx, targets) returned loss None"
    assert_close(
        loss,
        expected,
        what="Llama(idx, targets) loss",
        hint="cross-entropy over all positions, ignore_index=-100",
    )


def test_future_tokens_do_not_change_earlier_logits():
    model = model_for(tiny(), seed=8)
    idx = torch.randint(0, 61, (1, 10), generator=generator(9))
    changed = idx.clone()
    changed[0, 6:] = (changed[0, 6:] + 1) % 61
    with torch.no_grad():
        a, b = model(idx)[0], model(changed)[0]
    assert_close(
        b[:, :6],
        a[:, :6],
        what="Llama logits 0..5 after changing tokens 6..9",
        hint="every layer must get the causal mask",
    )


def test_a_full_context_is_accepted_and_a_longer_one_refused():
    """T == max_seq_len is the longest input the docstring allows (T <= max_seq_len); T + 1 is not."""
    model = model_for(tiny(max_seq_len=8), seed=10)
    with torch.no_grad():
        try:
            logits, _ = model(torch.zeros(1, 8, dtype=torch.long))
        except NotImplementedError:
            raise  # a stub: reported as todo
        except (AssertionError, ValueError, RuntimeError, IndexError) as error:
            raise AssertionError(
                f"Llama(max_seq_len=8) refused 8 tokens ({error!r}); likely cause: the limit is "
                "T <= max_seq_len (inclusive), not T < max_seq_len"
            ) from error
        assert logits.shape == (1, 8, 61), f"Llama(8 tokens) logits: got {tuple(logits.shape)}"
        with pytest.raises((AssertionError, ValueError, RuntimeError, IndexError)):
            model(torch.zeros(1, 9, dtype=torch.long))
