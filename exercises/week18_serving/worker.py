"""A background generation thread around the week-15 engine: a request queue, dynamic batching,
backpressure, per-request timeouts and cancellation, and a token iterator per request.

The week-15 `Engine` is not thread-safe, so ONE worker thread owns it: request handlers (the
FastAPI app, tests) call `submit`, which only puts the request on a bounded queue and returns a
`TokenStream`; the worker thread takes requests off the queue, submits them to the engine, runs
`engine.step()` and pushes each new token into its request's stream. A handler reads the stream
(`for token in stream`, or `async for` inside an event loop) and calls `stream.close()` when its
client goes away, which cancels the request and frees its KV-cache blocks.
Check: `python tracker.py check w18.worker`
"""

import asyncio
import collections
import itertools
import queue
import threading
import time
from dataclasses import dataclass, field

from solutions.week15_efficient_inference.engine import Engine, SamplingParams


class QueueFull(Exception):
    """The worker's pending queue is full: the server answers 429 (try again later)."""


_END = object()  # marks the end of a stream in its item queue


class TokenStream:
    """The tokens of one request, pushed by the worker thread, read by the request's handler.

    Iterate it (`for token in stream`, blocking) or, inside an event loop, `async for token in
    stream`. Once the stream has ended, `finish_reason` says why: "eos", "length" (the engine's
    reasons), "timeout" (the request's deadline passed), "cancelled" (closed before the end) or
    "shutdown" (the worker stopped). `close()` cancels the request (idempotent).
    """

    def __init__(self, request_id: int, cancel):
        self.request_id = request_id
        self.first_token_time: float | None = None  # time.perf_counter() of the first token
        self.submit_time = time.perf_counter()
        self._cancel = cancel
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._reason: str | None = None  # set once by finish()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    # --- the worker's side ------------------------------------------------------------------------
    def push(self, token: int) -> None:
        with self._cond:
            if self._reason is not None:
                return
            if self.first_token_time is None:
                self.first_token_time = time.perf_counter()
            self._items.append(token)
            self._cond.notify_all()
        self._wake()

    def finish(self, reason: str) -> None:
        """End the stream with `reason`; later pushes and finishes are ignored."""
        with self._cond:
            if self._reason is not None:
                return
            self._reason = reason
            self._items.append(_END)
            self._cond.notify_all()
        self._wake()

    @property
    def finish_reason(self) -> str | None:
        return self._reason

    @property
    def done(self) -> bool:
        return self._reason is not None

    def _wake(self) -> None:
        loop, event = self._loop, self._event
        if loop is not None and event is not None:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    # --- the reader's side ------------------------------------------------------------------------
    def close(self) -> None:
        """Cancel the request (the client went away); the stream ends with "cancelled"."""
        if not self.done:
            self._cancel(self.request_id)

    def _take(self, item):
        if item is _END:
            self._items.appendleft(_END)  # stay ended for any further read
            raise StopIteration
        return item

    def __iter__(self):
        return self

    def __next__(self) -> int:
        with self._cond:
            while not self._items:
                self._cond.wait()
            return self._take(self._items.popleft())

    def __aiter__(self):
        return self

    async def __anext__(self) -> int:
        if self._event is None:
            self._event = asyncio.Event()
            self._loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._items:
                    try:
                        return self._take(self._items.popleft())
                    except StopIteration:
                        raise StopAsyncIteration from None
                self._event.clear()
            await self._event.wait()


@dataclass
class _Request:
    stream: TokenStream
    prompt: list[int]
    params: SamplingParams
    deadline: float  # time.perf_counter() after which the request is stopped
    engine_id: int | None = None  # set once the engine has it


@dataclass
class WorkerStats:
    """Counters the server's /stats reports."""

    submitted: int = 0
    completed: int = 0
    rejected: int = 0  # QueueFull
    cancelled: int = 0
    timed_out: int = 0
    tokens: int = 0
    steps: int = 0
    batch_sizes: list[int] = field(default_factory=list)  # sequences per engine step (last 1000)


