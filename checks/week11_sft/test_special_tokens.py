"""Checks for w11.special_tokens: new chat tokens in the tokenizer and a resized, tied embedding.

Oracles: ids by the rule of the docstring (max id + 1, in order), the old model's logits (copying
the old rows must not change any old prediction), the mean of the old rows for the new ones.
"""

import torch

from checks.week11_sft.support import tiny_gpt
from roadmap.checking import assert_close, generator
from roadmap.impl import load
from solutions.week06_tokenizers.tokenizer import BPETokenizer

mod = load("week11_sft.special_tokens")

CHAT = ["<|im_start|>", "<|im_end|>"]


def setup(vocab_size=258, seed=0):
    tok = BPETokenizer({(104, 105): 256}, special_tokens={"<PAD>": 257})  # "hi" -> 256
    model = tiny_gpt(seed=seed, vocab_size=vocab_size, scale=0.3)
    return tok, model


def test_new_tokens_get_the_next_ids_in_order_and_encode_as_one_id():
    tok, model = setup()
    ids = mod.add_special_tokens(tok, model, CHAT)
    assert ids == [258, 259], (
        f"add_special_tokens(tok with ids 0..257, model, {CHAT}) returned {ids}, expected "
        "[258, 259]\n  likely cause: new ids start at max(tok.vocab) + 1 and follow the order given"
    )
    got = tok.encode("<|im_start|>hi<|im_end|>")
    assert got == [258, 256, 259], (
        f"tok.encode('<|im_start|>hi<|im_end|>') after adding = {got}, expected [258, 256, 259]"
        "\n  likely cause: register the token in tok.special_tokens (and tok.vocab) so encode "
        "cuts it out as one id"
    )
    assert tok.decode(got) == "<|im_start|>hi<|im_end|>", (
        f"tok.decode({got}) = {tok.decode(got)!r}\n  likely cause: tok.vocab[new_id] must be "
        "the token's UTF-8 bytes"
    )


def test_existing_special_keeps_its_id_and_nothing_is_resized():
    tok, model = setup()
    before = model.transformer.wte.weight.detach().clone()
    ids = mod.add_special_tokens(tok, model, ["<PAD>"])
    assert ids == [257], (
        f"add_special_tokens(tok, model, ['<PAD>']) with '<PAD>' already id 257 returned {ids}"
        "\n  likely cause: a token that is already special keeps its id"
    )
    assert len(tok.special_tokens) == 1 and model.config.vocab_size == 258, (
        "adding an existing special token changed the tokenizer or the vocabulary size "
        f"(specials {tok.special_tokens}, vocab_size {model.config.vocab_size})"
    )
    assert_close(
        model.transformer.wte.weight,
        before,
        what="wte after adding only an existing token",
        hint="resize only when a new id needs a row",
    )
    ids = mod.add_special_tokens(tok, model, ["<|im_end|>", "<PAD>", "<|im_start|>"])
    assert ids == [258, 257, 259], (
        f"add_special_tokens(['<|im_end|>', '<PAD>', '<|im_start|>']) returned {ids}, expected "
        "[258, 257, 259]\n  likely cause: only new tokens take fresh ids, in the order given"
    )


def test_embedding_resized_old_rows_kept_new_rows_are_the_mean_and_head_tied():
    tok, model = setup(seed=1)
    old = model.transformer.wte.weight.detach().clone()  # (258, 36)
    mod.add_special_tokens(tok, model, CHAT)
    wte = model.transformer.wte.weight
    assert tuple(wte.shape) == (260, 36), (
        f"wte.weight after adding 2 tokens to a 258-token model has shape {tuple(wte.shape)}, "
        "expected (260, 36)"
    )
    assert model.config.vocab_size == 260, (
        f"model.config.vocab_size = {model.config.vocab_size}, expected 260 (update it)"
    )
    assert_close(
        wte[:258],
        old,
        atol=0,
        rtol=0,
        what="wte.weight[:258] after resizing",
        hint="copy the old rows unchanged",
    )
    assert_close(
        wte[258:],
        old.mean(dim=0).expand(2, -1),
        atol=1e-6,
        what="wte.weight[258:], the new rows",
        hint="every new row starts at the mean of the old rows (not zeros, not random)",
    )
    assert model.lm_head.weight is model.transformer.wte.weight, (
        "after resizing, model.lm_head.weight is not model.transformer.wte.weight\n  likely "
        "cause: the week-05 GPT ties the head to the embedding; set lm_head.weight = wte.weight "
        "again after creating the new modules"
    )


