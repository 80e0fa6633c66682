"""FAISS indexes for cosine search: exact (flat), inverted lists (IVF) and graphs (HNSW).

Cosine similarity is the inner product of unit vectors, so every index here stores L2-normalised
copies of the vectors and uses the inner-product metric. `IndexFlatIP` is exact; `IndexIVFFlat`
clusters the vectors into `nlist` cells (k-means, needs `train`) and searches only the `nprobe`
cells nearest the query; `IndexHNSWFlat` (Malkov & Yashunin 2016) walks a proximity graph, wider
with a larger `efSearch`. Reference: the FAISS wiki, "Faiss indexes" and "Guidelines to choose an
index".
Check: `python tracker.py check w16.faiss`
"""

import faiss
import numpy as np


def unit_rows(x: np.ndarray) -> np.ndarray:
    """A float32 copy of `x` (N, C) with rows of length 1; `x` itself is not modified."""
    x = np.array(x, dtype=np.float32, copy=True)
    faiss.normalize_L2(x)  # in place, on the copy
    return x


def build_flat(vectors: np.ndarray) -> faiss.IndexFlatIP:
    """An exact inner-product index holding the L2-normalised `vectors` (N, C).

    Example: after build_flat([[3., 4.]]), index.reconstruct(0) is [0.6, 0.8].
    `vectors` is not modified.
    """
    # TODO(w16.faiss): return an exact cosine index holding the vectors
    raise NotImplementedError("w16.faiss: write build_flat in exercises/week16_rag/faiss_index.py")


def build_ivf(vectors: np.ndarray, nlist: int, nprobe: int) -> faiss.IndexIVFFlat:
    """An `IndexIVFFlat` with `nlist` cells, inner-product metric, trained and filled with the
    L2-normalised `vectors`, searching `nprobe` cells per query.

    The coarse quantizer is an `IndexFlatIP`; the index is trained on the same normalised vectors
    it stores. With nprobe == nlist every cell is searched, so results equal `build_flat`'s.
    `vectors` (N, C) with N >= nlist is not modified.

    Example: build_ivf(400 vectors, nlist=10, nprobe=10) returns the same top-k as build_flat;
    nprobe=1 searches one cell of ten and may miss neighbours.
    """
    # TODO(w16.faiss): return a trained inverted-list cosine index searching nprobe cells
    raise NotImplementedError("w16.faiss: write build_ivf in exercises/week16_rag/faiss_index.py")


def build_hnsw(
    vectors: np.ndarray, m: int = 32, ef_construction: int = 40, ef_search: int = 16
) -> faiss.IndexHNSWFlat:
    """An `IndexHNSWFlat` with `m` neighbours per node, inner-product metric, holding the
    L2-normalised `vectors`; `hnsw.efConstruction = ef_construction` is set before adding (it
    shapes the graph while it is built) and `hnsw.efSearch = ef_search` after. `vectors` (N, C) is
    not modified.

    Example: build_hnsw(vectors, m=12) keeps 12 neighbours per node on the upper levels
    (index.hnsw.nb_neighbors(1) == 12), 24 on level 0.
    """
    # TODO(w16.faiss): return an HNSW cosine index built and searched with the settings given
    raise NotImplementedError("w16.faiss: write build_hnsw in exercises/week16_rag/faiss_index.py")


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Search `index` with L2-normalised copies of `queries` (Q, C); `queries` is not modified.

    Returns:
        scores (Q, k) float32 cosine similarities, best first, and ids (Q, k) int64 (-1 where the
        index holds fewer than k vectors), exactly as `index.search` returns them.

    Example: search(build_flat([[3., 4.], [0., 2.]]), [[0., 5.]], 2) -> scores [[1.0, 0.8]],
    ids [[1, 0]].
    """
    # TODO(w16.faiss): return the index's cosine scores and ids for the queries
    raise NotImplementedError("w16.faiss: write search in exercises/week16_rag/faiss_index.py")
