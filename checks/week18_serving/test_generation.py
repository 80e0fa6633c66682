"""Checks for w18.generation: refuse what cannot run, submit what can, with the request's settings.

The state is a stand-in for app.state (support.state: a recording FakeWorker, a byte tokenizer,
a block size other than the server's default), the request a plain object with the validated
fields, so these checks need none of the week's other pieces. Oracles: hand-derived limits
(len(prompt) + max_tokens against block_size, both sides of the edge) and, for the chat prompt,
week 11's render_chatml over the newest turns found by trying every cut.
"""

from types import SimpleNamespace

import pytest

from roadmap.impl import load
from solutions.week11_sft.formatting import render_chatml

from .support import ByteTokenizer, FakeWorker, state

mod = load("week18_serving.generation")
errors = load("week18_serving.errors")


def request(**kw):
    fields = {"model": "tiny", "max_tokens": 4, "temperature": 1.0, "top_p": 1.0, "seed": None}
    return SimpleNamespace(**{**fields, **kw})


class Tok(ByteTokenizer):
    eos_token_id = 99  # not the byte tokenizer's 256: the server must pass its tokenizer's own


def refused(st, req, prompt) -> errors.APIError:
    with pytest.raises(errors.APIError) as info:
        mod.start_generation(st, req, prompt)
    return info.value


def test_a_request_becomes_its_sampling_params_and_one_submission():
    st = state(tok=Tok(), block_size=40)
    req = request(max_tokens=7, temperature=0.3, top_p=0.85, seed=2**40 + 3)
    stream = mod.start_generation(st, req, [5, 6, 7])
    assert len(st.worker.calls) == 1, f"{len(st.worker.calls)} submits, expected exactly 1"
    prompt, p = st.worker.calls[0]
    got = (prompt, p.max_new_tokens, p.temperature, p.top_p, p.eos_token_id, p.seed)
    want = ([5, 6, 7], 7, 0.3, 0.85, 99, 2**40 + 3)
    assert got == want, (
        f"worker.submit got (prompt, max_new_tokens, temperature, top_p, eos_token_id, seed) = "
        f"{got}, expected {want}; likely cause: a setting left at its default instead of the "
        "request's (or eos_token_id not from state.tokenizer)"
    )
    assert stream is st.worker.streams[0], (
        f"start_generation returned {stream!r}, expected the TokenStream worker.submit returned"
    )
    assert st.stats.requests == 1, f"stats.requests {st.stats.requests} after one accepted request"


def test_top_p_one_filters_nothing_and_becomes_none():
    st = state()
    mod.start_generation(st, request(top_p=1.0, temperature=0.0), [1])
    mod.start_generation(st, request(top_p=0.999), [1])
    got = [p.top_p for _, p in st.worker.calls]
    assert got == [None, 0.999], (
        f"top_p 1.0 and 0.999 reached the engine as {got}; expected [None, 0.999] (1.0 keeps every "
        "token: None; anything below is a real filter, also with temperature 0)"
    )
    assert st.worker.calls[0][1].temperature == 0.0


@pytest.mark.parametrize("block_size", [40, 41])
def test_the_context_window_is_the_states_block_size_both_sides_of_the_edge(block_size):
    """prompt + max_tokens == block_size fits exactly; one more token does not."""
    st = state(block_size=block_size)
    prompt = list(range(10))
    try:
        mod.start_generation(st, request(max_tokens=block_size - 10), prompt)
    except errors.APIError as exc:
        pytest.fail(
            f"block_size {block_size}: a prompt of 10 tokens + max_tokens {block_size - 10} fills "
            f"the window exactly and must run, got APIError({exc.status}, {exc.message!r}); likely "
            "cause: '>=' where the rule is '>', or a block size other than state.block_size"
        )
    assert len(st.worker.calls) == 1, f"{len(st.worker.calls)} submits, expected 1"
    err = refused(st, request(max_tokens=block_size - 9), prompt)
    assert (err.status, err.code) == (400, "context_length_exceeded"), (
        f"block_size {block_size}: 10 + {block_size - 9} tokens: APIError({err.status}, code "
        f"{err.code!r}), expected 400 'context_length_exceeded'"
    )
    assert "context" in err.message and err.type_ == "invalid_request_error", err.message
    assert len(st.worker.calls) == 1 and st.stats.requests == 1, (
        "a request too long for the context window was submitted or counted"
    )


def test_an_unknown_model_is_404_and_checked_first():
    st = state(model_name="my-model")
    err = refused(st, request(model="My-Model"), [1, 2])
    assert (err.status, err.type_, err.code) == (404, "invalid_request_error", "model_not_found"), (
        f"model 'My-Model' on a server of 'my-model': APIError({err.status}, {err.type_!r}, "
        f"{err.code!r}), expected (404, 'invalid_request_error', 'model_not_found')"
    )
    assert "My-Model" in err.message, f"the message {err.message!r} must name the requested model"
    err = refused(st, request(model="gpt-4", max_tokens=10_000), [1, 2])
    assert err.status == 404, (
        f"a wrong model AND too many tokens: {err.status}; expected 404 (the model is checked first)"
    )
    assert st.worker.calls == [] and st.stats.requests == 0


