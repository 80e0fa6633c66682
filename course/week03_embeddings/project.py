"""Week 03 project: bigram vs MLP vs GRU language models on tiny Shakespeare, at equal training time,
how gradients flow through depth and time, and three kinds of word vectors side by side.

Each model gets the same wall-clock budget, the same batches and the same optimiser; the table
reports the val NLL each reached, and the plot shows val loss against training seconds. The bigram
and the data pipeline come from the week-02 reference (solutions.week02_bigram); the MLP and GRU
are your week-03 code. Before the race (seconds, no training) it measures the gradient norm at
every layer of a deep MLP under a bad and a good init, and at every time step of an RNN and an
LSTM, with your weight_init, lstm and gradient_flow code: gradient_flow.md and gradient_flow.png.
Then (seconds) it trains skip-gram, GloVe and FastText with your word2vec, glove and subword code
on the planted corpus of data/fixtures/week03 and compares their analogies, nearest neighbours
and what each can say about words it never saw: embeddings.md.
Run: `python tracker.py project 3` (your code) or `python tracker.py project 3 --impl solutions`.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from course.week03_embeddings.planted import gender_questions, planted, tense_questions
from roadmap.impl import load
from roadmap.project import parser, record, setup
from solutions.week02_bigram.bigram import BigramLM
from solutions.week02_bigram.char_tokenizer import CharTokenizer
from solutions.week02_bigram.dataset import TokenDataset


@dataclass
class RaceConfig:
    seconds: float = 75.0  # training time per model
    block_size: int = 32  # T of each batch (the GRU unrolls over it)
    batch_size: int = 32  # B
    eval_every: int = 100  # steps between val estimates for the curve
    eval_batches: int = 10  # batches per val estimate during training
    final_batches: int = 100  # batches of the final val NLL (the same batches for every model)
    mlp_context: int = 8  # tokens the MLP sees
    n_embd: int = 24  # embedding width of MLP and GRU
    n_hidden: int = 192  # MLP tanh width and GRU state size
    seed: int = 1337  # seeds init, batches and evaluation
    threads: int = 1  # torch CPU threads: models this small run fastest on one, and a shared machine punishes two
    flow_width: int = 256  # W of the gradient-flow MLP (square layers, no biases)
    flow_depth: int = 20  # its number of layers
    flow_steps: int = 50  # T of the gradient-flow RNN and LSTM
    flow_state: int = 64  # H of the gradient-flow RNN and LSTM (input size n_embd)
    embed_dim: int = 16  # C of the skip-gram, GloVe and FastText word vectors
    embed_steps: int = 300  # Adam steps of each (GloVe: full batch; the others: embed_batch pairs)
    embed_batch: int = 256  # (center, context) pairs per skip-gram and FastText step
    embed_lr: float = 0.05  # their Adam learning rate
    buckets: int = 2000  # FastText's n-gram rows (n from 3 to 6)


SHORT = {
    "seconds": 1.0,
    "eval_every": 10,
    "eval_batches": 2,
    "final_batches": 4,
    "n_hidden": 32,
    "embed_steps": 30,
}
PROBE_WORDS = ["king", "woman", "walked", "cook"]  # whose nearest neighbours embeddings.md lists
LEARNING_RATES = {"bigram": 0.1, "mlp": 3e-3, "gru": 3e-3}  # AdamW, tuned by hand for this budget


def read_text(text_file: Path | None) -> str:
    """The corpus: --text-file if given, else tiny Shakespeare from the data registry."""
    if text_file is not None:
        return text_file.read_text(encoding="utf-8")
    from course.data import dataset_path

    return dataset_path("tinyshakespeare").read_text(encoding="utf-8")


def build_models(V: int, cfg: RaceConfig) -> dict[str, torch.nn.Module]:
    mlp_lm = load("week03_embeddings.mlp_lm")
    rnn = load("week03_embeddings.rnn")
    torch.manual_seed(cfg.seed)
    mlp_cfg = mlp_lm.MLPConfig(V, cfg.mlp_context, cfg.n_embd, cfg.n_hidden)
    return {
        "bigram": BigramLM(V),
        "mlp": mlp_lm.MLPLanguageModel(mlp_cfg),
        "gru": rnn.RecurrentLM(V, cfg.n_embd, rnn.GRUCell(cfg.n_embd, cfg.n_hidden)),
    }


@torch.no_grad()
def val_loss(model: torch.nn.Module, ds: TokenDataset, cfg: RaceConfig, batches: int) -> float:
    """Mean val loss over `batches` batches drawn with a fixed seed: every model sees the same ones."""
    model.eval()
    g = torch.Generator().manual_seed(cfg.seed + 1)
    losses = [model(*ds.get_batch("val", cfg.batch_size, g))[1].item() for _ in range(batches)]
    model.train()
    return sum(losses) / len(losses)


def race(model: torch.nn.Module, lr: float, ds: TokenDataset, cfg: RaceConfig) -> dict:
    """Train for cfg.seconds of training time (evaluation not counted); return the curve and stats."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(cfg.seed)
    curve = [(0.0, val_loss(model, ds, cfg, cfg.eval_batches))]
    spent, steps = 0.0, 0
    while spent < cfg.seconds:
        t0 = time.perf_counter()
        x, y = ds.get_batch("train", cfg.batch_size, g)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        spent += time.perf_counter() - t0
        steps += 1
        if steps % cfg.eval_every == 0:
            curve.append((spent, val_loss(model, ds, cfg, cfg.eval_batches)))
    final = val_loss(model, ds, cfg, cfg.final_batches)
    curve.append((spent, final))
    return {"curve": curve, "steps": steps, "seconds": spent, "val": final}


