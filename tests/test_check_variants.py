"""Checks accept every correct answer: a second valid variant of an exercise passes its checks.

Where a docstring leaves a choice free (which random stream draws a sample, how a Markdown table's
separator row looks), a variant that makes the other choice is written into a throwaway copy of
the repository as the learner's code, and that exercise's checks must pass on it. These are
maintainers' tests (they run under `pytest --impl=solutions` too).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from roadmap import ROOT

INVERSE_CDF = """(
                    torch.searchsorted(
                        probs.cumsum(-1),
                        torch.rand(probs.shape[0], 1, generator=generator),
                    ).clamp(max=probs.shape[-1] - 1)
                )  # (B, 1): inverse-CDF sampling, another valid random stream"""

VARIANTS = {
    "inverse_cdf_sampler": (
        "week05_gpt/model.py",
        "torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)",
        INVERSE_CDF,
        [
            "checks/week05_gpt/test_generate.py::test_sampling_is_reproducible_with_a_seeded_generator",
            "checks/week05_gpt/test_generate.py::test_temperature_samples_follow_softmax_of_scaled_logits",
        ],
    ),
    "aligned_separator_rows": (
        "week06_tokenizers/report.py",
        '"|---|---|---|---|---|---|"',
        '"| ---: | ---: | :--- | :--- | :--- | ---: |"',
        ["checks/week06_tokenizers/test_report.py"],
    ),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_second_valid_variant_passes(name, tmp_path):
    file, old, new, checks = VARIANTS[name]
    copy = tmp_path / "repo"
    for part in ("roadmap", "course", "checks", "solutions", "curriculum", "data"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("conftest.py", "pyproject.toml"):
        shutil.copy2(ROOT / part, copy / part)
    # the learner's tree is the reference with the one free choice made the other way
    shutil.copytree(ROOT / "solutions", copy / "exercises")
    source = copy / "exercises" / file
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the variant's anchor is not in solutions/{file} once"
    source.write_text(text.replace(old, new), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("LLM_IMPL", "PYTEST_ADDOPTS")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *checks,
            "-q",
            "-p",
            "no:cacheprovider",
            "--impl=exercises",
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"{name}: a valid variant was rejected\n{run.stdout[-3000:]}"
    assert Path(copy / "exercises" / file).read_text(encoding="utf-8").count(new.strip()) == 1