class EngineWorker:
    """Own the engine in one thread; feed it from a bounded queue with dynamic batching.

    Args:
        engine: a week-15 Engine (used from the worker thread only, once started).
        max_queue: requests that may wait in the pending queue; `submit` raises QueueFull beyond.
        max_batch: at most this many requests inside the engine at once (the rest wait queued).
        max_wait: seconds an idle worker waits after a first request for more to arrive, so
            that they start in the same engine step (dynamic batching).
        timeout: seconds from `submit` after which a request is stopped ("timeout").
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_queue: int = 64,
        max_batch: int = 32,
        max_wait: float = 0.005,
        timeout: float = 60.0,
    ):
        self.engine = engine
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.timeout = timeout
        self.pending: queue.Queue[_Request] = queue.Queue(maxsize=max_queue)
        self.active: dict[int, _Request] = {}  # engine request id -> request
        self.cancels: queue.SimpleQueue[int] = queue.SimpleQueue()  # stream ids to cancel
        self.stats = WorkerStats()
        self.cancelled_pending: set[int] = set()  # stream ids cancelled before admission
        self._ids = itertools.count()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- given: the thread ----------------------------------------------------------------------
    def start(self) -> "EngineWorker":
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="engine-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread; every unfinished stream ends with "shutdown"."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for req in list(self.active.values()):
            self.engine.cancel(req.engine_id)
            self._retire(req, "shutdown")
        while True:
            try:
                self.pending.get_nowait().stream.finish("shutdown")
            except queue.Empty:
                break

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once(wait=0.05)

    def queue_length(self) -> int:
        return self.pending.qsize()

    def running(self) -> int:
        return len(self.active)

    def _retire(self, req: _Request, reason: str) -> None:
        """End a request's stream and drop every record the engine kept of it."""
        req.stream.finish(reason)
        if req.engine_id is not None:
            self.active.pop(req.engine_id, None)
            for table in (self.engine.sequences, self.engine.params, self.engine.generators):
                table.pop(req.engine_id, None)

    # --- the exercise ---------------------------------------------------------------------------
    def submit(self, prompt: list[int], params: SamplingParams) -> TokenStream:
        """Queue a request from any thread; return its TokenStream at once (nothing runs here).

        Validate first, in the caller's thread: an empty prompt or max_new_tokens < 1 raises
        ValueError (nothing is queued). Then put a _Request (deadline = now + self.timeout, from
        time.perf_counter()) on `self.pending` without blocking; when the queue already holds
        max_queue requests, count it in stats.rejected and raise QueueFull. Stream ids are
        0, 1, 2, ... per worker; stats.submitted counts accepted requests. The request keeps its
        own copy of `prompt` (the caller may reuse its list).
        Example: with max_queue 2 and nothing running, two submits return streams 0 and 1; a third
        raises QueueFull (stats.submitted 2, stats.rejected 1).

        Raises:
            ValueError: an empty prompt or params.max_new_tokens < 1.
            QueueFull: the pending queue already holds max_queue requests.
        """
        # TODO(w18.worker): queue the request without blocking and return its stream; refuse what is invalid or does not fit
        raise NotImplementedError(
            "w18.worker: write EngineWorker.submit in exercises/week18_serving/worker.py"
        )

    def cancel(self, stream_id: int) -> None:
        """Ask the worker thread to stop request `stream_id` (safe from any thread)."""
        self.cancels.put(stream_id)

    def run_once(self, wait: float = 0.0) -> int:
        """One turn of the worker loop (the worker thread calls it forever; tests call it directly).

        In this order:
        1. Cancellations: for every stream id taken from `self.cancels`, a request in the engine is
           engine.cancel()-ed (its blocks are freed at once) and retired with "cancelled"; one still
           pending is retired with "cancelled" when admission reaches it (both: stats.cancelled).
        2. Admission (dynamic batching): if the engine has nothing to do, wait up to `wait`
           seconds for a first request, then keep collecting until max_batch requests are in hand
           or max_wait seconds have passed since the first; when the engine is busy, take what
           is already queued without waiting. Never hold more than max_batch requests in the
           engine (self.active). Each admitted request is engine.submit()-ted; one the engine
           refuses (ValueError: too long) is retired with "length" and no token.
        3. Timeouts: every active request whose deadline has passed is engine.cancel()-ed and
           retired with "timeout" (stats.timed_out).
        4. One engine.step() if the engine has work: push each StepOutput's token into its
           stream (stats.tokens); a finished request is retired with the engine's finish_reason
           (stats.completed). stats.steps counts the steps, batch_sizes the outputs per step.
        Retiring (`_retire`) ends the stream and drops the engine's records of the request.
        Example: three requests queued on an idle worker with max_batch 2: run_once(wait=0) admits
        two, steps once and returns 2 (one token each); the third waits for a free place.

        Returns:
            the number of tokens pushed in this turn (the size of the engine step, 0 without one).
        """
        # TODO(w18.worker): run one turn of the loop: cancellations, admission, timeouts, then one engine step
        raise NotImplementedError(
            "w18.worker: write EngineWorker.run_once in exercises/week18_serving/worker.py"
        )