def depth_norms(cfg: RaceConfig) -> dict[str, list[float]]:
    """Gradient norm at each layer's output (layer 1 first) of a deep MLP, per (activation, init)."""
    weight_init = load("week03_embeddings.weight_init")
    flow = load("week03_embeddings.gradient_flow")
    g = torch.Generator().manual_seed(cfg.seed)
    tanh_gain = weight_init.calculate_gain("tanh")
    inits = {
        "tanh, N(0, 0.01^2)": (torch.tanh, lambda w: w.normal_(0.0, 0.01, generator=g)),
        "tanh, Xavier (gain 5/3)": (
            torch.tanh,
            lambda w: weight_init.xavier_normal_(w, gain=tanh_gain, generator=g),
        ),
        "relu, Xavier (gain 1)": (torch.relu, lambda w: weight_init.xavier_normal_(w, generator=g)),
        "relu, Kaiming (fan_in)": (
            torch.relu,
            lambda w: weight_init.kaiming_normal_(w, nonlinearity="relu", generator=g),
        ),
    }
    x = torch.randn(cfg.batch_size, cfg.flow_width, generator=g)
    norms = {}
    for name, (activation, init) in inits.items():
        weights = [init(torch.empty(cfg.flow_width, cfg.flow_width)) for _ in range(cfg.flow_depth)]
        norms[name] = flow.depth_gradient_norms(weights, x, activation)
    return norms


def time_norms(cfg: RaceConfig) -> dict[str, list[float]]:
    """Gradient norm at each step's hidden state (earliest first): RNN, LSTM, LSTM forget bias 1."""
    rnn = load("week03_embeddings.rnn")
    lstm = load("week03_embeddings.lstm")
    flow = load("week03_embeddings.gradient_flow")
    torch.manual_seed(cfg.seed)
    C, H = cfg.n_embd, cfg.flow_state
    forget_one = lstm.LSTMCell(C, H)
    with torch.no_grad():
        forget_one.bias_ih[H : 2 * H] = 1.0  # f starts near sigmoid(1) = 0.73
        forget_one.bias_hh[H : 2 * H] = 0.0
    steps = {
        "RNN": flow.rnn_step(rnn.RNNCell(C, H)),
        "LSTM": flow.lstm_step(lstm.LSTMCell(C, H)),
        "LSTM, forget bias 1": flow.lstm_step(forget_one),
    }
    g = torch.Generator().manual_seed(cfg.seed)
    x = torch.randn(cfg.batch_size, cfg.flow_steps, C, generator=g)
    h0 = torch.zeros(cfg.batch_size, H)
    initial = {"RNN": h0, "LSTM": (h0, h0), "LSTM, forget bias 1": (h0, h0)}
    return {name: flow.time_gradient_norms(step, x, initial[name]) for name, step in steps.items()}


