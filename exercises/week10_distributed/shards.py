"""Tokenize a corpus into uint16 shards in parallel, with a manifest, deterministic and resumable.

The format nanoGPT and most pretraining pipelines use: flat binary files of token ids (uint16
when the vocabulary has fewer than 65,536 entries, half the bytes of int32), read back with
`np.memmap`. A manifest (JSON) lists the shards in order with their token counts and checksums,
and is rewritten atomically after every finished shard, so a killed run restarts where it
stopped instead of writing a shard twice.
Check: `python tracker.py check w10.shards`
"""

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

MANIFEST = "manifest.json"


def shard_name(index: int) -> str:
    """The file name of shard `index` (given): shard_00000.bin, shard_00001.bin, ..."""
    return f"shard_{index:05d}.bin"


def read_shard(path: str | Path) -> np.ndarray:
    """A shard's ids (given): a read-only uint16 memmap of the file (little-endian)."""
    return np.memmap(path, dtype="<u2", mode="r")


def write_manifest(out_dir: Path, manifest: dict) -> None:
    """Write MANIFEST atomically (given): to a temporary file first, then `os.replace`."""
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, out_dir / MANIFEST)


def encode_shard(task: tuple) -> dict:
    """Tokenize one shard's documents and write the shard file; runs in a worker process.

    Args:
        task: (index, docs, encode, eot, out_dir): the shard's index, its list of documents, the
            tokenizer (a picklable callable str -> list[int]), the end-of-text id and the folder.

    Each document becomes `encode(doc) + [eot]`, in order; their concatenation is written as
    little-endian uint16 (`np.asarray(ids, dtype="<u2").tofile(...)`) to a temporary file
    `shard_name(index) + ".tmp"` that is then renamed (`os.replace`) to `shard_name(index)`, so a
    shard file is never half-written. Raises ValueError (before writing) if any id is < 0 or
    >= 65536: it would not fit in uint16 (0 and 65535 are accepted).
    Example: (3, ["hi", ""], byte_encode, 256, d) writes d/shard_00003.bin holding the ids [104,
    105, 256, 256] (8 bytes) and returns {"file": "shard_00003.bin", "docs": 2, "tokens": 4,
    "sha256": ...}.

    Returns:
        {"file": shard_name(index), "docs": len(docs), "tokens": number of ids,
         "sha256": hex SHA-256 of the file's bytes}.
    """
    # TODO(w10.shards): write one shard file safely and return its manifest entry
    raise NotImplementedError(
        "w10.shards: write encode_shard in exercises/week10_distributed/shards.py"
    )


def tokenize_to_shards(
    docs: list[str],
    out_dir: str | Path,
    encode: Callable[[str], list[int]],
    *,
    eot: int,
    docs_per_shard: int,
    workers: int = 2,
) -> dict:
    """Tokenize `docs` into shards of `docs_per_shard` documents each, in parallel, resumably.

    Shard i holds documents [i * docs_per_shard, (i + 1) * docs_per_shard) (the last may hold
    fewer), written by `encode_shard`. The manifest, OUT_DIR/MANIFEST, is
        {"docs_per_shard": int, "total_docs": len(docs), "eot": eot,
         "shards": [encode_shard's dict for shard 0, shard 1, ...], "total_tokens": int,
         "complete": bool}
    and is written with `write_manifest` after every finished shard, in shard order (shards
    finished out of order wait for the ones before them), with "complete" true only at the end.

    Resuming: if OUT_DIR/MANIFEST exists with the same docs_per_shard, total_docs and eot, its
    listed shards are kept and never recomputed or rewritten (a run that is killed and started
    again writes each shard once); only the shards after them are encoded. If any one of the
    three differs, the old manifest is ignored and every shard is written again.
    Example: 12 documents, docs_per_shard=5 -> shards of 5, 5 and 2 documents; run again with
    eot changed (or 13 documents) and all three are rewritten.

    Parallelism: `workers` > 0 uses a `multiprocessing.Pool(workers)` and its `imap` (which
    returns results in task order); `workers == 0` encodes in this process (same output).

    Returns:
        the final manifest dict. The shards' ids concatenated, in order, equal
        sum((encode(d) + [eot] for d in docs), []): the same as one process in one pass.
    """
    # TODO(w10.shards): write every shard in parallel, resumably; return the final manifest
    raise NotImplementedError(
        "w10.shards: write tokenize_to_shards in exercises/week10_distributed/shards.py"
    )
