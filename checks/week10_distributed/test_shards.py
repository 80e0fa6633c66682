"""Checks for w10.shards: parallel tokenization into uint16 shards with a manifest, resumable.

Oracles: the ids of one process in one pass (sum of encode(doc) + [eot]); the bytes on disk read
back with numpy; SHA-256 recomputed here; a run that dies half-way (an encoder that raises on one
document) then resumes: the shards it finished keep their files (same inode and modification
time: not rewritten) and the manifest lists every shard once.
"""

import hashlib
import json
import os

import numpy as np
import pytest

from checks.week10_distributed.support import (
    FailOn,
    PidEncode,
    SimulatedCrash,
    byte_encode,
    edge_encode,
    negative_encode,
    wide_encode,
)
from roadmap.impl import load

mod = load("week10_distributed.shards")

DOCS = [f"doc {i}: " + "héllo wörld " * (i % 4) + "x" * (i % 3) for i in range(11)] + [""]
EOT = 256


def one_pass(docs):
    ids = []
    for d in docs:
        ids += byte_encode(d) + [EOT]
    return ids


def read_all(out, manifest):
    ids = []
    for entry in manifest["shards"]:
        raw = (out / entry["file"]).read_bytes()
        ids += np.frombuffer(raw, dtype="<u2").tolist()
    return ids


def test_shards_concatenate_to_one_pass_and_manifest_is_right(tmp_path):
    out = tmp_path / "s"
    m = mod.tokenize_to_shards(DOCS, out, byte_encode, eot=EOT, docs_per_shard=5, workers=0)
    files = [e["file"] for e in m["shards"]]
    assert files == ["shard_00000.bin", "shard_00001.bin", "shard_00002.bin"], (
        f"tokenize_to_shards(12 docs, docs_per_shard=5): expected 3 shards named by shard_name, "
        f"got {files}\n  likely cause: shard i holds documents [i*5, (i+1)*5), the last fewer"
    )
    got_docs = [e["docs"] for e in m["shards"]]
    assert got_docs == [5, 5, 2], (
        f"documents per shard: expected [5, 5, 2], got {got_docs}\n  likely cause: shard i holds "
        "documents [i*D, (i+1)*D), no overlap, so the shards concatenated equal one pass"
    )
    expected = one_pass(DOCS)
    got = read_all(out, m)
    assert got == expected, (
        f"the shards concatenated ({len(got)} ids) differ from one pass over the documents "
        f"({len(expected)} ids); first difference at "
        f"{next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))}"
        "\n  likely cause: each document is encode(doc) + [eot], in order, written as uint16"
    )
    for e in m["shards"]:
        raw = (out / e["file"]).read_bytes()
        assert len(raw) == 2 * e["tokens"], (
            f"{e['file']}: {len(raw)} bytes for {e['tokens']} tokens; uint16 is 2 bytes per id"
        )
        assert e["sha256"] == hashlib.sha256(raw).hexdigest(), (
            f"{e['file']}: manifest sha256 is not the SHA-256 of the file's bytes"
        )
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == m, "manifest.json must hold the returned manifest"
    assert m["total_tokens"] == len(expected) and m["complete"] is True, (
        f"manifest total_tokens {m.get('total_tokens')} (expected {len(expected)}), complete "
        f"{m.get('complete')} (expected True)"
    )
    assert (m["docs_per_shard"], m["total_docs"], m["eot"]) == (5, 12, EOT), (
        "manifest must record docs_per_shard, total_docs and eot"
    )
    assert not list(out.glob("*.tmp")), "temporary files must be renamed or removed"
    read = mod.read_shard(out / files[0])
    assert read.tolist() == expected[: m["shards"][0]["tokens"]], "read_shard gives back shard 0"


