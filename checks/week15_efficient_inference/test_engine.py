"""Checks for w15.engine: the batched forward over a paged cache and the engine's step.

Oracles: the week-05 GPT's own forward pass on each whole sequence (batched_forward's logits and
the keys it stores), one-at-a-time greedy generation by rerunning the model (the engine's outputs,
with and without forced preemption), and week 08's sample_next with a generator seeded like the
request (sampled outputs).
"""

import functools

import pytest
import torch

from checks.week15_efficient_inference.support import (
    greedy_one_at_a_time,
    random_requests,
    tiny_gpt,
)
from roadmap.checking import assert_close, generator
from roadmap.impl import load
from solutions.week08_inference.sampling import sample_next

bm_mod = load("week15_efficient_inference.block_manager")
kv_mod = load("week15_efficient_inference.kv_store")
mod = load("week15_efficient_inference.engine")

PER_SEQUENCE = (
    "each new token sits at position start_b + t (start_b = cache.lengths before the call) and "
    "attends to keys 0 .. its own position of ITS sequence only (a mask per row; padding masked); "
    "return the logits of each chunk's LAST token"
)


def paged(model, num_blocks, block_size):
    """An empty paged cache for the model: the block manager and the tensors."""
    return bm_mod.BlockManager(num_blocks, block_size), kv_mod.KVStore.for_model(
        model, num_blocks, block_size
    )


