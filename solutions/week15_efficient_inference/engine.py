"""A batched inference engine over the week-05 GPT: paged KV cache + continuous batching + sampling.

Every `step()` asks the scheduler for a plan, runs ONE forward pass over all scheduled sequences
(new prompts and one-token decodes packed together), samples each sequence's next token with its
own sampling parameters (week 08's processors) and reports the new tokens. The weight matmuls see
all sequences at once, so a step costs little more than a single sequence's step: that is where
the throughput comes from.

API (week 18's server builds on it):
    engine = Engine(model, num_blocks=256, block_size=16, max_running=32)
    rid = engine.submit([5, 3, 9], SamplingParams(max_new_tokens=20, temperature=0.8, seed=1))
    while engine.has_unfinished():
        for out in engine.step():          # StepOutput(request_id, token, finished, finish_reason)
            ...                            # stream out.token to the client of out.request_id
    engine.cancel(rid)                     # stop a request; its blocks are freed at once
    engine.generate(prompts, params)       # or all at once: list of output token lists
References: Kwon et al. 2023 (vLLM), Yu et al. 2022 (Orca).
Check: `python tracker.py check w15.engine`
"""

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from solutions.week05_gpt.model import GPT
from solutions.week08_inference import sampling
from solutions.week08_inference.penalty import apply_repetition_penalty

from .block_manager import BlockManager
from .kv_store import KVStore
from .scheduler import Scheduler, Sequence


@dataclass(frozen=True)
class SamplingParams(sampling.SamplingParams):
    """Per-request settings: week 08's SamplingParams (temperature, top_k, top_p, min_p; the
    default temperature 0 is greedy) plus when to stop and how to seed.

    Example: SamplingParams(max_new_tokens=20, temperature=0.8, top_p=0.95, seed=1).
    """

    max_new_tokens: int = 16  # finish after this many new tokens
    repetition_penalty: float | None = None  # > 1 discourages tokens of prompt + output
    eos_token_id: int | None = None  # finish when this token is produced (it is reported)
    seed: int | None = None  # seeds this request's own torch.Generator; None: the global RNG


@dataclass
class StepOutput:
    """One new token of one request."""

    request_id: int
    token: int
    finished: bool  # this was the request's last token
    finish_reason: str | None = None  # "eos" or "length" when finished


