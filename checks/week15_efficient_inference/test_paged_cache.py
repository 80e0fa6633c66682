"""Checks for w15.paged_cache: the block allocator, block tables, slots, gather, fork and free.

Oracles: hand-derived slots and block counts (in the docstrings), a shadow copy of everything
written (gather must give it back, whatever the block layout), and the allocator invariants after
every operation of a seeded random sequence: no block owned twice unless its reference count says
so, the free count right, nothing lost, everything free at the end.
"""

import random

import pytest
import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week15_efficient_inference.paged_cache")

H, D = 2, 3


def make_cache(num_blocks=8, block_size=4, n_layer=2):
    return mod.PagedKVCache(n_layer, H, D, num_blocks, block_size)


def test_allocator_hands_out_distinct_blocks_until_empty():
    """4 blocks: 4 allocations give 4 distinct ids in 0..3, the 5th raises OutOfBlocks; freeing one
    makes it available again."""
    alloc = mod.BlockAllocator(4)
    got = [alloc.allocate() for _ in range(4)]
    assert sorted(got) == [0, 1, 2, 3], (
        f"BlockAllocator(4): four allocate() calls gave {got}; expected the ids 0..3 once each\n"
        "  likely cause: take each block off the free list (pop) so it is not handed out twice"
    )
    assert alloc.num_free == 0, (
        f"num_free after allocating all 4 blocks: expected 0, got {alloc.num_free}"
    )
    with pytest.raises(mod.OutOfBlocks):
        alloc.allocate()
    alloc.free(got[2])
    assert alloc.num_free == 1, f"num_free after one free: expected 1, got {alloc.num_free}"
    assert alloc.allocate() == got[2], "after freeing block b, the only free block is b"


def test_reference_counts_keep_shared_blocks_until_the_last_owner_frees():
    """allocate (count 1), incref (count 2), free (count 1: still owned), free (count 0: free)."""
    alloc = mod.BlockAllocator(3)
    b = alloc.allocate()
    alloc.incref(b)
    alloc.free(b)
    assert alloc.num_free == 2 and b not in alloc.free_list, (
        f"BlockAllocator: a block with two owners was freed once and is back on the free list "
        f"{alloc.free_list}\n  likely cause: free must decrement the reference count and release "
        "the block only when it reaches 0"
    )
    alloc.free(b)
    assert alloc.num_free == 3 and b in alloc.free_list, (
        f"BlockAllocator: after the last owner freed block {b}, free list {alloc.free_list}"
    )
    with pytest.raises(ValueError):
        alloc.free(b)  # double free
    with pytest.raises(ValueError):
        alloc.incref(b)  # sharing a free block


def test_slot_known_answer():
    """block_size 4, table [7, 2]: position 0 -> 7*4 + 0 = 28, 3 -> 31, 4 -> 2*4 + 0 = 8, 5 -> 9."""
    cache = make_cache(num_blocks=8, block_size=4)
    cache.tables[1] = [7, 2]
    cache.lengths[1] = 6
    got = [cache.slot(1, p) for p in (0, 3, 4, 5)]
    assert got == [28, 31, 8, 9], (
        f"slot(seq, p) for p = 0, 3, 4, 5 with table [7, 2], block_size 4: expected [28, 31, 8, 9], "
        f"got {got}\n  likely cause: block table off by one at the block boundary: position p "
        "lives in table[p // block_size] at offset p % block_size"
    )


def test_blocks_needed_known_answers():
    """block_size 4, a sequence of length 5 in 2 unshared blocks (capacity 8): appending 3 fits
    (0 blocks), 4 needs 1, 8 needs 2 (13 positions -> 4 blocks); a new sequence needs
    ceil(n / 4); appending 0 needs 0. Shared partly filled last block: +1 for the copy."""
    cache = make_cache(num_blocks=8, block_size=4)
    cache.append_slots(0, 5)
    cases = {(0, 3): 0, (0, 4): 1, (0, 8): 2, (0, 0): 0, (9, 1): 1, (9, 4): 1, (9, 5): 2}
    for (seq, n), expected in cases.items():
        got = cache.blocks_needed(seq, n)
        assert got == expected, (
            f"blocks_needed(seq {seq}, n={n}) with block_size 4 and length "
            f"{cache.lengths.get(seq, 0)}: expected {expected}, got {got}\n  likely cause: count "
            "blocks for positions beyond len(table) * block_size, rounding up"
        )
    cache.fork(0, 1)
    got = cache.blocks_needed(1, 1)
    assert got == 1, (
        f"blocks_needed(forked seq, 1) with a shared, half-full last block: expected 1 (the "
        f"copy-on-write copy), got {got}\n  likely cause: fork must incref every block it shares; "
        "blocks_needed adds 1 when the partly filled last block's reference count is > 1"
    )


