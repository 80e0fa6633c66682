"""Checks for w15.scheduler: FIFO admission under a block budget, decode, retire, preempt, cancel.

The checks play the engine: after each `schedule()` they append the planned positions to a real
block manager (len(seq.tokens) - seq.num_computed per scheduled sequence) and report scripted
tokens with `record_token`. No tensors anywhere: the scheduler plans with the block manager's
tables alone. Expected plans are derived by hand in each docstring.
"""

import random

import pytest

from roadmap.impl import load

bm_mod = load("week15_efficient_inference.block_manager")
mod = load("week15_efficient_inference.scheduler")


def setup(num_blocks, block_size, max_running=32):
    cache = bm_mod.BlockManager(num_blocks, block_size)
    return cache, mod.Scheduler(cache, max_running)


def seq(i, prompt_len, max_new=5, eos=None):
    return mod.Sequence(i, list(range(1, prompt_len + 1)), max_new, eos)


def run_plan(cache, batch):
    """What the engine does with a plan: reserve the positions of every scheduled sequence."""
    for s in batch.sequences:
        cache.append_slots(s.seq_id, len(s.tokens) - s.num_computed)


def ids(seqs):
    return [s.seq_id for s in seqs]


def test_admits_first_come_first_served_while_the_prompt_blocks_fit():
    """6 blocks of 4. Prompts of 8, 12, 4 tokens need 2, 3, 1 blocks: 2 + 3 + 1 = 6 fit, all three
    are admitted in order. A 4th prompt (1 block) waits: no block left."""
    cache, sched = setup(6, 4)
    for i, n in enumerate([8, 12, 4, 3]):
        sched.add(seq(i, n))
    batch = sched.schedule()
    assert ids(batch.prefill) == [0, 1, 2] and batch.decode == [] and batch.preempted == [], (
        f"schedule() with prompts needing 2, 3, 1, 1 blocks and 6 free: expected prefill [0, 1, 2], "
        f"got prefill {ids(batch.prefill)}, decode {ids(batch.decode)}\n  likely cause: admit "
        "while prompt_blocks fit in the free blocks (ceil(len(tokens) / block_size) each)"
    )
    assert ids(sched.running) == [0, 1, 2] and ids(sched.waiting) == [3], (
        f"after admission: running {ids(sched.running)}, waiting {ids(sched.waiting)}"
    )
    assert all(s.status == "running" for s in sched.running), (
        "admitted sequences get status running"
    )


def test_no_skipping_ahead_of_a_prompt_that_does_not_fit():
    """5 blocks of 4: seq 0 (2 blocks) is admitted; seq 1 needs 4 > 3 left, so it waits, and seq 2
    (1 block, it would fit) waits behind it: first come, first served."""
    cache, sched = setup(5, 4)
    for i, n in enumerate([8, 16, 2]):
        sched.add(seq(i, n))
    batch = sched.schedule()
    assert ids(batch.prefill) == [0], (
        f"schedule(): expected prefill [0] (seq 1 does not fit and seq 2 may not overtake it), got "
        f"{ids(batch.prefill)}\n  likely cause: stop admitting at the first waiting sequence that "
        "does not fit (FIFO, no skipping)"
    )


@pytest.mark.parametrize("max_running", [1, 2, 3])
def test_max_running_caps_admission_on_both_sides(max_running):
    """max_running = m with 5 small prompts and room for all: the first m are admitted (the m-th
    still is), the (m+1)-th waits; the next step admits nothing while m run; when one finishes,
    exactly one more is admitted."""
    cache, sched = setup(50, 4, max_running=max_running)
    for i in range(5):
        sched.add(seq(i, 3, max_new=1 if i == 0 else 5))
    batch = sched.schedule()
    assert ids(batch.prefill) == list(range(max_running)), (
        f"max_running={max_running} with 5 small prompts and 50 free blocks: expected prefill "
        f"{list(range(max_running))}, got {ids(batch.prefill)}\n  likely cause: admit while FEWER "
        "than max_running sequences run (the last admitted makes it exactly max_running)"
    )
    run_plan(cache, batch)
    for s in batch.prefill:
        sched.record_token(s, 7)  # seq 0 (max_new 1) finishes
    assert batch.prefill[0].status == "finished", (
        f"seq 0 with max_new_tokens 1 got 1 token: expected status 'finished', got "
        f"{batch.prefill[0].status!r}\n  likely cause: finish once the sequence has max_new_tokens "
        "outputs (>=, not >)"
    )
    batch = sched.schedule()
    assert ids(batch.prefill) == [max_running], (
        f"max_running={max_running}, one sequence finished: expected exactly one more admitted "
        f"([{max_running}]), got {ids(batch.prefill)}"
    )


