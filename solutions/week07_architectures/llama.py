"""A LLaMA-style decoder: RMSNorm, RoPE, grouped-query attention, SwiGLU, no biases.

Block: x = x + attention(attention_norm(x)); x = x + feed_forward(ffn_norm(x)) (pre-norm, like
GPT-2, but RMSNorm instead of LayerNorm and no learned position table: positions enter only through
RoPE inside attention). A sliding window (Mistral) is one config field. Module names follow Meta's
LLaMA code (tok_embeddings, attention.wqkv, feed_forward.w1/w2/w3, output); load_llama.py maps
transformers' names onto them.
Papers: Touvron et al. 2023, LLaMA, https://arxiv.org/abs/2302.13971; Jiang et al. 2023, Mistral 7B,
https://arxiv.org/abs/2310.06825
Check: `python tracker.py check w07.llama`
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import Attention
from .masks import sliding_window_mask
from .rmsnorm import RMSNorm
from .rope import rope_cache
from .swiglu import SwiGLU


@dataclass
class LlamaConfig:
    vocab_size: int = 256  # tokens
    dim: int = 64  # C, the model width
    n_layer: int = 2  # decoder blocks
    n_head: int = 4  # query heads H
    n_kv_head: int = 2  # key/value heads (H: MHA, 1: MQA, in between: GQA)
    hidden_dim: int = 172  # SwiGLU inner size, about 8/3 * dim
    max_seq_len: int = 128  # positions covered by the RoPE tables
    rope_base: float = 10000.0  # RoPE theta base
    norm_eps: float = 1e-6  # RMSNorm epsilon
    sliding_window: int | None = None  # keys per query (Mistral); None = full causal attention
    tie_embeddings: bool = False  # output head shares the token embedding matrix


class Block(nn.Module):
    """One pre-norm decoder block: attention then SwiGLU, each inside a residual connection."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(config.dim, config.norm_eps)
        self.attention = Attention(config.dim, config.n_head, config.n_kv_head)
        self.ffn_norm = RMSNorm(config.dim, config.norm_eps)
        self.feed_forward = SwiGLU(config.dim, config.hidden_dim)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C); cos/sin (max_len, D/2) rope tables; mask (T, T) bool.

        x + attention(attention_norm(x), cos, sin, mask), then + feed_forward(ffn_norm(.)).
        Example: with attention.wo and feed_forward.w2 at zero both branches add 0, so the block
        returns x unchanged.
        """
        # normalise the branch input only: the residual stream itself is never normalised
        x = x + self.attention(self.attention_norm(x), cos, sin, mask)
        return x + self.feed_forward(self.ffn_norm(x))


class Llama(nn.Module):
    """Token embeddings, n_layer blocks, a final RMSNorm and the output head."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.dim)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm = RMSNorm(config.dim, config.norm_eps)
        self.output = nn.Linear(config.dim, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.output.weight = self.tok_embeddings.weight
        cos, sin = rope_cache(config.dim // config.n_head, config.max_seq_len, config.rope_base)
        # derived from the config, so not part of the state dict
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position, and the cross-entropy loss when targets are given.

        Args:
            idx: (B, T) int64 token ids, T <= max_seq_len (a longer input raises an error).
            targets: (B, T) int64 next-token ids (-100 = ignore), or None.

        Returns:
            logits (B, T, V) and loss (a scalar) or None.

        Example: Llama(LlamaConfig()) on idx (2, 9) gives logits (2, 9, 256), the logits at t
        never depend on idx[:, t + 1:], and the loss at init is near ln 256 = 5.55. Every layer
        uses sliding_window_mask(T, config.sliding_window) and the model's rope tables.

        Raises:
            AssertionError: T > max_seq_len (the rope tables end there).
        """
        # embeddings, then every block with the same rope tables and mask, then norm and head
        T = idx.shape[1]
        assert T <= self.config.max_seq_len, f"sequence of {T} > max_seq_len"
        # one mask for every layer: causal, or causal within the sliding window
        mask = sliding_window_mask(T, self.config.sliding_window).to(idx.device)
        x = self.tok_embeddings(idx)  # (B, T, C)
        for layer in self.layers:
            x = layer(x, self.rope_cos, self.rope_sin, mask)
        logits = self.output(self.norm(x))  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)
        return logits, loss

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Append max_new_tokens sampled tokens to idx (B, T); temperature 0 is greedy argmax.

        The whole (cropped) context is recomputed for every token; week 08 adds the KV cache.
        """
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.max_seq_len :]
            logits = self(context)[0][:, -1, :]  # (B, V)
            if temperature == 0:
                nxt = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                nxt = torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)
            idx = torch.cat([idx, nxt], dim=1)
        return idx
