"""Checks for w18.worker: the engine in a background thread, fed by a bounded queue.

Oracles: a plain greedy loop over the model (full forward per token); the engine's own block
counter (`cache.num_free_blocks`) for freed memory; hand-counted batch sizes for dynamic
batching. Most checks drive `run_once` directly, without the thread, so that they are exact.
"""

import threading
import time

import pytest

from roadmap.impl import load
from solutions.week15_efficient_inference.engine import SamplingParams

from .support import engine, greedy, model, worker

mod = load("week18_serving.worker")


def drain(w, limit=500):
    for _ in range(limit):
        if not w.engine.has_unfinished() and w.pending.empty():
            return
        w.run_once(wait=0)


def test_greedy_streams_match_a_plain_greedy_loop_and_records_are_dropped():
    m = model()
    w = worker(engine(m))
    prompts = [[72, 101, 108], [10], [1, 2, 3, 4, 5, 6, 7]]
    streams = [w.submit(p, SamplingParams(max_new_tokens=n)) for p, n in zip(prompts, (5, 9, 3))]
    assert [s.request_id for s in streams] == [0, 1, 2], (
        f"submit: stream ids {[s.request_id for s in streams]}, expected 0, 1, 2 in order"
    )
    drain(w)
    for s, p, n in zip(streams, prompts, (5, 9, 3)):
        got, want = list(s), greedy(m, p, n)
        assert got == want, (
            f"stream of prompt {p}: tokens {got}, expected the greedy tokens {want}; likely cause: "
            "tokens pushed to the wrong stream (route StepOutput.request_id through self.active)"
        )
        assert s.finish_reason == "length", (
            f"finish_reason {s.finish_reason!r}, expected 'length' after max_new_tokens"
        )
    assert w.engine.sequences == {} and w.active == {}, (
        f"after every request finished, engine.sequences has {list(w.engine.sequences)} and "
        f"active {list(w.active)}; expected both empty: retire finished requests (_retire)"
    )
    assert w.stats.tokens == 17 and w.stats.completed == 3, (
        f"stats: tokens {w.stats.tokens} (expected 17), completed {w.stats.completed} (expected 3)"
    )


def test_eos_ends_a_stream_with_reason_eos():
    m = model()
    first = greedy(m, [5, 6], 1)[0]
    w = worker(engine(m))
    s = w.submit([5, 6], SamplingParams(max_new_tokens=10, eos_token_id=first))
    drain(w)
    assert list(s) == [first] and s.finish_reason == "eos", (
        f"eos_token_id = the first greedy token {first}: got {list(s)} reason {s.finish_reason!r}, "
        "expected [first] and 'eos' (the engine's finish_reason)"
    )


def test_bad_requests_raise_before_anything_is_queued():
    w = worker()
    for prompt, n in (([], 4), ([1], 0)):
        with pytest.raises(ValueError):
            w.submit(prompt, SamplingParams(max_new_tokens=n))
    assert w.pending.qsize() == 0 and w.stats.submitted == 0, (
        f"invalid submits queued {w.pending.qsize()} requests; expected none (validate first)"
    )


def test_a_full_queue_raises_queue_full():
    w = worker(max_queue=2)
    w.submit([1], SamplingParams(max_new_tokens=2))
    w.submit([2], SamplingParams(max_new_tokens=2))
    with pytest.raises(mod.QueueFull):
        w.submit([3], SamplingParams(max_new_tokens=2))
    assert w.stats.rejected == 1 and w.stats.submitted == 2, (
        f"after 2 accepted and 1 rejected submit: submitted {w.stats.submitted}, rejected "
        f"{w.stats.rejected}; expected 2 and 1 (backpressure: count the QueueFull)"
    )


def test_queued_requests_start_in_the_same_step_up_to_max_batch():
    w = worker(max_batch=3)
    for i in range(5):
        w.submit([i + 1, 2], SamplingParams(max_new_tokens=4))
    assert w.run_once(wait=0) == 3, (
        f"run_once with 5 queued, max_batch=3: the first step ran {w.stats.batch_sizes} "
        "sequences, expected 3 (dynamic batching: admit everything queued, up to max_batch)"
    )
    assert len(w.active) <= 3 and w.pending.qsize() == 2, (
        f"max_batch=3: {len(w.active)} active, {w.pending.qsize()} pending; expected 3 and 2"
    )
    drain(w)
    assert max(w.stats.batch_sizes) <= 3, (
        f"batch sizes {w.stats.batch_sizes}: never more than max_batch=3 in the engine"
    )


def test_an_idle_worker_waits_max_wait_for_company():
    w = worker(max_wait=0.4)
    w.submit([1, 2], SamplingParams(max_new_tokens=2))
    t = threading.Thread(target=w.run_once, kwargs={"wait": 0})
    t.start()
    time.sleep(0.1)
    w.submit([3, 4], SamplingParams(max_new_tokens=2))
    t.join(timeout=5)
    assert w.stats.batch_sizes[:1] == [2], (
        f"a second request 0.1 s after the first, max_wait=0.4: first step sizes "
        f"{w.stats.batch_sizes[:1]}, expected [2]; likely cause: no max_wait (an idle worker "
        "keeps collecting until max_batch requests or max_wait seconds after the first)"
    )