def test_running_sequences_decode_and_the_decode_room_is_reserved_before_admission():
    """4 blocks of 2. Step 1 admits seq 0 (prompt 3 -> 2 blocks); the engine fills 3 positions.
    Seq 1 (prompt 4) arrives. Step 2: seq 0 decodes (position 3 still fits its 2nd block: 0
    blocks); seq 1 (2 blocks) fits the 2 free blocks and is admitted. Step 3: both decode; seq 0
    needs a block for position 4, seq 1 one for position 4: 2 needed, 0 free -> seq 1 (the
    youngest) is preempted, which frees 2, enough for seq 0; it goes back in front of seq 2, which
    arrived meanwhile, and nothing is admitted in that step."""
    cache, sched = setup(4, 2)
    sched.add(seq(0, 3))
    b1 = sched.schedule()
    run_plan(cache, b1)
    sched.record_token(b1.prefill[0], 7)
    sched.add(seq(1, 4))
    b2 = sched.schedule()
    assert ids(b2.decode) == [0] and ids(b2.prefill) == [1], (
        f"step 2: expected decode [0], prefill [1]; got decode {ids(b2.decode)}, prefill "
        f"{ids(b2.prefill)}\n  likely cause: running sequences are decoded every step; admission "
        "uses the blocks left after their decode room"
    )
    run_plan(cache, b2)
    assert b2.decode[0].num_computed == 3, "record_token sets num_computed to the tokens fed so far"
    for s in b2.sequences:
        sched.record_token(s, 7)
    sched.add(seq(2, 1))  # arrives before step 3: the preempted sequence must go in front of it
    b3 = sched.schedule()
    assert ids(b3.decode) == [0] and ids(b3.preempted) == [1] and b3.prefill == [], (
        f"step 3 with no free block and both needing one: expected decode [0], preempted [1], no "
        f"prefill; got decode {ids(b3.decode)}, preempted {ids(b3.preempted)}, prefill "
        f"{ids(b3.prefill)}\n  likely cause: preempt the most recently admitted sequence (the last "
        "of running) until the decode room fits; admit nothing in a step that preempted"
    )
    victim = b3.preempted[0]
    assert victim.status == "waiting" and victim.num_computed == 0 and sched.waiting[0] is victim, (
        f"a preempted sequence goes to the FRONT of waiting (before seq 2) with status 'waiting' "
        f"and num_computed 0; got status {victim.status!r}, num_computed {victim.num_computed}, "
        f"waiting {ids(sched.waiting)}"
    )
    assert 1 not in cache.tables and cache.num_free_blocks == 2, (
        f"preemption must free the victim's blocks in the cache: free {cache.num_free_blocks} "
        "(expected 2)"
    )
    assert victim.output == [7] and victim.tokens == [1, 2, 3, 4, 7], (
        "a preempted sequence keeps its output: it is recomputed from prompt + output"
    )
    assert sched.num_preemptions == 1, f"num_preemptions: expected 1, got {sched.num_preemptions}"


def test_admission_keeps_the_decode_room_of_running_sequences():
    """4 blocks of 2. Seq 0 (prompt 2, 1 block) runs and gets one token: its next position (2)
    starts a new block, so the decode room is 1 block. Seq 1 (prompt 5, 3 blocks) arrives: 3 free
    blocks minus 1 of decode room leave 2 < 3, so seq 1 waits."""
    cache, sched = setup(4, 2)
    sched.add(seq(0, 2))
    b1 = sched.schedule()
    run_plan(cache, b1)
    sched.record_token(b1.prefill[0], 7)
    sched.add(seq(1, 5))
    b2 = sched.schedule()
    assert ids(b2.decode) == [0] and b2.prefill == [], (
        f"schedule() with 3 free blocks, a running sequence needing 1 for its next token and a "
        f"prompt needing 3: expected decode [0] and no prefill, got decode {ids(b2.decode)}, "
        f"prefill {ids(b2.prefill)}\n  likely cause: admission must leave the decode room of the "
        "running sequences (sum of blocks_needed(seq, 1)) free"
    )


