"""The paged KV cache's tensors: keys and values of every layer, stored block by block.

The block manager (block_manager.py) decides which physical block and slot each position of each
sequence uses; this store holds the numbers and does what the plan says: write keys and values at
slots, gather a batch of sequences' blocks through their block tables, and perform the block copies
that copy-on-write asked for. It keeps no tables of its own (vLLM's cache engine).

Storage: `k` and `v` are (n_layer, num_blocks, block_size, H, D); the slot s of a layer is row s of
the view (num_blocks * block_size, H, D), that is block s // block_size, offset s % block_size.
Paper: Kwon et al. 2023 (vLLM, PagedAttention).
Check: `python tracker.py check w15.kv_store`
"""

import torch

from solutions.week05_gpt.model import GPT


class KVStore:
    """Keys and values of many sequences in shared fixed-size blocks, for every layer."""

    def __init__(
        self,
        n_layer: int,
        n_head: int,
        head_dim: int,
        num_blocks: int,
        block_size: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ):
        shape = (n_layer, num_blocks, block_size, n_head, head_dim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.block_size = block_size

    @classmethod
    def for_model(cls, model: GPT, num_blocks: int, block_size: int) -> "KVStore":
        """An empty store with the layers, heads, head size, dtype and device of a week-05 GPT."""
        c = model.config
        p = model.lm_head.weight
        return cls(
            c.n_layer,
            c.n_head,
            c.n_embd // c.n_head,
            num_blocks,
            block_size,
            dtype=p.dtype,
            device=p.device,
        )

    def flat(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of one layer as (num_blocks * block_size, H, D) views, indexed by slot."""
        _, nb, bs, H, D = self.k.shape
        return self.k[layer].view(nb * bs, H, D), self.v[layer].view(nb * bs, H, D)

    def write(self, layer: int, slots: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store keys and values of N positions of one layer at their slots.

        Row i of k and v goes to slot slots[i] of `layer`; every other slot, and every other layer,
        keeps its contents. k and v are not modified.
        Example: block_size 4, slots [6, 7, 8]: rows 0, 1 land in block 1 at offsets 2, 3 (its
        last slot), row 2 in block 2 at offset 0.

        Args:
            layer: which layer.
            slots: (N,) int64, distinct.
            k: (N, H, D) keys.
            v: (N, H, D) values.
        """
        # the flat views share memory with self.k and self.v: assigning rows writes the store
        flat_k, flat_v = self.flat(layer)
        flat_k[slots] = k
        flat_v[slots] = v

    def gather(self, layer: int, tables: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of a batch of sequences, read whole blocks at a time through their tables.

        Row b of the result is the concatenation of the blocks tables[b, 0], tables[b, 1], ... of
        `layer`: its position p is block tables[b, p // block_size] at offset p % block_size. A
        table lists its blocks in position order, so the result holds positions 0 .. nb *
        block_size - 1 in order (positions past a sequence's length hold whatever the padding
        blocks hold: the caller masks them). The results are copies, not views of the store.
        Example: block_size 2, tables [[3, 1]]: row 0 = slots 6, 7, 2, 3 of the layer.

        Args:
            layer: which layer.
            tables: (B, nb) int64 block tables (right-padded rows allowed).

        Returns:
            k (B, nb * block_size, H, D) and v (B, nb * block_size, H, D).
        """
        B, nb = tables.shape
        H, D = self.k.shape[-2:]
        idx = tables.reshape(-1)  # (B * nb,)
        # whole blocks in table order: (B * nb, bs, H, D) -> (B, nb * bs, H, D)
        k = self.k[layer].index_select(0, idx).view(B, nb * self.block_size, H, D)
        v = self.v[layer].index_select(0, idx).view(B, nb * self.block_size, H, D)
        return k, v

    def copy_blocks(self, copies: list[tuple[int, int]]) -> None:
        """Perform copy-on-write block copies: for each (src, dst), block dst becomes block src.

        Keys and values, in every layer; src and every block not named as a dst keep their
        contents. No dst is the src of another pair (the block manager never asks for that).
        An empty list changes nothing.
        Example: copies [(1, 2)]: k[:, 2] == k[:, 1] and v[:, 2] == v[:, 1] afterwards.

        Args:
            copies: (src, dst) pairs of block ids, as BlockManager.append_slots returns them.
        """
        if not copies:
            return
        src = torch.tensor([s for s, _ in copies], dtype=torch.long, device=self.k.device)
        dst = torch.tensor([d for _, d in copies], dtype=torch.long, device=self.k.device)
        self.k[:, dst] = self.k[:, src]
        self.v[:, dst] = self.v[:, src]
