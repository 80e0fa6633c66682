"""Checks for w15.kv_store: writing keys and values at slots, gathering by block table, block copies.

Oracles: hand-placed values whose every number names where it came from (layer, block, offset,
head, dim), so a misplaced row says which index went wrong; a shadow copy of the tensors changed
with plain indexing; the store's own tensors read directly (k[layer, block, offset]).
"""

import torch

from roadmap.checking import assert_close, generator
from roadmap.impl import load

mod = load("week15_efficient_inference.kv_store")

H, D = 2, 3


def make_store(num_blocks=6, block_size=4, n_layer=3):
    return mod.KVStore(n_layer, H, D, num_blocks, block_size, dtype=torch.float64)


def labelled(store):
    """Fill k with 1000 * layer + 10 * slot + head-and-dim fractions, v with the negative: every
    number says which layer and slot it lives in."""
    L, nb, bs = store.k.shape[:3]
    slot = torch.arange(nb * bs, dtype=torch.float64).view(1, nb, bs, 1, 1)
    layer = torch.arange(L, dtype=torch.float64).view(L, 1, 1, 1, 1)
    hd = torch.arange(H * D, dtype=torch.float64).view(1, 1, 1, H, D) / 100
    store.k.copy_(1000 * layer + 10 * slot + hd)
    store.v.copy_(-(1000 * layer + 10 * slot + hd))


def test_write_puts_each_row_at_its_slot_of_that_layer_only():
    """block_size 4, layer 1, slots [6, 7, 8, 0]: rows land at block 1 offsets 2 and 3 (the last slot
    of block 1), block 2 offset 0 (the first slot of the next) and block 0 offset 0. Every other
    slot and the layers 0 and 2 keep their contents; the inputs are not modified."""
    store = make_store()
    labelled(store)
    before_k, before_v = store.k.clone(), store.v.clone()
    g = generator(1)
    k = torch.randn(4, H, D, generator=g, dtype=torch.float64)
    v = torch.randn(4, H, D, generator=g, dtype=torch.float64)
    k_in, v_in = k.clone(), v.clone()
    store.write(1, torch.tensor([6, 7, 8, 0]), k, v)
    expected_k, expected_v = before_k.clone(), before_v.clone()
    for row, (b, o) in enumerate([(1, 2), (1, 3), (2, 0), (0, 0)]):
        expected_k[1, b, o] = k_in[row]
        expected_v[1, b, o] = v_in[row]
    hint = (
        "slot s of a layer is block s // block_size, offset s % block_size (row s of the layer's "
        "flat view); write only that layer's keys and values"
    )
    assert_close(
        store.k, expected_k, what="KVStore.k after write(1, [6, 7, 8, 0], k, v)", hint=hint
    )
    assert_close(
        store.v, expected_v, what="KVStore.v after write(1, [6, 7, 8, 0], k, v)", hint=hint
    )
    assert torch.equal(k, k_in) and torch.equal(v, v_in), (
        "write(layer, slots, k, v) modified its input k or v; store copies of the rows"
    )


def test_write_with_a_block_size_of_3():
    """Non-default block size: block_size 3, slots [2, 3, 17] of layer 2 -> block 0 offset 2, block 1
    offset 0, block 5 offset 2."""
    store = make_store(num_blocks=6, block_size=3)
    k = torch.full((3, H, D), 5.0, dtype=torch.float64) + torch.arange(3.0).view(3, 1, 1)
    store.write(2, torch.tensor([2, 3, 17]), k, -k)
    got = [store.k[2, b, o, 0, 0].item() for b, o in [(0, 2), (1, 0), (5, 2)]]
    assert got == [5.0, 6.0, 7.0] and store.k.count_nonzero() == 3 * H * D, (
        f"write(2, [2, 3, 17]) with block_size 3: k[2] at (block 0, offset 2), (1, 0), (5, 2) holds "
        f"{got}, expected [5.0, 6.0, 7.0], and nothing else is written\n  likely cause: use the "
        "store's block_size (slot // block_size, slot % block_size)"
    )