def test_two_workers_write_the_same_bytes(tmp_path):
    a = mod.tokenize_to_shards(
        DOCS, tmp_path / "a", byte_encode, eot=EOT, docs_per_shard=3, workers=0
    )
    b = mod.tokenize_to_shards(
        DOCS, tmp_path / "b", byte_encode, eot=EOT, docs_per_shard=3, workers=2
    )
    assert a == b, (
        "tokenize_to_shards with workers=2 must give the same manifest as workers=0\n  likely "
        "cause: Pool.imap keeps the task order; imap_unordered or as_completed do not"
    )
    for e in a["shards"]:
        assert (tmp_path / "a" / e["file"]).read_bytes() == (
            tmp_path / "b" / e["file"]
        ).read_bytes()


def test_ids_that_do_not_fit_in_uint16_raise(tmp_path):
    with pytest.raises(ValueError):
        mod.tokenize_to_shards(["ab"], tmp_path, wide_encode, eot=0, docs_per_shard=1, workers=0)
    assert not (tmp_path / "shard_00000.bin").exists(), (
        "encode_shard must raise BEFORE writing a shard whose ids exceed 65535"
    )


def test_the_uint16_range_edges(tmp_path):
    """Ids 0 and 65535 (and eot 65535) fit uint16 and are written (00 00 ff ff ff ff); an id of
    -1 is refused like 70000."""
    try:
        m = mod.tokenize_to_shards(
            ["a"], tmp_path / "e", edge_encode, eot=65535, docs_per_shard=1, workers=0
        )
    except ValueError as error:
        raise AssertionError(
            f"tokenize_to_shards with ids [0, 65535] and eot 65535 raised {error!r}\n  likely "
            "cause: 65535 is the largest id that fits uint16 and must be accepted (refuse ids "
            ">= 65536 and < 0)"
        ) from error
    raw = (tmp_path / "e" / m["shards"][0]["file"]).read_bytes()
    assert raw == bytes([0, 0, 255, 255, 255, 255]), (
        f"ids [0, 65535] + eot 65535 were written as {raw.hex(' ')}, expected 00 00 ff ff ff ff"
    )
    try:
        mod.tokenize_to_shards(
            ["a"], tmp_path / "n", negative_encode, eot=0, docs_per_shard=1, workers=0
        )
    except ValueError:
        pass
    else:
        pytest.fail(
            "tokenize_to_shards with a negative id (-1) did not raise ValueError\n  likely cause: "
            "an id < 0 does not fit uint16 either (it would wrap around to 65535)"
        )


def test_workers_encode_in_other_processes(tmp_path):
    """workers=2: the documents are encoded in a Pool's worker processes (none in this one);
    workers=0: all in this process."""
    pids = tmp_path / "pids"
    pids.mkdir()
    mod.tokenize_to_shards(
        DOCS, tmp_path / "w2", PidEncode(str(pids)), eot=EOT, docs_per_shard=3, workers=2
    )
    seen = {int(p.name) for p in pids.iterdir()}
    assert seen and os.getpid() not in seen, (
        f"tokenize_to_shards(workers=2) encoded in processes {sorted(seen)}, this process is "
        f"{os.getpid()}\n  likely cause: workers > 0 must encode in a multiprocessing.Pool(workers) "
        "(pool.imap over the tasks), not in this process"
    )
    for p in pids.iterdir():
        p.unlink()
    mod.tokenize_to_shards(
        DOCS, tmp_path / "w0", PidEncode(str(pids)), eot=EOT, docs_per_shard=3, workers=0
    )
    seen = {int(p.name) for p in pids.iterdir()}
    assert seen == {os.getpid()}, (
        f"tokenize_to_shards(workers=0) encoded in processes {sorted(seen)}; workers=0 encodes in "
        "this process"
    )


