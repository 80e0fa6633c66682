"""A persisted vector store: a FAISS index with your own ids, metadata beside it, save and reload.

The store keeps unit vectors in `faiss.IndexIDMap2(faiss.IndexFlatIP(dim))`, so search scores are
cosine similarities and the ids it returns are yours (not positions), and `remove_ids` can delete
by id. Metadata (the chunk text, its source and offsets...) lives in a dict keyed by the same ids.
On disk a store is a folder: `index.faiss` (`faiss.write_index`) and `metadata.json`.
Check: `python tracker.py check w16.store`
"""

import json
from pathlib import Path

import faiss
import numpy as np

INDEX_FILE = "index.faiss"
METADATA_FILE = "metadata.json"


class VectorStore:
    """Cosine search over vectors with integer ids and a metadata dict per id."""

    def __init__(self, dim: int):
        self.dim = dim
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.metadata: dict[int, dict] = {}

    def __len__(self) -> int:
        return self.index.ntotal

    def add(self, ids: list[int], vectors: np.ndarray, metadata: list[dict]) -> None:
        """Add L2-normalised copies of `vectors` (N, dim) under `ids`, with one metadata dict each.

        `vectors` itself is not modified. Example: add([7, 9], [[3., 4.], [0., 2.]], [{"t": "a"},
        {"t": "b"}]) stores [0.6, 0.8] under id 7 and [0, 1] under id 9; len(store) grows by 2.

        Raises:
            ValueError: if an id is already in the store or repeated in `ids`, or if the lengths
                of ids, vectors and metadata differ. Nothing is added then.
        """
        if not (len(ids) == len(vectors) == len(metadata)):
            raise ValueError(
                f"{len(ids)} ids, {len(vectors)} vectors, {len(metadata)} metadata: must match"
            )
        if len(set(ids)) != len(ids) or any(i in self.metadata for i in ids):
            raise ValueError(f"duplicate id among {ids}")
        x = np.array(vectors, dtype=np.float32, copy=True)
        faiss.normalize_L2(x)
        self.index.add_with_ids(x, np.asarray(ids, dtype=np.int64))
        for i, meta in zip(ids, metadata):
            self.metadata[int(i)] = meta

    def delete(self, ids: list[int]) -> int:
        """Remove `ids` (vectors and metadata); unknown ids are ignored. Returns how many went.

        Example: with ids 7 and 9 stored, delete([9, 42]) returns 1 and leaves only id 7.
        """
        removed = self.index.remove_ids(np.asarray(ids, dtype=np.int64))
        for i in ids:
            self.metadata.pop(int(i), None)
        return int(removed)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float, dict]]:
        """The min(k, len(self)) stored vectors most cosine-similar to `query` (dim,), best first.

        `query` itself is not modified. Example: with the add example stored, search([0., 5.], 5)
        -> [(9, 1.0, {"t": "b"}), (7, 0.8, {"t": "a"})] (two results: the store holds two).

        Returns:
            [(id, cosine similarity, metadata), ...] with id a Python int and the similarity a
            Python float; never an id of -1 (FAISS's "no result").
        """
        q = np.array(query, dtype=np.float32, copy=True).reshape(1, -1)
        faiss.normalize_L2(q)
        scores, ids = self.index.search(q, k)
        return [
            (int(i), float(s), self.metadata[int(i)]) for s, i in zip(scores[0], ids[0]) if i != -1
        ]

    def save(self, folder: str | Path) -> None:
        """Write `folder/index.faiss` and `folder/metadata.json` (the folder is created).

        metadata.json holds {"dim": dim, "metadata": {str(id): dict}} (JSON keys are strings).
        Example: a 2-d store with id 7 writes {"dim": 2, "metadata": {"7": {"t": "a"}}}.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / INDEX_FILE))
        data = {"dim": self.dim, "metadata": {str(i): m for i, m in self.metadata.items()}}
        (folder / METADATA_FILE).write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "VectorStore":
        """The store saved in `folder`: same ids, vectors, metadata; ready for add/delete/search.

        Example: VectorStore.load(folder).search(q, 3) equals the saved store's search(q, 3), and
        its metadata keys are ints again (7, not "7").
        """
        folder = Path(folder)
        data = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        store = cls(data["dim"])
        store.index = faiss.read_index(str(folder / INDEX_FILE))
        # subtle: JSON turned the int ids into strings; turn them back.
        store.metadata = {int(i): m for i, m in data["metadata"].items()}
        return store
