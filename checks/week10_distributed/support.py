"""Shared pieces of the week-10 checks (not a check file itself).

`distributed_results()` starts ONE 2-process gloo group (torch.multiprocessing, spawn,
OMP_NUM_THREADS=1; a launch costs ~3 s) that runs every distributed scenario of the week and
writes what each rank saw; test_ddp.py, test_zero.py and test_tensor_parallel.py read their own
scenario from it (cached, so a session that runs all three pays for one launch). Every scenario
also computes its oracle on one process in the same worker: the same model trained on the full
batch, an unsplit MLP, torch's ZeroRedundancyOptimizer, DistributedDataParallel and FSDP2.
A scenario that reaches a stub records "todo" (the test raises NotImplementedError, reported as
todo); any other exception records its traceback.
"""

import functools
import multiprocessing
import os
import tempfile
import time
import traceback
from datetime import timedelta
from pathlib import Path

import torch

from roadmap.checking import free_port, learner_first

WORLD = 2
BATCH = 6  # global batch, 3 rows per rank
STEPS = 5
LR = 0.5  # plain SGD: an average-vs-sum mistake doubles the step (Adam would hide it)
BUCKET_NUMEL = 2000  # several buckets for the tiny GPT below
# fork: the children inherit the imported modules (0.1 s instead of ~6 s to re-import torch)
START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def gpt_config():
    from solutions.week05_gpt.model import GPTConfig

    return GPTConfig(block_size=7, vocab_size=23, n_layer=1, n_head=3, n_embd=36)


def tiny_gpt(seed: int):
    """The week-05 GPT (1 layer, 3 heads, C=36, V=23, T=7) in float64, weights from `seed`."""
    from solutions.week05_gpt.model import GPT

    torch.manual_seed(seed)
    return GPT(gpt_config()).double()


def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The global batch of a step: (BATCH, 7) inputs and targets, the same on every rank."""
    g = torch.Generator().manual_seed(1000 + step)
    x = torch.randint(0, 23, (BATCH, 7), generator=g)
    y = torch.randint(0, 23, (BATCH, 7), generator=g)
    return x, y


def sgd(model) -> None:
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= LR * p.grad
                p.grad = None


def _params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def _reference_sgd() -> dict:
    """One process, full batch, rank 0's initial weights: the oracle of every DDP variant."""
    model = tiny_gpt(100)
    grads0 = None
    for step in range(STEPS):
        x, y = batch(step)
        model(x, y)[1].backward()
        if step == 0:
            grads0 = {k: p.grad.clone() for k, p in model.named_parameters()}
        sgd(model)
    return dict(params=_params(model), grads0=grads0)


# --- scenarios: each runs on every rank, returns a dict of tensors/numbers -----------------------


def scenario_ddp(rank: int) -> dict:
    import torch.distributed as dist

    from roadmap.impl import load

    ddp = load("week10_distributed.ddp")
    out: dict = {}
    model = tiny_gpt(100 + rank)  # ranks start different: only the broadcast makes them equal
    ddp.broadcast_parameters(model)
    out["after_broadcast"] = _params(model)
    calls = []
    real = dist.all_reduce

    def counting(tensor, *args, **kwargs):
        calls.append(tensor.numel())
        return real(tensor, *args, **kwargs)

    for step in range(STEPS):
        x, y = batch(step)
        rows = ddp.shard_indices(BATCH, rank, WORLD, shuffle=True, seed=3, epoch=step)
        out.setdefault("rows", []).append(list(rows))
        model(x[rows], y[rows])[1].backward()
        dist.all_reduce = counting
        try:
            n = ddp.allreduce_gradients(model, BUCKET_NUMEL)
        finally:
            dist.all_reduce = real
        if step == 0:
            out["grads0"] = {k: p.grad.clone() for k, p in model.named_parameters()}
            out["returned"] = n
            out["calls"] = list(calls)
            out["sizes"] = [p.numel() for p in model.parameters()]
        sgd(model)
    out["params"] = _params(model)

    # broadcast from rank 1, buffers included: a Linear + BatchNorm1d whose weights and running
    # statistics differ per rank
    def from_rank1():
        torch.manual_seed(300 + rank)
        net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
        net[1].running_mean.fill_(rank + 1.0)
        before = {k: v.detach().clone() for k, v in net.state_dict().items()}
        ddp.broadcast_parameters(net, src=1)
        return dict(
            before=before, after={k: v.detach().clone() for k, v in net.state_dict().items()}
        )

    # a parameter without a gradient is skipped: grads rank + 1 on `used`, None on `unused`
    def with_none_grads():
        pair = torch.nn.ModuleDict(dict(used=torch.nn.Linear(3, 2), unused=torch.nn.Linear(2, 2)))
        for p in pair["used"].parameters():
            p.grad = torch.full_like(p, rank + 1.0)
        ddp.allreduce_gradients(pair, bucket_numel=4)
        return dict(
            used=[p.grad.clone() for p in pair["used"].parameters()],
            unused=[p.grad for p in pair["unused"].parameters()],
        )

    out["src1"] = _part(from_rank1)
    out["none_grads"] = _part(with_none_grads)
    return out