def test_append_slots_grows_block_by_block():
    """block_size 4: append 5 -> 2 blocks, length 5; append 3 -> still 2 blocks; append 1 -> 3.
    The returned slots are those of positions length .. length + n - 1."""
    cache = make_cache(num_blocks=8, block_size=4)
    slots = cache.append_slots(3, 5)
    assert cache.lengths[3] == 5 and len(cache.tables[3]) == 2, (
        f"append_slots(new seq, 5), block_size 4: expected length 5 in 2 blocks, got length "
        f"{cache.lengths.get(3)} in {len(cache.tables.get(3, []))} blocks"
    )
    expected = [cache.slot(3, p) for p in range(5)]
    assert slots == expected, (
        f"append_slots(new seq, 5) returned {slots}; the slots of positions 0..4 are {expected}"
    )
    assert slots[3] // 4 != slots[4] // 4, (
        f"positions 3 and 4 got slots {slots[3]} and {slots[4]} in the same block\n  likely cause: "
        "block table off by one at the block boundary (position 4 starts the second block)"
    )
    more = cache.append_slots(3, 3)
    assert len(cache.tables[3]) == 2 and more == [cache.slot(3, p) for p in (5, 6, 7)], (
        f"append_slots(seq, 3) at length 5 should fill the second block (positions 5..7), got "
        f"slots {more}, table {cache.tables[3]}"
    )
    cache.append_slots(3, 1)
    assert len(cache.tables[3]) == 3 and cache.num_free_blocks == 5, (
        f"the 9th position needs a 3rd block: table {cache.tables[3]}, free {cache.num_free_blocks}"
    )
    assert len(set(cache.tables[3])) == 3, f"a table holds the same block twice: {cache.tables[3]}"


def write_positions(cache, seq, n, shadow, g):
    """Append n positions to seq, write random keys/values in every layer, mirror them in shadow."""
    slots = cache.append_slots(seq, n)
    for layer in range(cache.k.shape[0]):
        k = torch.randn(n, H, D, generator=g)
        v = torch.randn(n, H, D, generator=g)
        cache.write(layer, slots, k, v)
        shadow.setdefault(seq, {}).setdefault(layer, ([], []))
        shadow[seq][layer][0].append(k)
        shadow[seq][layer][1].append(v)


def check_gather(cache, shadow, seq, what):
    for layer, (ks, vs) in shadow[seq].items():
        k, v = cache.gather(seq, layer)
        hint = (
            "gather must read position p from slot table[p // block_size] * block_size + "
            "p % block_size, for p = 0 .. length - 1, in order"
        )
        assert_close(
            k, torch.cat(ks), what=f"gather(seq {seq}, layer {layer}) keys {what}", hint=hint
        )
        assert_close(
            v, torch.cat(vs), what=f"gather(seq {seq}, layer {layer}) values {what}", hint=hint
        )


def test_interleaved_sequences_gather_their_own_positions_in_order():
    """Two sequences appended in turns (so their blocks interleave), 11 and 7 positions over
    block_size 4: gather returns exactly what was written, position by position."""
    cache = make_cache(num_blocks=8, block_size=4)
    shadow = {}
    g = generator(1)
    for n0, n1 in [(3, 2), (1, 4), (5, 1)]:
        write_positions(cache, 0, n0, shadow, g)
        write_positions(cache, 1, n1, shadow, g)
    check_gather(cache, shadow, 0, "after interleaved appends")
    check_gather(cache, shadow, 1, "after interleaved appends")


def test_free_returns_every_block():
    cache = make_cache(num_blocks=8, block_size=4)
    cache.append_slots(0, 9)
    cache.append_slots(1, 4)
    cache.free(0)
    assert cache.num_free_blocks == 7, (
        f"free(seq of 9 positions, 3 blocks) with 8 blocks, another seq holding 1: expected 7 free, "
        f"got {cache.num_free_blocks}\n  likely cause: a freed sequence's blocks are not all released"
    )
    assert 0 not in cache.tables and 0 not in cache.lengths, (
        "free(seq) must forget the sequence (remove it from tables and lengths)"
    )
    cache.free(0)  # unknown now: ignored
    cache.free(1)
    assert cache.num_free_blocks == 8, (
        f"all sequences freed: expected 8 free, got {cache.num_free_blocks}"
    )


