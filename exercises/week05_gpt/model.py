"""A GPT in one file: LayerNorm, GELU MLP, causal self-attention, the pre-LN block, the model, generation.

Module names match the GPT-2 checkpoint (`wte`, `wpe`, `h.{i}.ln_1`, `attn.c_attn`, `mlp.c_fc`,
`ln_f`, `lm_head`), so loading real weights is a key-by-key copy (transpose the Conv1D weights of
c_attn, c_proj and c_fc: HF stores them (in, out), nn.Linear stores (out, in)).
References: Radford et al. 2019 (GPT-2), Karpathy's nanoGPT model.py, Ba et al. 2016 (LayerNorm),
Hendrycks & Gimpel 2016 (GELU).
Check: `python tracker.py check w05.layernorm` (then w05.mlp, w05.block, w05.gpt, w05.generate)
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    block_size: int = 256  # max context length
    vocab_size: int = 65  # e.g. characters of tiny Shakespeare
    n_layer: int = 4  # number of transformer blocks
    n_head: int = 4  # attention heads per block; n_embd must be divisible by it
    n_embd: int = 128  # channels C of the residual stream
    dropout: float = 0.0  # on embeddings, attention weights and residual branches while training
    bias: bool = True  # biases in Linear and LayerNorm, like GPT-2


class LayerNorm(nn.Module):
    """LayerNorm over the last dimension, with an optional bias (PyTorch's always has one).

    Each position is normalised on its own, over its C channels: the statistics never mix tokens,
    sequences or batch rows, so the result does not depend on padding or on what else is in the batch.
    """

    def __init__(self, ndim: int, bias: bool = True, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise each row of the last dimension to mean 0, variance 1, then scale and shift.

        Args:
            x: (..., C) e.g. (B, T, C).

        Returns:
            (..., C): (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance
            (divide by C, not C - 1), as torch.nn.LayerNorm does.

        Example: x = [[1., 2., 3.]], weight 1, bias 0, eps 1e-5: mean 2, var 2/3 ->
        [[-1.2247, 0., 1.2247]].

        Built from scratch: the check switches off F.layer_norm and torch.layer_norm while it
        runs.
        """
        # TODO(w05.layernorm): return each row normalised over its last dim, then scaled and shifted
        raise NotImplementedError(
            "w05.layernorm: write LayerNorm.forward in exercises/week05_gpt/model.py"
        )


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU, tanh approximation (GPT-2's "gelu_new"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Example: gelu(0) = 0; gelu(1) = 0.8412; gelu(x) -> x for large x; gelu(x) -> 0 for very
    negative x.

    Built from scratch: the check switches off F.gelu while it runs.
    """
    # TODO(w05.mlp): return the tanh approximation of GELU given in the docstring
    raise NotImplementedError("w05.mlp: write gelu in exercises/week05_gpt/model.py")


class MLP(nn.Module):
    """The feed-forward half of a block: expand to 4C, GELU, project back to C."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C), each position on its own: c_proj(gelu(c_fc(x))), then dropout.

        Example: x (2, 9, 16) -> (2, 9, 16) through a (2, 9, 64) hidden layer; permuting the
        positions of x permutes the output the same way. F.gelu is switched off in the check.
        """
        # TODO(w05.mlp): return the position-wise MLP of the docstring
        raise NotImplementedError("w05.mlp: write MLP.forward in exercises/week05_gpt/model.py")


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention (week 04), with GPT-2's fused q, k, v projection."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0, "n_embd must be divisible by n_head"
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)  # merge heads
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C); position t attends to positions 0..t only."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # 3 x (B, T, C)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, D)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, D)
        # softmax(q k^T / sqrt(D) + causal mask) v, fused; week 04 writes it out by hand
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): heads side by side again
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    """One transformer block, pre-LN: normalise, transform, add back to the residual stream."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C): x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)).

        Example: with attn and mlp's c_proj weights and biases at 0 both branches add 0, so the
        block returns x unchanged; with weights it equals torch's nn.TransformerEncoderLayer
        (norm_first=True, causal mask) with the same weights.
        """
        # TODO(w05.block): return x after the pre-LN attention and MLP residual branches
        raise NotImplementedError("w05.block: write Block.forward in exercises/week05_gpt/model.py")


class GPT(nn.Module):
    """The GPT-2 architecture: embeddings, a stack of blocks, a final LayerNorm, a tied head."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),  # token embeddings
                wpe=nn.Embedding(config.block_size, config.n_embd),  # learned positions
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # weight tying (Press & Wolf 2017): the input embedding is the output projection
        self.transformer.wte.weight = self.lm_head.weight
        self._init_weights()

    def _init_weights(self) -> None:
        """GPT-2 init, in place: every Linear and Embedding weight ~ N(0, 0.02), every bias 0, and
        the residual output projections (`c_proj.weight` of attn and mlp) ~ N(0, 0.02 / sqrt(2 n_layer)).

        LayerNorm keeps weight 1 and bias 0 from its constructor. With n_layer=4 the c_proj std is
        0.02 / sqrt(8) = 0.00707.
        """
        # TODO(w05.gpt): initialise every weight as GPT-2 does, as the docstring gives
        raise NotImplementedError(
            "w05.gpt: write GPT._init_weights in exercises/week05_gpt/model.py"
        )

    def get_num_params(self, non_embedding: bool = True) -> int:
        """Parameter count; the tied head is counted once, positions left out if `non_embedding`."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position, and the mean cross-entropy if targets are given.

        Args:
            idx: (B, T) int64 token ids, T <= block_size.
            targets: (B, T) int64 next-token ids, or None; positions set to -100 are ignored.

        Returns:
            logits (B, T, V) and the scalar loss (None without targets).

        Example: a freshly initialised GPT with V=65 gives a loss near ln 65 = 4.17 on any
        batch; T == block_size is accepted, T == block_size + 1 raises.

        Raises:
            AssertionError: T > block_size (there is no position embedding for it).
        """
        # TODO(w05.gpt): return the next-token logits of every position, and the loss on targets
        raise NotImplementedError("w05.gpt: write GPT.forward in exercises/week05_gpt/model.py")

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend idx one sampled token at a time.

        Args:
            idx: (B, T) int64 prompt; it may be longer than block_size, only the last block_size
                tokens are fed to the model.
            max_new_tokens: the most tokens to add.
            temperature: divide the logits by it; 0 means greedy (argmax).
            top_k: if set, sample only among the k most likely tokens.
            generator: a torch.Generator for reproducible sampling.

        Returns:
            (B, T + max_new_tokens) int64: the prompt followed by the new tokens.

        Example: a model whose logits always favour (last token + 1) % V, with temperature=0,
        turns [[1, 2]] and max_new_tokens=3 into [[1, 2, 3, 4, 5]]; with top_k=1 any temperature
        gives the same; the same generator seed gives the same samples.
        """
        # TODO(w05.generate): append max_new_tokens tokens, greedy or sampled as the arguments say
        raise NotImplementedError(
            "w05.generate: write GPT.generate in exercises/week05_gpt/model.py"
        )