def _part(fn) -> dict:
    """fn()'s dict, or {"error": traceback}: one part of a scenario fails without the others.
    Only for parts whose code runs the same collectives on every rank (a failure is symmetric)."""
    try:
        return fn()
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - reported by the check that reads the part
        return {"error": traceback.format_exc()}


def scenario_engine(rank: int) -> dict:
    """The given runtime's torch DDP and FSDP2 modes on the same run (oracle: _reference_sgd)."""
    from course.week10_distributed.engine import full_state_dict, wrap_model

    out = {}
    for mode in ("torch-ddp", "fsdp"):
        model = wrap_model(tiny_gpt(100 + rank), mode)
        for step in range(STEPS):
            x, y = batch(step)
            rows = list(range(rank, BATCH, WORLD))
            model(x[rows], y[rows])[1].backward()
            sgd(model)
        out[mode] = full_state_dict(model)
    return out


def scenario_zero(rank: int) -> dict:
    import torch.distributed as dist
    from torch.distributed.optim import ZeroRedundancyOptimizer

    from roadmap.impl import load

    zero = load("week10_distributed.zero")
    kwargs = dict(lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1)
    out: dict = {}

    def train(make_opt):
        model = tiny_gpt(7)  # the same weights on every rank
        opt = make_opt(model)
        for step in range(STEPS):
            x, y = batch(step)
            rows = list(range(rank, BATCH, WORLD))
            model(x[rows], y[rows])[1].backward()
            for p in model.parameters():  # plain averaged all-reduce, not the learner's DDP
                dist.all_reduce(p.grad)
                p.grad /= WORLD
            opt.step()
            opt.zero_grad()
        return model, opt

    from roadmap.checking import forbid

    with forbid(
        "torch.distributed.optim.ZeroRedundancyOptimizer.__init__",
        exercise="w10.zero",
        instead="optimizer_class on the owned parameters and dist.broadcast",
    ):
        model, opt = train(
            lambda m: zero.Zero1Optimizer(m.parameters(), torch.optim.AdamW, **kwargs)
        )
    out["params"] = _params(model)
    out["state_numel"] = opt.state_numel()
    out["sizes"] = [p.numel() for p in model.parameters()]

    def keep_zero_grads():  # zero_grad(set_to_none=False) after a backward
        model(*batch(0))[1].backward()
        opt.zero_grad(set_to_none=False)
        return dict(grads=[p.grad for p in model.parameters()])

    out["kept_zero_grads"] = _part(keep_zero_grads)
    oracle, _ = train(
        lambda m: ZeroRedundancyOptimizer(
            m.parameters(), optimizer_class=torch.optim.AdamW, **kwargs
        )
    )
    out["zero_redundancy"] = _params(oracle)

    # another optimizer_class: SGD with momentum (its state: one momentum_buffer per parameter)
    sgd_kwargs = dict(lr=0.1, momentum=0.9)

    def with_sgd():  # a failure is symmetric: both ranks build the same class first
        model, opt = train(
            lambda m: zero.Zero1Optimizer(m.parameters(), torch.optim.SGD, **sgd_kwargs)
        )
        return dict(params=_params(model), state_numel=opt.state_numel())

    out["sgd"] = _part(with_sgd)
    if rank == 0:
        model = tiny_gpt(7)
        ref_opt = torch.optim.SGD(model.parameters(), **sgd_kwargs)
        for step in range(STEPS):
            x, y = batch(step)
            model(x, y)[1].backward()
            ref_opt.step()
            ref_opt.zero_grad()
        out["sgd_reference"] = _params(model)
    if rank == 0:
        model = tiny_gpt(7)
        opt = torch.optim.AdamW(model.parameters(), **kwargs)
        for step in range(STEPS):
            x, y = batch(step)
            model(x, y)[1].backward()
            opt.step()
            opt.zero_grad()
        out["reference"] = _params(model)
    return out


