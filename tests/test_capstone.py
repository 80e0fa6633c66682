"""The capstone end to end on its --short preset: every stage's artifact loads in its real consumer,
a run killed in the middle of a stage resumes without redoing the finished ones, and SUMMARY.md
keeps the learner's notes byte for byte.

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
    runs, summary = tmp / "runs", tmp / "SUMMARY.md"
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
    for folder in ("pretrain/hf", "sft/hf", "lora/merged", "dpo/hf"):
        model = GPT2LMHeadModel.from_pretrained(runs / folder).eval()
        tok = AutoTokenizer.from_pretrained(runs / folder)
        assert tok.eos_token == "<|im_end|>" and tok.chat_template, folder
        assert model.config.vocab_size == len(tok), (folder, model.config.vocab_size, len(tok))
        assert torch.isfinite(model(x).logits).all(), folder
    base = GPT2LMHeadModel.from_pretrained(runs / "sft/hf")
    adapted = PeftModel.from_pretrained(base, runs / "lora/adapter").eval()
    merged = GPT2LMHeadModel.from_pretrained(runs / "lora/merged").eval()
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

    from course.capstone.stages import build_app

    app, worker = build_app(run["runs"] / "serve" / "model")
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
