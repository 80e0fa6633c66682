"""Checks for w15.block_manager: the block allocator, block tables, slots, fork, copy-on-write, free.

No tensors: the block manager is plain Python. Oracles: hand-derived slots, block counts and
copies (in the docstrings); the allocator invariants after every operation of a seeded random
sequence (a block's reference count is the number of table entries naming it, a block is on the
free list exactly when nobody owns it); and a pure-Python stand-in for the tensors that follows the
plan (performs the returned copies, writes at the slots), so every sequence must read back exactly
what it wrote, whatever was shared and copied.
"""

import random

import pytest

from roadmap.impl import load

mod = load("week15_efficient_inference.block_manager")

SLOT = "position p lives in table[p // block_size] at offset p % block_size"


# --- the allocator -------------------------------------------------------------------------------


@pytest.mark.parametrize("num_blocks", [1, 4, 7])
def test_allocator_hands_out_every_block_once_and_raises_on_the_next(num_blocks):
    """num_blocks allocations give the ids 0 .. num_blocks - 1 once each (the last one succeeds);
    allocation num_blocks + 1 raises OutOfBlocks and changes nothing; freeing one block makes it,
    and only it, available again."""
    alloc = mod.BlockAllocator(num_blocks)
    got = []
    for i in range(num_blocks):
        try:
            got.append(alloc.allocate())
        except mod.OutOfBlocks as e:
            raise AssertionError(
                f"BlockAllocator({num_blocks}): allocation {i + 1} of {num_blocks} raised "
                f"OutOfBlocks ({e}); all {num_blocks} blocks can be allocated, only the next one "
                "raises"
            ) from e
    assert sorted(got) == list(range(num_blocks)), (
        f"BlockAllocator({num_blocks}): {num_blocks} allocate() calls gave {got}; expected the ids "
        f"0..{num_blocks - 1} once each\n  likely cause: take each block off the free list (pop) "
        "so it is not handed out twice"
    )
    assert alloc.num_free == 0 and alloc.refcount == [1] * num_blocks, (
        f"after allocating all {num_blocks} blocks: num_free {alloc.num_free} (expected 0), "
        f"refcounts {alloc.refcount} (expected all 1)\n  likely cause: allocate must take the block "
        "off the free list (pop it) and set its count to 1"
    )
    with pytest.raises(mod.OutOfBlocks):
        alloc.allocate()
    assert alloc.refcount == [1] * num_blocks, (
        f"a failed allocate() changed the reference counts to {alloc.refcount}"
    )
    alloc.free(got[-1])
    assert alloc.num_free == 1, f"num_free after one free: expected 1, got {alloc.num_free}"
    assert alloc.allocate() == got[-1], "after freeing block b, the only free block is b"


def test_reference_counts_keep_shared_blocks_until_the_last_owner_frees():
    """allocate (count 1), incref (2), incref (3), free (2), free (1: still owned), free (0: free)."""
    alloc = mod.BlockAllocator(3)
    b = alloc.allocate()
    alloc.incref(b)
    alloc.incref(b)
    assert alloc.refcount[b] == 3, (
        f"allocate then incref twice: reference count {alloc.refcount[b]}, expected 3"
    )
    alloc.free(b)
    alloc.free(b)
    assert alloc.num_free == 2 and b not in alloc.free_list and alloc.refcount[b] == 1, (
        f"BlockAllocator: a block with three owners was freed twice: count {alloc.refcount[b]} "
        f"(expected 1), free list {alloc.free_list} (must not hold it)\n  likely cause: free must "
        "decrement the reference count and release the block only when it reaches 0"
    )
    alloc.free(b)
    assert alloc.num_free == 3 and b in alloc.free_list and alloc.refcount[b] == 0, (
        f"BlockAllocator: after the last owner freed block {b}: free list {alloc.free_list}, "
        f"count {alloc.refcount[b]}"
    )


