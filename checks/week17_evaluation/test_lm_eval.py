"""Checks for w17.multiple_choice against the real lm-evaluation-harness, and w17.perplexity on a
Hugging Face model.

A random week-05 GPT (2 layers, C=32) with a week-06 BPE (64 merges, so tokens are not characters)
is exported as a GPT2LMHeadModel directory; lm-eval 0.4 runs it offline on a local 20-question
zero-shot task (data/fixtures/week17/arc_tiny.jsonl, course/week17_evaluation/harness.py) once per
session. Our encode_pair + loglikelihoods on lm-eval's own (context, continuation) requests must give
its log-likelihoods, and mc_metrics averaged over the questions its acc and acc_norm exactly.
This file costs ~15 s on a quiet two-core machine (lm-eval and transformers imports, the run);
the rest of the week < 10 s. Each test calls the learner's functions before it asks for the lm-eval
run (a lazy fixture), so an untouched stub is todo at once.
"""

import math

import pytest
import torch

pytest.importorskip("transformers", reason='needs extra hf: pip install -e ".[hf]"')
pytest.importorskip("lm_eval", reason='needs extra eval: pip install -e ".[eval]"')

from checks.week17_evaluation.support import arc_tiny  # noqa: E402
from course.data import fixture_path  # noqa: E402
from course.week17_evaluation import harness  # noqa: E402
from roadmap.impl import load  # noqa: E402

mc = load("week17_evaluation.multiple_choice")
perplexity = load("week17_evaluation.perplexity")


@pytest.fixture(scope="module")
def ours():
    """(our GPT, our tokenizer): cheap, built before the learner's function is first called."""
    tok = harness.tiny_tokenizer(fixture_path("week17", "tiny_text.txt").read_text())
    return harness.tiny_gpt(len(tok), seed=0), tok


@pytest.fixture(scope="module")
def run(ours, tmp_path_factory):
    """(model dir, lm-eval's results) for the 20-question task: the expensive oracle.

    Tests request it with request.getfixturevalue only after calling the learner's function, so an
    untouched stub is todo in a fraction of a second instead of waiting for lm-eval.
    """
    model, tok = ours
    tmp = tmp_path_factory.mktemp("lm_eval")
    model_dir = harness.export_model_dir(model, tok, tmp / "model")
    harness.write_task(tmp / "tasks", "w17_arc_tiny", fixture_path("week17", "arc_tiny.jsonl"))
    results = harness.run_lm_eval(model_dir, tmp / "tasks", "w17_arc_tiny")
    return model_dir, results


def probe_loglikelihoods(model, tok) -> None:
    """One cheap call of the learner's encode_pair and loglikelihoods (a stub raises here: todo)."""
    request = mc.encode_pair(tok.encode, "Question: 2+2?\nAnswer:", " 4")
    mc.loglikelihoods(lambda x: model(x)[0], [request])


def test_our_loglikelihoods_equal_lm_evals_requests(ours, request):
    model, tok = ours
    probe_loglikelihoods(model, tok)
    _, results = request.getfixturevalue("run")
    for sample in results["samples"]:
        requests = [mc.encode_pair(tok.encode, ctx, cont) for ctx, cont in sample["arguments"]]
        got = mc.loglikelihoods(lambda x: model(x)[0], requests, batch_size=3)
        ok = all(math.isclose(a, b, abs_tol=2e-4) for a, b in zip(got, sample["lls"]))
        assert len(got) == len(sample["lls"]) and ok, (
            f"question {sample['doc_id']}: loglikelihoods(encode_pair(...)) = {got}, lm-eval's "
            f"loglikelihood requests gave {sample['lls']} for {sample['arguments'][0]}\n  likely "
            "cause: score only the continuation's tokens (context + continuation)[:-1] as input; "
            "encode the pair as one string after moving the context's trailing space"
        )


def test_acc_and_acc_norm_equal_lm_evals_exactly(ours, request):
    model, tok = ours
    probe_loglikelihoods(model, tok)
    mc.mc_metrics([-1.0, -2.0], ["a", "bb"], 0)
    _, results = request.getfixturevalue("run")
    docs = arc_tiny()
    accs, norms = [], []
    for sample in results["samples"]:
        doc = docs[sample["doc_id"]]
        requests = [mc.encode_pair(tok.encode, ctx, cont) for ctx, cont in sample["arguments"]]
        lls = mc.loglikelihoods(lambda x: model(x)[0], requests)
        m = mc.mc_metrics(lls, doc["choices"], doc["gold"])
        accs.append(m["acc"])
        norms.append(m["acc_norm"])
    acc, acc_norm = sum(accs) / len(accs), sum(norms) / len(norms)
    assert (acc, acc_norm) == (results["acc"], results["acc_norm"]), (
        f"on 20 questions our (acc, acc_norm) = ({acc}, {acc_norm}), lm-eval's = "
        f"({results['acc']}, {results['acc_norm']})\n  likely cause: acc_norm divides by the "
        "number of CHARACTERS of the choice (not its tokens or bytes); argmax picks the first max"
    )


def test_perplexity_of_the_hf_export_equals_our_gpts(ours, request):
    """The same weights behind two interfaces: GPT2LMHeadModel(...).logits and our GPT."""
    model, tok = ours
    ids = torch.tensor(tok.encode(fixture_path("week17", "tiny_text.txt").read_text()))[:300]
    ours_ppl = perplexity.perplexity(lambda x: model(x)[0], ids, max_length=128, stride=64)
    from transformers import GPT2LMHeadModel

    model_dir, _ = request.getfixturevalue("run")
    hf = GPT2LMHeadModel.from_pretrained(model_dir).eval()
    theirs = perplexity.perplexity(lambda x: hf(x).logits, ids, max_length=128, stride=64)
    assert math.isclose(ours_ppl, theirs, rel_tol=1e-4), (
        f"perplexity(our GPT) = {ours_ppl:.4f} but perplexity(GPT2LMHeadModel) = {theirs:.4f} with "
        "the same weights\n  likely cause: logits_fn is any (B, T) -> (B, T, V) callable; do not "
        "assume our GPT's (logits, loss) tuple"
    )