def scenario_tp(rank: int) -> dict:
    import torch.nn as nn

    from roadmap.impl import load
    from solutions.week05_gpt.model import MLP

    tp = load("week10_distributed.tensor_parallel")
    out: dict = {}
    torch.manual_seed(11)
    mlp = MLP(gpt_config()).double()  # C=36 -> 144 -> 36
    with torch.no_grad():
        for p in mlp.parameters():
            p.copy_(torch.randn(p.shape, dtype=torch.float64) * 0.3)
    g = torch.Generator().manual_seed(12)
    x = torch.randn(2, 7, 36, generator=g, dtype=torch.float64)
    w = torch.randn(2, 7, 36, generator=g, dtype=torch.float64)  # upstream gradient
    # the unsplit oracle
    xr = x.clone().requires_grad_()
    (mlp(xr) * w).sum().backward()
    out["ref"] = dict(
        y=mlp(x).detach(),
        x_grad=xr.grad,
        fc_w=mlp.c_fc.weight.grad,
        fc_b=mlp.c_fc.bias.grad,
        proj_w=mlp.c_proj.weight.grad,
        proj_b=mlp.c_proj.bias.grad,
    )
    from roadmap.checking import forbid

    with forbid(
        "torch.distributed.tensor.parallel.parallelize_module",
        exercise="w10.tensor_parallel",
        instead="dist.all_reduce and dist.all_gather in your autograd functions",
    ):
        par = tp.ParallelMLP(mlp)
        xp = x.clone().requires_grad_()
        y = par(xp)
        (y * w).sum().backward()
    out["mlp"] = dict(
        y=y.detach(),
        x_grad=xp.grad,
        fc_w=par.c_fc.weight.grad,
        fc_b=par.c_fc.bias.grad,
        proj_w=par.c_proj.weight.grad,
        proj_b=par.c_proj.bias.grad,
        n_params=sum(p.numel() for p in par.parameters()),
    )
    # a column-parallel layer with a gathered output and a row-parallel one on the full input,
    # odd input sizes: (3, 5) -> 6 and (3, 6) -> 5
    lin_c = nn.Linear(5, 6).double()
    lin_r = nn.Linear(6, 5).double()
    for name, lin, inp, kwargs in (
        (
            "col",
            lin_c,
            torch.randn(3, 5, generator=g, dtype=torch.float64),
            {"gather_output": True},
        ),
        (
            "row",
            lin_r,
            torch.randn(3, 6, generator=g, dtype=torch.float64),
            {"input_is_parallel": False},
        ),
    ):
        up = torch.randn(3, lin.out_features, generator=g, dtype=torch.float64)
        xi = inp.clone().requires_grad_()
        (lin(xi) * up).sum().backward()
        ref = dict(y=lin(inp).detach(), x_grad=xi.grad.clone(), b=lin.bias.grad.clone())
        layer = (tp.ColumnParallelLinear if name == "col" else tp.RowParallelLinear)(lin, **kwargs)
        xi = inp.clone().requires_grad_()
        y = layer(xi)
        (y * up).sum().backward()
        out[name] = dict(
            ref=ref, y=y.detach(), x_grad=xi.grad, b=layer.bias.grad, w=layer.weight.detach()
        )
        out[name]["full_w"] = lin.weight.detach()
    try:
        tp.ColumnParallelLinear(nn.Linear(4, 7))
        out["odd_raises"] = False
    except ValueError:
        out["odd_raises"] = True
    try:
        tp.RowParallelLinear(nn.Linear(7, 4))
        out["odd_row_raises"] = False
    except ValueError:
        out["odd_row_raises"] = True

    # layers without bias (the same on both ranks: a failure here is symmetric)
    out["no_bias"] = {}
    for name, lin, kwargs in (
        ("col", nn.Linear(5, 6, bias=False).double(), {"gather_output": True}),
        ("row", nn.Linear(6, 5, bias=False).double(), {"input_is_parallel": False}),
    ):
        inp = torch.randn(3, lin.in_features, generator=g, dtype=torch.float64)
        cls = tp.ColumnParallelLinear if name == "col" else tp.RowParallelLinear

        def run(cls=cls, lin=lin, inp=inp, kwargs=kwargs):
            layer = cls(lin, **kwargs)
            return dict(y=layer(inp).detach(), ref=lin(inp).detach(), b=layer.bias)

        out["no_bias"][name] = _part(run)

    # the shards are copies: changing them leaves the full layer as it was
    full_c, full_r = nn.Linear(4, 6).double(), nn.Linear(6, 4).double()
    before = [full_c.weight.detach().clone(), full_r.weight.detach().clone()]
    col, row = tp.ColumnParallelLinear(full_c), tp.RowParallelLinear(full_r)
    with torch.no_grad():
        col.weight.add_(1.0)
        row.weight.add_(1.0)
    out["full_unchanged"] = [
        torch.equal(full_c.weight.detach(), before[0]),
        torch.equal(full_r.weight.detach(), before[1]),
    ]

    # reduce_from_parallel works on a copy: its input keeps its values
    t = torch.full((3,), rank + 1.0, dtype=torch.float64)
    summed = tp.reduce_from_parallel(t)
    out["reduce_input"] = t.clone()
    out["reduce_output"] = summed.detach().clone()
    return out