def test_double_free_and_sharing_a_free_block_raise_value_error():
    """free of a block with count 0 (a double free) and incref of a free block raise ValueError and
    leave the free list alone (a double free that appended again would hand the block out twice)."""
    alloc = mod.BlockAllocator(2)
    b = alloc.allocate()
    alloc.free(b)
    for call in ("free", "incref"):
        try:
            getattr(alloc, call)(b)
        except ValueError:
            continue
        raise AssertionError(
            f"BlockAllocator: {call}({b}) of a free block (count 0) did not raise ValueError\n"
            "  likely cause: check the reference count before changing anything (a double free "
            "would put the block on the free list twice)"
        )
    assert sorted(alloc.free_list) == [0, 1] and alloc.refcount == [0, 0], (
        f"after a refused double free: free list {alloc.free_list}, counts {alloc.refcount}; "
        "expected each block on the free list once and both counts 0\n  likely cause: check the "
        "reference count before changing anything"
    )


# --- slots and block counts ----------------------------------------------------------------------


def test_slot_known_answer_at_the_block_boundary():
    """block_size 4, table [7, 2]: position 0 -> 7*4 + 0 = 28, 3 -> 31 (the last slot of block 7),
    4 -> 2*4 + 0 = 8 (the first slot of block 2), 5 -> 9."""
    bm = mod.BlockManager(num_blocks=8, block_size=4)
    bm.tables[1] = [7, 2]
    bm.lengths[1] = 6
    got = [bm.slot(1, p) for p in (0, 3, 4, 5)]
    assert got == [28, 31, 8, 9], (
        f"slot(seq, p) for p = 0, 3, 4, 5 with table [7, 2], block_size 4: expected [28, 31, 8, 9], "
        f"got {got}\n  likely cause: block table off by one at the block boundary: {SLOT}"
    )


