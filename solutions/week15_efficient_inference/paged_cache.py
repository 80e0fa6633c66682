"""A paged KV cache: fixed-size blocks, a free-list allocator, per-sequence block tables, sharing.

Week 08's cache gives every sequence a contiguous (block_size, H, D) slab per layer: a short request
wastes most of it and the batch is fixed. A paged cache (vLLM's PagedAttention) cuts the storage
into physical blocks of `block_size` positions. A sequence owns a *block table*, the list of its
physical blocks in order: position p lives in block table[p // block_size] at offset
p % block_size. Blocks are handed out one at a time as sequences grow and returned when they
finish, so memory follows the tokens actually generated.

Blocks are reference counted: `fork` makes a second sequence share the first one's blocks (a common
prompt prefix is stored once). Before a sequence writes into a shared block, it copies it
(copy-on-write), so one sequence never changes what another reads.

Storage: `k` and `v` are (n_layer, num_blocks, block_size, H, D); a *slot* is the flat index
block * block_size + offset into the view (num_blocks * block_size, H, D) of one layer.
Paper: Kwon et al. 2023 (vLLM, PagedAttention).
Check: `pytest checks/week15_efficient_inference/test_paged_cache.py`
"""

import torch

from solutions.week05_gpt.model import GPT


class OutOfBlocks(RuntimeError):
    """Raised when an allocation needs more free blocks than there are."""


class BlockAllocator:
    """A free list of `num_blocks` physical blocks, each with a reference count.

    A block is free exactly when its count is 0. `allocate` takes a free block (count 1), `incref`
    adds an owner, `free` removes one and puts the block back on the free list when none is left.
    Keep the state in the two given attributes, `free_list` and `refcount`: the checks read them.
    """

    def __init__(self, num_blocks: int):
        self.num_blocks = num_blocks
        self.free_list: list[int] = list(range(num_blocks - 1, -1, -1))  # pop() gives 0, 1, ...
        self.refcount: list[int] = [0] * num_blocks

    @property
    def num_free(self) -> int:
        """How many blocks are free."""
        return len(self.free_list)

    def allocate(self) -> int:
        """Take a free block, set its reference count to 1 and return its id.

        Raises:
            OutOfBlocks: if no block is free.
        """
        if not self.free_list:
            raise OutOfBlocks(f"all {self.num_blocks} blocks are in use")
        block = self.free_list.pop()
        self.refcount[block] = 1
        return block

    def incref(self, block: int) -> None:
        """Add an owner to an allocated block (sharing). Raises ValueError if the block is free."""
        if self.refcount[block] <= 0:
            raise ValueError(f"incref of block {block}, which is free")
        self.refcount[block] += 1

    def free(self, block: int) -> None:
        """Drop one owner; the block returns to the free list when its count reaches 0.

        Raises:
            ValueError: if the block is already free (a double free).
        """
        if self.refcount[block] <= 0:
            raise ValueError(f"double free of block {block}")
        self.refcount[block] -= 1
        if self.refcount[block] == 0:
            self.free_list.append(block)