def stored_keys(cache, kv, seq_id, layer):
    """The keys of positions 0 .. length - 1 of one sequence, read from the store's tensor at the
    slots of its block table (by hand, not through the store's gather)."""
    bs = cache.block_size
    table = cache.tables[seq_id]
    blocks = [table[p // bs] for p in range(cache.lengths[seq_id])]
    offsets = [p % bs for p in range(cache.lengths[seq_id])]
    return kv.k[layer, blocks, offsets]


def full_last_logits(model, tokens):
    with torch.no_grad():
        return model(torch.tensor([tokens]))[0][0, -1]


def layer0_keys(model, tokens):
    """Keys of layer 0 for a whole sequence, straight from the model's modules: (T, H, D)."""
    tr = model.transformer
    with torch.no_grad():
        idx = torch.tensor([tokens])
        x = tr.wte(idx) + tr.wpe(torch.arange(len(tokens)))
        block = tr.h[0]
        C = x.shape[-1]
        k = block.attn.c_attn(block.ln_1(x)).split(C, dim=2)[1]
        return k.view(len(tokens), block.attn.n_head, C // block.attn.n_head)


def test_batched_forward_mixes_prefills_and_decodes():
    """Step 1: prefill three sequences of 5, 1 and 9 tokens in one call. Step 2: seq 0 decodes one
    token, seq 1 feeds a chunk of 3, new seq 3 prefills 7. Every returned row equals the model's
    last-position logits on that sequence's whole token list; the cache holds each sequence's
    layer-0 keys at its positions."""
    model = tiny_gpt(seed=1)
    g = generator(1)
    seqs = {
        i: torch.randint(0, 23, (n,), generator=g).tolist()
        for i, n in [(0, 6), (1, 4), (2, 9), (3, 7)]
    }
    cache, kv = paged(model, num_blocks=20, block_size=4)
    steps = [
        ([0, 1, 2], [seqs[0][:5], seqs[1][:1], seqs[2]]),
        ([0, 1, 3], [seqs[0][5:], seqs[1][1:], seqs[3]]),
    ]
    seen = {i: [] for i in seqs}
    for n_step, (sids, chunks) in enumerate(steps, 1):
        logits = mod.batched_forward(model, cache, kv, sids, chunks)
        assert tuple(logits.shape) == (len(sids), 23), (
            f"batched_forward step {n_step}: expected logits (B=3, V=23), got {tuple(logits.shape)}"
        )
        for row, (sid, chunk) in enumerate(zip(sids, chunks)):
            seen[sid] += chunk
            assert_close(
                logits[row],
                full_last_logits(model, seen[sid]),
                atol=1e-4,
                what=f"batched_forward step {n_step}, row {row} (seq {sid}, chunk of {len(chunk)} "
                f"after {len(seen[sid]) - len(chunk)} cached)",
                hint=PER_SEQUENCE,
            )
            assert cache.lengths[sid] == len(seen[sid]), (
                f"after step {n_step} cache.lengths[{sid}] should be {len(seen[sid])}, got "
                f"{cache.lengths[sid]}\n  likely cause: reserve each chunk with cache.append_slots"
            )
    for sid, tokens in seen.items():
        assert_close(
            stored_keys(cache, kv, sid, 0),
            layer0_keys(model, tokens),
            atol=1e-4,
            what=f"the layer-0 keys of seq {sid} in the KVStore after batched_forward",
            hint="write the keys of real tokens only, at the slots append_slots returned, in "
            "position order; padding must never be written",
        )


def test_batched_forward_rows_do_not_depend_on_the_batch():
    """The same sequence alone and in a batch with longer ones gives the same logits."""
    model = tiny_gpt(seed=2)
    g = generator(2)
    a = torch.randint(0, 23, (3,), generator=g).tolist()
    others = [torch.randint(0, 23, (n,), generator=g).tolist() for n in (11, 6)]
    alone = mod.batched_forward(model, *paged(model, 20, 4), [0], [a])
    batched = mod.batched_forward(model, *paged(model, 20, 4), [5, 0, 6], [others[0], a, others[1]])
    assert_close(
        batched[1],
        alone[0],
        atol=1e-4,
        what="batched_forward: a 3-token sequence between sequences of 11 and 6 vs alone",
        hint=PER_SEQUENCE,
    )


def test_a_fork_continues_its_shared_prefix_through_copy_on_write():
    """block_size 4: seq 0 prefills 6 tokens (blocks 0 and 1, the second half full); fork(0, 1)
    shares both. One batched_forward feeds seq 0 token a and seq 1 token b: seq 0 copies the shared
    half-full block (the pair append_slots returns), seq 1 then writes into the old one. Both rows
    equal the model on their own 7 tokens, and again after one more token each."""
    model = tiny_gpt(seed=7)
    g = generator(7)
    prefix = torch.randint(0, 23, (6,), generator=g).tolist()
    cache, kv = paged(model, num_blocks=8, block_size=4)
    mod.batched_forward(model, cache, kv, [0], [prefix])
    cache.fork(0, 1)
    seqs = {0: list(prefix), 1: list(prefix)}
    for step, (a, b) in enumerate([(3, 17), (9, 9)], 1):
        logits = mod.batched_forward(model, cache, kv, [0, 1], [[a], [b]])
        seqs[0].append(a)
        seqs[1].append(b)
        for row in (0, 1):
            assert_close(
                logits[row],
                full_last_logits(model, seqs[row]),
                atol=1e-4,
                what=f"batched_forward after fork(0, 1), step {step}, seq {row} (7 + {step - 1} "
                "tokens, the first 6 shared)",
                hint="perform the block copies append_slots returns (kv.copy_blocks) BEFORE writing "
                "any key or value: the copy must hold the shared prefix, not this step's tokens",
            )
    assert cache.tables[0][0] == cache.tables[1][0] and cache.tables[0][1] != cache.tables[1][1], (
        f"after the fork wrote: tables {cache.tables}; the full first block stays shared"
    )


def test_a_request_at_the_model_context_limit_and_one_filling_the_whole_cache():
    """The model's block_size is 48: prompt 40 + 8 new tokens = 48 positions runs (the last fed
    token sits at position 46) and equals one-at-a-time generation; 41 + 8 is refused at submit.
    A cache of exactly ceil(16 / 4) = 4 blocks of 4 serves a request of 10 + 6 = 16 positions
    alone (3 blocks is refused at submit)."""
    model = tiny_gpt(seed=8)
    g = generator(8)
    long = torch.randint(0, 23, (40,), generator=g).tolist()
    engine = mod.Engine(model, num_blocks=30, block_size=4)
    got = engine.generate([long], mod.SamplingParams(max_new_tokens=8))
    assert got[0] == greedy_one_at_a_time(model, long, 8), (
        f"a request of 40 + 8 = 48 positions (the model's block_size) gave {got[0]}, expected "
        f"{greedy_one_at_a_time(model, long, 8)}\n  likely cause: feed each sequence its uncomputed "
        "tokens (seq.tokens[seq.num_computed:]) at their absolute positions and report the token "
        "sampled from its own logits row"
    )
    with pytest.raises(ValueError):
        engine.submit(long + [1], mod.SamplingParams(max_new_tokens=8))
    prompt = long[:10]
    small = mod.Engine(model, num_blocks=4, block_size=4)
    got = small.generate([prompt], mod.SamplingParams(max_new_tokens=6))
    assert got[0] == greedy_one_at_a_time(model, prompt, 6) and small.cache.num_free_blocks == 4, (
        f"Engine(num_blocks=4, block_size=4) serving 10 + 6 = 16 positions (all 4 blocks): got "
        f"{got[0]}, {small.cache.num_free_blocks} blocks free at the end (expected 4)"
    )
    with pytest.raises(ValueError):
        mod.Engine(model, num_blocks=3, block_size=4).submit(
            prompt, mod.SamplingParams(max_new_tokens=6)
        )


def engine_outputs(model, prompts, news, num_blocks, block_size=4, eos=None, max_running=32):
    engine = mod.Engine(
        model, num_blocks=num_blocks, block_size=block_size, max_running=max_running
    )
    params = [mod.SamplingParams(max_new_tokens=n, eos_token_id=eos) for n in news]
    return engine, engine.generate(prompts, params)


@functools.cache
def thirty_two_requests():
    """The model and 32 requests (built once per session)."""
    model = tiny_gpt(seed=3)
    prompts, news = random_requests(32, seed=3)
    return model, prompts, news


@functools.cache
def thirty_two_oracle():
    """Their one-at-a-time greedy outputs (computed once per session, after the engine ran)."""
    model, prompts, news = thirty_two_requests()
    return [greedy_one_at_a_time(model, p, n) for p, n in zip(prompts, news)]


@pytest.mark.parametrize(
    "num_blocks,block_size,preempt", [(300, 4, False), (14, 4, True), (11, 5, True), (48, 1, True)]
)
def test_greedy_outputs_equal_one_at_a_time_generation(num_blocks, block_size, preempt):
    """32 requests, prompts of 1..20 tokens, 1..20 new tokens, greedy: the engine's outputs equal
    rerunning the model one request at a time, with blocks of 4, 5 and 1 position. With 14 blocks
    of 4, 11 of 5 or 48 of 1 the engine must preempt; the recomputed sequences still give the
    same tokens. All blocks are free at the end."""
    model, prompts, news = thirty_two_requests()
    engine, got = engine_outputs(model, prompts, news, num_blocks, block_size)
    oracle = thirty_two_oracle()
    for i, (p, n) in enumerate(zip(prompts, news)):
        expected = oracle[i]
        assert got[i] == expected, (
            f"Engine(num_blocks={num_blocks}, block_size={block_size}).generate, request {i} "
            f"(prompt of {len(p)}, "
            f"{n} new tokens, greedy): expected {expected}, got {got[i]}\n  likely cause: "
            + (
                "after a preemption, feed seq.tokens[seq.num_computed:] (prompt + output so far)"
                if preempt
                else "feed each sequence its uncomputed tokens and sample from its own logits row"
            )
        )
    assert (engine.scheduler.num_preemptions > 0) == preempt, (
        f"num_preemptions = {engine.scheduler.num_preemptions} with {num_blocks} blocks"
    )
    assert engine.cache.num_free_blocks == num_blocks, (
        f"after every request finished, {engine.cache.num_free_blocks} of {num_blocks} blocks are "
        "free\n  likely cause: a finished sequence's blocks never freed"
    )


def test_eos_stops_a_request_and_streams_one_token_per_step():
    """The oracle's 3rd token becomes eos: the output stops there (eos kept), reason 'eos'. The
    streamed StepOutputs of each request concatenate to its output, the last one finished."""
    model = tiny_gpt(seed=4)
    prompts, _ = random_requests(4, seed=4)
    eos = greedy_one_at_a_time(model, prompts[0], 3)[2]
    engine = mod.Engine(model, num_blocks=100, block_size=4)
    rids = [
        engine.submit(p, mod.SamplingParams(max_new_tokens=12, eos_token_id=eos)) for p in prompts
    ]
    streamed = {r: [] for r in rids}
    reasons = {}
    for out in engine.stream():
        assert out.request_id not in reasons, (
            f"request {out.request_id} got a token after finishing"
        )
        streamed[out.request_id].append(out.token)
        if out.finished:
            reasons[out.request_id] = out.finish_reason
    for r, p in zip(rids, prompts):
        expected = greedy_one_at_a_time(model, p, 12, eos=eos)
        assert streamed[r] == expected, (
            f"Engine stream, request {r} with eos {eos}: expected {expected}, got {streamed[r]}\n"
            "  likely cause: finish right after producing eos (keep it), else after max_new_tokens"
        )
        reason = "eos" if expected[-1] == eos else "length"
        assert reasons.get(r) == reason, (
            f"request {r}: finish_reason {reasons.get(r)!r}, expected {reason!r}"
        )
    assert reasons[rids[0]] == "eos", "request 0 must stop at its eos token (the oracle's 3rd)"


def test_cancel_stops_one_request_and_frees_its_blocks():
    model = tiny_gpt(seed=5)
    prompts, _ = random_requests(3, seed=5)
    engine = mod.Engine(model, num_blocks=60, block_size=4)
    rids = [engine.submit(p, mod.SamplingParams(max_new_tokens=10)) for p in prompts]
    tokens = {r: [] for r in rids}
    for _ in range(2):
        for out in engine.step():
            tokens[out.request_id].append(out.token)
    assert engine.cancel(rids[1]) is True, "cancel(running request) should return True"
    for out in engine.stream():
        tokens[out.request_id].append(out.token)
    assert len(tokens[rids[1]]) == 2, (
        f"a request cancelled after 2 steps produced {len(tokens[rids[1]])} tokens"
    )
    for r in (rids[0], rids[2]):
        assert tokens[r] == greedy_one_at_a_time(model, prompts[r], 10), (
            f"request {r} changed when another request was cancelled"
        )
    assert engine.cache.num_free_blocks == 60, (
        f"{engine.cache.num_free_blocks} of 60 blocks free after cancel and completion"
    )
    assert engine.cancel(rids[1]) is False, "cancelling a finished request returns False"
    # given code: requests that could never run are refused at submit (block_size is 48)
    for prompt, n in [([], 3), ([1] * 40, 9), ([1, 2], 0)]:
        with pytest.raises(ValueError):
            engine.submit(prompt, mod.SamplingParams(max_new_tokens=n))


def test_sampled_requests_follow_their_own_seeded_generator():
    """Request params temperature 0.9, top_k 8, seed 11: each token is week 08's sample_next(logits,
    params) on the model's last logits with a torch.Generator seeded 11 (one draw per token), whatever else
    runs in the batch; greedy requests in the same batch stay greedy."""
    model = tiny_gpt(seed=6)
    prompts, _ = random_requests(5, seed=6)
    sp = mod.SamplingParams(max_new_tokens=8, temperature=0.9, top_k=8, seed=11)
    engine = mod.Engine(model, num_blocks=100, block_size=4)
    params = [mod.SamplingParams(max_new_tokens=8)] * 4 + [sp]
    got = engine.generate(prompts, params)
    g = torch.Generator().manual_seed(11)
    tokens = list(prompts[4])
    expected = []
    for _ in range(8):
        tok = int(sample_next(full_last_logits(model, tokens)[None], sp, generator=g)[0])
        expected.append(tok)
        tokens.append(tok)
    assert got[4] == expected, (
        f"Engine: sampled request (temperature 0.9, top_k 8, seed 11): expected {expected}, got "
        f"{got[4]}\n  likely cause: use the request's own SamplingParams and its seeded generator"
    )
    assert got[0] == greedy_one_at_a_time(model, prompts[0], 8), "greedy request changed"
