"""The dataset registry and the fetch logic (see data/__init__.py for usage)."""

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from roadmap.progress import usual_mode

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MIRROR_VAR = "LLM_DATA_MIRROR"
CACHE_VAR = "LLM_DATA_CACHE"
RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    url: str  # public source, pinned to a commit
    sha256: str  # of the file as stored (after decompression when gzip is True)
    size: int  # bytes, as stored
    licence: str
    mirror_path: str  # path inside a mirror directory (and inside the cache)
    gzip: bool = False  # the URL serves a .gz that is decompressed on fetch


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "tinyshakespeare",
            "Tiny Shakespeare (char-rnn input.txt), 40,000 lines of plays",
            f"{RAW}/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt",
            "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            1_115_394,
            "public domain text; repository MIT",
            "tinyshakespeare.txt",
        ),
        Dataset(
            "wikitext2-valid",
            "WikiText-2 v1 (tokenized) validation split",
            f"{RAW}/pytorch/examples/77f55b912142e11fcfdf5b530231fb9c52f181e8/word_language_model/data/wikitext-2/valid.txt",
            "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
            1_121_681,
            "CC BY-SA 3.0",
            "wikitext-2/valid.txt",
        ),
        Dataset(
            "wikitext2-test",
            "WikiText-2 v1 (tokenized) test split",
            f"{RAW}/pytorch/examples/77f55b912142e11fcfdf5b530231fb9c52f181e8/word_language_model/data/wikitext-2/test.txt",
            "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
            1_256_449,
            "CC BY-SA 3.0",
            "wikitext-2/test.txt",
        ),
        Dataset(
            "wikitext2-raw-test",
            "WikiText-2 raw (untokenized) test split, blank lines removed",
            f"{RAW}/Tylogi/TyloQuant/7989d038b13ca737da11a95fb90e77ae059f33c0/data/wikitext-2-raw/wiki.test.raw",
            "4f3e427e4aff23acff917a8a51aeae21bf12832256e26914c8fc250dcef4103c",
            1_290_547,
            "CC BY-SA 3.0 and GFDL",
            "wikitext-2/wiki.test.raw-nonblank.txt",
        ),
        Dataset(
            "instruction",
            "1,100 Alpaca-style instruction records (LLMs-from-scratch ch. 7)",
            f"{RAW}/rasbt/LLMs-from-scratch/28c65cdfbc3338e2e040016eea4b7fdf556e4d57/ch07/01_main-chapter-code/instruction-data.json",
            "7e09a9af353722ca15c18bc580f093f9c39d3178335a75177319cb1e1d163944",
            203_524,
            "Apache-2.0",
            "instruction/instruction-data.json",
        ),
        Dataset(
            "hh-rlhf-harmless-test",
            "Anthropic HH-RLHF harmless-base test preference pairs (contains offensive text by design)",
            f"{RAW}/anthropics/hh-rlhf/354e5c3cb8960630860dd5774a6ac2a58313bf4d/harmless-base/test.jsonl.gz",
            "14d765196c9f18d84f9bb3a78bac608c8f2915110ebcbd74ec95db7b7198b008",
            3_280_164,
            "MIT",
            "hh-rlhf/harmless-base-test.jsonl",
            gzip=True,
        ),
        Dataset(
            "xquad-en",
            "XQuAD English: 1,190 SQuAD v1.1 dev questions over 240 paragraphs",
            f"{RAW}/google-deepmind/xquad/7d30520c717524000f0d9d2f9c10a069acd9d285/xquad.en.json",
            "e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29",
            609_383,
            "CC BY-SA 4.0",
            "xquad/xquad.en.json",
        ),
        Dataset(
            "arc-easy",
            "ARC-Easy test set, 2,376 four-choice questions (llm-foundry ICL format)",
            f"{RAW}/mosaicml/llm-foundry/8c8dd48f72168c5d51e2f7b151595892a8fba43d/scripts/eval/local_data/world_knowledge/arc_easy.jsonl",
            "d2d12e59543acf9a5ef6079634a72b30215e36c2fd4236fff3bc855d287b87f5",
            636_665,
            "CC BY-SA 4.0 (AI2 ARC)",
            "arc/arc_easy.jsonl",
        ),
        Dataset(
            "arc-challenge",
            "ARC-Challenge test set, 1,172 questions (llm-foundry ICL format)",
            f"{RAW}/mosaicml/llm-foundry/8c8dd48f72168c5d51e2f7b151595892a8fba43d/scripts/eval/local_data/world_knowledge/arc_challenge.jsonl",
            "1ae3aeedf1951d881cbd5c2e3a31e78a1993d251479afbe4cb413b6707244636",
            365_606,
            "CC BY-SA 4.0 (AI2 ARC)",
            "arc/arc_challenge.jsonl",
        ),
    ]
}


