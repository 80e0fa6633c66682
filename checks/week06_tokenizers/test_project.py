"""Check for w06.project: the short run trains a small BPE on the fixture and writes its tables,
including the BPE vs WordPiece vs Unigram comparison."""

from roadmap.impl import load
from roadmap.markdown import read_table
from roadmap.project import load_project

project = load_project("week06_tokenizers")


def test_project_writes_the_tables(tmp_path):
    assert project.main(["--short", "--out", str(tmp_path)]) == 0, "project.main returned non-zero"
    merge_table = (tmp_path / "merge_table.md").read_text(encoding="utf-8")
    _, rows = read_table(merge_table, "merge_table.md (your merge_table)")
    assert len(rows) == 20 and rows[0][:2] == ["0", "256"], (
        f"merge_table.md: expected 20 merge rows starting at rank 0, id 256, got {len(rows)} "
        f"rows:\n{merge_table}"
    )
    compression = (tmp_path / "compression.md").read_text(encoding="utf-8")
    _, rows = read_table(compression, "compression.md (your compression_table)")
    names = [row[0] for row in rows]
    for name in ("char", "bytes", "bpe 320"):
        assert name in names, (
            f"compression.md lacks the row {name!r} (rows {names}):\n{compression}"
        )
    comparison = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    _, rows = read_table(comparison, "comparison.md (BPE vs WordPiece vs Unigram)")
    names = [row[0] for row in rows]
    for name in ("BPE", "WordPiece", "Unigram (w06.unigram_train)", "Unigram (sentencepiece)"):
        assert any(n.startswith(name) for n in names), (
            f"comparison.md lacks the row {name!r} (rows {names}):\n{comparison}"
        )
    for row in rows:
        per_word, per_token = float(row[2]), float(row[3])
        assert per_word >= 1 and per_token > 0, f"comparison.md: implausible row {row}"
    speed = (tmp_path / "speed.md").read_text(encoding="utf-8")
    assert "tiktoken" in speed and "HF BpeTrainer" in speed, f"speed.md incomplete:\n{speed}"
    tok = load("week06_tokenizers.tokenizer").BPETokenizer.load(tmp_path / "bpe.txt")
    assert len(tok.merges) == 64, f"bpe.txt: expected 64 merges (vocab 320), got {len(tok.merges)}"
    text = "Before we proceed any further, hear me speak. 😀<|endoftext|>"
    assert tok.decode(tok.encode(text)) == text, "the saved tokenizer does not round-trip"
    assert (tmp_path / "tokenizer.json").exists(), "tokenizer.json missing"
    assert (tmp_path / "metrics.txt").read_text().startswith("bpe 320:"), "metrics.txt missing"