@torch.inference_mode()
def batched_forward(
    model: GPT, cache: BlockManager, kv: KVStore, seq_ids: list[int], chunks: list[list[int]]
) -> torch.Tensor:
    """One forward pass for several sequences at once, each continuing its own paged cache.

    Sequence b feeds the tokens chunks[b] (a whole prompt, or one new token) at positions
    start_b .. start_b + n_b - 1, where start_b = cache.lengths[seq_ids[b]] before the call (0 for a
    new sequence). The call reserves those positions with `cache.append_slots`, performs the block
    copies it returns (`kv.copy_blocks`, before any write: a forked sequence's shared block is
    copied with the prefix it holds), writes every layer's keys and values at the positions'
    slots, and lets each new token attend causally to its own sequence only: positions 0 .. its
    own, read through its block table (`kv.gather`). The N = sum n_b new tokens are packed into
    one (N, C) tensor for everything that works token by token (embeddings, LayerNorms, c_attn,
    c_proj, MLP): those weight matmuls run once for the whole batch with no padding. Only
    attention pads, to (B, longest chunk) queries against (B, longest context) keys, with a mask;
    padding is never written to the cache and never changes a real token's output.

    Example: block_size 4, seq 0 holds 5 positions: chunks [[7], [1, 2, 3]] for seq_ids [0, 9]
    feed position 5 of seq 0 and positions 0..2 of the new seq 9; logits row 0 is the model's
    prediction after seq 0's 6 tokens, row 1 after [1, 2, 3].

    Args:
        model: a week-05 GPT in eval mode (left in eval mode; its weights are not changed).
        cache: the block manager, with enough free blocks for every chunk.
        kv: the tensors of the cache (as many blocks and the same block_size as `cache`).
        seq_ids: B distinct sequence ids.
        chunks: B non-empty lists of token ids.

    Returns:
        (B, V) logits of the LAST token of each chunk: equal (up to float rounding) to
        model(all tokens of sequence b so far)[0][0, -1].

    Raises:
        OutOfBlocks: (from append_slots) if the cache cannot hold the chunks.
    """
    dev = kv.k.device
    B = len(seq_ids)
    n = torch.tensor([len(c) for c in chunks], device=dev)  # (B,)
    starts = [cache.lengths.get(s, 0) for s in seq_ids]
    start = torch.tensor(starts, device=dev)  # (B,)
    copies = [pair for s, c in zip(seq_ids, chunks) for pair in cache.append_slots(s, len(c))]
    # subtle: copy before any write; the copy must carry the shared prefix, not this step's keys
    kv.copy_blocks(copies)
    slots = [
        cache.slot(s, p)
        for s, c, p0 in zip(seq_ids, chunks, starts)
        for p in range(p0, p0 + len(c))
    ]
    write_slots = torch.tensor(slots, dtype=torch.long, device=dev)  # (N,)
    tokens = torch.tensor([t for c in chunks for t in c], dtype=torch.long, device=dev)  # (N,)
    Tq = int(n.max())
    t = torch.arange(Tq, device=dev)
    valid = t[None, :] < n[:, None]  # (B, Tq): where the packed tokens sit in the padded grid
    qpos = start[:, None] + t[None, :]  # (B, Tq) absolute positions (padding: masked, unused)
    pos = qpos[valid]  # (N,) the packed tokens' positions, sequence by sequence
    # read whole blocks: a sequence's table lists its blocks in position order, so gathering them
    # gives positions 0 .. nb * bs - 1; positions past its length are masked below
    tables = torch.tensor(cache.block_tables(seq_ids), dtype=torch.long, device=dev)  # (B, nb)
    Tk = tables.shape[1] * cache.block_size
    kpos = torch.arange(Tk, device=dev)  # (Tk,)
    # padded query rows get key 0 too, so no row of the mask is empty (softmax of all -inf)
    mask = (kpos[None, None, :] <= qpos[:, :, None]) | (kpos == 0)  # (B, Tq, Tk)
    mask = mask[:, None]  # (B, 1, Tq, Tk), broadcast over heads

    tr = model.transformer
    x = tr.drop(tr.wte(tokens) + tr.wpe(pos))  # (N, C)
    C = x.shape[-1]
    for layer, block in enumerate(tr.h):
        H = block.attn.n_head
        D = C // H
        q, k, v = block.attn.c_attn(block.ln_1(x)).split(C, dim=1)  # 3 x (N, C)
        # write before reading: a token attends to itself
        kv.write(layer, write_slots, k.view(-1, H, D), v.view(-1, H, D))
        keys, values = kv.gather(layer, tables)  # 2 x (B, Tk, H, D)
        keys, values = keys.transpose(1, 2), values.transpose(1, 2)  # 2 x (B, H, Tk, D)
        q_pad = q.new_zeros(B, Tq, H, D)
        q_pad[valid] = q.view(-1, H, D)
        y = F.scaled_dot_product_attention(
            q_pad.transpose(1, 2), keys, values, attn_mask=mask
        )  # (B, H, Tq, D)
        y = y.transpose(1, 2)[valid].reshape(-1, C)  # (N, C): back to the packed tokens
        x = x + block.attn.c_proj(y)
        x = x + block.mlp(block.ln_2(x))
    last = n.cumsum(0) - 1  # (B,) index of each chunk's last token in the packed tensor
    return model.lm_head(tr.ln_f(x[last]))  # (B, V)