def test_an_empty_prompt_is_400_and_nothing_runs():
    st = state()
    err = refused(st, request(), [])
    assert err.status == 400 and "prompt" in err.message.lower(), (
        f"an empty prompt: APIError({err.status}, {err.message!r}); expected 400 naming the prompt "
        "(the worker would raise ValueError: a 500)"
    )
    assert st.worker.calls == []


def test_a_full_queue_is_429_and_not_counted():
    st = state(work=FakeWorker([]))
    st.worker.full = True
    err = refused(st, request(), [1])
    assert (err.status, err.type_, err.code) == (429, "rate_limit_error", "queue_full"), (
        f"QueueFull from the worker: APIError({err.status}, {err.type_!r}, {err.code!r}), expected "
        "(429, 'rate_limit_error', 'queue_full')"
    )
    assert st.stats.requests == 0, (
        f"stats.requests {st.stats.requests} after a refused request; count only accepted ones "
        "(after submit returns)"
    )


def turns_chat(n: int) -> list[dict]:
    msgs = [{"role": "system", "content": "S"}]
    for i in range(n):
        msgs += [
            {"role": "user", "content": f"q{i} " * 3},
            {"role": "assistant", "content": f"a{i} " * 3},
        ]
    return msgs + [{"role": "user", "content": "last"}]


def newest_that_fit(msgs: list[dict], budget: int) -> list[int]:
    """Oracle: the system message plus the longest run of newest turns whose ChatML fits."""
    system, rest = msgs[:1], msgs[1:]
    starts = [i for i, m in enumerate(rest) if m["role"] == "user"]
    for s in starts:
        ids = list(render_chatml(system + rest[s:], add_generation_prompt=True).encode())
        if len(ids) <= budget:
            return ids
    raise AssertionError("test data: nothing fits")


def prompt_sizes(msgs: list[dict]) -> list[int]:
    """Tokens of the system message plus the newest k turns, for k = 1, 2, ..."""
    system, rest = msgs[:1], msgs[1:]
    starts = [i for i, m in enumerate(rest) if m["role"] == "user"][::-1]
    return [len(render_chatml(system + rest[s:], add_generation_prompt=True)) for s in starts]


@pytest.mark.parametrize("max_tokens", [8, 30])
def test_chat_prompt_leaves_room_for_max_tokens(max_tokens):
    """block_size is 3 tokens more than the prompt of the two newest turns: with the room that
    max_tokens needs, only the newest turn fits (the whole window would hold two)."""
    msgs = turns_chat(10)
    sizes = prompt_sizes(msgs)
    block_size = sizes[1] + 3
    assert sizes[0] <= block_size - max_tokens < sizes[1], "test data"
    got = mod.chat_prompt(msgs, ByteTokenizer().encode, block_size, max_tokens)
    want = newest_that_fit(msgs, block_size - max_tokens)
    assert got == want, (
        f"block_size {block_size}, max_tokens {max_tokens}: a prompt of {len(got)} tokens, "
        f"expected the {len(want)} tokens of the system prompt and the newest turn that fits in "
        f"{block_size - max_tokens} (block_size - max_tokens: the reply needs its room too)"
    )
    got = mod.chat_prompt(msgs, ByteTokenizer().encode, sizes[2] + max_tokens, max_tokens)
    assert len(got) == sizes[2], (
        f"block_size {sizes[2] + max_tokens}, max_tokens {max_tokens}: a prompt of {len(got)} "
        f"tokens, expected the {sizes[2]} of the three newest turns (they fit exactly)"
    )


def test_chat_prompt_that_fits_exactly_is_kept_whole():
    msgs = turns_chat(1)
    n = len(render_chatml(msgs, add_generation_prompt=True).encode())
    got = mod.chat_prompt(msgs, ByteTokenizer().encode, n + 5, 5)
    assert len(got) == n, (
        f"a chat of {n} tokens with block_size {n + 5} and max_tokens 5 fits exactly: got "
        f"{len(got)} tokens, expected all {n}"
    )


def test_a_chat_that_cannot_fit_is_400_context_length_exceeded():
    msgs = [{"role": "system", "content": "S" * 50}, {"role": "user", "content": "hello"}]
    with pytest.raises(errors.APIError) as info:
        mod.chat_prompt(msgs, ByteTokenizer().encode, 64, 8)
    err = info.value
    assert (err.status, err.code) == (
        400,
        "context_length_exceeded",
    ) and "context" in err.message, (
        f"a system prompt + turn longer than block_size - max_tokens: APIError({err.status}, "
        f"{err.code!r}, {err.message!r}); expected 400 'context_length_exceeded' saying 'context' "
        "(chat_prompt_ids raises ValueError: turn it into the client's error)"
    )