def scenario_reference(rank: int) -> dict:
    return _reference_sgd() if rank == 0 else {}


def _all_ok(ok: bool) -> bool:
    """True on every rank iff `ok` is True on every rank (a collective: all ranks must call it)."""
    import torch.distributed as dist

    flag = torch.tensor([1 if ok else 0])
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def scenario_zero_edges(rank: int) -> dict:
    """One parameter on two ranks: rank 1 owns nothing. Last of all scenarios: a rank that fails
    alone can leave the other waiting in a collective (the 30 s gloo timeout then ends it)."""
    from roadmap.impl import load

    zero = load("week10_distributed.zero")
    out: dict = {}
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    grads = [torch.tensor([0.5, 0.25, -1.0], dtype=torch.float64), torch.full((3,), 0.1)]
    error = None
    try:
        opt = zero.Zero1Optimizer([p], torch.optim.AdamW, lr=0.1)
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - reported by the check
        error = traceback.format_exc()
    if not _all_ok(error is None):
        out["error"] = error or f"rank {1 - rank} failed to build its Zero1Optimizer"
        return out
    try:  # a rank whose step fails alone leaves the other in a broadcast: gloo's timeout ends it
        for g in grads:
            p.grad = g.clone().to(p.dtype)
            opt.step()
        out["param"] = p.detach().clone()
        out["state_numel"] = opt.state_numel()
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - reported by the check
        out["error"] = traceback.format_exc()
        return out
    ref = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    ref_opt = torch.optim.AdamW([ref], lr=0.1)
    for g in grads:
        ref.grad = g.clone().to(ref.dtype)
        ref_opt.step()
    out["reference"] = ref.detach().clone()
    return out


SCENARIOS = {
    "reference": scenario_reference,
    "ddp": scenario_ddp,
    "engine": scenario_engine,
    "zero": scenario_zero,
    "tp": scenario_tp,
    "zero_edges": scenario_zero_edges,  # last: see its docstring
}


def _worker(rank: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD,
        timeout=timedelta(seconds=30),
    )
    results = {}
    for name, fn in SCENARIOS.items():
        start = time.perf_counter()
        try:
            results[name] = fn(rank)
        except NotImplementedError as e:
            results[name] = {"todo": str(e)}
        except Exception:  # noqa: BLE001 - reported to the check that reads this scenario
            results[name] = {"error": traceback.format_exc()}
        results[name]["seconds"] = time.perf_counter() - start
        try:
            dist.barrier()
        except Exception:  # noqa: BLE001
            pass
        # after every scenario: a later one that hangs leaves the earlier results readable
        torch.save(results, Path(out_dir) / f"rank{rank}.pt.tmp")
        os.replace(Path(out_dir) / f"rank{rank}.pt.tmp", Path(out_dir) / f"rank{rank}.pt")
    dist.destroy_process_group()


