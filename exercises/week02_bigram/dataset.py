"""The data side of language modelling: a train/val split and a loader that serves (x, y) blocks.

A block is `block_size` consecutive tokens x and the same window shifted by one, y: y[t] is the
token that follows x[t], so one block holds `block_size` next-token examples. The loader owns all
batching; a training script only calls `get_batch`.
Check: `python tracker.py check w02.dataset`
"""

import torch


def split_train_val(
    ids: torch.Tensor, val_fraction: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a token stream into a leading train part and a trailing val part.

    The split is contiguous, not shuffled: a random split of overlapping windows would put
    almost the same text in both parts, and val would no longer measure generalisation.

    Args:
        ids: (N,) int64 token ids.
        val_fraction: share of tokens for val, 0 <= val_fraction < 1.

    Returns:
        (train, val): train = ids[:n], val = ids[n:], with n = N - int(N * val_fraction).

    Example: ids = arange(10), val_fraction=0.2 -> (arange(8), tensor([8, 9])).
    """
    # TODO(w02.dataset): return the head of ids for train and its tail for val
    raise NotImplementedError(
        "w02.dataset: write split_train_val in exercises/week02_bigram/dataset.py"
    )


class TokenDataset:
    """Serves random (x, y) batches of blocks from a train and a val token stream.

    Args:
        ids: (N,) int64 the whole token stream.
        block_size: T, the length of each block.
        val_fraction: share of tokens held out for val (the tail of the stream).
    """

    def __init__(self, ids: torch.Tensor, block_size: int, val_fraction: float = 0.1) -> None:
        self.block_size = block_size
        self.train, self.val = split_train_val(torch.as_tensor(ids, dtype=torch.long), val_fraction)
        for name, part in (("train", self.train), ("val", self.val)):
            if len(part) < block_size + 1:
                raise ValueError(
                    f"the {name} part has {len(part)} tokens; a block needs block_size + 1 = "
                    f"{block_size + 1} (use more text or a smaller block_size)"
                )

    def num_offsets(self, split: str) -> int:
        """How many distinct blocks `split` holds: len(part) - block_size (x and y both fit)."""
        return len(self._part(split)) - self.block_size

    def _part(self, split: str) -> torch.Tensor:
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        return self.train if split == "train" else self.val

    def get_batch(
        self, split: str, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of B blocks from `split` at offsets drawn uniformly with `generator`.

        Offsets i are uniform over 0..num_offsets(split) - 1, so every block, the last one
        included, is equally likely; x = part[i : i + T], y = part[i + 1 : i + T + 1].

        Args:
            split: "train" or "val".
            batch_size: B.
            generator: a seeded torch.Generator; the same seed gives the same batches.

        Returns:
            (x, y), each (B, T) int64, with y[:, :-1] == x[:, 1:].

        Example: ids = arange(20), block_size=4, val_fraction=0.2: train = arange(16) holds 12
        offsets 0..11; a row drawn at offset 5 is x = [5, 6, 7, 8], y = [6, 7, 8, 9].

        Raises:
            ValueError: `split` is neither "train" nor "val".
        """
        # TODO(w02.dataset): return B blocks of split and their next tokens, drawn with generator
        raise NotImplementedError(
            "w02.dataset: write TokenDataset.get_batch in exercises/week02_bigram/dataset.py"
        )
