"""A continuous-batching scheduler: waiting and running queues over a paged cache's block manager.

Static batching starts a batch and waits for its longest request; the GPU (or CPU) idles on the
finished rows. Continuous batching (Orca) decides again at every step: finished sequences leave at
once, waiting ones join as soon as their prompt's blocks fit, and every running sequence advances
by one token per step. When the cache runs out of blocks for the next decode step, the most
recently admitted sequence is *preempted*: its blocks are freed and it goes back to the front of
the waiting queue, to be recomputed (prompt + the tokens it already produced) when blocks free up.

The scheduler only decides, with the block manager's tables alone (no tensors): the engine
(engine.py) reserves the planned positions, runs the model and reports each new token back with
`record_token`.
Papers: Yu et al. 2022 (Orca, iteration-level scheduling), Kwon et al. 2023 (vLLM, preemption by
recomputation).
Check: `python tracker.py check w15.scheduler`
"""

from collections import deque
from dataclasses import dataclass, field

from .block_manager import BlockManager


@dataclass(eq=False)  # identity: two requests with the same tokens are still two
class Sequence:
    """One request as the scheduler sees it."""

    seq_id: int
    prompt: list[int]  # prompt token ids, at least one
    max_new_tokens: int  # finish after this many output tokens
    eos_token_id: int | None = None  # finish after producing this token (it is kept in output)
    output: list[int] = field(default_factory=list)  # tokens generated so far
    status: str = "waiting"  # waiting, running or finished
    finish_reason: str | None = None  # "eos", "length" or "cancelled" once finished
    num_computed: int = 0  # leading tokens whose keys and values are in the cache

    @property
    def tokens(self) -> list[int]:
        """prompt + output: everything the model has to have seen to produce the next token."""
        return self.prompt + self.output


@dataclass
class Batch:
    """One step's plan: which sequences run, and which were preempted to make room."""

    prefill: list[Sequence]  # admitted this step: feed all their tokens
    decode: list[Sequence]  # already running: feed their one newest token
    preempted: list[Sequence]  # sent back to the waiting queue this step

    @property
    def sequences(self) -> list[Sequence]:
        return self.decode + self.prefill


class Scheduler:
    """FIFO admission under a block budget, one decode step for all, LIFO preemption.

    Attributes:
        cache: the block manager (tables and free blocks only; the scheduler never needs the
            tensors): it asks it how many blocks a step needs and frees finished sequences.
        max_running: at most this many sequences run at once.
        waiting: sequences not in the cache, oldest (or most recently preempted) first.
        running: sequences in the cache, in admission order.
        finished: every finished sequence, in finishing order.
        num_preemptions: how many sequences were preempted so far (a step that preempts two
            counts two).
    """

    def __init__(self, cache: BlockManager, max_running: int = 32):
        self.cache = cache
        self.max_running = max_running
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.finished: list[Sequence] = []
        self.num_preemptions = 0

    def add(self, seq: Sequence) -> None:
        """Queue a new sequence at the back of the waiting queue."""
        seq.status = "waiting"
        self.waiting.append(seq)

    def has_unfinished(self) -> bool:
        return bool(self.waiting or self.running)

    def prompt_blocks(self, seq: Sequence) -> int:
        """Blocks a waiting sequence needs to be prefilled: ceil(len(seq.tokens) / block_size)."""
        return -(-len(seq.tokens) // self.cache.block_size)

    def schedule(self) -> Batch:
        """Plan one step: make room for every running sequence's next token, then admit.

        1. Decode room: each running sequence will append 1 position
           (`cache.blocks_needed(seq.seq_id, 1)` blocks). While the running sequences together
           need more blocks than are free, preempt the most recently admitted one (the last of
           `running`): free its blocks in the cache, set num_computed = 0 and status "waiting",
           put it at the FRONT of `waiting`, count it in num_preemptions. The sequences still
           running are the step's `decode` list.
        2. Admission, first come first served: while `waiting` is not empty and fewer than
           `max_running` sequences run, look at the first waiting sequence; if its
           `prompt_blocks` plus the decode room of step 1 plus the prompt blocks of the sequences
           already admitted in this step fit in the free blocks, move it to the end of `running`
           (status "running") and into `prefill`; otherwise stop (no skipping ahead, so a long
           prompt is never starved). If step 1 preempted anything, nothing is admitted this step
           (the cache is full).
           Example: 6 free blocks, no running sequence, prompts needing 2, 3, 1, 1 blocks ->
           the first three are admitted (2 + 3 + 1 = 6), the fourth waits. A running set needing
           exactly the free blocks is not preempted; one block more preempts.

        Nothing is allocated here (the free count does not change while you plan): the engine
        appends the planned positions right after.

        Returns:
            Batch(prefill, decode, preempted).
        """
        # TODO(w15.scheduler): plan the step: room for all running sequences first, then FIFO admits
        raise NotImplementedError(
            "w15.scheduler: write Scheduler.schedule in exercises/week15_efficient_inference/scheduler.py"
        )

    def record_token(self, seq: Sequence, token: int) -> bool:
        """Append a sampled token to a running sequence; retire it if that finished it.

        The sequence's fed tokens are now computed: set num_computed = len(seq.tokens) before
        appending (the new token itself is not in the cache yet). It finishes with reason "eos" if
        the token equals its eos_token_id, else "length" once it has max_new_tokens outputs. A
        finished sequence gets status "finished", its blocks are freed, it leaves `running` and
        is appended to `finished`.
        Example: prompt [1, 2, 3], max_new_tokens 2, eos 9, prefilled: record_token(seq, 4) ->
        False, num_computed 3, output [4]; record_token(seq, 5) -> True, num_computed 4, reason
        "length" (record_token(seq, 9) instead would finish with reason "eos", 9 kept in output).

        Returns:
            True if the sequence finished.
        """
        # TODO(w15.scheduler): record the token; retire the sequence and free its blocks once done
        raise NotImplementedError(
            "w15.scheduler: write Scheduler.record_token in exercises/week15_efficient_inference/scheduler.py"
        )

    def cancel(self, seq_id: int) -> Sequence | None:
        """Stop a waiting or running sequence now: reason "cancelled", its blocks freed.

        Returns the sequence, or None if no unfinished sequence has this id.
        """
        for seq in self.waiting:
            if seq.seq_id == seq_id:
                self.waiting.remove(seq)
                seq.status, seq.finish_reason = "finished", "cancelled"
                self.finished.append(seq)
                return seq
        for seq in self.running:
            if seq.seq_id == seq_id:
                seq.status, seq.finish_reason = "finished", "cancelled"
                self.cache.free(seq_id)
                self.running.remove(seq)
                self.finished.append(seq)
                return seq
        return None