@pytest.mark.parametrize("num_blocks,preempted", [(4, []), (3, [1])])
def test_preemption_starts_one_block_short_of_the_decode_room(num_blocks, preempted):
    """Blocks of 2; two prompts of 2 tokens (1 full block each) are admitted and get one token each.
    Next step both need a new block: 2 needed. With 4 blocks (2 free) that fits exactly and
    nobody is preempted; with 3 blocks (1 free) the youngest, seq 1, is preempted."""
    cache, sched = setup(num_blocks, 2)
    sched.add(seq(0, 2))
    sched.add(seq(1, 2))
    b1 = sched.schedule()
    assert ids(b1.prefill) == [0, 1], f"both prompts fit {num_blocks} blocks: got {ids(b1.prefill)}"
    run_plan(cache, b1)
    for s in b1.sequences:
        sched.record_token(s, 7)
    b2 = sched.schedule()
    assert ids(b2.preempted) == preempted and ids(b2.decode) == [0, 1][: 2 - len(preempted)], (
        f"{num_blocks} blocks of 2, two running sequences needing 1 block each for their next "
        f"token, {num_blocks - 2} free: "
        f"expected preempted {preempted}, got preempted {ids(b2.preempted)}, decode "
        f"{ids(b2.decode)}\n  likely cause: preempt only while the running sequences need MORE "
        "blocks than are free (needing exactly the free blocks fits)"
    )


def test_a_step_that_preempts_two_counts_two_and_keeps_their_order():
    """3 blocks of 2, three prompts of 2 tokens: all admitted (3 blocks), one token each. Next step
    they need 3 blocks, 0 free: preempt seq 2 (1 free, 2 needed), then seq 1 (2 free, 1 needed).
    num_preemptions counts sequences: 2. Each victim went to the front in turn, so waiting is
    [1, 2] (arrival order kept) ahead of seq 3."""
    cache, sched = setup(3, 2)
    for i in range(3):
        sched.add(seq(i, 2))
    b1 = sched.schedule()
    run_plan(cache, b1)
    for s in b1.sequences:
        sched.record_token(s, 7)
    sched.add(seq(3, 1))
    b2 = sched.schedule()
    assert sorted(ids(b2.preempted)) == [1, 2] and ids(b2.decode) == [0], (
        f"three running sequences needing 1 block each, none free: expected seq 2 then seq 1 "
        f"preempted and seq 0 decoding, got preempted {ids(b2.preempted)}, decode {ids(b2.decode)}"
    )
    assert sched.num_preemptions == 2, (
        f"num_preemptions after one step that preempted two sequences: expected 2, got "
        f"{sched.num_preemptions}\n  likely cause: count every preempted sequence, not every step "
        "that preempted"
    )
    assert ids(sched.waiting) == [1, 2, 3], (
        f"waiting after preempting seq 2, then seq 1 (each put at the FRONT): expected [1, 2, 3], "
        f"got {ids(sched.waiting)}"
    )


def test_record_token_retires_on_eos_and_on_length_and_frees_blocks():
    """Seq 0 (eos 9) gets tokens 4, 9: finished after the 2nd with reason 'eos' (9 is kept).
    Seq 1 (max_new 3) gets 4, 4, 4: finished with reason 'length'. Both leave running, their
    blocks return to the cache."""
    cache, sched = setup(8, 4)
    a, b = seq(0, 3, max_new=10, eos=9), seq(1, 5, max_new=3)
    sched.add(a)
    sched.add(b)
    batch = sched.schedule()
    run_plan(cache, batch)
    assert sched.record_token(a, 4) is False and a.num_computed == 3, (
        f"record_token(seq, 4) with eos 9 and room for more: expected False and num_computed 3 "
        f"(the prompt was fed), got num_computed {a.num_computed}"
    )
    done = sched.record_token(a, 9)
    assert done and a.finish_reason == "eos" and a.output == [4, 9], (
        f"record_token(seq, eos): expected finished with reason 'eos' and output [4, 9]; got "
        f"{done}, {a.finish_reason!r}, {a.output}"
    )
    for t in range(3):
        done = sched.record_token(b, 4)
        assert done == (t == 2), (
            f"max_new_tokens 3: token {t + 1} should {'' if t == 2 else 'not '}finish"
        )
    assert b.finish_reason == "length" and b.status == "finished", (
        f"a sequence with max_new_tokens outputs finishes with reason 'length', got {b.finish_reason!r}"
    )
    assert sched.running == [] and ids(sched.finished) == [0, 1], (
        f"finished sequences leave running for finished: running {ids(sched.running)}, finished "
        f"{ids(sched.finished)}"
    )
    assert cache.num_free_blocks == 8 and not cache.tables, (
        f"every finished sequence's blocks must be freed: {cache.num_free_blocks} of 8 free\n"
        "  likely cause: a finished sequence's blocks never freed (call cache.free)"
    )


