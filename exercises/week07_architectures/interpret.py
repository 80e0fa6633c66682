"""Looking inside your model: hooks on the week-05 GPT, the logit lens, induction heads.

Every block of a GPT reads the residual stream (B, T, C) and adds its two branches back to it;
the final LayerNorm and the unembedding turn the last stream into logits. Three tools look at
what flows through it without changing the model:
- `record`: forward hooks that keep every block's residual stream before and after it, and every
  attention pattern (B, H, T, T). The week-05 attention calls F.scaled_dot_product_attention, which
  never materialises the pattern, so a hook keeps the attention module's input and
  `attention_pattern` recomputes the weights from it: the model's own forward stays as it is.
- `logit_lens` (nostalgebraist 2020): each layer's stream read through the final LayerNorm and the
  unembedding, as if the model stopped there; `lens_losses` scores each layer's guess.
- `induction_scores` (Olsson et al. 2022): on a random sequence repeated, [r, r], an induction head
  attends from each token of the repeat to the token that followed its first occurrence, and so
  can copy it.
TransformerLens (`run_with_cache`, `blocks.{l}.attn.hook_pattern`, `hook_resid_pre`) does this
for many models; the checks compare with it (`pip install -e ".[interp]"`).
Check: `python tracker.py check w07.hooks` (then w07.logit_lens, w07.induction)
"""

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from solutions.week05_gpt.model import GPT, CausalSelfAttention


@dataclass
class Trace:
    """What the hooks of `record` saw in the latest forward pass: one entry per block l.

    resid_pre[l]: (B, T, C) the residual stream entering block l (resid_pre[0] is the token plus
        position embeddings).
    resid_post[l]: (B, T, C) the stream leaving block l (equal to resid_pre[l + 1]).
    patterns[l]: (B, H, T, T) block l's attention weights: patterns[l][b, h, t] is query t's
        distribution over the keys 0..t (0 on the keys after t).
    Entries are None until a forward pass has run.
    """

    resid_pre: list[torch.Tensor | None] = field(default_factory=list)
    resid_post: list[torch.Tensor | None] = field(default_factory=list)
    patterns: list[torch.Tensor | None] = field(default_factory=list)


def attention_pattern(attn: CausalSelfAttention, x: torch.Tensor) -> torch.Tensor:
    """The attention weights a week-05 CausalSelfAttention uses on its input x.

    Args:
        attn: the module: its fused c_attn gives q, k, v (C channels each, in that order), and
            attn.n_head splits C into H heads of D = C // H channels (head h: channels h*D..).
        x: (B, T, C) the module's input (in block l, the output of ln_1).

    Returns:
        (B, H, T, T): softmax over the keys of q·k / sqrt(D), future keys masked out: row t sums
        to 1 and is exactly 0 for keys s > t. These are the weights that the module's
        F.scaled_dot_product_attention(q, k, v, is_causal=True) multiplies v by, so
        pattern @ v (per head) is the module's output before c_proj.

    Example: T = 3 and q = k = 0 everywhere: every row is uniform over the keys it may see,
        [[1, 0, 0], [1/2, 1/2, 0], [1/3, 1/3, 1/3]], for every batch row and head.
    """
    # TODO(w07.hooks): return the causal attention weights attn computes from x, per head
    raise NotImplementedError(
        "w07.hooks: write attention_pattern in exercises/week07_architectures/interpret.py"
    )


@contextlib.contextmanager
def record(model: GPT) -> Iterator[Trace]:
    """Fill a Trace from every forward pass of `model` run inside the with-block.

    Usage:
        with record(model) as trace:
            logits, _ = model(idx)  # idx (B, T)
        trace.patterns[0]  # (B, H, T, T), block 0's attention weights

    The hooks only look: outputs inside the block equal those without hooks, and the model's
    parameters and forward are untouched. Each list of the Trace holds n_layer entries, those of
    the latest forward pass (a second pass replaces the entries of the first, it does not add
    more), detached from the autograd graph. When the block ends, normally or by an exception,
    every hook `record` added is removed; the exception propagates.

    Example: a 2-block, 4-head GPT on idx (3, 7): trace.resid_pre and trace.resid_post hold two
        (3, 7, C) tensors each, trace.patterns two (3, 4, 7, 7).
    """
    # TODO(w07.hooks): fill the trace on every forward pass; leave no hook behind, however it ends
    raise NotImplementedError(
        "w07.hooks: write record in exercises/week07_architectures/interpret.py"
    )


