"""Load checks for w18.api + w18.worker (own file, outside the 10 s budget: ~10-20 s).

- 32 concurrent streaming clients (httpx over ASGITransport, in-process): 0 errors, each stream
  ends with [DONE].
- Dynamic batching: tokens/s with 32 concurrent clients >= 3x tokens/s of the same requests sent
  one at a time (each engine step then serves many sequences for about the price of one); when a
  first measurement falls short, both are measured again and the better of each counts (a busy
  machine only makes a run slower; a worker that does not batch stays near 1x).
- A client that disconnects mid-stream (real uvicorn socket) stops its generation: the engine
  gets its blocks back long before max_tokens could have been generated.
"""

import asyncio
import threading
import time

import httpx

from .support import app_for, engine, model, worker

N_TOKENS = 24


async def one(client: httpx.AsyncClient, i: int) -> int:
    body = {
        "model": "tiny",
        "prompt": f"Request {i}:",
        "max_tokens": N_TOKENS,
        "temperature": 0.8,
        "seed": i,
        "stream": True,
    }
    events = 0
    async with client.stream("POST", "/v1/completions", json=body) as r:
        assert r.status_code == 200, f"request {i}: status {r.status_code}"
        last = ""
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                events += 1
                last = line
    assert last == "data: [DONE]", f"request {i}: the stream ended with {last!r}, not [DONE]"
    return events


async def run(app, n: int, concurrent: bool) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as c:
        t0 = time.perf_counter()
        if concurrent:
            results = await asyncio.gather(*(one(c, i) for i in range(n)), return_exceptions=True)
        else:
            results = [await one(c, i) for i in range(n)]
        dt = time.perf_counter() - t0
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} of {n} streaming clients failed; first: {errors[0]!r}"
    return n * N_TOKENS / dt


def test_32_concurrent_streams_and_batching_speedup():
    w = worker(engine(model(), max_running=32), max_batch=32, max_wait=0.01)
    app = app_for(w)  # your create_app and run_once first: an untouched stub is todo here
    w.run_once(wait=0)
    w.start()
    try:
        asyncio.run(run(app, 2, concurrent=False))  # warm-up
        seq = asyncio.run(run(app, 8, concurrent=False))
        conc = asyncio.run(run(app, 32, concurrent=True))
        if conc < 3 * seq:  # other processes only slow a run down: the best of two is the fair one
            seq = max(seq, asyncio.run(run(app, 8, concurrent=False)))
            conc = max(conc, asyncio.run(run(app, 32, concurrent=True)))
    finally:
        w.stop()
    print(f"\nsequential {seq:.0f} tok/s, 32 concurrent {conc:.0f} tok/s, x{conc / seq:.1f}")
    assert conc >= 3 * seq, (
        f"32 concurrent clients: {conc:.0f} tok/s vs {seq:.0f} tok/s one at a time "
        f"(x{conc / seq:.1f}), expected >= 3x; likely cause: requests not batched into the same "
        "engine steps (admit everything queued, up to max_batch)"
    )
    assert max(w.stats.batch_sizes) >= 16, (
        f"the largest engine step served {max(w.stats.batch_sizes)} sequences; with 32 clients "
        "at once expected >= 16 (dynamic batching)"
    )


def test_a_disconnecting_client_stops_its_generation():
    import uvicorn

    eng = engine(model())
    real_step = eng.step

    def slow_step():  # ~25 ms per step: 100 tokens would take 2.5 s
        time.sleep(0.025)
        return real_step()

    eng.step = slow_step
    w = worker(eng)
    app = app_for(w)  # your create_app and run_once first: an untouched stub is todo here
    w.run_once(wait=0)
    w.start()
    total = eng.cache.num_free_blocks
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        body = {"model": "tiny", "prompt": "x", "max_tokens": 100, "stream": True}
        start = time.perf_counter()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            with c.stream("POST", "/v1/completions", json=body) as r:
                lines = r.iter_lines()
                got = [next(lines) for _ in range(3)]
        assert any(x.startswith("data: ") for x in got)
        freed = None
        while time.perf_counter() - start < 2.0:
            if w.stats.cancelled == 1 and eng.cache.num_free_blocks == total:
                freed = time.perf_counter() - start
                break
            time.sleep(0.02)
        tokens = w.stats.tokens
    finally:
        server.should_exit = True
        t.join(timeout=5)
        w.stop()
    assert freed is not None, (
        f"after the client disconnected: stats.cancelled {w.stats.cancelled}, free blocks "
        f"{eng.cache.num_free_blocks} of {total}, {tokens} tokens generated; expected the "
        "request cancelled and its blocks freed within 2 s; likely cause: the stream is not "
        "closed when the client goes away (close it in a finally)"
    )
    assert tokens < 100, f"{tokens} tokens were generated for a client that left"
