"""Check for w16.project: the retrieval table, the plot and the answer table, end to end.

Runs `--short` on a 6-paragraph, 14-question SQuAD-format fixture with the hashing embedder (no
embedding model to load, no dataset needed); the reader is the short course base, built on first
use by the tree under test and fine-tuned for 10 steps.
"""

from course.data import fixture_path
from roadmap.project import load_project

project = load_project("week16_rag")


def test_project_writes_the_retrieval_and_answer_tables(tmp_path):
    data = fixture_path("week16", "mini_qa.json")
    argv = ["--short", "--out", str(tmp_path), "--data", str(data), "--embedder", "hashing"]
    assert project.main(argv) == 0, "project.main returned non-zero"
    retrieval = (tmp_path / "retrieval.md").read_text(encoding="utf-8")
    for row in (
        "| BM25 |",
        "| dense, FAISS flat (exact) |",
        "| hybrid RRF",
        "| IVF nlist",
        "| HNSW M",
    ):
        assert row in retrieval, f"retrieval.md lacks the row {row!r}:\n{retrieval[:800]}"
    bm25_row = next(line for line in retrieval.splitlines() if line.startswith("| BM25 |"))
    r5 = float(bm25_row.split("|")[3])
    assert r5 >= 0.9, (
        f"BM25 recall@5 on the 6-paragraph fixture is {r5}, expected >= 0.9 (every question "
        "shares words with its paragraph)\n  likely cause: BM25, to_paragraphs or recall_at_k"
    )
    assert (tmp_path / "recall_latency.png").stat().st_size > 1000, "recall_latency.png is missing"
    answers = (tmp_path / "answers.md").read_text(encoding="utf-8")
    for text in ("| extractive, top-3 hybrid chunks |", "| base fine-tuned as a reader", "Base of"):
        assert text in answers, f"answers.md lacks {text!r}:\n{answers[:800]}"
    assert (tmp_path / "metrics.txt").read_text().startswith("R@5 bm25 "), "metrics.txt missing"
