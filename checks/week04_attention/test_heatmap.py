"""Checks for w04.heatmap: one panel per head, showing exactly that head's weights."""

import numpy as np
import torch

from roadmap.checking import generator
from roadmap.impl import load

heatmap = load("week04_attention.heatmap")


def test_one_panel_per_head_with_the_weights_and_tokens(tmp_path):
    H, T = 3, 5
    weights = torch.softmax(torch.randn(H, T, T, generator=generator(1)), dim=-1)
    tokens = list("hello")
    path = tmp_path / "heads.png"
    fig = heatmap.plot_attention(weights, tokens, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", (
        f"plot_attention did not write a PNG to {path}"
    )
    panels = [ax for ax in fig.axes if ax.images][:H]
    assert len(panels) == H, f"expected {H} panels with an image, found {len(panels)}"
    for h, ax in enumerate(panels):
        shown = np.asarray(ax.images[0].get_array())
        if np.allclose(shown, weights[h].numpy().T):
            cause = "the matrix is transposed: imshow(weights[h]) puts queries on the rows"
        else:
            cause = f"fig.axes[{h}] must show head {h}: imshow(weights[{h}]), queries as rows"
        assert np.allclose(shown, weights[h].numpy()), (
            f"panel {h} does not show weights[{h}]; likely cause: {cause}"
        )
        assert ax.get_title() == f"head {h}", (
            f"panel {h} has title {ax.get_title()!r}, expected 'head {h}'"
        )
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels == tokens, (
            f"panel {h} x tick labels are {labels}, expected the tokens {tokens} in order"
        )
        ylabels = [t.get_text() for t in ax.get_yticklabels()]
        assert ylabels == tokens, (
            f"panel {h} y tick labels are {ylabels}, expected the tokens {tokens} in order "
            "(queries down the side): set_yticks(range(T), tokens)"
        )