@pytest.mark.parametrize("block_size", [1, 3, 5])
def test_slot_follows_the_block_size(block_size):
    """Non-default block sizes: table [4, 0, 2]; position p is table[p // bs] * bs + p % bs for
    every p of the three blocks (bs 1: the table itself)."""
    bm = mod.BlockManager(num_blocks=6, block_size=block_size)
    bm.tables[0] = [4, 0, 2]
    bm.lengths[0] = 3 * block_size
    expected = [
        [4, 0, 2][p // block_size] * block_size + p % block_size for p in range(3 * block_size)
    ]
    got = [bm.slot(0, p) for p in range(3 * block_size)]
    assert got == expected, (
        f"slot(seq, p) for p = 0..{3 * block_size - 1}, table [4, 0, 2], block_size {block_size}: "
        f"expected {expected}, got {got}\n  likely cause: use the manager's block_size, not a "
        f"constant: {SLOT}"
    )


def test_blocks_needed_known_answers_on_both_sides_of_the_capacity():
    """block_size 4, a sequence of length 5 in 2 unshared blocks (capacity 8): appending 3 fills
    it exactly (0 blocks), 4 needs 1, 8 needs 2 (13 positions -> 4 blocks); appending 0 needs 0;
    a new sequence needs ceil(n / 4): n=4 -> 1, n=5 -> 2."""
    bm = mod.BlockManager(num_blocks=8, block_size=4)
    bm.append_slots(0, 5)
    assert len(bm.tables[0]) == 2 and bm.lengths[0] == 5, (
        f"append_slots(new seq, 5) with block_size 4: table {bm.tables[0]}, length "
        f"{bm.lengths[0]}; expected ceil(5 / 4) = 2 blocks and length 5\n  likely cause: allocate "
        "blocks while len(table) * block_size < length + n"
    )
    cases = {(0, 3): 0, (0, 4): 1, (0, 8): 2, (0, 0): 0, (9, 1): 1, (9, 4): 1, (9, 5): 2}
    for (seq, n), expected in cases.items():
        got = bm.blocks_needed(seq, n)
        assert got == expected, (
            f"blocks_needed(seq {seq}, n={n}) with block_size 4 and length "
            f"{bm.lengths.get(seq, 0)}: expected {expected}, got {got}\n  likely cause: count "
            "blocks for the positions beyond len(table) * block_size, rounding up"
        )
    assert bm.num_free_blocks == 6 and bm.lengths == {0: 5}, (
        "blocks_needed only counts: it must not allocate or create a sequence"
    )


def test_blocks_needed_counts_the_copy_of_a_shared_partly_filled_block():
    """block_size 4, seq 0 of length 6 (blocks [0, 1], the second half full), fork(0, 1): for seq 1,
    n=1 -> 1 (the copy), n=2 -> 1 (the copy, filled to position 7), n=3 -> 2 (copy + a new
    block). Seq 0 of length 8 (full blocks) forked: n=1 -> 1, a new block and no copy."""
    bm = mod.BlockManager(num_blocks=8, block_size=4)
    bm.append_slots(0, 6)
    bm.fork(0, 1)
    got = [bm.blocks_needed(1, n) for n in (1, 2, 3)]
    assert got == [1, 1, 2], (
        f"blocks_needed(forked seq of length 6, n) for n = 1, 2, 3 with block_size 4: expected "
        f"[1, 1, 2], got {got}\n  likely cause: add 1 (the copy-on-write copy) when the partly "
        "filled last block's reference count is > 1 (fork must incref every block it shares: "
        f"counts now {[bm.allocator.refcount[b] for b in bm.tables[0]]}, expected [2, 2])"
    )
    full = mod.BlockManager(num_blocks=8, block_size=4)
    full.append_slots(0, 8)
    full.fork(0, 1)
    assert full.blocks_needed(1, 1) == 1, (
        f"blocks_needed(forked seq of length 8 = 2 full blocks, 1): expected 1 (a new block; a FULL "
        f"shared block is never copied), got {full.blocks_needed(1, 1)}"
    )


# --- append_slots --------------------------------------------------------------------------------


def test_append_slots_grows_block_by_block():
    """block_size 4: append 5 -> 2 blocks, length 5; append 3 -> still 2 blocks (position 7, the last
    slot of the second block); append 1 -> 3 blocks (position 8, the first slot of the third).
    Unshared blocks are never copied: every call returns []."""
    bm = mod.BlockManager(num_blocks=8, block_size=4)
    copies = bm.append_slots(3, 5)
    assert bm.lengths[3] == 5 and len(bm.tables[3]) == 2, (
        f"append_slots(new seq, 5), block_size 4: expected length 5 in 2 blocks, got length "
        f"{bm.lengths.get(3)} in {len(bm.tables.get(3, []))} blocks"
    )
    assert copies == [], f"append_slots on an unshared sequence returned copies {copies}"
    assert bm.slot(3, 3) // 4 != bm.slot(3, 4) // 4, (
        f"positions 3 and 4 got slots {bm.slot(3, 3)} and {bm.slot(3, 4)} in the same block\n"
        "  likely cause: block table off by one at the block boundary (position 4 starts the "
        "second block)"
    )
    assert bm.append_slots(3, 3) == [] and len(bm.tables[3]) == 2, (
        f"append_slots(seq, 3) at length 5 fills the second block (positions 5..7) without a new "
        f"block; table now {bm.tables[3]}\n  likely cause: allocate only when length + n exceeds "
        "len(table) * block_size"
    )
    assert bm.append_slots(3, 1) == [] and len(bm.tables[3]) == 3, (
        f"the 9th position needs a 3rd block: table {bm.tables[3]}"
    )
    assert bm.num_free_blocks == 5 and len(set(bm.tables[3])) == 3, (
        f"table {bm.tables[3]}, free {bm.num_free_blocks}: expected 3 distinct blocks, 5 free"
    )
    assert bm.append_slots(3, 0) == [] and bm.lengths[3] == 9 and bm.num_free_blocks == 5, (
        "append_slots(seq, 0) must change nothing"
    )