def test_fork_stores_a_shared_prefix_once_and_copies_on_write():
    """Seq 0 has 6 positions (2 blocks of 4, the second half full). fork(0, 1): no new block, the
    same data. Appending to seq 1 copies the half-full shared block (1 new block) and leaves seq 0's
    data untouched; seq 0 appending afterwards owns its block alone and copies nothing."""
    cache = make_cache(num_blocks=8, block_size=4)
    shadow = {}
    g = generator(2)
    write_positions(cache, 0, 6, shadow, g)
    free_before = cache.num_free_blocks
    cache.fork(0, 1)
    assert cache.num_free_blocks == free_before, (
        f"fork allocated {free_before - cache.num_free_blocks} blocks; a shared prefix must be "
        "stored once: share the blocks by reference count, copy nothing"
    )
    shared = [cache.allocator.refcount[b] for b in cache.tables[0]]
    assert shared == [2, 2], (
        f"after fork(0, 1) the reference counts of the shared blocks are {shared}, expected "
        "[2, 2]\n  likely cause: fork must incref every block of src (each table entry is one owner)"
    )
    assert cache.tables[1] == cache.tables[0] and cache.lengths[1] == 6, (
        f"after fork(0, 1): table {cache.tables.get(1)} (expected {cache.tables[0]}), length "
        f"{cache.lengths.get(1)} (expected 6)"
    )
    shadow[1] = {layer: (list(ks), list(vs)) for layer, (ks, vs) in shadow[0].items()}
    check_gather(cache, shadow, 1, "right after fork")
    write_positions(cache, 1, 1, shadow, g)
    assert cache.num_free_blocks == free_before - 1, (
        f"appending to a fork inside a shared, half-full block should allocate exactly 1 block (the "
        f"copy-on-write copy); free went {free_before} -> {cache.num_free_blocks}"
    )
    assert cache.tables[1][0] == cache.tables[0][0] and cache.tables[1][1] != cache.tables[0][1], (
        f"copy-on-write: the full first block stays shared, the written one is copied; tables "
        f"{cache.tables[0]} and {cache.tables[1]}"
    )
    check_gather(cache, shadow, 0, "after the fork wrote a new position (copy-on-write)")
    check_gather(cache, shadow, 1, "after the fork wrote a new position (copy-on-write)")
    free_now = cache.num_free_blocks
    write_positions(cache, 0, 1, shadow, g)
    assert cache.num_free_blocks == free_now, (
        "seq 0 is again the only owner of its last block: appending must not copy it"
    )
    check_gather(cache, shadow, 1, "after the original wrote too")


def test_out_of_blocks_changes_nothing():
    """3 blocks of 4, seq 0 holds 2: appending 9 positions to a new sequence needs 3 > 1 free."""
    cache = make_cache(num_blocks=3, block_size=4)
    cache.append_slots(0, 5)
    with pytest.raises(mod.OutOfBlocks):
        cache.append_slots(1, 9)
    assert cache.num_free_blocks == 1 and cache.lengths.get(1, 0) == 0, (
        f"a failed append_slots must change nothing: free {cache.num_free_blocks} (expected 1), "
        f"length {cache.lengths.get(1, 0)} (expected 0)\n  likely cause: check blocks_needed "
        "against the free blocks before allocating anything"
    )


def check_invariants(cache, what):
    alloc = cache.allocator
    owners = [0] * alloc.num_blocks
    for seq, table in cache.tables.items():
        length = cache.lengths[seq]
        assert len(table) == -(-length // cache.block_size), (
            f"{what}: seq {seq} of length {length} holds {len(table)} blocks; expected "
            f"ceil({length} / {cache.block_size})\n  likely cause: allocate a block only when a "
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


def test_random_operations_keep_the_allocator_invariants():
    """400 seeded random operations (append 1..6, fork, free, write) on 16 blocks of 3: after each,
    table sizes, reference counts and the free list agree and gather returns what was written;
    freeing everything at the end leaves all 16 blocks free."""
    rng = random.Random(0)
    g = generator(3)
    cache = make_cache(num_blocks=16, block_size=3, n_layer=1)
    shadow = {}
    next_id = 0
    for step in range(400):
        op = rng.random()
        live = list(cache.tables)
        if op < 0.55 or not live:
            seq = rng.choice(live) if live and rng.random() < 0.8 else next_id
            next_id = max(next_id, seq + 1)
            n = rng.randint(1, 6)
            if cache.blocks_needed(seq, n) <= cache.num_free_blocks:
                write_positions(cache, seq, n, shadow, g)
        elif op < 0.7:
            src = rng.choice(live)
            cache.fork(src, next_id)
            shadow[next_id] = {
                layer: (list(ks), list(vs)) for layer, (ks, vs) in shadow[src].items()
            }
            next_id += 1
        else:
            seq = rng.choice(live)
            cache.free(seq)
            shadow.pop(seq)
        check_invariants(cache, f"after random operation {step}")
        if step % 20 == 0:
            for seq in cache.tables:
                check_gather(cache, shadow, seq, f"after random operation {step}")
    for seq in list(cache.tables):
        cache.free(seq)
    assert cache.num_free_blocks == 16, (
        f"after freeing every sequence {cache.num_free_blocks} of 16 blocks are free\n"
        "  likely cause: a block lost by copy-on-write or free (drop the old reference)"
    )