class Engine:
    """Continuous batching over a paged cache, with per-request sampling parameters.

    Not thread-safe: call submit, cancel and step from one thread (a server runs the loop in one
    background thread and hands requests to it through a queue). `sequences[request_id]` keeps
    every request's record (prompt, output, finish_reason) after it finishes.

    Attributes:
        cache: the BlockManager (block tables, free blocks; `cache.num_free_blocks`).
        kv: the KVStore (the key and value tensors of every layer).
        scheduler: the Scheduler, planning with `cache` alone.
    """

    def __init__(
        self, model: GPT, *, num_blocks: int = 256, block_size: int = 16, max_running: int = 32
    ):
        self.model = model.eval()
        self.cache = BlockManager(num_blocks, block_size)  # the tables: who holds which block
        self.kv = KVStore.for_model(model, num_blocks, block_size)  # the tensors
        self.scheduler = Scheduler(self.cache, max_running)
        self.params: dict[int, SamplingParams] = {}
        self.generators: dict[int, torch.Generator | None] = {}
        self.sequences: dict[int, Sequence] = {}
        self._next_id = 0

    def submit(self, prompt: list[int], params: SamplingParams | None = None) -> int:
        """Queue a request; returns its id (0, 1, 2, ... in submission order).

        Raises:
            ValueError: for an empty prompt, max_new_tokens < 1, or a request that could never
                run: prompt + max_new_tokens longer than the model's block_size, or more blocks than
                the whole cache holds.
        """
        params = params or SamplingParams()
        total = len(prompt) + params.max_new_tokens
        if not prompt or params.max_new_tokens < 1:
            raise ValueError("a request needs a non-empty prompt and max_new_tokens >= 1")
        if total > self.model.config.block_size:
            raise ValueError(
                f"prompt + max_new_tokens = {total} > block_size {self.model.config.block_size}"
            )
        if -(-total // self.cache.block_size) > self.cache.num_blocks:
            raise ValueError(f"a request of {total} tokens needs more blocks than the cache has")
        rid = self._next_id
        self._next_id += 1
        seq = Sequence(rid, list(prompt), params.max_new_tokens, params.eos_token_id)
        self.sequences[rid] = seq
        self.params[rid] = params
        seed = params.seed
        self.generators[rid] = None if seed is None else torch.Generator().manual_seed(seed)
        self.scheduler.add(seq)
        return rid

    def cancel(self, request_id: int) -> bool:
        """Stop a request now and free its blocks; False if it was unknown or already finished.

        No further StepOutput is produced for it; its record keeps finish_reason "cancelled".
        """
        return self.scheduler.cancel(request_id) is not None

    def has_unfinished(self) -> bool:
        return self.scheduler.has_unfinished()

    def sample(self, seqs: list[Sequence], logits: torch.Tensor) -> list[int]:
        """The next token of each sequence from its logits row (B, V), with its own parameters.

        Greedy rows without a repetition penalty take the argmax; the others go through week 08's
        apply_repetition_penalty (over prompt + output) and sample_next with the request's
        generator, one row at a time.
        """
        tokens = logits.argmax(dim=-1).tolist()
        for b, seq in enumerate(seqs):
            p = self.params[seq.seq_id]
            if p.temperature == 0 and p.repetition_penalty is None:
                continue
            row = logits[b : b + 1]
            if p.repetition_penalty is not None:
                seen = torch.tensor([seq.tokens], dtype=torch.long, device=row.device)
                row = apply_repetition_penalty(row, seen, p.repetition_penalty)
            tok = sampling.sample_next(row, p, generator=self.generators[seq.seq_id])
            tokens[b] = int(tok[0])
        return tokens

    def step(self) -> list[StepOutput]:
        """Run one scheduling step and return one StepOutput per sequence that ran.

        Ask the scheduler for a plan; if it schedules nothing, return []. Otherwise feed each
        scheduled sequence its uncomputed tokens, seq.tokens[seq.num_computed:] (a whole prompt, a
        recomputed prompt + output after a preemption, or the one newest token), in ONE
        batched_forward call; pick each next token with `sample`; report it to the scheduler with
        record_token (which retires finished sequences and frees their blocks); return the
        outputs in the order of batch.sequences.
        Example: two requests just submitted: the first step prefills both and returns two
        StepOutputs (request 0 then 1), each with the first new token of its request.
        """
        batch = self.scheduler.schedule()
        seqs = batch.sequences
        if not seqs:
            return []
        chunks = [s.tokens[s.num_computed :] for s in seqs]
        ids = [s.seq_id for s in seqs]
        logits = batched_forward(self.model, self.cache, self.kv, ids, chunks)  # (B, V)
        outputs = []
        for seq, tok in zip(seqs, self.sample(seqs, logits)):
            done = self.scheduler.record_token(seq, tok)
            outputs.append(StepOutput(seq.seq_id, tok, done, seq.finish_reason if done else None))
        return outputs

    def stream(self) -> Iterator[StepOutput]:
        """Step until every request has finished, yielding each new token as it is produced."""
        while self.has_unfinished():
            yield from self.step()

    def generate(
        self, prompts: list[list[int]], params: SamplingParams | list[SamplingParams] | None = None
    ) -> list[list[int]]:
        """Submit every prompt, run to completion and return each request's output tokens in order."""
        if not isinstance(params, list):
            params = [params] * len(prompts)
        ids = [self.submit(p, sp) for p, sp in zip(prompts, params)]
        for _ in self.stream():
            pass
        return [self.sequences[i].output for i in ids]
