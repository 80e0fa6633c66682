"""Checks for w09.memmap: uint16 token files and random windows read through np.memmap.

Oracles: the file's bytes written by hand; windows compared with the ids that were written (ids =
0, 1, 2, ... so a window's first id is its start); the kernel's peak-RSS counter (VmHWM, reset
through /proc/self/clear_refs) around opening a 200 MB file and drawing batches.
"""

import os
import sys

import numpy as np
import pytest
import torch

from roadmap.impl import load

mod = load("week09_training.dataset")


def test_write_tokens_bytes(tmp_path):
    """[1, 2, 258] -> 01 00 02 00 02 01 (little-endian uint16, no header)."""
    path = tmp_path / "t.bin"
    mod.write_tokens([1, 2, 258], path)
    got = path.read_bytes()
    assert got == bytes([1, 0, 2, 0, 2, 1]), (
        f"write_tokens([1, 2, 258]) wrote {got.hex(' ')}, expected 01 00 02 00 02 01\n  likely "
        "cause: store ids as uint16 (2 bytes each, little-endian), no header"
    )


def test_the_uint16_range_edges_are_accepted(tmp_path):
    """0 and 65535 are the smallest and largest ids that fit uint16: 00 00 ff ff."""
    path = tmp_path / "edge.bin"
    try:
        mod.write_tokens([0, 65535], path)
    except ValueError as error:
        raise AssertionError(
            f"write_tokens([0, 65535]) raised {error!r}\n  likely cause: 65535 is the largest id "
            "that fits uint16 and must be accepted (refuse > 65535, not >= 65535)"
        ) from error
    got = path.read_bytes()
    assert got == bytes([0, 0, 255, 255]), (
        f"write_tokens([0, 65535]) wrote {got.hex(' ')}, expected 00 00 ff ff\n  likely cause: "
        "65535 is the largest id that fits uint16 (accepted); 65536 is the smallest refused"
    )


@pytest.mark.parametrize("bad", [[5, 65536], [-1, 3]])
def test_write_tokens_refuses_ids_that_do_not_fit(tmp_path, bad):
    with pytest.raises(ValueError):
        mod.write_tokens(bad, tmp_path / "bad.bin")


def test_windows_are_slices_of_the_file(tmp_path):
    """ids 0..999 (values up to 999 need both bytes); T=7, B=5: x[i] = arange(s, s + 7), y = x + 1."""
    path = tmp_path / "ids.bin"
    mod.write_tokens(list(range(1000)), path)
    ds = mod.TokenDataset(path, 7)
    assert isinstance(ds.tokens, np.memmap), (
        f"TokenDataset.tokens is {type(ds.tokens).__name__}, expected np.memmap\n  likely cause: "
        "map the file with np.memmap(path, dtype=np.uint16, mode='r') instead of reading it"
    )
    assert ds.tokens.mode == "r", (
        f"TokenDataset.tokens is a memmap opened in mode {ds.tokens.mode!r}, expected 'r' "
        "(read-only)\n  likely cause: np.memmap's default mode is 'r+' (read-write): pass "
        "mode='r' so a stray write can never change the token file"
    )
    x, y = ds.get_batch(5, torch.Generator().manual_seed(0))
    assert x.shape == (5, 7) and y.shape == (5, 7), (
        f"get_batch(5, g) with block_size 7 returned shapes {tuple(x.shape)}, {tuple(y.shape)}"
    )
    assert x.dtype == torch.int64 and y.dtype == torch.int64, (
        f"get_batch returned dtypes {x.dtype}, {y.dtype}, expected torch.int64 (embedding "
        "lookups and cross-entropy want int64; convert the uint16 window)"
    )
    starts = x[:, 0]
    expected_x = starts[:, None] + torch.arange(7)
    assert torch.equal(x, expected_x), (
        f"get_batch rows are not consecutive ids of the file: first row {x[0].tolist()}\n  likely "
        "cause: read the file as dtype uint16 (np.memmap's default is uint8)"
    )
    assert torch.equal(y, x + 1), (
        f"get_batch: y is not x shifted by one: x[0] {x[0].tolist()}, y[0] {y[0].tolist()}\n  "
        "likely cause: y = tokens[s + 1 : s + T + 1]"
    )