def test_old_predictions_unchanged_and_new_tokens_usable():
    """Logits over the old vocabulary stay exactly the same; the new columns are h . mean row."""
    tok, model = setup(seed=2)
    idx = torch.randint(0, 258, (2, 7), generator=generator(2))
    with torch.no_grad():
        before = model(idx)[0]
    mod.add_special_tokens(tok, model, CHAT)
    with torch.no_grad():
        after = model(idx)[0]
        with_new = model(torch.tensor([[258, 104, 259]]))[0]
    assert after.shape == (2, 7, 260), f"logits shape after resize {tuple(after.shape)}"
    assert_close(
        after[..., :258],
        before,
        atol=1e-5,
        what="logits over the old 258 tokens, before vs after adding 2 tokens",
        hint="old rows of the (tied) embedding must be copied exactly",
    )
    assert_close(
        after[..., 258],
        after[..., 259],
        atol=1e-5,
        what="logits of the two new tokens (both rows are the mean row)",
        hint="both new rows start at the same mean row",
    )
    assert torch.isfinite(with_new).all(), "the model gives non-finite logits for the new ids"


def test_a_padded_vocabulary_that_already_has_room_is_not_resized():
    """A model whose V (300) is larger than the tokenizer's ids (0..257, as when V is padded to a
    multiple of 64): the new ids 258 and 259 already have rows, so V' = max(V, max id + 1) = 300
    and the embedding is kept as it is."""
    tok, model = setup(vocab_size=300, seed=3)
    before = model.transformer.wte.weight.detach().clone()
    try:
        ids = mod.add_special_tokens(tok, model, CHAT)
    except NotImplementedError:
        raise
    except RuntimeError as error:  # e.g. copying 300 old rows into a 260-row embedding
        raise AssertionError(
            f"add_special_tokens on a 300-row model with new ids 258, 259 raised {error!r}\n  "
            "likely cause: V' = max(old V, max id + 1): this model already has rows for the new "
            "ids, so keep its embedding (never shrink it)"
        ) from error
    assert ids == [258, 259], f"add_special_tokens returned {ids}, expected [258, 259]"
    shape = tuple(model.transformer.wte.weight.shape)
    assert shape == (300, 36) and model.config.vocab_size == 300, (
        f"a 300-row model and new ids 258, 259: wte is now {shape}, vocab_size "
        f"{model.config.vocab_size}; expected (300, 36) and 300\n  likely cause: V' = max(old V, "
        "max id + 1): grow only when an id has no row (never by the number of new tokens, never "
        "shrink)"
    )
    assert_close(
        model.transformer.wte.weight,
        before,
        atol=0,
        rtol=0,
        what="wte of a padded model after adding ids that already have rows",
        hint="resize only when a new id needs a row",
    )


def test_a_token_listed_twice_gets_one_id_and_dtype_is_kept():
    """["<x>", "<x>"] registers one token (the second time it is already special): ids [258, 258]
    and V' = 259. A float64 model gets a float64 embedding (same dtype and device as the old one)."""
    tok, model = setup(seed=4)
    model = model.double()
    old = model.transformer.wte.weight.detach().clone()
    ids = mod.add_special_tokens(tok, model, ["<x>", "<x>"])
    assert ids == [258, 258] and model.config.vocab_size == 259, (
        f"add_special_tokens(['<x>', '<x>']) returned {ids} with vocab_size "
        f"{model.config.vocab_size}; expected [258, 258] and 259\n  likely cause: a token that "
        "is already special (also because it was added a moment ago) keeps its id"
    )
    wte = model.transformer.wte.weight
    assert wte.dtype == torch.float64, (
        f"the new embedding of a float64 model is {wte.dtype}\n  likely cause: create it with the "
        "old weight's dtype and device"
    )
    assert_close(
        wte[:258],
        old,
        atol=0,
        rtol=0,
        what="wte.weight[:258] of a float64 model",
        hint="copy the old rows exactly, in the old dtype",
    )