def test_gather_reads_whole_blocks_in_table_order_for_a_batch():
    """block_size 2, layer 2, tables [[3, 1, 0], [5, 0, 0]] (row 1 right-padded): row 0 holds the
    slots 6, 7, 2, 3, 0, 1, row 1 the slots 10, 11, 0, 1, 0, 1, each for keys and values; shapes
    (2, 6, H, D). The result is a copy: writing into it leaves the store unchanged."""
    store = make_store(num_blocks=6, block_size=2)
    labelled(store)
    before = store.k.clone()
    tables = torch.tensor([[3, 1, 0], [5, 0, 0]])
    k, v = store.gather(2, tables)
    assert tuple(k.shape) == (2, 6, H, D) and tuple(v.shape) == (2, 6, H, D), (
        f"gather(layer, tables (2, 3)) with block_size 2: expected k and v of shape (2, 6, {H}, "
        f"{D}), got {tuple(k.shape)} and {tuple(v.shape)}"
    )
    flat_k = store.k[2].reshape(-1, H, D)
    flat_v = store.v[2].reshape(-1, H, D)
    for b, slots in enumerate([[6, 7, 2, 3, 0, 1], [10, 11, 0, 1, 0, 1]]):
        hint = (
            "row b position p comes from block tables[b, p // block_size] at offset "
            "p % block_size of THIS layer: blocks in table order (position order, never sorted "
            "by block id); each row uses its own table"
        )
        assert_close(
            k[b], flat_k[slots], what=f"gather(2, {tables.tolist()}) keys, row {b}", hint=hint
        )
        assert_close(
            v[b], flat_v[slots], what=f"gather(2, {tables.tolist()}) values, row {b}", hint=hint
        )
    k.zero_()
    v.zero_()
    assert torch.equal(store.k, before), (
        "writing into gather's result changed the store: return copies, not views"
    )


def test_gather_returns_what_write_stored_position_by_position():
    """block_size 4, two sequences whose blocks interleave: seq A in blocks [4, 1, 3] (10
    positions), seq B in blocks [0, 5] (6 positions); write random keys and values at each
    position's slot, gather both at once (B's table padded with block 0): the first length
    positions of each row are exactly what was written, in position order."""
    store = make_store(num_blocks=6, block_size=4, n_layer=2)
    g = generator(2)
    tables = {"A": [4, 1, 3], "B": [0, 5]}
    lengths = {"A": 10, "B": 6}
    written = {}
    for name, table in tables.items():
        n = lengths[name]
        slots = torch.tensor([table[p // 4] * 4 + p % 4 for p in range(n)])
        k = torch.randn(n, H, D, generator=g, dtype=torch.float64)
        v = torch.randn(n, H, D, generator=g, dtype=torch.float64)
        store.write(1, slots, k, v)
        written[name] = (k, v)
    k, v = store.gather(1, torch.tensor([[4, 1, 3], [0, 5, 0]]))
    for row, name in enumerate(["A", "B"]):
        n = lengths[name]
        hint = (
            "gather must read position p from block table[p // block_size], offset p % block_size"
        )
        assert_close(k[row, :n], written[name][0], what=f"gather keys of seq {name}", hint=hint)
        assert_close(v[row, :n], written[name][1], what=f"gather values of seq {name}", hint=hint)


def test_copy_blocks_copies_keys_and_values_of_every_layer():
    """6 blocks of 2, 3 layers, copies [(1, 4), (3, 0)]: afterwards blocks 4 and 0 equal blocks 1 and
    3 in every layer, keys and values; blocks 1, 2, 3, 5 are unchanged (the source too)."""
    store = make_store(num_blocks=6, block_size=2)
    labelled(store)
    before_k, before_v = store.k.clone(), store.v.clone()
    store.copy_blocks([(1, 4), (3, 0)])
    expected_k, expected_v = before_k.clone(), before_v.clone()
    expected_k[:, 4], expected_v[:, 4] = before_k[:, 1], before_v[:, 1]
    expected_k[:, 0], expected_v[:, 0] = before_k[:, 3], before_v[:, 3]
    hint = (
        "for each (src, dst): block dst of EVERY layer becomes block src, for keys and values; "
        "src stays as it is"
    )
    assert_close(
        store.k, expected_k, what="KVStore.k after copy_blocks([(1, 4), (3, 0)])", hint=hint
    )
    assert_close(
        store.v, expected_v, what="KVStore.v after copy_blocks([(1, 4), (3, 0)])", hint=hint
    )


def test_copy_blocks_of_nothing_changes_nothing():
    store = make_store()
    labelled(store)
    before_k, before_v = store.k.clone(), store.v.clone()
    store.copy_blocks([])
    assert torch.equal(store.k, before_k) and torch.equal(store.v, before_v), (
        "copy_blocks([]) changed the store"
    )
