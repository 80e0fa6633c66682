"""A persisted vector store: a FAISS index with your own ids, metadata beside it, save and reload.

The store keeps unit vectors in `faiss.IndexIDMap2(faiss.IndexFlatIP(dim))`, so search scores are
cosine similarities and the ids it returns are yours (not positions), and `remove_ids` can delete
by id. Metadata (the chunk text, its source and offsets...) lives in a dict keyed by the same ids.
On disk a store is a folder: `index.faiss` (`faiss.write_index`) and `metadata.json`.
Check: `pytest checks/week16_rag/test_store.py`
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

        Raises:
            ValueError: if an id is already in the store or repeated in `ids`, or if the lengths
                of ids, vectors and metadata differ. Nothing is added then.
        """
        # TODO(w16.store): validate lengths and ids, normalise a copy, add_with_ids, remember the
        #   metadata.
        raise NotImplementedError("w16.store: write add in exercises/week16_rag/store.py")

    def delete(self, ids: list[int]) -> int:
        """Remove `ids` (vectors and metadata); unknown ids are ignored. Returns how many went."""
        # TODO(w16.store): remove_ids on the index, drop the metadata, return the count removed.
        raise NotImplementedError("w16.store: write delete in exercises/week16_rag/store.py")

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float, dict]]:
        """The min(k, len(self)) stored vectors most cosine-similar to `query` (dim,), best first.

        Returns:
            [(id, cosine similarity, metadata), ...] with id a Python int and the similarity a
            Python float; never an id of -1 (FAISS's "no result").
        """
        # TODO(w16.store): normalise a (1, dim) copy, index.search, drop -1 ids, attach the
        #   metadata.
        raise NotImplementedError("w16.store: write search in exercises/week16_rag/store.py")

    def save(self, folder: str | Path) -> None:
        """Write `folder/index.faiss` and `folder/metadata.json` (the folder is created).

        metadata.json holds {"dim": dim, "metadata": {str(id): dict}} (JSON keys are strings).
        """
        # TODO(w16.store): mkdir, faiss.write_index, and the JSON {dim, metadata with string keys}.
        raise NotImplementedError("w16.store: write save in exercises/week16_rag/store.py")

    @classmethod
    def load(cls, folder: str | Path) -> "VectorStore":
        """The store saved in `folder`: same ids, vectors, metadata; ready for add/delete/search."""
        # TODO(w16.store): read the JSON and the index back; turn the metadata keys into ints.
        raise NotImplementedError("w16.store: write load in exercises/week16_rag/store.py")
