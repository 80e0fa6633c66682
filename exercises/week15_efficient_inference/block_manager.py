"""The paged KV cache's bookkeeping: a block allocator and per-sequence block tables (no tensors).

Week 08's cache gives every sequence a contiguous slab per layer: a short request wastes most of it
and the batch is fixed. A paged cache (vLLM's PagedAttention) cuts the storage into physical blocks
of `block_size` positions. A sequence owns a *block table*, the list of its physical blocks in
order: position p lives in block table[p // block_size] at offset p % block_size, which is the flat
*slot* table[p // block_size] * block_size + p % block_size. Blocks are handed out one at a time as
sequences grow and returned when they finish, so memory follows the tokens actually generated.

Blocks are reference counted: `fork` makes a second sequence share the first one's blocks (a common
prompt prefix is stored once). Before a sequence writes into a shared block, that block is copied
(copy-on-write), so one sequence never changes what another reads.

As in vLLM, this module only keeps tables: plain Python ints and lists, no torch. It decides where
things go and says which block copies copy-on-write needs; the tensors live in kv_store.py
(`KVStore`), which performs the copies and the writes. The scheduler plans with a BlockManager
alone.
Paper: Kwon et al. 2023 (vLLM, PagedAttention).
Check: `python tracker.py check w15.block_manager`
"""


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

        Example: BlockAllocator(2): allocate() -> 0, allocate() -> 1 (both now have count 1),
        a third allocate() raises OutOfBlocks; after free(0), allocate() -> 0 again.

        Raises:
            OutOfBlocks: if no block is free.
        """
        # TODO(w15.block_manager): hand out an unowned block, now owned once; OutOfBlocks if none
        raise NotImplementedError(
            "w15.block_manager: write BlockAllocator.allocate in exercises/week15_efficient_inference/block_manager.py"
        )

    def incref(self, block: int) -> None:
        """Add an owner to an allocated block (sharing).

        Example: allocate() -> 0 (count 1); incref(0) -> count 2; two free(0) calls free it.

        Raises:
            ValueError: if the block is free (count 0): only an owned block can be shared.
        """
        # TODO(w15.block_manager): give an owned block one more owner; refuse a free one
        raise NotImplementedError(
            "w15.block_manager: write BlockAllocator.incref in exercises/week15_efficient_inference/block_manager.py"
        )

    def free(self, block: int) -> None:
        """Drop one owner; the block returns to the free list when its count reaches 0.

        Example: a block with count 2: free -> count 1, still off the free list; free -> count 0,
        back on the free list (num_free grows by 1).

        Raises:
            ValueError: if the block is already free (a double free).
        """
        # TODO(w15.block_manager): drop one owner; the last one leaving frees it; no double free
        raise NotImplementedError(
            "w15.block_manager: write BlockAllocator.free in exercises/week15_efficient_inference/block_manager.py"
        )


class BlockManager:
    """Which physical blocks each sequence holds, and how many positions it has reserved.

    `tables[seq_id]` is the sequence's list of physical blocks, `lengths[seq_id]` how many positions
    it has reserved (written or about to be written). A sequence appears on its first
    `append_slots` (or `fork`) and disappears with `free`. Every entry of every table is one
    reference: a block's reference count equals the number of table entries that name it.
    Everything here is a plain int or list of ints.
    """

    def __init__(self, num_blocks: int, block_size: int):
        self.block_size = block_size
        self.allocator = BlockAllocator(num_blocks)
        self.tables: dict[int, list[int]] = {}
        self.lengths: dict[int, int] = {}

    @property
    def num_blocks(self) -> int:
        return self.allocator.num_blocks

    @property
    def num_free_blocks(self) -> int:
        return self.allocator.num_free

    def block_tables(self, seq_ids: list[int]) -> list[list[int]]:
        """The block tables of `seq_ids`, right-padded with block 0 to the longest (B rows)."""
        rows = [self.tables.get(s, []) for s in seq_ids]
        width = max((len(r) for r in rows), default=0)
        return [r + [0] * (width - len(r)) for r in rows]

    def slot(self, seq_id: int, pos: int) -> int:
        """The flat slot of position `pos` of a sequence: table[pos // bs] * bs + pos % bs.

        Example: block_size 4, table [7, 2]: position 0 -> slot 28, 3 -> 31 (the last slot of
        block 7), 4 -> 8 (the first slot of block 2), 5 -> 9.
        """
        # TODO(w15.block_manager): return the flat slot where position pos of the sequence lives
        raise NotImplementedError(
            "w15.block_manager: write BlockManager.slot in exercises/week15_efficient_inference/block_manager.py"
        )

    def blocks_needed(self, seq_id: int, n: int) -> int:
        """How many free blocks `append_slots(seq_id, n)` would take (0 for n = 0).

        New blocks for the positions past the table's capacity (len(table) * block_size), plus one
        if the last block is only partly filled and shared (it is copied before the sequence writes
        into it). A sequence not seen yet has length 0 and an empty table.
        Example: block_size 4, length 5 in 2 unshared blocks (capacity 8): n=3 -> 0 (fills position
        7, the last slot), n=4 -> 1 (position 8 starts a third block), n=8 -> 2. Forked, so both
        blocks are shared: n=1 -> 1 (the copy), n=3 -> 1, n=4 -> 2.
        """
        # TODO(w15.block_manager): count the blocks append_slots(seq_id, n) would take
        raise NotImplementedError(
            "w15.block_manager: write BlockManager.blocks_needed in exercises/week15_efficient_inference/block_manager.py"
        )

    def append_slots(self, seq_id: int, n: int) -> list[tuple[int, int]]:
        """Reserve the next `n` positions of a sequence; return the block copies this needs.

        Positions length .. length + n - 1 are reserved (their slots: `slot(seq_id, p)`) and
        `lengths[seq_id]` grows by n. Blocks are allocated as the positions need them.
        Copy-on-write: if n > 0 and the last block is partly filled and shared with another
        sequence, a fresh block replaces it in this table, this sequence's reference to the old
        one is dropped, and the pair (old, new) is returned: the tensor side must copy the old
        block's keys and values into the new one before anything is written. A full last block
        is never copied (the new positions go to a new block).
        All or nothing: if `blocks_needed(seq_id, n)` exceeds the free blocks, raise OutOfBlocks
        and change nothing.
        Example: block_size 4, seq 0 of length 6 in blocks [0, 1], fork(0, 1): append_slots(1, 1)
        -> [(1, 2)] and tables[1] == [0, 2]; then append_slots(0, 1) -> [] (block 1 is seq 0's
        alone now).

        Args:
            seq_id: the sequence; created (empty) if it is new.
            n: how many positions to add, >= 0.

        Returns:
            The (src, dst) block copies to perform, in order: [] or one pair.

        Raises:
            OutOfBlocks: if the free blocks do not cover blocks_needed(seq_id, n).
        """
        # TODO(w15.block_manager): reserve n positions, all or nothing; never write a shared block
        raise NotImplementedError(
            "w15.block_manager: write BlockManager.append_slots in exercises/week15_efficient_inference/block_manager.py"
        )

    def fork(self, src: int, dst: int) -> None:
        """Make new sequence `dst` share all of `src`'s blocks and its length (no copy, no block).

        Every block of src gains an owner; dst's table is a new list with the same blocks, so later
        appends to either do not change the other's table.
        Example: tables {0: [3, 5]}, refcounts 1, 1: fork(0, 1) -> tables[1] == [3, 5], refcounts
        2, 2, num_free_blocks unchanged.

        Raises:
            ValueError: if src does not exist or dst already exists.
        """
        # TODO(w15.block_manager): dst shares src's blocks and length; no free block taken
        raise NotImplementedError(
            "w15.block_manager: write BlockManager.fork in exercises/week15_efficient_inference/block_manager.py"
        )

    def free(self, seq_id: int) -> None:
        """Drop a sequence: release its reference to each of its blocks and forget it.

        A block shared with another sequence stays allocated for that one. A sequence that does
        not exist (never appended, or freed already) is ignored.
        Example: 8 blocks, seq 0 holds 3 of them: free(0) -> num_free_blocks 8, 0 not in tables.
        """
        # TODO(w15.block_manager): forget the sequence; give up its share of each of its blocks
        raise NotImplementedError(
            "w15.block_manager: write BlockManager.free in exercises/week15_efficient_inference/block_manager.py"
        )
