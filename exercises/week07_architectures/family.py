"""A family tour: parameters and KV-cache memory of LLaMA-, Mistral-, Phi- and Qwen-like models.

All four families are the same decoder (RMSNorm, RoPE, SwiGLU, no LayerNorm biases); they differ in
a few switches that move the numbers: grouped-query attention (fewer KV heads: a smaller KV cache),
a sliding window (a capped KV cache), biases on the q/k/v projections (Qwen2), tied input/output
embeddings (small Qwen models), fused projections (Phi-3's qkv_proj and gate_up_proj, which hold
exactly the same parameters as the separate matrices). The configs below are copied from each
model's config.json; transformers' `model.num_parameters()` is the check's oracle.
Check: `python tracker.py check w07.family`
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ArchConfig:
    name: str  # model name, e.g. "Llama-2-7B"
    family: str  # "llama", "mistral", "phi3" or "qwen2": the transformers class with this layout
    vocab_size: int  # V
    hidden_size: int  # C
    intermediate_size: int  # SwiGLU inner size
    n_layer: int  # decoder blocks L
    n_head: int  # query heads H
    n_kv_head: int  # key/value heads
    head_dim: int  # D; usually C / H
    tie_embeddings: bool = False  # output head shares the embedding matrix
    qkv_bias: bool = False  # biases on the q, k, v projections (Qwen2)
    sliding_window: int | None = None  # keys per query; None = full attention
    max_context: int = 4096  # max_position_embeddings in config.json


FAMILIES: tuple[ArchConfig, ...] = (
    ArchConfig("Llama-2-7B", "llama", 32000, 4096, 11008, 32, 32, 32, 128, max_context=4096),
    ArchConfig("Llama-3-8B", "llama", 128256, 4096, 14336, 32, 32, 8, 128, max_context=8192),
    ArchConfig(
        "Mistral-7B-v0.1",
        "mistral",
        32000,
        4096,
        14336,
        32,
        32,
        8,
        128,
        sliding_window=4096,
        max_context=32768,
    ),
    ArchConfig("Phi-3-mini-4k", "phi3", 32064, 3072, 8192, 32, 32, 32, 96, max_context=4096),
    ArchConfig(
        "Qwen2.5-0.5B",
        "qwen2",
        151936,
        896,
        4864,
        24,
        14,
        2,
        64,
        tie_embeddings=True,
        qkv_bias=True,
        max_context=32768,
    ),
    ArchConfig(
        "Qwen2.5-7B",
        "qwen2",
        152064,
        3584,
        18944,
        28,
        28,
        4,
        128,
        qkv_bias=True,
        max_context=131072,
    ),
)


def count_parameters(cfg: ArchConfig) -> int:
    """Exact number of parameters, as transformers' `model.num_parameters()` counts them.

    Per layer: two RMSNorm gains (2C); q (C * H*D), k and v (C * KV*D each), plus H*D + 2*KV*D
    biases if qkv_bias; o (H*D * C, no bias); SwiGLU (3 * C * I). Plus the embedding (V * C), the
    final norm (C) and the output head (V * C) unless tied. Tied weights count once.

    Example: V=10, C=4, I=8, L=1, H=2, KV=1, D=2, untied, no bias:
        per layer 2*4 + 4*4 + 2*(4*2) + 4*4 + 3*4*8 = 8 + 16 + 16 + 16 + 96 = 152;
        total 10*4 + 152 + 4 + 10*4 = 236.
    """
    # TODO(w07.family): return the exact parameter count of cfg's model, tied weights once
    raise NotImplementedError(
        "w07.family: write count_parameters in exercises/week07_architectures/family.py"
    )


def kv_cache_bytes_per_token(cfg: ArchConfig, bytes_per_value: int = 2) -> int:
    """Bytes of K and V cached per token over all layers: 2 * L * KV * D * bytes_per_value.

    Example: Llama-2-7B in bf16: 2 * 32 * 32 * 128 * 2 = 524288 bytes = 512 KiB per token.
    """
    # TODO(w07.family): return the bytes of K and V that one token adds over all layers
    raise NotImplementedError(
        "w07.family: write kv_cache_bytes_per_token in exercises/week07_architectures/family.py"
    )


def kv_cache_bytes(cfg: ArchConfig, context: int, bytes_per_value: int = 2) -> int:
    """KV-cache bytes for one sequence of `context` tokens; a sliding window caps the tokens kept.

    Example: Mistral-7B (window 4096, 128 KiB/token in bf16) at 32768 tokens keeps only 4096
    tokens: 4096 * 131072 bytes = 512 MiB, not 4 GiB.
    """
    # TODO(w07.family): return the cache bytes that one sequence of context tokens needs
    raise NotImplementedError(
        "w07.family: write kv_cache_bytes in exercises/week07_architectures/family.py"
    )


def attention_kind(cfg: ArchConfig) -> str:
    """ "MHA", "MQA" or "GQA (g query heads per KV head)", plus ", sliding window W" if any.

    Examples: H=32, KV=32 -> "MHA"; H=32, KV=8 -> "GQA (4 q/kv)"; H=8, KV=1 -> "MQA";
    Mistral-7B -> "GQA (4 q/kv), sliding window 4096".
    """
    # TODO(w07.family): name cfg's attention as the examples do
    raise NotImplementedError(
        "w07.family: write attention_kind in exercises/week07_architectures/family.py"
    )


def family_table(configs: tuple[ArchConfig, ...] = FAMILIES, context: int = 4096) -> str:
    """A Markdown table comparing parameters, attention type and KV-cache memory (bf16)."""
    lines = [
        f"| model | family | params | attention | KV bytes/token | KV cache @ {context // 1024}K "
        "| max context | KV cache @ max |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for cfg in configs:
        params = count_parameters(cfg)
        per_token = kv_cache_bytes_per_token(cfg)
        at_context = kv_cache_bytes(cfg, context) / 2**20
        at_max = kv_cache_bytes(cfg, cfg.max_context) / 2**20
        lines.append(
            f"| {cfg.name} | {cfg.family} | {params:,} ({params / 1e9:.2f} B) "
            f"| {attention_kind(cfg)} | {per_token:,} ({per_token / 1024:.0f} KiB) "
            f"| {at_context:,.0f} MiB | {cfg.max_context:,} | {at_max:,.0f} MiB |"
        )
    return "\n".join(lines)
