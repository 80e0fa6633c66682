"""Checks for w11.generate: answers sampled until the end token with the week-08 sampler.

Oracle: the week-05 GPT's own `generate` (greedy, and seeded sampling: one torch.multinomial per
step on softmax(logits / temperature), the same draws as week-08 sample_next) and a loop over
week-08 `sample_next` for top-p.
"""

import torch

from checks.week11_sft.support import tiny_gpt
from roadmap.impl import load
from solutions.week08_inference.sampling import SamplingParams, sample_next

mod = load("week11_sft.generate")


def oracle(model, prompt, n, temperature=0.0, seed=None):
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), n, temperature=temperature, generator=g)
    return out[0, len(prompt) :].tolist()


def test_greedy_answer_equals_the_gpt_generate_and_stops_before_the_stop_token():
    model = tiny_gpt(seed=1, vocab_size=31, scale=0.5)
    prompt = [3, 1, 4, 1, 5]
    full = oracle(model, prompt, 12)
    stop = next(t for t in range(31) if t not in full)
    got = mod.generate_response(model, prompt, stop, 12)
    assert list(got) == full, (
        f"generate_response(model, prompt, stop_id {stop} never produced, 12, greedy) = {got}, "
        f"expected {full}\n  likely cause: feed prompt + generated tokens, take the last position's "
        "logits, sample_next(temperature=0) is argmax; return only the new tokens"
    )
    cut = full.index(full[4])  # the first time the token at step 4 appears
    got = mod.generate_response(model, prompt, full[4], 12)
    assert list(got) == full[:cut], (
        f"generate_response(..., stop_id={full[4]}) = {got}, expected {full[:cut]}\n  likely cause: "
        "stop at the first sampled stop_id and do not return it"
    )


def test_max_new_tokens_and_the_block_size_window():
    """A prompt longer than block_size (20 > 16): only its last 16 ids are fed, like GPT.generate."""
    model = tiny_gpt(seed=2, vocab_size=29, block_size=16, scale=0.5)
    prompt = [(7 * i) % 29 for i in range(20)]
    full = oracle(model, prompt, 9)
    stop = next(t for t in range(29) if t not in full)
    got = mod.generate_response(model, prompt, stop, 9)
    assert list(got) == full, (
        f"generate_response with a 20-token prompt and block_size 16 = {got}, expected {full}\n"
        "  likely cause: crop the input to its last block_size ids at every step"
    )
    assert mod.generate_response(model, prompt, stop, 0) == [], "max_new_tokens=0 must give []"
    assert len(mod.generate_response(model, prompt, stop, 3)) == 3, (
        "max_new_tokens=3 must give 3 tokens"
    )


def test_seeded_sampling_and_top_p_use_sample_next():
    model = tiny_gpt(seed=3, vocab_size=23, scale=0.3).train()
    prompt = [1, 2, 3]
    full = oracle(model.eval(), prompt, 10, temperature=0.9, seed=7)
    model.train()
    stop = next(t for t in range(23) if t not in full)
    g = torch.Generator().manual_seed(7)
    got = mod.generate_response(
        model, prompt, stop, 10, SamplingParams(temperature=0.9), generator=g
    )
    assert list(got) == full, (
        f"generate_response(temperature 0.9, generator seeded 7) = {got}, expected {full}\n  likely "
        "cause: one sample_next(logits of the last position, params, generator=generator) per "
        "step, no other draws from the generator"
    )
    assert model.training, "generate_response must give the model back its train mode"
    g = torch.Generator().manual_seed(11)
    nucleus = SamplingParams(temperature=1.0, top_p=0.5)
    ids, expected = torch.tensor([prompt]), []
    with torch.no_grad():
        model.eval()
        for _ in range(8):
            nxt = sample_next(model(ids)[0][:, -1], nucleus, generator=g)
            expected.append(int(nxt))
            ids = torch.cat([ids, nxt[:, None]], 1)
    model.train()
    stop = next(t for t in range(23) if t not in expected)
    got = mod.generate_response(
        model,
        prompt,
        stop,
        8,
        nucleus,
        generator=torch.Generator().manual_seed(11),
    )
    assert list(got) == expected, (
        f"generate_response(top_p=0.5, seed 11) = {got}, expected {expected}\n  likely cause: pass "
        "params through to sample_next; run the model in eval mode (no dropout) while generating"
    )
