"""The capstone end to end on its --short preset: every stage's artifact loads in its real consumer,
a run killed in the middle of a stage resumes without redoing the finished ones, the final model's
card carries the run's numbers, and SUMMARY.md links it and keeps the learner's notes byte for byte.

One run serves every check (module fixture): first `python -m course.capstone --short --halt-in
lora` in a subprocess, which SIGKILLs itself in the middle of the LoRA stage (after the adapter is
written, before the stage is marked finished); then the same command in-process without the halt.
Budget: about 1 minute on a quiet two-core machine (the subprocess pays the imports once more).
"""

import json
import os
import subprocess
import sys

import pytest
import torch

from roadmap import ROOT
from roadmap.impl import current_tree

pytestmark = pytest.mark.timeout(600)

FINISHED_BEFORE_KILL = ["tokenizer", "pretrain", "sft"]
NOTES_ABOVE = "# My journey\r\n\r\nWritten by me, CRLF and all: ✓ — é\r\n\r\n"
NOTES_BELOW = "\n\n## My notes\n\nDPO was the hard part.\n   trailing spaces   \n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if current_tree() != "solutions":
        pytest.skip("the capstone test runs on the reference: pytest --impl=solutions")
    pytest.importorskip("peft")
    pytest.importorskip("openai")
    from course.capstone import main
    from course.capstone.pipeline import refresh_summary
    from course.capstone.summary import BEGIN

    tmp = tmp_path_factory.mktemp("capstone")
    runs, summary = tmp / "runs" / "capstone", tmp / "SUMMARY.md"  # as runs/capstone is
    summary.write_bytes(NOTES_BELOW.encode("utf-8"))  # notes but no markers yet
    argv = ["--short", "--impl", "solutions", "--out", str(runs), "--summary", str(summary)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LLM_IMPL": "solutions"}
    killed = subprocess.run(
        [sys.executable, "-m", "course.capstone", *argv, "--halt-in", "lora"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=500,
    )
    states = {s: (runs / s / "stage.json").read_bytes() for s in FINISHED_BEFORE_KILL}
    mtimes = {s: (runs / s / "stage.json").stat().st_mtime_ns for s in FINISHED_BEFORE_KILL}
    lora_marked = (runs / "lora" / "stage.json").exists()
    torch.set_num_threads(1)
    code = main(argv)
    # the learner writes notes above the section too; the tracker then refreshes the summary
    text = summary.read_bytes().decode("utf-8")
    summary.write_bytes((NOTES_ABOVE + text[text.index(BEGIN) :]).encode("utf-8"))
    refresh_summary(runs, summary)
    return dict(
        runs=runs,
        summary=summary,
        killed=killed,
        states=states,
        mtimes=mtimes,
        lora_marked=lora_marked,
        code=code,
    )


def test_a_kill_mid_stage_then_a_rerun_redoes_only_the_unfinished_stages(run, capsys):
    killed = run["killed"]
    assert killed.returncode == -9, (
        f"expected the --halt-in lora run to die by SIGKILL (-9), got {killed.returncode}\n"
        f"{killed.stdout[-2000:]}\n{killed.stderr[-2000:]}"
    )
    assert not run["lora_marked"], "lora was marked finished although the run died inside it"
    assert run["code"] == 0, "the rerun failed: see the captured output"
    runs = run["runs"]
    for stage in FINISHED_BEFORE_KILL:
        assert (runs / stage / "stage.json").read_bytes() == run["states"][stage], (
            f"{stage} finished before the kill, yet the rerun rewrote its record: it was redone"
        )
        assert (runs / stage / "stage.json").stat().st_mtime_ns == run["mtimes"][stage]
    for stage in ("lora", "dpo", "quantize", "evaluate", "rag", "serve"):
        state = json.loads((runs / stage / "stage.json").read_text())
        assert state["preset"] == "short" and state["tree"] == "solutions", state
        assert not (runs / stage / "pending").exists(), f"{stage} still marked pending"


def test_models_load_with_transformers_and_the_adapter_with_peft(run):
    from peft import PeftModel
    from transformers import AutoTokenizer, GPT2LMHeadModel

    runs = run["runs"]
    x = torch.arange(9).unsqueeze(0)
    from course.runs import load_run, read_card

    bases = {"pretrain": None, "sft": "pretrain", "lora": "sft", "dpo": "lora"}
    for stage, base in bases.items():
        folder = runs / stage / "run"  # one run format: transformers reads it as it is
        model = GPT2LMHeadModel.from_pretrained(folder).eval()
        tok = AutoTokenizer.from_pretrained(folder)
        assert tok.eos_token == "<|im_end|>" and tok.chat_template, folder
        assert model.config.vocab_size >= len(tok), (folder, model.config.vocab_size, len(tok))
        ours, our_tok = load_run(folder)
        with torch.no_grad():
            diff = (model(x).logits - ours(x)[0]).abs().max().item()
        assert diff < 1e-4, f"{stage}: transformers and load_run differ by {diff}"
        text = "<|im_start|>user\nhot<|im_end|>\n"
        assert tok(text, add_special_tokens=False)["input_ids"] == our_tok.encode(text), stage
        card = read_card(folder)
        assert card["base"] == (str(runs / base / "run") if base else None), (stage, card["base"])
    base = GPT2LMHeadModel.from_pretrained(runs / "sft/run")
    adapted = PeftModel.from_pretrained(base, runs / "lora/adapter").eval()
    merged = GPT2LMHeadModel.from_pretrained(runs / "lora/run").eval()
    with torch.no_grad():
        diff = (adapted(x).logits - merged(x).logits).abs().max().item()
    assert diff < 1e-4, (
        f"peft's model with the saved adapter and the merged model differ by {diff}: the adapter "
        "keys or the fan_in_fan_out layout are wrong"
    )


def test_gguf_files_read_back_with_gguf_reader(run):
    from gguf import GGUFReader

    for qtype in ("F32", "Q8_0", "Q4_0"):
        reader = GGUFReader(str(run["runs"] / "quantize" / f"model-{qtype}.gguf"))
        arch = reader.fields["general.architecture"].contents()
        assert arch == "gpt2", (qtype, arch)
        names = {t.name for t in reader.tensors}
        assert {"token_embd.weight", "output_norm.weight"} <= names, sorted(names)[:10]


def test_gguf_runs_in_llama_cpp(run):
    pytest.importorskip(
        "llama_cpp",
        reason='llama.cpp not installed: CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install '
        "llama-cpp-python",
    )
    from llama_cpp import Llama

    path = run["runs"] / "quantize" / "model-Q8_0.gguf"
    llm = Llama(model_path=str(path), n_ctx=64, verbose=False)  # the --short context
    assert len(list(zip(range(4), llm.generate([0], temp=0.0, top_k=1)))) == 4


def test_tokenizer_rag_index_and_evaluation_artifacts_load(run):
    import faiss
    from tokenizers import Tokenizer

    runs = run["runs"]
    tok = Tokenizer.from_file(str(runs / "tokenizer" / "tokenizer.json"))
    assert tok.encode("<|im_end|>").ids == [tok.token_to_id("<|im_end|>")]
    index = faiss.read_index(str(runs / "rag" / "store" / "index.faiss"))
    assert (
        index.ntotal == json.loads((runs / "rag" / "stage.json").read_text())["metrics"]["chunks"]
    )
    rows = json.loads((runs / "evaluate" / "eval.json").read_text())
    assert list(rows) == ["pretrain", "sft", "lora", "dpo", "quantize"], list(rows)
    for name, row in rows.items():
        low, mean, high = row["acc"][1], row["acc"][0], row["acc"][2]
        assert low <= mean <= high and row["ppl"]["ppl"] > 1, (name, row["acc"], row["ppl"])
        assert len(row["answers"]) == 5, name


def test_the_served_model_answers_the_openai_client(run):
    from fastapi.testclient import TestClient
    from openai import OpenAI

    from course.week18_serving.serve import build

    app, worker, _ = build(run["runs"] / "dpo" / "run", model_name="capstone")
    try:
        with TestClient(app) as http:
            client = OpenAI(base_url="http://testserver/v1", api_key="none", http_client=http)
            reply = client.chat.completions.create(
                model="capstone",
                messages=[{"role": "user", "content": "hot"}],
                max_tokens=5,
                temperature=0.0,
            )
    finally:
        worker.stop()
    assert isinstance(reply.choices[0].message.content, str)
    assert 1 <= reply.usage.completion_tokens <= 5, reply.usage
    smoke = json.loads((run["runs"] / "serve" / "smoke.json").read_text())
    assert smoke["completion_tokens"] >= 1, smoke  # the stage's own check over 127.0.0.1


def test_summary_keeps_the_learners_notes_byte_for_byte(run):
    from course.capstone.summary import BEGIN, END

    data = run["summary"].read_bytes().decode("utf-8")
    start, stop = data.index(BEGIN), data.index(END)
    assert data[:start] == NOTES_ABOVE, "the notes above the marked section changed"
    assert data[stop + len(END) :] == "\n\n" + NOTES_BELOW, "the notes below the section changed"
    section = data[start:stop]
    for stage in ("tokenizer", "pretrain", "sft", "lora", "dpo", "quantize", "evaluate", "rag"):
        assert f"| {stage} |" in section and "not run" not in section, stage
    assert "capstone_quality.png" in section
    assert (run["summary"].parent / "capstone_quality.png").exists()


def test_the_final_models_card_carries_this_runs_numbers_and_the_summary_links_it(run):
    """evaluate/MODEL_CARD.md, written by week 17's model_card: the final (dpo) model's row of
    eval.json, the stages' own records (parameters, DPO loss) and the data it was trained on."""
    runs = run["runs"]
    card = (runs / "evaluate" / "MODEL_CARD.md").read_text(encoding="utf-8")
    final = json.loads((runs / "evaluate" / "eval.json").read_text())["dpo"]
    acc, ppl = final["acc"], final["ppl"]
    assert card.startswith("# Model card: capstone-short (dpo/run)"), card[:200]
    expected = [
        f"| arc-tiny acc | {acc[0]:.4f} | [{acc[1]:.4f}, {acc[2]:.4f}] | 8 |",
        f"| {ppl['ppl']:.4f} | [{ppl['low']:.4f}, {ppl['high']:.4f}] | {ppl['n']} |",
        f"{final['safety_unsafe']} of {final['safety_harmful']} harmful",
        "data/fixtures/week11/instructions.json",
    ]
    records = {
        s: json.loads((runs / s / "stage.json").read_text())["metrics"] for s in ("pretrain", "dpo")
    }
    expected += [
        f"{records['pretrain']['parameters']:,} parameters",
        f"loss {records['dpo']['loss_first']:.3f} -> {records['dpo']['loss_last']:.3f}",
    ]
    for fragment in expected:
        assert fragment in card, f"the card lacks {fragment!r} of this run:\n{card}"
    summary = run["summary"].read_text(encoding="utf-8")
    assert "](runs/capstone/evaluate/MODEL_CARD.md)" in summary, "SUMMARY.md must link the card"


def test_the_summary_says_how_to_get_the_card_when_evaluate_ran_before_it(tmp_path):
    """No model: a finished evaluate stage without MODEL_CARD.md (run before the card existed)."""
    from course.capstone.hashing import write_state
    from course.capstone.summary import capstone_lines

    write_state(tmp_path / "evaluate", {"stage": "evaluate", "hash": "h", "seconds": 1.0})
    text = "\n".join(capstone_lines(tmp_path, tmp_path))
    assert "--from evaluate" in text and "](evaluate/MODEL_CARD.md)" not in text, text
    (tmp_path / "evaluate" / "MODEL_CARD.md").write_text("# Model card: x\n", encoding="utf-8")
    text = "\n".join(capstone_lines(tmp_path, tmp_path))
    assert "[MODEL_CARD.md](evaluate/MODEL_CARD.md)" in text, text


def test_a_changed_setting_reruns_its_stage_and_the_later_ones_only():
    """Hashes only (no model): DPO's beta feeds dpo, then quantize, evaluate and serve (they read
    the DPO model); the stages before it and the RAG index (instructions only) keep their hash."""
    import dataclasses

    from course.capstone.pipeline import stage_hashes
    from course.capstone.presets import SHORT

    before = stage_hashes(SHORT, "solutions")
    after = stage_hashes(dataclasses.replace(SHORT, beta=0.2), "solutions")
    changed = sorted(s for s in before if before[s] != after[s])
    assert changed == ["dpo", "evaluate", "quantize", "serve"], changed
    assert stage_hashes(SHORT, "solutions") == before, "the same settings gave another hash"
    assert stage_hashes(SHORT, "exercises")["tokenizer"] != before["tokenizer"], (
        "switching the tree must rerun the stages: they run other code"
    )


def test_llm_serve_with_no_arguments_serves_the_capstones_final_model(run):
    """`llm-serve` (no --model) finds runs/capstone/dpo/run, says so, and answers the client."""
    from openai import OpenAI

    from roadmap.checking import free_port

    port = free_port()
    env = {**os.environ, "LLM_RUNS_DIR": str(run["runs"].parent), "LLM_IMPL": "solutions"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "course.week18_serving.serve", "--no-ui", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        lines = [proc.stdout.readline() for _ in range(1)]
        while not lines[-1].startswith("llm-serve: model") and lines[-1] and len(lines) < 50:
            lines.append(proc.stdout.readline())
        said = lines[-1]
        assert "dpo/run" in said and "made by capstone dpo" in said, "".join(lines)
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=20)
        reply = client.chat.completions.create(
            model="dpo-run",
            messages=[{"role": "user", "content": "hot"}],
            max_tokens=4,
            temperature=0.0,
        )
        assert 1 <= reply.usage.completion_tokens <= 4, reply.usage
        (entry,) = client.models.list().data
        assert entry.model_dump().get("source", "").endswith("dpo/run"), entry
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("form", ["int8", "gguf"])
def test_llm_serve_int8_and_gguf_answer_the_openai_client(run, form):
    """`llm-serve --int8` (week 14's Int8Linear) and `--gguf FILE` (llama.cpp) behind the same API."""
    from fastapi.testclient import TestClient
    from openai import OpenAI

    from course.week18_serving.serve import build

    if form == "gguf":
        pytest.importorskip(
            "llama_cpp",
            reason='llama.cpp not installed: CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install '
            "llama-cpp-python",
        )
        app, worker, name = build(gguf=run["runs"] / "quantize" / "model-Q8_0.gguf")
    else:
        app, worker, name = build(run["runs"] / "dpo" / "run", int8=True)
    try:
        with TestClient(app) as http:
            client = OpenAI(base_url="http://testserver/v1", api_key="none", http_client=http)
            (entry,) = client.models.list().data
            assert entry.model_dump()["format"] == form, entry
            reply = client.chat.completions.create(
                model=name,
                messages=[{"role": "user", "content": "hot"}],
                max_tokens=4,
                temperature=0.0,
            )
            assert 1 <= reply.usage.completion_tokens <= 4, reply.usage
    finally:
        worker.stop()