def relative(norms: list[float]) -> list[float]:
    """Each norm over the last one (the loss's own end: layer L, or step T)."""
    return [v / norms[-1] for v in norms]


def flow_table(depth: dict[str, list[float]], time: dict[str, list[float]], cfg: RaceConfig) -> str:
    L, T = cfg.flow_depth, cfg.flow_steps
    back = [k for k in (10, 25, T - 1) if k < T]
    lines = [
        f"# Gradient flow: MLP depth {L} (width {cfg.flow_width}), RNN/LSTM over T = {T} steps",
        "",
        f"Norm of dloss/dh at layer 1 over the norm at layer {L} (loss = h_{L}.sum(), batch "
        f"{cfg.batch_size}), and the factor per layer going back (smallest, largest):",
        "",
        f"| activation, init | layer 1 / layer {L} | per-layer factor |",
        "|---|---:|---|",
    ]
    for name, norms in depth.items():
        factors = [a / b for a, b in zip(norms[:-1], norms[1:], strict=True)]
        lines.append(
            f"| {name} | {relative(norms)[0]:.3g} | {min(factors):.3g} to {max(factors):.3g} |"
        )
    lines += [
        "",
        f"Norm of dloss/dh_t over the norm at the last step (loss = h_{T}.sum(), H = "
        f"{cfg.flow_state}), k steps back:",
        "",
        "| cell | " + " | ".join(f"{k} back" for k in back) + " |",
        "|---|" + "---:|" * len(back),
    ]
    for name, norms in time.items():
        shares = relative(norms)
        lines.append(f"| {name} | " + " | ".join(f"{shares[-1 - k]:.3g}" for k in back) + " |")
    return "\n".join(lines) + "\n"


