"""Check for w03.project: a short race on a 4 KB Shakespeare excerpt writes the table and the plot,
and the gradient-flow measurement writes its table and figure with the story they tell: too small
an init loses the gradient through depth, Kaiming keeps it for relu, and the LSTM with forget bias
1 keeps more of it over 25 steps than the RNN (by a factor 18,000 in the reference). The word-
vector comparison (30 steps each with --short) writes embeddings.md: a row per model with its
analogy scores, and FastText's neighbours for every unseen word."""

import re

import torch

from course.data import fixture_path
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week03_embeddings")
rnn = load("week03_embeddings.rnn")
lstm = load("week03_embeddings.lstm")
weight_init = load("week03_embeddings.weight_init")
gradient_flow = load("week03_embeddings.gradient_flow")
word2vec = load("week03_embeddings.word2vec")
glove = load("week03_embeddings.glove")
subword = load("week03_embeddings.subword")


def test_short_race_writes_table_and_plot(tmp_path):
    # the learner's code first: an untouched week is todo before the project trains three models
    rnn.GRUCell(2, 3)(torch.zeros(1, 2), torch.zeros(1, 3))
    lstm.LSTMCell(2, 3)(torch.zeros(1, 2))
    weight_init.kaiming_normal_(torch.empty(3, 2))
    gradient_flow.depth_gradient_norms([torch.eye(2)], torch.ones(1, 2), torch.tanh)
    word2vec.skipgram_pairs(torch.tensor([0, 1]), 1)
    word2vec.SkipGram(2, 2).loss(torch.tensor([0]), torch.tensor([1]), torch.tensor([[0]]))
    glove.cooccurrence(torch.tensor([0, 1]), 2, 1)
    glove.GloVe(2, 2).loss(torch.ones(2, 2))
    subword.FastText(["a"], 3, 2).word_vector("b")
    text_file = fixture_path("week03", "shakespeare_head.txt")
    argv = ["--short", "--out", str(tmp_path), "--text-file", str(text_file), "--seconds", "0.2"]
    assert project.main(argv) == 0, "project.main returned non-zero"
    table = (tmp_path / "results.md").read_text()
    for name in ("bigram", "mlp", "gru"):
        assert f"| {name} |" in table, f"results.md lacks the {name} row:\n{table}"
    assert (tmp_path / "val_loss_vs_time.png").read_bytes()[:4] == b"\x89PNG", (
        "the plot is not a PNG"
    )
    metrics = (tmp_path / "metrics.txt").read_text()
    values = [float(v) for v in re.findall(r"(?:bigram|mlp|gru) (\d+\.\d+)", metrics)]
    assert len(values) == 3 and all(0 < v < 10 for v in values), f"metrics.txt: {metrics!r}"
    flow = (tmp_path / "gradient_flow.md").read_text()
    rows = {
        cells[0]: cells[1:]
        for line in flow.splitlines()
        if line.startswith("| ")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    names = ["tanh, N(0, 0.01^2)", "relu, Kaiming (fan_in)", "RNN", "LSTM, forget bias 1"]
    missing = [name for name in names if name not in rows]
    assert not missing, f"gradient_flow.md lacks the rows {missing}:\n{flow}"
    small, kaiming = float(rows[names[0]][0]), float(rows[names[1]][0])
    assert small < 1e-6 and 0.1 < kaiming < 10, (
        f"layer 1 / layer 20 gradient norm: expected below 1e-6 for N(0, 0.01^2) and within "
        f"0.1-10 for Kaiming, got {small:.3g} and {kaiming:.3g}:\n{flow}"
    )
    rnn_25, lstm_25 = float(rows["RNN"][1]), float(rows["LSTM, forget bias 1"][1])
    assert lstm_25 > 100 * rnn_25, (
        f"25 steps back the LSTM with forget bias 1 keeps {lstm_25:.3g} of the last step's "
        f"gradient norm and the RNN {rnn_25:.3g}: expected the LSTM's over 100 times more:\n{flow}"
    )
    assert (tmp_path / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG", (
        "gradient_flow.png is not a PNG"
    )
    assert "steps back: RNN" in metrics, f"metrics.txt lacks the gradient-flow clause: {metrics!r}"
    embeddings = (tmp_path / "embeddings.md").read_text()
    rows = {
        cells[0]: cells[1:]
        for line in embeddings.splitlines()
        if line.startswith("| ")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    for name in ("skip-gram", "GloVe", "FastText"):
        assert name in rows and all(0 <= float(v) <= 1 for v in rows[name][2:6]), (
            f"embeddings.md: expected a {name} row with four scores in [0, 1]:\n{embeddings}"
        )
    for word in ("walking", "cooked", "jumps", "painting"):
        assert word in rows and len(rows[word][0].split(", ")) == 3, (
            f"embeddings.md: expected FastText's 3 nearest words for the unseen {word!r}:\n"
            f"{embeddings}"
        )
    assert "analogies gender/tense: skip-gram" in metrics and "FastText walking ->" in metrics, (
        f"metrics.txt lacks the word-vector clause: {metrics!r}"
    )
