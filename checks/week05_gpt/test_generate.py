"""Checks for w05.generate: the sampling loop (crop, greedy, temperature, top-k, seed).

Most checks replace the network with a counting rule (`next token = last + 1 mod V`), so the
expected text can be written down by hand and the loop is tested on its own.
"""

import torch

from roadmap.checking import generator
from roadmap.impl import load

model = load("week05_gpt.model")
V = 11


def counting_gpt(block_size: int = 6, seen: list | None = None) -> torch.nn.Module:
    """A GPT whose forward says: the next token is (last + 1) % V, with margin 10 in the logits."""
    torch.manual_seed(0)
    gpt = model.GPT(
        model.GPTConfig(block_size=block_size, vocab_size=V, n_layer=1, n_head=1, n_embd=8)
    )

    def forward(idx, targets=None):
        assert idx.size(1) <= block_size, (
            f"generate fed {idx.size(1)} tokens to a model with block_size {block_size}: crop the "
            "context to its last block_size tokens"
        )
        if seen is not None:
            seen.append(idx.size(1))
        logits = 10.0 * torch.nn.functional.one_hot((idx + 1) % V, V).float()  # (B, T, V)
        return logits, None

    gpt.forward = forward  # this check's own stand-in network
    return gpt


def test_greedy_counts_up():
    """Prompt [9, 3], temperature 0, 4 new tokens: 3 -> 4 -> 5 -> 6 -> 7 (the first position's
    logits would say 10, the prediction after token 9)."""
    out = counting_gpt().generate(torch.tensor([[9, 3]]), 4, temperature=0)
    assert out.tolist() == [[9, 3, 4, 5, 6, 7]], (
        f"generate([[9, 3]], 4, temperature=0) gave {out.tolist()}, expected [[9, 3, 4, 5, 6, 7]]: "
        "append argmax of the LAST position's logits each step"
    )


def test_long_prompts_are_cropped_to_block_size():
    """A prompt of 9 tokens with block_size 6: the model may only ever see the last 6."""
    seen = []
    prompt = torch.arange(9)[None] % V
    out = counting_gpt(block_size=6, seen=seen).generate(prompt, 3, temperature=0)
    assert seen == [6, 6, 6], (
        f"the model saw contexts of lengths {seen}; expected the last block_size tokens, 6 at "
        "every step, for a prompt longer than block_size; likely cause: crop with "
        "idx[:, -block_size:], exactly block_size tokens"
    )
    assert out.tolist() == [list(range(9)) + [9, 10, 0]], (
        f"generate on a 9-token prompt gave {out.tolist()}, expected {list(range(9)) + [9, 10, 0]}; "
        "likely cause: the crop keeps the first block_size tokens instead of the LAST block_size "
        "(idx[:, -block_size:]), or the prompt was not kept in the output"
    )


def test_top_k_never_samples_outside_the_k_best():
    gpt = model.GPT(model.GPTConfig(block_size=8, vocab_size=V, n_layer=1, n_head=1, n_embd=8))
    ranking = torch.arange(V, dtype=torch.float)  # token V-1 is best, then V-2, ...
    gpt.forward = lambda idx, targets=None: (ranking.expand(idx.size(0), idx.size(1), V), None)
    try:
        out = gpt.generate(
            torch.zeros(50, 1, dtype=torch.long),
            6,
            temperature=2.0,
            top_k=3,
            generator=generator(1),
        )
    except RuntimeError as error:
        raise AssertionError(
            f"generate(top_k=3, temperature=2) raised {error}; likely cause: the probabilities are "
            "not a softmax over the vocabulary of each row (dim=-1)"
        ) from error
    new = out[:, 1:]
    assert new.min() >= V - 3, (
        f"generate(top_k=3) sampled token {new.min().item()}; allowed are {V - 3}..{V - 1}"
    )
    assert len(new.unique()) == 3, (
        f"generate(top_k=3, temperature=2) over 300 draws used tokens {new.unique().tolist()}; all 3 "
        "of the top-3 should appear (each has probability >= 0.21; missing one has chance < 1e-30)"
    )


def fixed_logits_gpt(logits: torch.Tensor) -> torch.nn.Module:
    """A GPT whose forward gives the same next-token logits (V,) at every position."""
    torch.manual_seed(0)
    gpt = model.GPT(model.GPTConfig(block_size=4, vocab_size=V, n_layer=1, n_head=1, n_embd=8))

    def forward(idx, targets=None):
        return logits.expand(idx.size(0), idx.size(1), V).clone(), None

    gpt.forward = forward
    return gpt


def test_sampling_is_reproducible_with_a_seeded_generator():
    torch.manual_seed(1)
    gpt = model.GPT(
        model.GPTConfig(block_size=8, vocab_size=V, n_layer=2, n_head=2, n_embd=16)
    ).eval()
    prompt = torch.randint(0, V, (2, 3), generator=generator(2))
    got = gpt.generate(prompt, 12, temperature=0.7, generator=generator(3))
    again = gpt.generate(prompt, 12, temperature=0.7, generator=generator(3))
    assert torch.equal(got, again), "generate with the same seeded generator must repeat itself"
    other = gpt.generate(prompt, 12, temperature=0.7, generator=generator(4))
    assert not torch.equal(got, other), (
        "generate gave the same 24 sampled tokens with generators seeded 3 and 4: sample with "
        "the `generator` argument"
    )


def test_temperature_samples_follow_softmax_of_scaled_logits():
    """Statistics: 3,000 rows, one new token each, from p = [.1, .2, .3, .4] at temperature 0.5.

    softmax(log p / 0.5) is p^2 normalised: [1, 4, 9, 16] / 30. Pearson chi-square with 3 degrees
    of freedom must stay below 21.11, the 1e-4 false-alarm bound (the seed is fixed, so a correct
    sampler passes every time). Any sampler that draws from the right distribution passes.
    """
    p = torch.tensor([0.1, 0.2, 0.3, 0.4] + [0.0] * (V - 4))
    gpt = fixed_logits_gpt(p.log())
    n = 3000
    out = gpt.generate(
        torch.zeros(n, 1, dtype=torch.long), 1, temperature=0.5, generator=generator(7)
    )
    counts = torch.bincount(out[:, -1], minlength=V).double()
    assert counts[4:].sum() == 0, (
        f"sampled tokens {torch.nonzero(counts[4:]).flatten().add(4).tolist()} whose probability is 0"
    )
    expected = n * torch.tensor([1.0, 4.0, 9.0, 16.0], dtype=torch.float64) / 30
    chi2 = float(((counts[:4] - expected) ** 2 / expected).sum())
    assert chi2 < 21.11, (
        f"generate(temperature=0.5) sampled frequencies {(counts[:4] / n).tolist()}, expected "
        f"{(expected / n).tolist()} (chi2 = {chi2:.1f} > 21.11); likely cause: temperature not "
        "dividing the logits (or multiplying them), or sampling from logits instead of softmax"
    )