class PagedKVCache:
    """Keys and values of many sequences in shared fixed-size blocks.

    `tables[seq_id]` is the sequence's list of physical blocks, `lengths[seq_id]` how many positions
    it has reserved (written or about to be written). A sequence appears on its first
    `append_slots` (or `fork`) and disappears with `free`.
    """

    def __init__(
        self,
        n_layer: int,
        n_head: int,
        head_dim: int,
        num_blocks: int,
        block_size: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ):
        shape = (n_layer, num_blocks, block_size, n_head, head_dim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.block_size = block_size
        self.allocator = BlockAllocator(num_blocks)
        self.tables: dict[int, list[int]] = {}
        self.lengths: dict[int, int] = {}

    @classmethod
    def for_model(cls, model: GPT, num_blocks: int, block_size: int) -> "PagedKVCache":
        """An empty cache with the layers, heads and head size of a week-05 GPT."""
        c = model.config
        p = model.lm_head.weight
        return cls(
            c.n_layer,
            c.n_head,
            c.n_embd // c.n_head,
            num_blocks,
            block_size,
            dtype=p.dtype,
            device=p.device,
        )

    @property
    def num_free_blocks(self) -> int:
        return self.allocator.num_free

    def flat(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of one layer as (num_blocks * block_size, H, D) views, indexed by slot."""
        _, nb, bs, H, D = self.k.shape
        return self.k[layer].view(nb * bs, H, D), self.v[layer].view(nb * bs, H, D)

    def block_table_tensor(self, seq_ids: list[int]) -> torch.Tensor:
        """(B, max blocks) int64 block tables of `seq_ids`, right-padded with block 0."""
        width = max((len(self.tables.get(s, [])) for s in seq_ids), default=0)
        rows = [
            self.tables.get(s, []) + [0] * (width - len(self.tables.get(s, []))) for s in seq_ids
        ]
        return torch.tensor(rows, dtype=torch.long, device=self.k.device).reshape(
            len(seq_ids), width
        )

    def slot(self, seq_id: int, pos: int) -> int:
        """The flat slot of position `pos` of a sequence: table[pos // bs] * bs + pos % bs.

        Example: block_size 4, table [7, 2]: position 0 -> slot 28, 3 -> 31, 4 -> 8, 5 -> 9.
        """
        bs = self.block_size
        return self.tables[seq_id][pos // bs] * bs + pos % bs

    def blocks_needed(self, seq_id: int, n: int) -> int:
        """How many free blocks `append_slots(seq_id, n)` would take (0 for n = 0).

        New blocks for the positions past the table's capacity, plus one if the last block is only
        partly filled and shared (it is copied before the sequence writes into it). A sequence
        not seen yet has length 0 and an empty table.
        Example: block_size 4, length 5 in 2 unshared blocks: n=3 -> 0, n=4 -> 1, n=8 -> 2.
        """
        if n == 0:
            return 0
        bs = self.block_size
        table = self.tables.get(seq_id, [])
        length = self.lengths.get(seq_id, 0)
        new = max(0, -(-(length + n - len(table) * bs) // bs))  # ceil, for positions past capacity
        shared_tail = length % bs != 0 and self.allocator.refcount[table[-1]] > 1
        return new + int(shared_tail)

    def append_slots(self, seq_id: int, n: int) -> list[int]:
        """Reserve the next `n` positions of a sequence and return their slots, in order.

        Positions length .. length + n - 1 are reserved and `lengths[seq_id]` grows by n. Blocks are
        allocated as the positions need them. Copy-on-write: if the last block is partly filled and
        shared with another sequence, first copy its keys and values (every layer) into a fresh
        block, replace it in this table and drop this sequence's reference to the old one.
        All or nothing: if `blocks_needed(seq_id, n)` exceeds the free blocks, raise OutOfBlocks
        and change nothing.

        Args:
            seq_id: the sequence; created (empty) if it is new.
            n: how many positions to add, >= 0.

        Returns:
            n flat slots (see `slot`).
        """
        need = self.blocks_needed(seq_id, n)
        if need > self.allocator.num_free:
            raise OutOfBlocks(
                f"sequence {seq_id} needs {need} blocks, {self.allocator.num_free} free"
            )
        table = self.tables.setdefault(seq_id, [])
        length = self.lengths.setdefault(seq_id, 0)
        bs = self.block_size
        if n > 0 and length % bs != 0 and self.allocator.refcount[table[-1]] > 1:
            # copy-on-write: the other owners keep the old block untouched
            old, new = table[-1], self.allocator.allocate()
            self.k[:, new] = self.k[:, old]
            self.v[:, new] = self.v[:, old]
            self.allocator.free(old)
            table[-1] = new
        while len(table) * bs < length + n:
            table.append(self.allocator.allocate())
        self.lengths[seq_id] = length + n
        return [self.slot(seq_id, p) for p in range(length, length + n)]

    def write(self, layer: int, slots: list[int], k: torch.Tensor, v: torch.Tensor) -> None:
        """Store keys and values (N, H, D) of one layer at N slots."""
        idx = torch.as_tensor(slots, dtype=torch.long, device=self.k.device)
        flat_k, flat_v = self.flat(layer)
        flat_k[idx] = k
        flat_v[idx] = v

    def gather(self, seq_id: int, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of positions 0 .. length - 1 of a sequence, in order.

        Returns:
            k (length, H, D) and v (length, H, D): copies gathered from the blocks.
        """
        slots = [self.slot(seq_id, p) for p in range(self.lengths[seq_id])]
        idx = torch.tensor(slots, dtype=torch.long, device=self.k.device)
        flat_k, flat_v = self.flat(layer)
        return flat_k[idx], flat_v[idx]

    def fork(self, src: int, dst: int) -> None:
        """Make new sequence `dst` share all of `src`'s blocks and its length (no copy).

        Every block of src gains an owner; dst's table is a copy of src's list, so later appends to
        either do not change the other's table. Raises ValueError if dst already exists.
        """
        if dst in self.tables:
            raise ValueError(f"fork: sequence {dst} already exists")
        for block in self.tables[src]:
            self.allocator.incref(block)
        self.tables[dst] = list(self.tables[src])
        self.lengths[dst] = self.lengths[src]

    def free(self, seq_id: int) -> None:
        """Drop a sequence: release its reference to each of its blocks and forget it.

        A sequence that does not exist (never appended, or freed already) is ignored.
        """
        for block in self.tables.pop(seq_id, []):
            self.allocator.free(block)
        self.lengths.pop(seq_id, None)
