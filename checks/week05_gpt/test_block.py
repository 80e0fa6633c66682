"""Checks for w05.block: the pre-LN transformer block, against torch's TransformerEncoderLayer."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from roadmap.checking import assert_close, generator
from roadmap.impl import load

model = load("week05_gpt.model")


def torch_block_like(block, C: int, H: int) -> nn.TransformerEncoderLayer:
    """nn.TransformerEncoderLayer with norm_first=True computes x + attn(norm1(x)), then
    x + ff(norm2(x)): the same pre-LN block. c_attn's (3C, C) weight stacks q, k, v exactly like
    in_proj_weight, so the weights copy one to one."""
    layer = nn.TransformerEncoderLayer(
        C,
        H,
        dim_feedforward=4 * C,
        dropout=0.0,
        activation=lambda t: F.gelu(t, approximate="tanh"),
        batch_first=True,
        norm_first=True,
    ).eval()
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(block.attn.c_attn.weight)
        layer.self_attn.in_proj_bias.copy_(block.attn.c_attn.bias)
        layer.self_attn.out_proj.weight.copy_(block.attn.c_proj.weight)
        layer.self_attn.out_proj.bias.copy_(block.attn.c_proj.bias)
        layer.linear1.weight.copy_(block.mlp.c_fc.weight)
        layer.linear1.bias.copy_(block.mlp.c_fc.bias)
        layer.linear2.weight.copy_(block.mlp.c_proj.weight)
        layer.linear2.bias.copy_(block.mlp.c_proj.bias)
        for ours, theirs in ((block.ln_1, layer.norm1), (block.ln_2, layer.norm2)):
            ours.weight.copy_(1 + 0.3 * torch.randn(C))
            ours.bias.copy_(0.1 * torch.randn(C))
            theirs.weight.copy_(ours.weight)
            theirs.bias.copy_(ours.bias)
    return layer


@pytest.mark.parametrize("B,T,C,H", [(1, 1, 16, 2), (2, 7, 24, 3), (3, 10, 32, 4)])
def test_block_matches_torch_pre_ln_encoder_layer_with_causal_mask(B, T, C, H):
    torch.manual_seed(B + T)
    block = model.Block(model.GPTConfig(n_embd=C, n_head=H, block_size=16)).eval()
    for p in block.parameters():  # larger weights than GPT-2 init, so every path shows
        nn.init.normal_(p, std=0.2)
    oracle = torch_block_like(block, C, H)
    x = torch.randn(B, T, C, generator=generator(T))
    future = nn.Transformer.generate_square_subsequent_mask(T)  # -inf above the diagonal
    with torch.no_grad():
        expected = oracle(x, src_mask=future, is_causal=True)
        got = block(x)
    assert_close(
        got,
        expected,
        atol=1e-4,
        what=f"Block(n_embd={C}, n_head={H})(x {(B, T, C)})",
        hint="pre-LN: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)). Post-LN (ln(x + attn(x))) or a "
        "missing residual gives different values",
    )


def test_block_keeps_the_residual_stream():
    """With both branches' output projections zeroed, the block is the identity: x passes through."""
    block = model.Block(model.GPTConfig(n_embd=12, n_head=3)).eval()
    with torch.no_grad():
        for proj in (block.attn.c_proj, block.mlp.c_proj):
            proj.weight.zero_()
            proj.bias.zero_()
    x = torch.randn(2, 5, 12, generator=generator(9))
    assert_close(
        block(x), x, what="Block with zeroed c_proj layers", hint="add each branch to x (residual)"
    )
