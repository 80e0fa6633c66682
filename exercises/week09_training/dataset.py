"""A memory-mapped token dataset: ids on disk as uint16, random training windows, no copy in memory.

A pre-training corpus is tokenized once into a flat file of ids (GPT-2's 50,257 ids fit uint16:
2 bytes a token). `np.memmap` maps the file into the address space; only the pages a window touches
are read, so a 10 GB file costs no 10 GB of memory (nanoGPT's train.bin).
Check: `python tracker.py check w09.memmap`
"""

from pathlib import Path

import numpy as np
import torch


def write_tokens(ids, path: str | Path) -> None:
    """Write token ids to `path` as raw little-endian uint16, 2 bytes per id, no header.

    Raises:
        ValueError: if an id is < 0 or > 65535 (it would wrap around silently).

    Example: write_tokens([1, 2, 258], p) writes the 6 bytes 01 00 02 00 02 01; write_tokens([0,
    65535], p) writes 00 00 ff ff (65535 is the largest id accepted, 65536 the smallest refused).
    """
    # TODO(w09.memmap): write the ids as raw uint16, refusing any id that would not fit
    raise NotImplementedError(
        "w09.memmap: write write_tokens in exercises/week09_training/dataset.py"
    )


class TokenDataset:
    """Random (x, y) windows of a uint16 token file, read through np.memmap.

    Attributes:
        tokens: the np.memmap (mode "r", dtype uint16) over the whole file; never np.fromfile,
            np.load or a copy: the file is not read into memory.
        block_size: T.
    """

    def __init__(self, path: str | Path, block_size: int):
        """Map the file (np.memmap, mode "r": read-only, never read into memory).

        Raises:
            ValueError: if the file has fewer than block_size + 1 tokens (block_size + 1 tokens
                hold exactly one window: x = tokens[0:T], y = tokens[1:T+1]).
        """
        # TODO(w09.memmap): map the file read-only; refuse a file too short for one window
        raise NotImplementedError(
            "w09.memmap: write TokenDataset.__init__ in exercises/week09_training/dataset.py"
        )

    def __len__(self) -> int:
        """The number of distinct windows: len(tokens) - block_size (starts 0 .. that - 1)."""
        return len(self.tokens) - self.block_size

    def get_batch(
        self, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """batch_size random windows: x = tokens[s : s + T], y = tokens[s + 1 : s + T + 1].

        The starts are drawn as `torch.randint(0, len(self), (batch_size,), generator=generator)`:
        every start 0 .. len(tokens) - T - 1 equally likely (the last one, whose y ends at the last
        token, included). The generator is the data position: save its state to resume.
        Example: a file of ids 0, 1, ..., 11 and T = 7: a start s gives x = [s, ..., s + 6] and
        y = [s + 1, ..., s + 7], with s in 0..4.

        Returns:
            x, y: (batch_size, T) int64 tensors (copies of the windows, not views of the file).
        """
        # TODO(w09.memmap): return batch_size random (x, y) windows drawn with `generator`
        raise NotImplementedError(
            "w09.memmap: write TokenDataset.get_batch in exercises/week09_training/dataset.py"
        )