def test_killed_run_resumes_without_rewriting_a_shard(tmp_path):
    """Documents 0..11, 2 per shard; the encoder dies on document 7 (shard 3). The shards finished
    before it (0, 1, 2 with Pool.imap's default chunksize) are listed; the rerun must keep their
    files and write the others once."""
    out = tmp_path / "r"
    with pytest.raises(SimulatedCrash):
        mod.tokenize_to_shards(DOCS, out, FailOn(DOCS[7]), eot=EOT, docs_per_shard=2, workers=2)
    assert (out / "manifest.json").exists(), (
        "after a crash in shard 3 there is no manifest.json\n  likely cause: write the manifest "
        "after EVERY finished shard, in shard order, not only at the end"
    )
    partial = json.loads((out / "manifest.json").read_text())
    listed = [e["file"] for e in partial["shards"]]
    assert 1 <= len(listed) <= 3 and listed == [mod.shard_name(i) for i in range(len(listed))], (
        f"after a crash in shard 3 the manifest lists {listed}; expected the finished shards "
        "before it, in order (shard_00000.bin, ...)\n  likely cause: write the manifest after "
        "EVERY finished shard, in shard order, not only at the end"
    )
    assert partial.get("complete") is False, "a manifest written mid-run must say complete: false"
    stats = {f: os.stat(out / f) for f in listed}
    final = mod.tokenize_to_shards(DOCS, out, byte_encode, eot=EOT, docs_per_shard=2, workers=2)
    files = [e["file"] for e in final["shards"]]
    assert files == [mod.shard_name(i) for i in range(6)], (
        f"resumed manifest lists {files}: every shard exactly once, in order"
    )
    for f, st in stats.items():
        now = os.stat(out / f)
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), (
            f"resuming rewrote {f}, which the manifest already listed\n  likely cause: read the "
            "existing manifest and encode only the shards after those it lists"
        )
    assert read_all(out, final) == one_pass(DOCS), "resumed shards concatenated != one pass"
    fresh = mod.tokenize_to_shards(
        DOCS, tmp_path / "fresh", byte_encode, eot=EOT, docs_per_shard=2, workers=0
    )
    assert final == fresh, "a resumed run must end with the same manifest as a fresh run"


def test_other_parameters_ignore_the_old_manifest(tmp_path):
    out = tmp_path / "p"
    mod.tokenize_to_shards(DOCS, out, byte_encode, eot=EOT, docs_per_shard=4, workers=0)
    m = mod.tokenize_to_shards(DOCS, out, byte_encode, eot=EOT, docs_per_shard=5, workers=0)
    assert [e["docs"] for e in m["shards"]] == [5, 5, 2], (
        "tokenize_to_shards with a different docs_per_shard must ignore the old manifest and "
        f"write every shard again; got shards of {[e['docs'] for e in m['shards']]} documents"
    )
    assert read_all(out, m) == one_pass(DOCS), "rewritten shards concatenated != one pass"


@pytest.mark.parametrize(
    "changed",
    [
        dict(eot=257),  # the same shards would hold another end-of-text id
        dict(docs=DOCS + ["one more document"]),  # 13 documents: shard 2 holds 3, not 2
    ],
    ids=["eot", "total_docs"],
)
def test_any_changed_parameter_ignores_the_old_manifest(tmp_path, changed):
    """A finished run on 12 documents (docs_per_shard 5, eot 256), then a run with the same
    docs_per_shard but another eot, or another number of documents: the old manifest does not
    match (docs_per_shard, total_docs AND eot are compared), so every shard is written again."""
    out = tmp_path / "c"
    mod.tokenize_to_shards(DOCS, out, byte_encode, eot=EOT, docs_per_shard=5, workers=0)
    docs, eot = changed.get("docs", DOCS), changed.get("eot", EOT)
    m = mod.tokenize_to_shards(docs, out, byte_encode, eot=eot, docs_per_shard=5, workers=0)
    field = "eot" if "eot" in changed else "total_docs"
    got = read_all(out, m)
    expected = []
    for d in docs:
        expected += byte_encode(d) + [eot]
    assert got == expected and m[field] == (eot if field == "eot" else len(docs)), (
        f"tokenize_to_shards after a finished run with another {field}: the shards concatenated "
        f"({len(got)} ids) differ from one pass with this run's {field} ({len(expected)} ids), "
        f"manifest {field} = {m.get(field)}\n  likely cause: resume only when docs_per_shard, "
        "total_docs and eot ALL match the old manifest; if any differs, ignore it and write every "
        "shard again"
    )