@functools.cache
def distributed_results() -> list[dict]:
    """Run every scenario on 2 gloo ranks (once per session); [rank 0's results, rank 1's]."""
    # imported once here, before the fork, instead of once in each child
    import torch._dynamo  # noqa: F401  (DDP and torch.optim import it: ~3 s)
    import torch.distributed.fsdp  # noqa: F401
    import torch.distributed.optim  # noqa: F401
    import torch.distributed.tensor.parallel  # noqa: F401
    import torch.multiprocessing as mp
    import torch.nn.parallel  # noqa: F401

    import course.week10_distributed.engine  # noqa: F401

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out_dir = tempfile.mkdtemp(prefix="week10_dist_")
    ctx = mp.start_processes(
        _worker, args=(free_port(), out_dir), nprocs=WORLD, join=False, start_method=START_METHOD
    )
    deadline = time.monotonic() + 120
    hung = False
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            hung = True
            break
    results = []
    for r in range(WORLD):
        path = Path(out_dir) / f"rank{r}.pt"
        results.append(torch.load(path, weights_only=False) if path.exists() else {})
    if hung:  # the scenarios that did not finish name the hang
        why = (
            "the 2-process run did not finish in 120 s: a collective in this scenario hangs (one "
            "rank waits for a broadcast or all-reduce the other never calls)"
        )
        for r in results:
            for name in SCENARIOS:
                r.setdefault(name, {"error": why})
    return results


def _probe(name: str) -> None:
    """The learner's entry point of scenario `name`, in this process and without a process group:
    a stub says todo before the 2-process launch (seconds); a real implementation's error is ignored.
    "engine" (the given runtime) is checked in w10.ddp's file, so it waits for w10.ddp's stub too."""
    from roadmap.impl import load

    if name in ("ddp", "engine"):
        learner_first(load("week10_distributed.ddp").broadcast_parameters, tiny_gpt(100))
    elif name in ("zero", "zero_edges"):
        learner_first(load("week10_distributed.zero").Zero1Optimizer, tiny_gpt(7).parameters())
    elif name == "tp":
        learner_first(
            load("week10_distributed.tensor_parallel").ColumnParallelLinear, torch.nn.Linear(4, 6)
        )


def scenario(name: str, own_errors: bool = False) -> list[dict]:
    """Both ranks' results of one scenario; raises NotImplementedError for a stub (todo). A
    scenario's exception fails the check with its traceback, unless `own_errors` (the check
    reads r["error"] and names the likely cause itself)."""
    _probe(name)
    results = [r[name] for r in distributed_results()]
    for r in results:
        if "todo" in r:
            raise NotImplementedError(r["todo"])
    for rank, r in enumerate(results):
        if own_errors:
            break
        if "error" in r:
            raise AssertionError(f"scenario {name!r} raised on rank {rank}:\n{r['error']}")
    return results


# --- picklable tokenizers for the shard checks (a worker process must import them) --------------


def byte_encode(text: str) -> list[int]:
    """The UTF-8 bytes of `text` as ids 0..255 (end of text: 256)."""
    return list(text.encode("utf-8"))


def wide_encode(text: str) -> list[int]:
    """Ids that do not fit in uint16: 70000 + byte."""
    return [70000 + b for b in text.encode("utf-8")]


def edge_encode(text: str) -> list[int]:
    """Every document becomes the ids [0, 65535]: the smallest and the largest uint16."""
    return [0, 65535]


def negative_encode(text: str) -> list[int]:
    """An id below the uint16 range."""
    return [3, -1]


class PidEncode:
    """byte_encode that leaves a file named after the encoding process's id in `folder`."""

    def __init__(self, folder: str):
        self.folder = folder

    def __call__(self, text: str) -> list[int]:
        Path(self.folder, str(os.getpid())).touch()
        return byte_encode(text)


class SimulatedCrash(Exception):
    """Raised by FailOn (not a RuntimeError: a stub's NotImplementedError must not pass for it)."""


class FailOn:
    """byte_encode that raises on one document: a run that dies half-way."""

    def __init__(self, bad: str):
        self.bad = bad

    def __call__(self, text: str) -> list[int]:
        if text == self.bad:
            raise SimulatedCrash(f"simulated crash while encoding {text!r}")
        return byte_encode(text)