def test_cancel_frees_the_blocks_at_once_and_ends_the_stream():
    w = worker()
    total = w.engine.cache.num_free_blocks
    s = w.submit(list(range(1, 40)), SamplingParams(max_new_tokens=60))
    w.run_once(wait=0)
    w.run_once(wait=0)
    assert w.engine.cache.num_free_blocks < total
    s.close()
    w.run_once(wait=0)
    assert s.done and s.finish_reason == "cancelled", (
        f"after close() and one run_once: finish_reason {s.finish_reason!r}, expected 'cancelled'"
    )
    assert w.engine.cache.num_free_blocks == total and not w.engine.has_unfinished(), (
        f"right after the cancelling run_once: {w.engine.cache.num_free_blocks} free blocks of "
        f"{total}; likely cause: the request was not engine.cancel()-ed (it keeps its blocks "
        "and keeps generating)"
    )
    assert w.stats.cancelled == 1 and w.engine.sequences == {}, (
        f"stats.cancelled {w.stats.cancelled} (expected 1); engine.sequences "
        f"{list(w.engine.sequences)} (expected empty: drop a cancelled request's records)"
    )


def test_cancel_stops_only_the_closed_stream():
    m = model()
    w = worker(engine(m))
    a = w.submit([1, 2], SamplingParams(max_new_tokens=30))
    b = w.submit([3, 4], SamplingParams(max_new_tokens=5))
    w.run_once(wait=0)
    a.close()
    drain(w)
    assert a.finish_reason == "cancelled" and b.finish_reason == "length", (
        f"closing stream a: a ended {a.finish_reason!r}, b ended {b.finish_reason!r}; expected "
        "'cancelled' and 'length'"
    )
    assert list(b) == greedy(m, [3, 4], 5), "the other request's tokens are unaffected"


def test_a_request_cancelled_while_queued_never_runs():
    w = worker()
    s = w.submit([1, 2], SamplingParams(max_new_tokens=5))
    s.close()
    w.run_once(wait=0)
    assert list(s) == [] and s.finish_reason == "cancelled", (
        f"closed before admission: got tokens {list(s)}, reason {s.finish_reason!r}; expected no "
        "token and 'cancelled'"
    )
    assert w.stats.steps == 0, f"a cancelled queued request ran {w.stats.steps} engine steps"


def test_timeouts_stop_a_request_and_free_its_blocks():
    w = worker(timeout=0.0)
    total = w.engine.cache.num_free_blocks
    s = w.submit([1, 2, 3], SamplingParams(max_new_tokens=50))
    time.sleep(0.01)
    drain(w)
    assert s.finish_reason == "timeout" and w.stats.timed_out == 1, (
        f"timeout=0: finish_reason {s.finish_reason!r}, stats.timed_out {w.stats.timed_out}; "
        "expected 'timeout' and 1 (check each active request's deadline every turn)"
    )
    assert len(list(s)) < 50 and w.engine.cache.num_free_blocks == total, (
        "a timed-out request must stop generating and give back its blocks (engine.cancel)"
    )


def test_the_thread_serves_concurrent_iterators():
    m = model()
    w = worker(engine(m)).start()
    try:
        streams = [w.submit([i + 1], SamplingParams(max_new_tokens=6)) for i in range(4)]
        got = [list(s) for s in streams]
    finally:
        w.stop()
    want = [greedy(m, [i + 1], 6) for i in range(4)]
    assert got == want, f"threaded worker: {got}, expected the greedy tokens {want}"


def test_the_edges_of_submit_and_its_own_copy_of_the_prompt():
    """max_new_tokens 1 is the smallest accepted (0 raises); the max_queue-th request is accepted
    and the next refused; the deadline is this worker's timeout (not the default) after submit;
    the request keeps its own copy of the prompt, so the caller may reuse its list."""
    w = worker(max_queue=3, timeout=30.0)
    prompt = [1, 2, 3]
    t0 = time.perf_counter()
    try:
        w.submit(prompt, SamplingParams(max_new_tokens=1))
    except ValueError as exc:
        pytest.fail(
            f"submit with max_new_tokens=1 raised {exc!r}; 1 is the smallest accepted value"
        )
    prompt.append(99)
    w.submit([4], SamplingParams(max_new_tokens=2))
    w.submit([5], SamplingParams(max_new_tokens=2))
    with pytest.raises(mod.QueueFull):
        w.submit([6], SamplingParams(max_new_tokens=2))
    first = w.pending.queue[0]
    assert first.prompt == [1, 2, 3], (
        f"the caller appended to its prompt list after submit and the queued request now holds "
        f"{first.prompt}; expected [1, 2, 3] (keep a copy)"
    )
    assert t0 + 30.0 <= first.deadline <= time.perf_counter() + 30.0, (
        f"timeout=30: the deadline is {first.deadline - t0:.3f} s after submit, expected 30 (now + "
        "self.timeout, in time.perf_counter() seconds)"
    )
    assert w.stats.submitted == 3 and w.stats.rejected == 1, (
        f"max_queue=3: submitted {w.stats.submitted}, rejected {w.stats.rejected}; expected the "
        "3rd accepted and the 4th refused"
    )
    drain(w)
    assert w.stats.timed_out == 0, "timeout=30: nothing may time out in a fast run"


def test_a_request_the_engine_refuses_ends_with_length_and_the_rest_runs():
    """The tiny model's block_size is 128: 100 prompt tokens + 100 new ones can never run
    (engine.submit raises ValueError); that request ends at once, the next one is served."""
    m = model()
    w = worker(engine(m))
    big = w.submit(list(range(1, 101)), SamplingParams(max_new_tokens=100))
    small = w.submit([7, 8], SamplingParams(max_new_tokens=3))
    try:
        drain(w)
    except ValueError as exc:
        pytest.fail(
            f"run_once raised {exc!r} for a request the engine refuses; retire it with 'length' "
            "(no token) and go on with the others"
        )
    assert (list(big), big.finish_reason) == ([], "length"), (
        f"a request the engine refuses: tokens {list(big)}, reason {big.finish_reason!r}; "
        "expected no token and 'length' (retire it, do not crash the worker)"
    )
    assert list(small) == greedy(m, [7, 8], 3), "the request after a refused one must still run"
