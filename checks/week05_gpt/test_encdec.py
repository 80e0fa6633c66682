"""Checks for w05.encdec: the decoder block against torch's TransformerDecoderLayer, and the
encoder-decoder's masks (causal on the target, padding on the source)."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

model = load("week05_gpt.model")
encdec = load("week05_gpt.encdec")


def copy_mha(ours, theirs: nn.MultiheadAttention) -> None:
    """nn.MultiheadAttention keeps q, k, v stacked in in_proj_weight (3C, C)."""
    theirs.in_proj_weight.copy_(
        torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight])
    )
    theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
    theirs.out_proj.weight.copy_(ours.out_proj.weight)
    theirs.out_proj.bias.copy_(ours.out_proj.bias)


@pytest.mark.parametrize("B,T,S,C,H", [(1, 1, 3, 16, 2), (2, 7, 5, 24, 3)])
def test_decoder_block_matches_torch_pre_ln_decoder_layer(B, T, S, C, H):
    """nn.TransformerDecoderLayer(norm_first=True): x + sa(norm1 x), + mha(norm2 x, memory), + ff(norm3 x)."""
    torch.manual_seed(T)
    block = encdec.DecoderBlock(model.GPTConfig(n_embd=C, n_head=H)).eval()
    for p in block.parameters():
        nn.init.normal_(p, std=0.2)
    oracle = nn.TransformerDecoderLayer(
        C,
        H,
        4 * C,
        dropout=0.0,
        activation=lambda t: F.gelu(t, approximate="tanh"),
        batch_first=True,
        norm_first=True,
    ).eval()
    with torch.no_grad():
        copy_mha(block.self_attn, oracle.self_attn)
        copy_mha(block.cross_attn, oracle.multihead_attn)
        for ours, theirs in ((block.mlp.c_fc, oracle.linear1), (block.mlp.c_proj, oracle.linear2)):
            theirs.weight.copy_(ours.weight)
            theirs.bias.copy_(ours.bias)
        for ours, theirs in (
            (block.ln_1, oracle.norm1),
            (block.ln_2, oracle.norm2),
            (block.ln_3, oracle.norm3),
        ):
            theirs.weight.copy_(ours.weight)
            theirs.bias.copy_(ours.bias)
    g = generator(S)
    x, memory = torch.randn(B, T, C, generator=g), torch.randn(B, S, C, generator=g)
    lengths = torch.tensor([S] + [max(1, S - 2)] * (B - 1))
    real = torch.arange(S)[None] < lengths[:, None]  # (B, S)
    with torch.no_grad():
        got = block(x, memory, real[:, None, None, :])
        expected = oracle(
            x,
            memory,
            tgt_mask=nn.Transformer.generate_square_subsequent_mask(T),
            tgt_is_causal=True,
            memory_key_padding_mask=~real,  # torch: True means "ignore"
        )
    assert_close(
        got,
        expected,
        atol=1e-4,
        what=f"DecoderBlock(n_embd={C}, n_head={H})(x {(B, T, C)}, memory {(B, S, C)})",
        hint="three pre-LN residuals: causal self-attention on ln_1(x); cross-attention from ln_2(x) to "
        "memory (context=memory, mask=memory_mask); mlp on ln_3(x)",
    )


def make_model():
    torch.manual_seed(0)
    return encdec.EncoderDecoder(
        model.GPTConfig(block_size=12, vocab_size=19, n_layer=2, n_head=2, n_embd=16)
    ).eval()


def test_target_side_is_causal_and_source_padding_is_ignored():
    m = make_model()
    g = generator(5)
    src = torch.randint(0, 19, (2, 9), generator=g)
    lengths = torch.tensor([9, 5])
    tgt = torch.randint(0, 19, (2, 8), generator=g)
    base, _ = m(src, lengths, tgt)
    tgt2 = tgt.clone()
    tgt2[:, 5:] = (tgt2[:, 5:] + 1) % 19
    assert_close(
        m(src, lengths, tgt2)[0][:, :5],
        base[:, :5],
        atol=1e-6,
        what="logits 0..4 after changing target tokens 5..7",
        hint="decoder self-attention must be causal",
    )
    src2 = src.clone()
    src2[1, 5:] = (src2[1, 5:] + 3) % 19  # padding of row 1
    assert_close(
        m(src2, lengths, tgt)[0],
        base,
        atol=1e-6,
        what="logits after changing row 1's source padding",
        hint="mask padded source positions in cross-attention (memory_mask from src_lengths)",
    )
    src3 = src.clone()
    src3[1, 0] = (src3[1, 0] + 1) % 19
    assert (m(src3, lengths, tgt)[0][1] - base[1]).abs().max() > 1e-4, (
        "changing a real source token changed nothing: is the decoder reading the encoder's memory?"
    )


def test_loss_ignores_minus_100():
    m = make_model()
    g = generator(6)
    src, tgt = torch.randint(0, 19, (3, 6), generator=g), torch.randint(0, 19, (3, 7), generator=g)
    targets = torch.randint(0, 19, (3, 7), generator=g)
    targets[:, -2:] = -100
    logits, loss = m(src, torch.tensor([6, 3, 1]), tgt, targets)
    expected = F.cross_entropy(logits.reshape(-1, 19), targets.reshape(-1), ignore_index=-100)
    assert_close(
        loss,
        expected,
        what="EncoderDecoder loss",
        hint="cross-entropy over (B*T, V), ignore_index=-100",
    )


def test_forward_equals_the_hand_wired_encoder_decoder():
    """Wiring, on values: logits == lm_head(ln_f(decoder blocks(embed(tgt), memory, mask))) with
    memory = encode(src, src_lengths) (the encoder and its final norm ln_enc) and the source padding
    mask (B, 1, 1, S). Every piece is called here one by one, so a skipped encoder, a skipped ln_f
    or the wrong memory shows up as different logits."""
    m = make_model()
    with torch.no_grad():  # larger LayerNorm weights and biases, so skipping a norm shows
        for ln in (m.ln_enc, m.ln_f):
            ln.weight.copy_(1 + 0.5 * torch.randn(16, generator=generator(10)))
            ln.bias.copy_(0.5 * torch.randn(16, generator=generator(11)))
    g = generator(12)
    src, tgt = torch.randint(0, 19, (2, 7), generator=g), torch.randint(0, 19, (2, 5), generator=g)
    lengths = torch.tensor([7, 4])
    with torch.no_grad():
        memory = m.encode(src, lengths)
        mask = (torch.arange(7)[None] < lengths[:, None])[:, None, None, :]
        x = m.embed(tgt)
        for block in m.decoder:
            x = block(x, memory, mask)
        expected = m.lm_head(m.ln_f(x))
        got, _ = m(src, lengths, tgt)
    assert_close(
        got,
        expected,
        atol=1e-5,
        what="EncoderDecoder(src, src_lengths, tgt) logits vs the hand-wired path",
        hint="memory = self.encode(src, src_lengths) (run the encoder), decoder blocks with the "
        "padding memory_mask, then ln_f before lm_head",
    )
