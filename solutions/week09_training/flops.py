"""GPT-2 124M by the numbers: parameter count, training FLOPs per token, model FLOPs utilisation.

Kaplan et al. 2020 (sec. 2.1) and the PaLM paper (Chowdhery et al. 2022, appendix B): training costs
about 6 FLOPs per parameter per token (2 forward, 4 backward), plus the attention scores, which have
no parameters: 6 * n_layer * T * C forward and backward for QK^T and as much for AV.
Check: `python tracker.py check w09.flops`
"""

from solutions.week05_gpt.model import GPTConfig


def gpt2_124m_config() -> GPTConfig:
    """The smallest GPT-2: 12 layers, 12 heads, C=768, context 1024, vocab 50257, biases."""
    return GPTConfig(
        block_size=1024, vocab_size=50257, n_layer=12, n_head=12, n_embd=768, dropout=0.0, bias=True
    )


def count_params(config: GPTConfig) -> int:
    """The week-05 GPT's parameter count, from the config alone (no model is built).

    wte V*C + wpe T*C + per block [ln_1, ln_2: 2C each (C with bias=False); c_attn 3C*C (+3C);
    attn.c_proj C*C (+C); mlp.c_fc 4C*C (+4C); mlp.c_proj 4C*C (+C)] + ln_f 2C (C); the head is
    tied to wte, so it adds nothing. Terms in parentheses only with config.bias.

    Example: gpt2_124m_config() -> 124,439,808 (= GPT2LMHeadModel(GPT2Config())'s count).
    """
    C, V, T, L = config.n_embd, config.vocab_size, config.block_size, config.n_layer
    b = 1 if config.bias else 0
    norms = 2 * (C + b * C)  # ln_1, ln_2: weight (+ bias)
    attn = 3 * C * C + b * 3 * C + C * C + b * C
    mlp = 4 * C * C + b * 4 * C + 4 * C * C + b * C
    # the head's weight is wte's (weight tying): counted once, with the embeddings
    return V * C + T * C + L * (norms + attn + mlp) + (C + b * C)


def flops_per_token(config: GPTConfig) -> float:
    """Training FLOPs (forward + backward) per token: 6 * N + 12 * n_layer * n_embd * block_size.

    N = count_params(config) - block_size * n_embd: every parameter but the position table (a
    lookup, no multiply; wte counts, it is the head's matmul). The second term is the attention
    scores and their weighted sum at full context T: 2 * 2 * T * C per layer forward, x3 with
    backward. Worked out in the week's handout; for GPT-2 124M: 6 * 123,653,376 + 12 * 12 * 768 *
    1024 = 855,166,464, within 0.1% of the matmul-by-matmul count 854,438,400.
    """
    n = count_params(config) - config.block_size * config.n_embd
    attention = 12 * config.n_layer * config.n_embd * config.block_size
    return 6 * n + attention


def mfu(flops_per_token: float, tokens_per_second: float, peak_flops: float) -> float:
    """Model FLOPs utilisation: the fraction (0..1) of the hardware's peak FLOP/s the training used.

    Example: 855e6 FLOPs/token at 100,000 tokens/s on a 989e12 FLOP/s GPU (H100 bf16 dense) ->
    8.55e13 / 9.89e14 = 0.0865.
    """
    return flops_per_token * tokens_per_second / peak_flops