def logit_lens(model: GPT, trace: Trace) -> torch.Tensor:
    """Every layer's residual stream read as logits through the final LayerNorm and the unembedding.

    Args:
        model: the GPT the trace was recorded on (its transformer.ln_f and lm_head are used).
        trace: filled by `record` (L = n_layer entries each).

    Returns:
        (L + 1, B, T, V): entry 0 reads the embeddings (trace.resid_pre[0]), entry l >= 1 the
        stream after block l (trace.resid_post[l - 1]); entry L is the model's own logits.

    Example: a 2-block GPT with V = 65 on idx (3, 7) gives (3, 3, 7, 65) and lens[2] equals
        model(idx)[0]. With every block's c_proj weights and biases at 0 the blocks add nothing,
        so all three entries equal the model's logits.
    """
    # TODO(w07.logit_lens): read the stream at every depth through the model's own readout
    raise NotImplementedError(
        "w07.logit_lens: write logit_lens in exercises/week07_architectures/interpret.py"
    )


def lens_losses(lens_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The next-token cross-entropy of every entry of a logit lens.

    Args:
        lens_logits: (L + 1, B, T, V) from logit_lens.
        targets: (B, T) int64 next-token ids; positions set to -100 do not count.

    Returns:
        (L + 1,): entry l is the mean, over the counted positions of the whole batch, of
        -log softmax(lens_logits[l, b, t])[targets[b, t]]: the loss the model would have if it
        stopped after block l. The last entry equals model(idx, targets)[1]. If no position
        counts, every entry is nan (as F.cross_entropy's mean is).

    Example: all-zero logits over V = 8 give ln 8 = 2.0794 at every entry, whatever the targets;
        logits of 10 on the target and 0 elsewhere give log(1 + 7 e^-10) = 0.000318.
    """
    # TODO(w07.logit_lens): return each entry's mean cross-entropy over the counted positions
    raise NotImplementedError(
        "w07.logit_lens: write lens_losses in exercises/week07_architectures/interpret.py"
    )


def repeated_tokens(
    batch: int, half: int, vocab_size: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(B, 2 * half) int64: random tokens r (B, half), uniform over the vocabulary, then r again.

    Given code. Example: half = 3 might give [[5, 1, 7, 5, 1, 7]].
    """
    r = torch.randint(0, vocab_size, (batch, half), generator=generator)  # (B, half)
    return torch.cat([r, r], dim=1)


def induction_scores(patterns: list[torch.Tensor], half: int) -> torch.Tensor:
    """How much each head attends like an induction head on repeated sequences [r, r].

    Args:
        patterns: L tensors (B, H, T, T) with T = 2 * half: Trace.patterns of a forward pass on
            tokens [r, r] (repeated_tokens).
        half: the length of r.

    Returns:
        (L, H): entry [l, h] is the mean, over the batch rows and over the `half` query positions
        t = half, half + 1, ..., 2 * half - 1 (the whole repeat, nothing of the first copy), of
        patterns[l][b, h, t, t - half + 1]: the weight on the position right after the token's
        first occurrence t - half, i.e. on the token that came next last time. A perfect
        induction head scores 1; a previous-token head (key t - 1) and a head that looks at the
        earlier copy of the token itself (key t - half) score 0.

    Example: half = 3, T = 6: queries 3, 4, 5 are read at keys 1, 2, 3. A head with uniform causal
        attention (row t = 1 / (t + 1) on keys 0..t) scores (1/4 + 1/5 + 1/6) / 3 = 0.2056.

    Raises:
        ValueError: if the patterns' T is not 2 * half.
    """
    # TODO(w07.induction): return each head's mean weight on the induction key
    raise NotImplementedError(
        "w07.induction: write induction_scores in exercises/week07_architectures/interpret.py"
    )


def repeat_targets(tokens: torch.Tensor, half: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token targets for scoring the first copy and the repeat of tokens = [r, r] apart.

    Args:
        tokens: (B, 2 * half) int64 from repeated_tokens.
        half: the length of r.

    Returns:
        (first, second), each (B, 2 * half) int64 with -100 wherever the half does not count:
        first: position t = 0 .. half - 2 holds tokens[:, t + 1], a later token of the first
            copy (random: nothing earlier tells it);
        second: position t = half .. 2 * half - 2 holds tokens[:, t + 1], a token of the repeat
            that follows an earlier occurrence of tokens[:, t] (an induction head can copy it).
        Position half - 1 (its next token r[0] starts the repeat: nothing announces it) and the
        last position (no next token) are -100 in both.

    Example: tokens [[5, 1, 7, 5, 1, 7]], half 3 -> first [[1, 7, -100, -100, -100, -100]],
        second [[-100, -100, -100, 1, 7, -100]].
    """
    # TODO(w07.induction): return both target tensors, -100 outside each half's window
    raise NotImplementedError(
        "w07.induction: write repeat_targets in exercises/week07_architectures/interpret.py"
    )