class DatasetMissing(FileNotFoundError):
    """A dataset is neither in the cache nor in a mirror."""


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_VAR) or DATA_DIR / "cache")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _get(name: str) -> Dataset:
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _install(dataset: Dataset, source: Path, dest: Path) -> Path:
    """Verify `source` and move it into place atomically; the cache never holds a bad file."""
    got = sha256_of(source)
    if got != dataset.sha256:
        source.unlink(missing_ok=True)
        raise ValueError(
            f"dataset {dataset.name!r}: sha256 mismatch (expected {dataset.sha256}, got {got}); "
            "the source differs from the pinned file, nothing was saved"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, dest)
    return dest


def fetch(name: str, mirror: str | Path | None = None, force: bool = False) -> Path:
    """Put dataset `name` in the cache and return its path.

    From `mirror` (or env LLM_DATA_MIRROR) when given, else downloaded from the dataset's URL.
    The checksum is verified either way.
    """
    dataset = _get(name)
    dest = cache_dir() / dataset.mirror_path
    if dest.exists() and not force and dest.stat().st_size == dataset.size:
        return dest
    mirror = mirror or os.environ.get(MIRROR_VAR)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkstemp(dir=dest.parent, prefix=".fetch-")[1])
    tmp.chmod(usual_mode())  # a dataset is an ordinary file, not mkstemp's 0600
    try:
        if mirror:
            src = Path(mirror) / dataset.mirror_path
            if not src.exists():
                raise DatasetMissing(
                    f"dataset {name!r}: mirror {mirror} has no {dataset.mirror_path}"
                )
            shutil.copyfile(src, tmp)
        else:
            try:
                with (
                    urllib.request.urlopen(dataset.url, timeout=60) as response,
                    open(tmp, "wb") as f,
                ):
                    stream = gzip.GzipFile(fileobj=response) if dataset.gzip else response
                    shutil.copyfileobj(stream, f)
            except OSError as error:
                raise DatasetMissing(
                    f"dataset {name!r}: could not download {dataset.url} ({error}); "
                    f"copy it from a local mirror instead: --mirror DIR or {MIRROR_VAR}=DIR"
                ) from error
        return _install(dataset, tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def dataset_path(name: str) -> Path:
    """Local path of dataset `name`: from the cache, or copied from LLM_DATA_MIRROR if that is set.

    Raises DatasetMissing naming both ways to get it; never downloads on its own.
    """
    dataset = _get(name)
    dest = cache_dir() / dataset.mirror_path
    if dest.exists() and dest.stat().st_size == dataset.size:
        return dest
    if os.environ.get(MIRROR_VAR):
        return fetch(name)
    raise DatasetMissing(
        f"dataset {name!r} ({dataset.description}) is not in {cache_dir()}.\n"
        f"  download it:        python tracker.py data fetch {name}\n"
        f"  or use a local copy: python tracker.py data fetch {name} --mirror DIR  "
        f"(or set {MIRROR_VAR}=DIR; DIR/{dataset.mirror_path} must exist)"
    )


def fixture_path(*parts: str) -> Path:
    """A committed fixture file: fixture_path("week06", "unicode.txt")."""
    path = DATA_DIR / "fixtures" / Path(*parts)
    if not path.exists():
        raise FileNotFoundError(f"fixture {path} is missing from the repository")
    return path