def test_eos_as_the_last_allowed_token_finishes_with_reason_eos():
    """max_new_tokens 2, eos 9: tokens 4, 9 -> finished after the 2nd with reason 'eos' (both rules
    hold; the eos rule is checked first). Tokens 4, 5 -> 'length'."""
    cache, sched = setup(8, 4)
    a, b = seq(0, 3, max_new=2, eos=9), seq(1, 3, max_new=2, eos=9)
    sched.add(a)
    sched.add(b)
    run_plan(cache, sched.schedule())
    sched.record_token(a, 4)
    sched.record_token(b, 4)
    assert sched.record_token(a, 9) and a.finish_reason == "eos", (
        f"record_token(seq, eos) as its max_new_tokens-th token: expected finished with reason "
        f"'eos', got {a.finish_reason!r}\n  likely cause: test the eos token before the length"
    )
    assert sched.record_token(b, 5) and b.finish_reason == "length", (
        f"the max_new_tokens-th token (not eos): expected reason 'length', got {b.finish_reason!r}"
    )


def test_cancel_waiting_and_running():
    cache, sched = setup(8, 4, max_running=1)
    a, b = seq(0, 5), seq(1, 5)
    sched.add(a)
    sched.add(b)
    run_plan(cache, sched.schedule())
    assert sched.cancel(1) is b and b.finish_reason == "cancelled" and not sched.waiting, (
        "cancel(waiting seq) returns it with reason 'cancelled' and removes it from waiting"
    )
    assert sched.cancel(0) is a and sched.running == [] and cache.num_free_blocks == 8, (
        f"cancel(running seq) must retire it and free its blocks: free {cache.num_free_blocks} of 8"
    )
    assert sched.cancel(0) is None, "cancel of a finished sequence returns None"


@pytest.mark.parametrize("num_blocks,block_size", [(10, 4), (13, 3), (30, 1)])
def test_a_random_workload_finishes_everything_and_frees_every_block(num_blocks, block_size):
    """40 sequences (prompts 1..9, outputs 1..8, tokens 1..5 scripted, eos 0 never drawn) through
    a small cache (10 blocks of 4, 13 of 3, 30 of 1): each step must be executable (append_slots
    never runs out), every sequence ends with its max_new_tokens outputs, preemptions happen, all
    blocks are free at the end."""
    rng = random.Random(4)
    cache, sched = setup(num_blocks, block_size, max_running=6)
    seqs = [seq(i, rng.randint(1, 9), max_new=rng.randint(1, 8), eos=0) for i in range(40)]
    pending = list(seqs)
    for step in range(2000):
        if pending and rng.random() < 0.3:
            sched.add(pending.pop(0))
        if not sched.has_unfinished() and not pending:
            break
        batch = sched.schedule()
        if not batch.sequences:
            continue
        running = set(ids(sched.running))
        assert set(ids(batch.sequences)) == running, (
            f"step {step}: the plan {ids(batch.sequences)} must be exactly the running sequences "
            f"{sorted(running)}"
        )
        try:
            run_plan(cache, batch)
        except bm_mod.OutOfBlocks as e:
            raise AssertionError(
                f"step {step}: the plan does not fit the cache ({e})\n  likely cause: reserve "
                "blocks_needed(seq, 1) for every running sequence before admitting, and preempt "
                "until they fit"
            ) from e
        for s in batch.sequences:
            sched.record_token(s, rng.randint(1, 5))
    short = [
        (s.seq_id, len(s.output), s.max_new_tokens)
        for s in seqs
        if len(s.output) != s.max_new_tokens
    ]
    assert not short, f"sequences without all their tokens (id, got, wanted): {short[:5]}"
    assert sched.num_preemptions > 0, (
        f"this workload must preempt at least once ({num_blocks} blocks of {block_size} only)"
    )
    assert cache.num_free_blocks == num_blocks and not cache.tables, (
        f"after every sequence finished {cache.num_free_blocks} of {num_blocks} blocks are free\n"
        "  likely cause: a finished or preempted sequence's blocks never freed"
    )
