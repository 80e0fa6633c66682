"""An encoder-decoder transformer (the original 2017 layout, pre-LN): the decoder reads the encoder.

The encoder attends both ways over the source (padding masked); each decoder block adds a
cross-attention sublayer between its causal self-attention and its MLP: queries from the target,
keys and values from the encoder's output ("memory"). Attention is week 04's MultiHeadAttention.
Check: `python tracker.py check w05.encdec`
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from solutions.week01_tensors.masks import causal_mask, padding_mask
from solutions.week04_attention.attention import MultiHeadAttention

from .model import MLP, GPTConfig, LayerNorm


class EncoderBlock(nn.Module):
    """Pre-LN block with bidirectional self-attention."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = MultiHeadAttention(config.n_embd, config.n_head, bias=config.bias)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, S, C), mask bool broadcastable to (B, H, S, S) -> (B, S, C)."""
        x = x + self.attn(self.ln_1(x), mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class DecoderBlock(nn.Module):
    """Pre-LN block: causal self-attention, cross-attention to the memory, MLP; each residual."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.self_attn = MultiHeadAttention(config.n_embd, config.n_head, bias=config.bias)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.cross_attn = MultiHeadAttention(config.n_embd, config.n_head, bias=config.bias)
        self.ln_3 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor
    ) -> torch.Tensor:
        """One decoder block.

        Args:
            x: (B, T, C) the target side.
            memory: (B, S, C) the encoder's output.
            memory_mask: bool, broadcastable to (B, H, T, S), True at real source positions.

        Returns:
            (B, T, C): x + self_attn(ln_1 x) [causal], then + cross_attn(ln_2 x, memory), then
            + mlp(ln_3 x).

        Example: with memory_mask [[[[True, True, False]]]] (S=3), output position t depends on
        x[:, :t + 1] and on memory[:, :2] only; it equals torch's nn.TransformerDecoderLayer
        (norm_first=True) with the same weights.
        """
        # three residual sublayers; only the first is causal, the memory is seen whole
        T = x.size(1)
        x = x + self.self_attn(self.ln_1(x), mask=causal_mask(T).to(x.device))[0]
        x = x + self.cross_attn(self.ln_2(x), context=memory, mask=memory_mask)[0]
        return x + self.mlp(self.ln_3(x))


class EncoderDecoder(nn.Module):
    """Source -> encoder -> memory; target + memory -> decoder -> next-token logits.

    One shared token embedding (source and target use the same vocabulary), tied to the head.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.encoder = nn.ModuleList([EncoderBlock(config) for _ in range(config.n_layer)])
        self.ln_enc = LayerNorm(config.n_embd, bias=config.bias)
        self.decoder = nn.ModuleList([DecoderBlock(config) for _ in range(config.n_layer)])
        self.ln_f = LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 -> (B, T, C): token plus position embeddings."""
        return self.wte(ids) + self.wpe(torch.arange(ids.size(1), device=ids.device))

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> torch.Tensor:
        """src (B, S) int64 right-padded, src_lengths (B,) -> memory (B, S, C)."""
        keep = padding_mask(src_lengths, src.size(1))[:, None, None, :]  # (B, 1, 1, S)
        x = self.embed(src)
        for block in self.encoder:
            x = block(x, keep)
        return self.ln_enc(x)

    def forward(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        tgt: torch.Tensor,
        targets: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Encode the source, decode the target against it.

        Args:
            src: (B, S) int64 source ids, right-padded; src_lengths: (B,) int64 real lengths.
            tgt: (B, T) int64 target-side inputs.
            targets: (B, T) int64 next-token ids (-100 ignored), or None.

        Returns:
            logits (B, T, V) and the mean cross-entropy (None without targets).

        Example: src [[5, 6, 0, 0]] with src_lengths [2]: changing src[0, 2:] (padding) or
        tgt[:, t + 1:] leaves logits[:, t] unchanged; targets of -100 add nothing to the loss.
        """
        # the decoder's cross-attention may only see real source positions
        memory = self.encode(src, src_lengths)  # (B, S, C)
        memory_mask = padding_mask(src_lengths, src.size(1))[:, None, None, :]  # (B, 1, 1, S)
        x = self.embed(tgt)
        for block in self.decoder:
            x = block(x, memory, memory_mask)
        logits = self.lm_head(self.ln_f(x))  # (B, T, V)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)