def test_every_start_is_drawn_including_the_last(tmp_path):
    """12 tokens, T=7: starts 0..4 (5 windows; the last y ends at the last token). 2,000 draws
    miss one start with probability 5 * 0.8**2000 ~ 1e-193; a start >= 5 would overrun."""
    path = tmp_path / "ids.bin"
    mod.write_tokens(list(range(12)), path)
    ds = mod.TokenDataset(path, 7)
    x, y = ds.get_batch(2000, torch.Generator().manual_seed(1))
    seen = sorted(set(x[:, 0].tolist()))
    assert seen == [0, 1, 2, 3, 4], (
        f"get_batch on 12 tokens with T=7 drew starts {seen}, expected every start 0..4\n  "
        "likely cause: torch.randint(0, len(tokens) - T, ...): the high end is exclusive, so "
        "len(tokens) - T - 1 is the last start"
    )


def test_shortest_file_is_one_window(tmp_path):
    """block_size + 1 = 8 tokens: exactly one window (start 0) whose y ends at the last token;
    7 tokens (= block_size) hold no window: ValueError."""
    path = tmp_path / "ids.bin"
    mod.write_tokens(list(range(8)), path)
    try:
        ds = mod.TokenDataset(path, 7)
    except ValueError as error:
        raise AssertionError(
            f"TokenDataset(8 tokens, block_size=7) raised {error!r}\n  likely cause: a file of "
            "block_size + 1 tokens holds exactly one window and must be accepted"
        ) from error
    x, y = ds.get_batch(3, torch.Generator().manual_seed(2))
    assert x.tolist() == [list(range(7))] * 3 and y.tolist() == [list(range(1, 8))] * 3, (
        f"TokenDataset(8 tokens, block_size 7).get_batch(3): x {x.tolist()}, y {y.tolist()}; "
        "expected the only window, start 0, three times\n  likely cause: a file of block_size + 1 "
        "tokens is accepted (one window)"
    )
    short = tmp_path / "short.bin"
    mod.write_tokens(list(range(7)), short)
    try:
        mod.TokenDataset(short, 7)
    except ValueError:
        pass
    else:
        pytest.fail(
            "TokenDataset(7 tokens, block_size=7) did not raise ValueError\n  likely cause: a "
            "file needs at least block_size + 1 tokens (one x and its shifted y)"
        )


def test_same_generator_state_same_batch(tmp_path):
    path = tmp_path / "ids.bin"
    mod.write_tokens(list(range(500)), path)
    ds = mod.TokenDataset(path, 9)
    g = torch.Generator().manual_seed(5)
    state = g.get_state()
    a = ds.get_batch(4, g)
    g.set_state(state)
    b = ds.get_batch(4, g)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]), (
        "get_batch with the same generator state gave different batches\n  likely cause: draw "
        "the starts with the generator argument (torch.randint(..., generator=generator))"
    )


def peak_rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1])
    return 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc (Linux)")
def test_a_200mb_file_is_never_loaded(tmp_path):
    """A 200 MB token file (sparse: written with truncate, so the check costs no disk time):
    opening it and drawing 10 batches raises the process's peak RSS by < 50 MB. np.fromfile or
    np.load would add 200 MB."""
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(200_000_000)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    except OSError:
        pytest.skip("cannot reset the peak-RSS counter here")
    before = peak_rss_kb()
    ds = mod.TokenDataset(path, 64)
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        ds.get_batch(8, g)
    grown_mb = (peak_rss_kb() - before) / 1024
    assert grown_mb < 50, (
        f"TokenDataset on a 200 MB file raised peak RSS by {grown_mb:.0f} MB (limit 50)\n  likely "
        "cause: the file was read into memory; use np.memmap and slice only the windows"
    )
    del ds
    os.remove(path)