def plot_flow(depth: dict[str, list[float]], time: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, norms in depth.items():
        left.semilogy(range(1, len(norms) + 1), relative(norms), marker=".", label=name)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("layer l (the loss is at the last)")
    left.set_ylabel("||dloss/dh_l|| / ||dloss/dh_L||")
    left.set_title("Through depth: bad vs good init")
    left.legend(fontsize=8)
    for name, norms in time.items():
        right.semilogy(range(len(norms)), relative(norms)[::-1], label=name)
    right.set_xlabel("steps back from the last")
    right.set_ylabel("||dloss/dh_t|| / ||dloss/dh_T||")
    right.set_title("Through time: RNN vs LSTM")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def gradient_flow(cfg: RaceConfig, out: Path) -> str:
    """Measure, plot and tabulate; returns the metrics clause."""
    depth, time = depth_norms(cfg), time_norms(cfg)
    table = flow_table(depth, time, cfg)
    print(table)
    (out / "gradient_flow.md").write_text(table, encoding="utf-8")
    plot_flow(depth, time, out / "gradient_flow.png")
    k = min(25, cfg.flow_steps - 1)
    return (
        f"layer 1/{cfg.flow_depth} gradient: N(0, 0.01^2) "
        f"{relative(depth['tanh, N(0, 0.01^2)'])[0]:.2g}, Xavier "
        f"{relative(depth['tanh, Xavier (gain 5/3)'])[0]:.2g} (tanh); {k} steps back: RNN "
        f"{relative(time['RNN'])[-1 - k]:.2g}, LSTM forget bias 1 "
        f"{relative(time['LSTM, forget bias 1'])[-1 - k]:.2g}"
    )


def train_embeddings(
    vocab: list[str], ids: torch.Tensor, cfg: RaceConfig
) -> dict[str, tuple[torch.nn.Module, float]]:
    """Skip-gram (window 2, k = 5), GloVe (window 3, full batch) and FastText (skip-gram over
    n-gram means) with the same steps and seed; returns each model and its training seconds."""
    word2vec = load("week03_embeddings.word2vec")
    glove = load("week03_embeddings.glove")
    subword = load("week03_embeddings.subword")
    V, C = len(vocab), cfg.embed_dim
    pairs = word2vec.skipgram_pairs(ids, 2)
    probs = word2vec.unigram_distribution(torch.bincount(ids, minlength=V))
    X = glove.cooccurrence(ids, V, 3)
    torch.manual_seed(cfg.seed)
    models = {
        "skip-gram": word2vec.SkipGram(V, C),
        "GloVe": glove.GloVe(V, C),
        "FastText": subword.FastText(vocab, cfg.buckets, C),
    }
    trained = {}
    for name, model in models.items():
        opt = torch.optim.Adam(model.parameters(), lr=cfg.embed_lr)
        g = torch.Generator().manual_seed(cfg.seed)
        t0 = time.perf_counter()
        for _ in range(cfg.embed_steps):
            if name == "GloVe":
                loss = model.loss(X)
            else:
                sel = torch.randint(len(pairs), (cfg.embed_batch,), generator=g)
                negatives = word2vec.sample_negatives(probs, cfg.embed_batch, 5, g)
                loss = model.loss(pairs[sel, 0], pairs[sel, 1], negatives)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        trained[name] = (model, time.perf_counter() - t0)
    return trained


# each model's (V, C) word vectors: GloVe keeps w + w~, skip-gram and FastText their center vectors
VECTORS = {
    "skip-gram": lambda model: model.in_embed.weight.detach(),
    "GloVe": lambda model: model.word_vectors(),
    "FastText": lambda model: model.in_embed(torch.arange(len(model.in_embed.vocab))).detach(),
}


def analogy_score(vectors: torch.Tensor, questions: list[tuple], index: dict[str, int]) -> float:
    """Share of a : b :: c : d questions your analogy() answers with d."""
    glove = load("week03_embeddings.glove")
    hits = sum(
        glove.analogy(vectors, index[a], index[b], index[c])[0] == index[d]
        for a, b, c, d in questions
    )
    return hits / len(questions)


def nearest_within(vectors: torch.Tensor, group: dict[str, str], index: dict[str, int]) -> float:
    """Share of the words of `group` (word -> its class) whose nearest word of the group, with your
    most_similar, is of the same class: king -> queen among the people, walked -> walk or walks
    among the verb forms."""
    word2vec = load("week03_embeddings.word2vec")
    words = list(group)
    sub = vectors[[index[w] for w in words]]
    hits = sum(
        group[words[word2vec.most_similar(sub, i, 1)[0]]] == group[w] for i, w in enumerate(words)
    )
    return hits / len(words)


def neighbours(vectors: torch.Tensor, v: torch.Tensor, vocab: list[str], k: int = 3) -> list[str]:
    """The k vocabulary words nearest a vector v that is not a row of `vectors` (an unseen word's),
    by cosine, with your most_similar."""
    word2vec = load("week03_embeddings.word2vec")
    return [vocab[i] for i in word2vec.most_similar(torch.cat([vectors, v[None]]), len(vocab), k)]


def compare_embeddings(cfg: RaceConfig, out: Path) -> str:
    """Train the three, score analogies and neighbours, write embeddings.md; returns the clause."""
    corpus = planted()
    words, vocab, index = corpus.words, corpus.vocab, corpus.index
    gender, tense = gender_questions(corpus), tense_questions(corpus)
    word2vec = load("week03_embeddings.word2vec")
    people = {w: i for i, pair in enumerate(corpus.pairs) for w in pair}  # partners share a class
    verbs = {w: forms[0] for forms in corpus.families.values() for w in forms if w in index}
    trained = train_embeddings(vocab, corpus.ids, cfg)
    lines = [
        f"# Skip-gram vs GloVe vs FastText on the planted corpus ({len(words):,} words, V = "
        f"{len(vocab)})",
        "",
        f"C = {cfg.embed_dim}, {cfg.embed_steps} Adam steps each (lr {cfg.embed_lr}), seed "
        f"{cfg.seed}. Analogies by 3CosAdd over the whole vocabulary: gender (king - man + woman = "
        f"queen, {len(gender)} questions) and tense (walked - walk + talk = talked, {len(tense)}); "
        "chance is about 0.01. Nearest within a group: the share of the 12 people whose nearest "
        f"person is their partner, and of the {len(verbs)} seen verb forms whose nearest verb form "
        "is of their family (chance about 0.09).",
        "",
        "| model | parameters | train s | gender analogies | tense analogies | partner nearest | "
        "family nearest | " + " | ".join(f"nearest to {w}" for w in PROBE_WORDS) + " |",
        "|---|---:|---:|---:|---:|---:|---:|" + "---|" * len(PROBE_WORDS),
    ]
    scores = {}
    for name, (model, seconds) in trained.items():
        vectors = VECTORS[name](model)
        scores[name] = (analogy_score(vectors, gender, index), analogy_score(vectors, tense, index))
        near = [
            ", ".join(vocab[i] for i in word2vec.most_similar(vectors, index[w], 3))
            for w in PROBE_WORDS
        ]
        lines.append(
            f"| {name} | {sum(p.numel() for p in model.parameters()):,} | {seconds:.1f} | "
            f"{scores[name][0]:.2f} | {scores[name][1]:.2f} | "
            f"{nearest_within(vectors, people, index):.2f} | "
            f"{nearest_within(vectors, verbs, index):.2f} | " + " | ".join(near) + " |"
        )
    fasttext, _ = trained["FastText"]
    ft_vectors = VECTORS["FastText"](fasttext)
    lines += [
        "",
        f"Words that never occur in the corpus ({', '.join(corpus.unseen)}): skip-gram and GloVe "
        "have no row for them; FastText builds each from its character n-grams:",
        "",
        "| unseen word | FastText's nearest words |",
        "|---|---|",
        *[
            f"| {w} | {', '.join(neighbours(ft_vectors, fasttext.word_vector(w), vocab))} |"
            for w in corpus.unseen
        ],
        "",
    ]
    table = "\n".join(lines)
    print(table)
    (out / "embeddings.md").write_text(table, encoding="utf-8")
    walking = neighbours(ft_vectors, fasttext.word_vector("walking"), vocab)
    return (
        "analogies gender/tense: "
        + ", ".join(f"{name} {g:.2f}/{t:.2f}" for name, (g, t) in scores.items())
        + f"; FastText walking -> {', '.join(walking)}"
    )


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, r in results.items():
        ax.plot(
            [s for s, _ in r["curve"]], [v for _, v in r["curve"]], label=f"{name} ({r['val']:.3f})"
        )
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("val loss (nats/char)")
    ax.set_title("Equal training time: bigram vs MLP vs GRU")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = parser(3, "Bigram vs MLP vs GRU on tiny Shakespeare at equal training time.")
    p.add_argument("--text-file", type=Path, default=None, help="train on this text instead")
    p.add_argument("--seconds", type=float, default=None, help="training time per model")
    args = p.parse_args(argv)
    out = setup(3, args)
    cfg = RaceConfig(**(SHORT if args.short else {}))
    if args.seconds is not None:
        cfg.seconds = args.seconds
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        return run(args, cfg, out)
    finally:
        torch.set_num_threads(threads)


def run(args, cfg: RaceConfig, out: Path) -> int:
    """Measure the gradient flow, compare word vectors, race the three models, plot and record;
    returns the exit code."""
    flow = gradient_flow(cfg, out)
    embeddings = compare_embeddings(cfg, out)
    text = read_text(args.text_file)
    tok = CharTokenizer.from_text(text)
    ds = TokenDataset(torch.tensor(tok.encode(text)), cfg.block_size)
    models = build_models(tok.vocab_size, cfg)
    results = {}
    for name, model in models.items():
        results[name] = race(model, LEARNING_RATES[name], ds, cfg)
        r = results[name]
        print(f"{name} | val {r['val']:.4f} | {r['steps']} steps in {r['seconds']:.1f} s")
    plot(results, out / "val_loss_vs_time.png")
    lines = [
        f"# Equal training time ({cfg.seconds:g} s each), char-level, V={tok.vocab_size}",
        "",
        "| model | parameters | steps | ms/step | val NLL |",
        "|---|---|---|---|---|",
        *[
            f"| {name} | {sum(p.numel() for p in models[name].parameters()):,} | {r['steps']} | "
            f"{1000 * r['seconds'] / max(r['steps'], 1):.1f} | {r['val']:.4f} |"
            for name, r in results.items()
        ],
        "",
    ]
    table = "\n".join(lines)
    print(table)
    (out / "results.md").write_text(table, encoding="utf-8")
    record(
        3,
        "val NLL at equal time: "
        + " | ".join(f"{name} {r['val']:.4f}" for name, r in results.items())
        + f" ({cfg.seconds:g} s each); {flow}; {embeddings}",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