@pytest.mark.parametrize("block_size", [1, 3])
def test_append_slots_with_other_block_sizes(block_size):
    """block_size 1 and 3: appending 1, then 4, then 2 positions holds ceil(length / bs) blocks
    each time (1 -> 1, 5 -> 5 or 2, 7 -> 7 or 3)."""
    bm = mod.BlockManager(num_blocks=8, block_size=block_size)
    for n, length in [(1, 1), (4, 5), (2, 7)]:
        bm.append_slots(0, n)
        expected = -(-length // block_size)
        assert len(bm.tables[0]) == expected and bm.lengths[0] == length, (
            f"block_size {block_size}: after appending up to length {length}, the table holds "
            f"{len(bm.tables[0])} blocks (expected ceil({length} / {block_size}) = {expected}), "
            f"length {bm.lengths[0]}\n  likely cause: use the manager's block_size, not a constant"
        )


def snapshot(bm):
    """Everything the manager holds, copied: tables, lengths, free list, reference counts."""
    return (
        {s: list(t) for s, t in bm.tables.items()},
        dict(bm.lengths),
        sorted(bm.allocator.free_list),
        list(bm.allocator.refcount),
    )


def test_running_out_of_blocks_raises_and_changes_nothing_on_both_sides_of_the_limit():
    """3 blocks of 4, seq 0 of length 5 holds 2. A new sequence of 5 positions (2 blocks, 1 free)
    raises OutOfBlocks and changes nothing; one of 4 positions (1 block) fits exactly and leaves no
    block free. Then seq 0 can still grow by 3 (the rest of its second block) but not by 4."""
    bm = mod.BlockManager(num_blocks=3, block_size=4)
    bm.append_slots(0, 5)
    before = snapshot(bm)
    with pytest.raises(mod.OutOfBlocks):
        bm.append_slots(1, 5)
    assert snapshot(bm) == before, (
        f"a refused append_slots must change nothing: (tables, lengths, free list, refcounts) went "
        f"from {before} to {snapshot(bm)}\n  likely cause: check blocks_needed against the free "
        "blocks before allocating anything (all or nothing)"
    )
    assert bm.append_slots(1, 4) == [] and bm.num_free_blocks == 0, (
        "4 positions need 1 block and 1 is free: append_slots must succeed and use it"
    )
    before = snapshot(bm)
    with pytest.raises(mod.OutOfBlocks):
        bm.append_slots(0, 4)  # positions 5..8: position 8 needs a third block
    assert snapshot(bm) == before, f"a refused append changed the state: {snapshot(bm)}"
    assert bm.append_slots(0, 3) == [] and bm.lengths[0] == 8, (
        "seq 0 of length 5 in 2 blocks of 4 can grow by 3 (to the last slot of its second block) "
        "with no free block"
    )


# --- fork, copy-on-write, free -------------------------------------------------------------------


def test_fork_shares_every_block_and_allocates_nothing():
    """Seq 0 of length 6 in 2 blocks of 4. fork(0, 1): the same table (a separate list), length 6,
    both blocks counted twice, no block taken. Forking onto an existing sequence or from an unknown
    one raises ValueError."""
    bm = mod.BlockManager(num_blocks=8, block_size=4)
    bm.append_slots(0, 6)
    bm.fork(0, 1)
    assert bm.num_free_blocks == 6, (
        f"fork allocated {6 - bm.num_free_blocks} blocks; a shared prefix must be stored once: "
        "share the blocks by reference count"
    )
    assert bm.tables[1] == bm.tables[0] and bm.lengths[1] == 6, (
        f"after fork(0, 1): table {bm.tables.get(1)} (expected {bm.tables[0]}), length "
        f"{bm.lengths.get(1)} (expected 6)"
    )
    counts = [bm.allocator.refcount[b] for b in bm.tables[0]]
    assert counts == [2, 2], (
        f"after fork(0, 1) the reference counts of the shared blocks are {counts}, expected [2, 2]"
        "\n  likely cause: fork must incref every block of src (each table entry is one owner)"
    )
    assert bm.tables[1] is not bm.tables[0], (
        "fork gave dst the SAME list object as src: an append to one would change the other's "
        "table; give dst a copy of the list"
    )
    for src, dst in [(0, 1), (5, 2)]:
        before = snapshot(bm)
        with pytest.raises(ValueError):
            bm.fork(src, dst)
        assert snapshot(bm) == before, f"a refused fork({src}, {dst}) changed the state"


def test_copy_on_write_copies_a_shared_partly_filled_block_once():
    """block_size 4, seq 0 of length 6 in blocks [a, b] (b half full), fork(0, 1).
    append_slots(1, 1): b is half full and shared, so seq 1 gets a fresh block c in its place and
    the call returns [(b, c)]; tables {0: [a, b], 1: [a, c]}, counts a -> 2 (still shared),
    b -> 1, c -> 1. Then append_slots(0, 1) copies nothing (b is seq 0's alone now) and returns
    []. (With the given free list, a, b, c = 0, 1, 2; the check does not rely on it.)"""
    bm = mod.BlockManager(num_blocks=8, block_size=4)
    bm.append_slots(0, 6)
    a, b = bm.tables[0]
    free_before = set(bm.allocator.free_list)
    bm.fork(0, 1)
    copies = bm.append_slots(1, 1)
    c = bm.tables[1][-1]
    assert len(copies) == 1 and copies[0][0] == b and copies[0][1] == c and c in free_before, (
        f"append_slots(forked seq, 1) into the shared, half-full block {b}: expected the copy "
        f"[({b}, new block)] with the new block last in seq 1's table (src = the shared block, "
        f"dst = a block that was free), got {copies}, seq 1's table {bm.tables[1]}\n  likely "
        "cause: copy-on-write: allocate a new block, put it in this table's last entry, return "
        "(old, new)"
    )
    assert bm.tables == {0: [a, b], 1: [a, c]} and bm.lengths == {0: 6, 1: 7}, (
        f"after the copy-on-write: tables {bm.tables} (expected {{0: [{a}, {b}], 1: [{a}, {c}]}}), "
        f"lengths {bm.lengths}\n  likely cause: the full first block stays shared, only the "
        "written one is replaced"
    )
    counts = [bm.allocator.refcount[x] for x in (a, b, c)]
    assert counts == [2, 1, 1], (
        f"reference counts of blocks {a}, {b}, {c} after the copy: {counts}, expected [2, 1, 1]\n"
        "  likely cause: copy-on-write must drop this sequence's reference to the old block "
        "(free it once), or the old block leaks"
    )
    again = bm.append_slots(0, 1)
    assert again == [] and bm.tables[0] == [a, b], (
        f"seq 0 is the only owner of block {b} now: appending must not copy it; got copies "
        f"{again}, table {bm.tables[0]}"
    )
    assert bm.append_slots(1, 1) == [], "seq 1 owns its copy alone: no second copy"


def test_a_fork_of_full_blocks_appends_into_a_new_block_without_copying():
    """block_size 4, seq 0 of length 8 (2 full blocks), fork(0, 1): append_slots(1, 1) takes one new
    block for position 8 and returns [] (nothing of a full block would be overwritten)."""
    bm = mod.BlockManager(num_blocks=8, block_size=4)
    bm.append_slots(0, 8)
    bm.fork(0, 1)
    copies = bm.append_slots(1, 1)
    assert copies == [] and bm.tables[1][:2] == bm.tables[0] and len(bm.tables[1]) == 3, (
        f"append_slots(fork of 2 full blocks, 1): expected no copy and a third block, got copies "
        f"{copies}, tables {bm.tables}\n  likely cause: copy only when the last block is PARTLY "
        "filled (length % block_size != 0) and shared"
    )
    assert bm.num_free_blocks == 5, f"free blocks {bm.num_free_blocks}, expected 5 (8 - 2 - 1)"


def test_free_returns_every_block_and_keeps_shared_ones_for_the_other_owner():
    """8 blocks of 4: seq 0 (9 positions, 3 blocks), seq 1 (4 positions, 1 block): free(0) -> 7
    free. A fork shares seq 1's block: freeing seq 1 keeps it for the fork; freeing the fork
    returns it. Freeing an unknown sequence is ignored."""
    bm = mod.BlockManager(num_blocks=8, block_size=4)
    bm.append_slots(0, 9)
    bm.append_slots(1, 4)
    bm.free(0)
    assert bm.num_free_blocks == 7 and 0 not in bm.tables and 0 not in bm.lengths, (
        f"free(seq of 9 positions, 3 blocks) with seq 1 holding 1: expected 7 free and seq 0 "
        f"forgotten, got {bm.num_free_blocks} free, tables {bm.tables}\n  likely cause: a freed "
        "sequence's blocks are not all released, or it stays in tables/lengths"
    )
    bm.free(0)  # unknown now: ignored
    bm.fork(1, 2)
    bm.free(1)
    assert bm.num_free_blocks == 7 and bm.allocator.refcount[bm.tables[2][0]] == 1, (
        f"freeing seq 1 while its fork 2 shares its block: {bm.num_free_blocks} free (expected 7), "
        f"count {bm.allocator.refcount[bm.tables[2][0]]} (expected 1)\n  likely cause: free drops "
        "one reference per block; the block stays for the other owner"
    )
    bm.free(2)
    assert bm.num_free_blocks == 8 and not bm.tables and not bm.lengths, (
        f"all sequences freed: expected 8 free and no tables, got {bm.num_free_blocks}, {bm.tables}"
    )


def test_freed_blocks_are_reused_by_later_sequences():
    """Rule over time: 4 blocks of 2. Fill them all (two sequences of 4), free one, and a new
    sequence of 4 positions fits in exactly the freed blocks; again and again, 10 rounds."""
    bm = mod.BlockManager(num_blocks=4, block_size=2)
    bm.append_slots(0, 4)
    bm.append_slots(1, 4)
    for r in range(2, 12):
        victim = r - 2
        freed = set(bm.tables[victim])
        bm.free(victim)
        bm.append_slots(r, 4)
        assert set(bm.tables[r]) == freed and bm.num_free_blocks == 0, (
            f"round {r}: the new sequence got blocks {bm.tables[r]}, the freed ones were "
            f"{sorted(freed)} (all the others are in use)\n  likely cause: freed blocks must go "
            "back on the free list to be handed out again"
        )


# --- everything together --------------------------------------------------------------------------


class Store:
    """A stand-in for the tensors, in plain Python: block -> block_size cells. It does what the
    engine does with the plan: perform the returned copies first, then write at the slots."""

    def __init__(self, num_blocks, block_size):
        self.bs = block_size
        self.cells = [[None] * block_size for _ in range(num_blocks)]

    def copy(self, copies):
        for src, dst in copies:
            self.cells[dst] = list(self.cells[src])

    def write(self, slot, value):
        self.cells[slot // self.bs][slot % self.bs] = value

    def read(self, slot):
        return self.cells[slot // self.bs][slot % self.bs]


def check_invariants(bm, what):
    alloc = bm.allocator
    owners = [0] * alloc.num_blocks
    for seq, table in bm.tables.items():
        length = bm.lengths[seq]
        assert len(table) == -(-length // bm.block_size), (
            f"{what}: seq {seq} of length {length} holds {len(table)} blocks; expected "
            f"ceil({length} / {bm.block_size})\n  likely cause: allocate a block only when a "
            "position needs it"
        )
        for b in table:
            owners[b] += 1
    free = set(alloc.free_list)
    assert len(free) == len(alloc.free_list), f"{what}: a block is twice on the free list"
    for b in range(alloc.num_blocks):
        assert owners[b] == alloc.refcount[b], (
            f"{what}: block {b} is in {owners[b]} tables but its reference count is "
            f"{alloc.refcount[b]}\n  likely cause: every table entry is one reference (fork "
            "increfs, free and copy-on-write decref)"
        )
        assert (owners[b] == 0) == (b in free), (
            f"{what}: block {b} has {owners[b]} owners and is "
            f"{'on' if b in free else 'off'} the free list\n  likely cause: a block owned "
            "twice, or a freed sequence's blocks never returned"
        )


def test_random_operations_keep_the_invariants_and_every_sequence_reads_its_own_data():
    """600 seeded random operations (append 1..6, fork, free) on 16 blocks of 3: after each, table
    sizes, reference counts and the free list agree; with the returned copies performed and every
    new position written at its slot, each sequence reads back exactly its own values (a shared
    block is never written through). Freeing everything leaves all 16 blocks free."""
    rng = random.Random(0)
    bm = mod.BlockManager(num_blocks=16, block_size=3)
    store = Store(16, 3)
    shadow: dict[int, list] = {}
    next_id = 0
    for step in range(600):
        op = rng.random()
        live = list(bm.tables)
        if op < 0.55 or not live:
            seq = rng.choice(live) if live and rng.random() < 0.8 else next_id
            next_id = max(next_id, seq + 1)
            n = rng.randint(1, 6)
            if bm.blocks_needed(seq, n) > bm.num_free_blocks:
                with pytest.raises(mod.OutOfBlocks):
                    bm.append_slots(seq, n)
                continue
            start = bm.lengths.get(seq, 0)
            store.copy(bm.append_slots(seq, n))
            for p in range(start, start + n):
                store.write(bm.slot(seq, p), (seq, p, step))
            shadow.setdefault(seq, []).extend((seq, p, step) for p in range(start, start + n))
        elif op < 0.7:
            src = rng.choice(live)
            bm.fork(src, next_id)
            shadow[next_id] = list(shadow[src])
            next_id += 1
        else:
            seq = rng.choice(live)
            bm.free(seq)
            shadow.pop(seq)
        what = f"after random operation {step}"
        check_invariants(bm, what)
        for seq, expected in shadow.items():
            got = [store.read(bm.slot(seq, p)) for p in range(bm.lengths[seq])]
            assert got == expected, (
                f"{what}: seq {seq} reads back a value another sequence wrote (or an old one) at "
                f"position {next(p for p, (a, b) in enumerate(zip(got, expected)) if a != b)}\n  "
                "likely cause: copy-on-write: before a shared, partly filled block is written, "
                "return (old, new) and give this sequence the new block"
            )
    for seq in list(bm.tables):
        bm.free(seq)
    assert bm.num_free_blocks == 16, (
        f"after freeing every sequence {bm.num_free_blocks} of 16 blocks are free\n"
        "  likely cause: a block lost by copy-on-write or free (drop the old reference)"
    )


def test_the_plan_is_plain_python_ints():
    """The scheduler and the server plan without tensors: slot, blocks_needed, the copies and the
    tables are Python ints (a torch scalar would drag tensors into the bookkeeping)."""
    bm = mod.BlockManager(num_blocks=6, block_size=2)
    bm.append_slots(0, 3)
    bm.fork(0, 1)
    values = [bm.slot(1, 2), bm.blocks_needed(1, 1), *bm.append_slots(1, 1)[0], *bm.tables[1]]
    kinds = sorted({type(v).__name__ for v in values})
    assert kinds == ["int"], f"slot, blocks_needed, copies and tables hold {kinds}, expected int"
