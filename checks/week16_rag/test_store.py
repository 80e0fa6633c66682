"""Checks for w16.store: a FAISS-backed vector store with ids, metadata, delete, save and load.

Oracles: brute-force cosine similarity in numpy, and round-trip properties (what was saved is what
is loaded; a deleted id is never returned; ids are the caller's, not positions).
"""

import json

import numpy as np
import pytest

from roadmap.impl import load

mod = load("week16_rag.store")

DIM = 12
IDS = [101, 7, 55, 3000, 42, 8, 900]  # not 0..N-1: positions must never leak out as ids


def vectors(seed: int, n: int = len(IDS)):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, DIM)) * rng.uniform(0.1, 20, size=(n, 1))).astype(np.float32)


def filled():
    store = mod.VectorStore(DIM)
    v = vectors(0)
    store.add(IDS, v, [{"text": f"chunk {i}", "n": i} for i in IDS])
    return store, v


def brute(v, ids, query, k):
    vn = v / np.linalg.norm(v, axis=1, keepdims=True)
    sims = vn @ (query / np.linalg.norm(query))
    order = np.argsort(-sims, kind="stable")[:k]
    return [ids[i] for i in order], sims[order]


def check_search(store, v, ids, query, k, what):
    got = store.search(query, k)
    exp_ids, exp_scores = brute(v, ids, query, k)
    got_ids = [r[0] for r in got]
    assert got_ids == exp_ids, (
        f"{what}: ids {got_ids}, expected {exp_ids}\n  likely cause: normalise the vectors before "
        "adding and the query before searching (cosine); return your ids, not positions"
    )
    assert np.allclose([r[1] for r in got], exp_scores, atol=1e-5), (
        f"{what}: scores {[round(r[1], 4) for r in got]}, expected {np.round(exp_scores, 4).tolist()}\n"
        "  likely cause: the scores are cosine similarities of unit vectors"
    )
    for i, _, meta in got:
        assert meta == {"text": f"chunk {i}", "n": i}, (
            f"{what}: id {i} came back with metadata {meta}"
        )


def test_search_returns_ids_scores_and_metadata():
    store, v = filled()
    assert len(store) == len(IDS), f"len(store) = {len(store)} after adding {len(IDS)} vectors"
    query = vectors(1, 1)[0]
    check_search(store, v, IDS, query, 4, "VectorStore.search(query, 4)")
    assert all(isinstance(r[0], int) and isinstance(r[1], float) for r in store.search(query, 2)), (
        "VectorStore.search: ids must be int and scores float (not numpy scalars)"
    )


def test_search_with_k_larger_than_the_store_returns_only_real_results():
    store, v = filled()
    got = store.search(vectors(2, 1)[0], 50)
    assert len(got) == len(IDS) and all(r[0] != -1 for r in got), (
        f"VectorStore.search(k=50) on {len(IDS)} vectors returned {len(got)} results, ids "
        f"{[r[0] for r in got]}\n  likely cause: FAISS pads missing results with id -1: drop them"
    )


def test_add_refuses_duplicates_and_mismatched_lengths():
    store, _ = filled()
    with pytest.raises(ValueError):
        store.add([55], vectors(3, 1), [{}])
        pytest.fail("VectorStore.add([55]) accepted an id already in the store")
    with pytest.raises(ValueError):
        store.add([1, 1], vectors(3, 2), [{}, {}])
        pytest.fail("VectorStore.add([1, 1]) accepted a repeated id")
    with pytest.raises(ValueError):
        store.add([1, 2], vectors(3, 2), [{}])
        pytest.fail("VectorStore.add(2 ids, 2 vectors, 1 metadata) accepted mismatched lengths")
    assert len(store) == len(IDS), (
        f"len(store) = {len(store)} after refused adds, expected {len(IDS)}\n  likely cause: "
        "validate everything before adding anything"
    )


def test_delete_removes_vectors_and_metadata():
    store, v = filled()
    removed = store.delete([55, 8, 123456])
    assert removed == 2, f"VectorStore.delete([55, 8, unknown]) returned {removed}, expected 2"
    assert len(store) == len(IDS) - 2, f"len(store) = {len(store)} after deleting 2 of {len(IDS)}"
    keep = [i for i, x in enumerate(IDS) if x not in (55, 8)]
    query = v[IDS.index(55)]  # the deleted vector itself would score 1.0
    check_search(
        store,
        v[keep],
        [IDS[i] for i in keep],
        query,
        10,
        "VectorStore.search after delete([55, 8])",
    )
    assert 55 not in store.metadata and 8 not in store.metadata, "delete must drop the metadata too"


def test_save_load_round_trip_then_add_and_delete(tmp_path):
    store, v = filled()
    store.delete([7])
    store.save(tmp_path / "store")
    assert (tmp_path / "store" / "index.faiss").exists(), "save(folder) wrote no folder/index.faiss"
    data = json.loads((tmp_path / "store" / "metadata.json").read_text())
    assert data["dim"] == DIM and set(data["metadata"]) == {str(i) for i in IDS if i != 7}, (
        f"metadata.json holds {data}, expected dim {DIM} and the metadata of every stored id"
    )
    loaded = mod.VectorStore.load(tmp_path / "store")
    assert set(loaded.metadata) == {i for i in IDS if i != 7}, (
        f"VectorStore.load: metadata keys {sorted(loaded.metadata, key=str)}, expected the int ids "
        f"{sorted(i for i in IDS if i != 7)}\n  likely cause: JSON object keys are strings; turn "
        "them back into ints on load"
    )
    ids = [i for i in IDS if i != 7]
    keep = [IDS.index(i) for i in ids]
    query = vectors(4, 1)[0]
    check_search(loaded, v[keep], ids, query, 6, "VectorStore.load(saved).search")
    assert loaded.dim == DIM and len(loaded) == len(ids), (
        f"loaded store: dim {loaded.dim}, len {len(loaded)}"
    )
    extra = vectors(5, 2)
    loaded.add([7, 5000], extra, [{"text": "chunk 7", "n": 7}, {"text": "chunk 5000", "n": 5000}])
    loaded.delete([101])
    ids2 = [i for i in ids if i != 101] + [7, 5000]
    v2 = np.concatenate([v[[IDS.index(i) for i in ids if i != 101]], extra])
    check_search(
        loaded, v2, ids2, query, 8, "VectorStore.load(...) then add([7, 5000]) and delete([101])"
    )


def test_add_and_search_leave_the_callers_arrays_unchanged():
    """add stores normalised COPIES and search normalises a copy of the query: the float32 arrays
    the caller passed (which faiss.normalize_L2 would change in place) stay as they were."""
    store = mod.VectorStore(DIM)
    v = vectors(5)
    v0 = v.copy()
    store.add(IDS, v, [{} for _ in IDS])
    query = vectors(6, 1)[0]
    q0 = query.copy()
    store.search(query, 3)
    assert np.array_equal(v, v0), (
        "VectorStore.add changed the caller's vectors\n  likely cause: faiss.normalize_L2 works in "
        "place; normalise a copy (np.array(vectors, dtype=np.float32, copy=True))"
    )
    assert np.array_equal(query, q0), (
        "VectorStore.search changed the caller's query\n  likely cause: faiss.normalize_L2 works in "
        "place; normalise a copy of the query"
    )
