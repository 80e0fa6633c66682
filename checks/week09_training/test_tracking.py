"""Checks for w09.tensorboard: scalars read back with tensorboard's EventAccumulator, and the PNG.

The events are read while the logger is still open: log() must flush.
"""

import math

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from roadmap.impl import load

mod = load("week09_training.tracking")


def read(log_dir) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_scalars_read_back_with_event_accumulator(tmp_path):
    logger = mod.RunLogger(tmp_path / "tb")
    flushes = []
    flush = logger.writer.flush
    logger.writer.flush = lambda: (flushes.append(1), flush())[1]
    logger.log(10, "train", 3.0, lr=1e-3)
    first = read(tmp_path / "tb")  # 3 scalars: below the writer's queue of 10, so only a flush
    # subtle: the writer's thread sometimes reaches the disk unflushed, so the reader alone is not
    # proof; the docstring promises the flush itself
    assert flushes and first, (
        "after one RunLogger.log(10, 'train', 3.0) a reader sees no scalars (before close)\n  "
        "likely cause: flush the writer at the end of log() (it writes every 120 s otherwise)"
    )
    assert "train/loss" in first, (
        f"after one RunLogger.log(10, 'train', 3.0) a reader sees the tags {sorted(first)}\n  "
        "likely cause: tags f'{split}/loss', f'{split}/perplexity', 'lr'"
    )
    assert first["train/loss"] == [(10, 3.0)], (
        f"after RunLogger.log(10, 'train', 3.0) the tag train/loss holds (step, value) "
        f"{first['train/loss']}, expected [(10, 3.0)]\n  likely cause: pass global_step=step to "
        "add_scalar"
    )
    logger.log(10, "val", 3.5)
    logger.log(25, "train", 2.0, lr=5e-4)
    logger.log(25, "val", 2.25)
    got = read(tmp_path / "tb")  # before close: log() flushes
    expected = {
        "train/loss": [(10, 3.0), (25, 2.0)],
        "val/loss": [(10, 3.5), (25, 2.25)],
        "train/perplexity": [(10, math.exp(3.0)), (25, math.exp(2.0))],
        "val/perplexity": [(10, math.exp(3.5)), (25, math.exp(2.25))],
        "lr": [(10, 1e-3), (25, 5e-4)],
    }
    assert set(got) == set(expected), (
        f"RunLogger.log wrote the tags {sorted(got)} (read before close), expected "
        f"{sorted(expected)}\n  likely cause: tags f'{{split}}/loss', f'{{split}}/perplexity', "
        "'lr'; flush the writer at the end of log()"
    )
    for tag, rows in expected.items():
        steps = [s for s, _ in got[tag]]
        assert steps == [s for s, _ in rows], (
            f"tag {tag}: steps {steps}, expected {[s for s, _ in rows]}\n  likely cause: pass "
            "global_step=step to add_scalar"
        )
        for (_, v), (_, e) in zip(got[tag], rows):
            assert math.isclose(v, e, rel_tol=1e-6), (
                f"tag {tag}: value {v}, expected {e}\n  likely cause: perplexity = exp(loss)"
            )
    logger.close()


def test_history_and_png(tmp_path):
    logger = mod.RunLogger(tmp_path / "tb")
    for step, loss in ((0, 4.0), (50, 3.0), (100, 2.5)):
        logger.log(step, "train", loss)
        logger.log(step, "val", loss + 0.2)
    logger.close()
    assert len(logger.history) == 6 and logger.history[-1] == {
        "step": 100,
        "split": "val",
        "loss": 2.7,
        "perplexity": math.exp(2.7),
    }, f"RunLogger.history ends with {logger.history[-1:]}, expected the val entry of step 100"
    path = tmp_path / "curves.png"
    mod.plot_curves(logger.history, path)
    data = path.read_bytes() if path.exists() else b""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", (
        f"plot_curves did not write a PNG to {path.name} (got {data[:8]!r})\n  likely cause: "
        "fig.savefig(path) at the end"
    )
