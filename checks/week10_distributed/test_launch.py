"""Checks for w10.launch: a node's torchrun command, the ranks torchrun hands out, a Slurm script.

Oracles: torchrun's own argument parser reads your argv (any spelling it accepts passes); rank
tables derived by hand; the batch script is parsed as Slurm reads it (#SBATCH options up to the
first command), syntax-checked with `bash -n` (and shellcheck where installed), then RUN with bash
against a fake `scontrol` and `srun` that record what they were given (no Slurm needed).
The last two checks are real launches: two torchrun launchers on 127.0.0.1, one per "node"
(course/week10_distributed/nodes.py starts them with your torchrun_argv, every process group
killed on a timeout): whoami on nodes of 2 and 1 workers (the variables torchrun really sets vs
your torchrun_env), and train.py with torch's DDP on 2 nodes x 1 worker against one process on the
same global batch (float32, a different summation order: relative difference <= 1e-5 per step,
seen ~1.5e-7 over 5 steps). Each launch takes a few seconds, ~15-30 s on two busy cores.
"""

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from roadmap.checking import free_port, learner_first
from roadmap.impl import load

mod = load("week10_distributed.launch")

WHY = {
    "backend": "without --rdzv-backend c10d torchrun uses its static rendezvous: every node "
    "would need its own --node-rank and --master-addr; with c10d the SAME command runs on every "
    "node and the rendezvous numbers the nodes",
    "nnodes": "--nnodes is the number of nodes (launchers) that meet, not the world size",
    "nproc": "--nproc-per-node is the workers of ONE node, not the world size (the world is the "
    "sum over the nodes)",
    "endpoint": "--rdzv-endpoint is HOST:PORT of the node that hosts the rendezvous, the same on "
    "every node",
    "id": "--rdzv-id names the run: without it every job on this endpoint shares the run id "
    "'none' and two jobs would join each other's rendezvous",
    "target": "the target (script or -m module, then its arguments) goes last, unchanged: "
    "torchrun reads everything after it as the worker's arguments",
}


def read_torchrun(argv, what: str):
    """argv as torchrun would read it (torch.distributed.run's own parser)."""
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), (
        f"{what}: expected a list of str, got {argv!r}"
    )
    assert argv and argv[0] == "torchrun", (
        f"{what}: the command starts with 'torchrun', got {argv[:1]}"
    )
    from torch.distributed.run import parse_args

    try:
        return parse_args(argv[1:])
    except SystemExit:
        raise AssertionError(f"{what}: torchrun refuses this command line: {argv}") from None


def assert_launch(args, argv, what, *, nnodes, nproc, endpoint, rdzv_id, target):
    """The parsed torchrun options are a c10d launch of `target` with these values."""
    seen = f"{what}:\n  {shlex.join(argv)}"
    assert args.rdzv_backend == "c10d", (
        f"{seen}\n  --rdzv-backend is {args.rdzv_backend!r}\n  likely cause: {WHY['backend']}"
    )
    assert str(args.nnodes) == str(nnodes), (
        f"{seen}\n  --nnodes is {args.nnodes!r}, expected {nnodes}\n  likely cause: {WHY['nnodes']}"
    )
    assert str(args.nproc_per_node) == str(nproc), (
        f"{seen}\n  --nproc-per-node is {args.nproc_per_node!r}, expected {nproc}\n"
        f"  likely cause: {WHY['nproc']}"
    )
    assert args.rdzv_endpoint == endpoint, (
        f"{seen}\n  --rdzv-endpoint is {args.rdzv_endpoint!r}, expected {endpoint!r}\n"
        f"  likely cause: {WHY['endpoint']}"
    )
    assert args.rdzv_id == rdzv_id, (
        f"{seen}\n  --rdzv-id is {args.rdzv_id!r}, expected {rdzv_id!r}\n  likely cause: {WHY['id']}"
    )
    module = target[0] == "-m"
    script, script_args = (target[1], target[2:]) if module else (target[0], target[1:])
    got = (args.module, args.training_script, list(args.training_script_args))
    assert got == (module, script, script_args), (
        f"{seen}\n  torchrun would run {'module' if args.module else 'script'} "
        f"{args.training_script!r} with {args.training_script_args}, expected {target}\n"
        f"  likely cause: {WHY['target']}"
    )


# --- torchrun_argv -----------------------------------------------------------------------------

ARGV_CASES = [
    (["train.py"], 2, 4, "node17", 29500, "831"),
    (["-m", "course.week10_distributed.train", "--data", "my shards", "--steps", "5"], 3, 1,
     "10.0.0.7", 1024, "w10-a"),
    (["-m", "course.week10_distributed.whoami"], 1, 2, "localhost", 65535, "7"),
]  # fmt: skip


@pytest.mark.parametrize("target,nnodes,nproc,host,port,rdzv_id", ARGV_CASES)
def test_torchrun_reads_a_c10d_launch_of_the_target(target, nnodes, nproc, host, port, rdzv_id):
    what = (
        f"torchrun_argv({target}, nnodes={nnodes}, nproc_per_node={nproc}, host={host!r}, "
        f"port={port}, rdzv_id={rdzv_id!r})"
    )
    try:
        argv = mod.torchrun_argv(
            list(target), nnodes=nnodes, nproc_per_node=nproc, host=host, port=port, rdzv_id=rdzv_id
        )
    except ValueError as e:
        raise AssertionError(
            f"{what} raised ValueError({e}): these are valid (the bounds are inclusive: nnodes "
            ">= 1, nproc_per_node >= 1, 1024 <= port <= 65535)"
        ) from None
    args = read_torchrun(argv, what)
    assert_launch(
        args,
        argv,
        what,
        nnodes=nnodes,
        nproc=nproc,
        endpoint=f"{host}:{port}",
        rdzv_id=rdzv_id,
        target=target,
    )
    options = argv[1 : len(argv) - len(target)]
    fixed = [o for o in options if o.split("=")[0].replace("_", "-") in FIXED_NODE_OPTIONS]
    assert not fixed, (
        f"{what}:\n  {shlex.join(argv)}\n  passes {fixed}\n  likely cause: with c10d the "
        "rendezvous numbers the nodes and hosts the store at the endpoint: no --node-rank, no "
        "--master-addr/--master-port (they belong to the static rendezvous, and a fixed node "
        "rank on a command that every node runs makes every node node 0)"
    )
    assert not args.standalone, f"{what}: --standalone is a one-node launch"


FIXED_NODE_OPTIONS = ("--node-rank", "--master-addr", "--master-port")

VALID = dict(nnodes=2, nproc_per_node=1, host="127.0.0.1", port=29500, rdzv_id="job")


@pytest.mark.parametrize(
    "change,rule",
    [
        (dict(nnodes=0), "nnodes >= 1"),
        (dict(nproc_per_node=0), "nproc_per_node >= 1"),
        (dict(port=1023), "port >= 1024 (ports below need root)"),
        (dict(port=65536), "port <= 65535"),
        (dict(host=""), "a host to meet at"),
        (dict(rdzv_id=""), "a run id"),
    ],
)
def test_torchrun_argv_refuses_what_cannot_launch(change, rule):
    with pytest.raises(ValueError):
        mod.torchrun_argv(["train.py"], **{**VALID, **change})
        pytest.fail(f"torchrun_argv(['train.py'], {change}) returned: expected ValueError ({rule})")


def test_torchrun_argv_refuses_an_empty_target():
    with pytest.raises(ValueError):
        mod.torchrun_argv([], **VALID)
        pytest.fail("torchrun_argv([], ...) returned: expected ValueError (nothing to run)")


@pytest.mark.parametrize(
    "change", [dict(nnodes=1), dict(nproc_per_node=1), dict(port=1024), dict(port=65535)]
)
def test_torchrun_argv_accepts_the_boundaries(change):
    try:
        mod.torchrun_argv(["train.py"], **{**VALID, **change})
    except ValueError as e:
        raise AssertionError(
            f"torchrun_argv(['train.py'], {change}) raised ValueError({e}): the bound itself is "
            "allowed (nnodes >= 1, nproc_per_node >= 1, 1024 <= port <= 65535: inclusive)"
        ) from None


# --- torchrun_env ------------------------------------------------------------------------------

ENV_WHY = {
    "RANK": "ranks go node by node: node k's workers come after ALL the workers of nodes 0 .. k-1 "
    "(the SUM of their counts; node_rank * nproc only when every node runs as many), then "
    "local_rank",
    "LOCAL_RANK": "LOCAL_RANK is the worker's index on its own node",
    "WORLD_SIZE": "WORLD_SIZE is every worker of every node: the sum of nproc_per_node, not this "
    "node's count",
    "LOCAL_WORLD_SIZE": "LOCAL_WORLD_SIZE is this node's worker count, nproc_per_node[node_rank]",
    "GROUP_RANK": "GROUP_RANK is the node's number (node_rank)",
    "GROUP_WORLD_SIZE": "GROUP_WORLD_SIZE is the number of nodes, len(nproc_per_node)",
}


def assert_env(got, expected: dict, what: str) -> None:
    assert isinstance(got, dict), f"{what}: expected a dict, got {got!r}"
    for key, value in expected.items():
        assert key in got, f"{what}: the dict has no {key!r}: {got}\n  likely cause: {ENV_WHY[key]}"
        assert isinstance(got[key], int) and got[key] == value, (
            f"{what}: {key} expected {value} (int), got {got[key]!r}\n"
            f"  likely cause: {ENV_WHY[key]}"
        )


@pytest.mark.parametrize(
    "counts,node,local,rank",
    [
        ([2, 2], 1, 0, 2),  # node 0 holds ranks 0, 1
        ([2, 2], 0, 1, 1),
        ([4, 2], 1, 1, 5),  # 4 ranks on node 0, then 4, 5
        ([2, 4], 1, 3, 5),  # 2 ranks on node 0, then 2 .. 5
        ([3], 0, 2, 2),  # one node: RANK == LOCAL_RANK
        ([1, 3, 2], 2, 1, 5),  # 1 + 3 before node 2
        ([1, 1, 1, 1, 1], 3, 0, 3),  # one worker per node: RANK == GROUP_RANK
    ],
)
def test_torchrun_env_known_answers(counts, node, local, rank):
    got = mod.torchrun_env(list(counts), node, local)
    expected = dict(
        RANK=rank,
        LOCAL_RANK=local,
        WORLD_SIZE=sum(counts),
        LOCAL_WORLD_SIZE=counts[node],
        GROUP_RANK=node,
        GROUP_WORLD_SIZE=len(counts),
    )
    assert_env(got, expected, f"torchrun_env({counts}, node_rank={node}, local_rank={local})")


@pytest.mark.parametrize("counts", [[2, 3], [3, 1, 2], [1], [4, 4]])
def test_torchrun_env_ranks_cover_the_world_once_node_by_node(counts):
    ranks = [
        mod.torchrun_env(list(counts), node, local)["RANK"]
        for node in range(len(counts))
        for local in range(counts[node])
    ]
    assert ranks == list(range(sum(counts))), (
        f"torchrun_env({counts}, node, local) over every (node, local) in order gave RANKs "
        f"{ranks}: expected 0 .. {sum(counts) - 1} in order, each once\n"
        f"  likely cause: {ENV_WHY['RANK']}"
    )


@pytest.mark.parametrize(
    "counts,node,local,rule",
    [
        ([], 0, 0, "at least one node"),
        ([2, 0], 0, 0, "every node runs >= 1 worker"),
        ([2, 2], 2, 0, "node_rank < number of nodes"),
        ([2, 2], -1, 0, "node_rank >= 0"),
        ([2, 1], 1, 1, "local_rank < that node's nproc_per_node"),
        ([2, 1], 0, -1, "local_rank >= 0"),
    ],
)
def test_torchrun_env_refuses_ranks_that_do_not_exist(counts, node, local, rule):
    with pytest.raises(ValueError):
        mod.torchrun_env(list(counts), node, local)
        pytest.fail(
            f"torchrun_env({counts}, {node}, {local}) returned: expected ValueError ({rule})"
        )


# --- sbatch_script -----------------------------------------------------------------------------

SHORT = {"-J": "job-name", "-N": "nodes", "-c": "cpus-per-task", "-t": "time", "-o": "output"}
SHORT |= {"-n": "ntasks", "-G": "gpus"}


def read_header(text: str, what: str) -> dict[str, str]:
    """The #SBATCH options as Slurm reads them: only those before the first command."""
    lines = text.splitlines()
    assert lines and lines[0].startswith("#!") and "bash" in lines[0], (
        f"{what}: the first line must be a bash shebang (#!/bin/bash), got {lines[:1]}"
    )
    options: dict[str, str] = {}
    in_header = True
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if in_header and stripped and not stripped.startswith("#"):
            in_header = False  # the first command: Slurm reads no #SBATCH line after it
        if not stripped.startswith("#SBATCH"):
            continue
        assert in_header, (
            f"{what}: line {number} {stripped!r} comes after the first command\n  likely cause: "
            "Slurm ignores #SBATCH lines after the first command: put every option in the "
            "header, right after the shebang"
        )
        words = shlex.split(stripped[len("#SBATCH") :])
        while words:
            word = words.pop(0)
            if word.startswith("--") and "=" in word:
                key, value = word[2:].split("=", 1)
            elif word.startswith("--"):
                key, value = word[2:], words.pop(0)
            elif word[:2] in SHORT:
                key, value = SHORT[word[:2]], word[2:] or words.pop(0)
            else:
                raise AssertionError(f"{what}: line {number}: cannot read option {word!r}")
            options[key] = value
    return options


def slurm_minutes(value: str) -> float:
    """Slurm's --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S."""
    days = 0
    if "-" in value:
        d, value = value.split("-", 1)
        days = int(d)
        parts = [int(x) for x in value.split(":")] + [0, 0]
        h, m, s = parts[:3]
    else:
        parts = [int(x) for x in value.split(":")]
        h, m, s = {1: (0, parts[0], 0), 2: (0, *parts), 3: tuple(parts)}[len(parts)]
    return days * 1440 + h * 60 + m + s / 60


CPU_JOB = dict(
    target=["-m", "course.week10_distributed.train", "--data", "data/my shards", "--steps", "50"],
    job_name="w10-gpt",
    nodes=2,
    nproc_per_node=2,
    cpus_per_task=8,
    minutes=90,
    port=29511,
)
GPU_JOB = dict(
    target=["train.py", "--lr", "3e-4"],
    job_name="gpt-8x4",
    nodes=8,
    nproc_per_node=4,
    cpus_per_task=12,
    minutes=1500,
    gpus_per_node=4,
    output="logs/%x-%j.log",
)


def job_call(job: dict) -> str:
    return "sbatch_script(" + ", ".join(f"{k}={v!r}" for k, v in job.items()) + ")"


@pytest.mark.parametrize("job", [CPU_JOB, GPU_JOB], ids=["cpu", "gpu"])
def test_sbatch_header_asks_for_one_task_per_node(job):
    text = mod.sbatch_script(**job)
    what = job_call(job)
    assert isinstance(text, str) and text.endswith("\n"), f"{what}: expected text ending in \\n"
    head = read_header(text, what)
    expected = {
        "job-name": job["job_name"],
        "nodes": str(job["nodes"]),
        "cpus-per-task": str(job["cpus_per_task"]),
        "output": job.get("output", "%x-%j.out"),
    }
    for key, value in expected.items():
        assert head.get(key) == value, (
            f"{what}: #SBATCH --{key} is {head.get(key)!r}, expected {value!r}\n{text}"
        )
    assert head.get("ntasks-per-node") == "1", (
        f"{what}: #SBATCH --ntasks-per-node is {head.get('ntasks-per-node')!r}, expected 1\n"
        "  likely cause: srun starts one task per --ntasks-per-node; torchrun starts the "
        "nproc_per_node workers itself, so more tasks per node launch nproc_per_node times as "
        "many workers"
    )
    assert "ntasks" not in head, f"{what}: --ntasks fixes the total; ask for tasks per node"
    assert "time" in head and slurm_minutes(head["time"]) == job["minutes"], (
        f"{what}: #SBATCH --time is {head.get('time')!r}, expected {job['minutes']} minutes "
        "(Slurm reads M, M:S, H:M:S, D-H, D-H:M, D-H:M:S)"
    )
    gpus = job.get("gpus_per_node", 0)
    got_gpus = head.get("gpus-per-node", "0")
    assert got_gpus == str(gpus), (
        f"{what}: #SBATCH --gpus-per-node is {head.get('gpus-per-node')!r}, expected "
        f"{gpus or 'none'}\n  likely cause: a GPU job asks for gpus_per_node GPUs on every node; "
        "a CPU job asks for none"
    )


def test_sbatch_script_is_valid_bash(tmp_path):
    text = mod.sbatch_script(**CPU_JOB)
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash on this machine")
    path = tmp_path / "job.sh"
    path.write_text(text, encoding="utf-8")
    run = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, f"bash -n says the script is not valid bash:\n{run.stderr}\n{text}"
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("bash -n passed; shellcheck is not installed (apt install shellcheck)")
    run = subprocess.run(
        [shellcheck, "--severity=warning", str(path)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, f"shellcheck finds problems:\n{run.stdout}\n{text}"


FAKE_SCONTROL = """#!/bin/bash
printf '%s\\0' "$@" > "$FAKE_SLURM/scontrol.args"
if [ "$1" = show ] && [ "$2" = hostnames ]; then printf 'gpu-17\\ngpu-18\\ngpu-19\\n'; else exit 2; fi
"""
FAKE_SRUN = """#!/bin/bash
printf '%s\\0' "$@" > "$FAKE_SLURM/srun.args"
printf '%s' "${OMP_NUM_THREADS-unset}" > "$FAKE_SLURM/srun.omp"
"""
NODELIST = "gpu-[17-19]"
ALLOCATED = 3  # the fake allocation: 3 nodes (as if `sbatch --nodes 3` overrode the header)
JOB_ID = "4242"


def run_with_fake_slurm(text: str, tmp: Path) -> tuple[list[str] | None, list[str] | None, str]:
    """Run the script with bash, `scontrol` and `srun` faked: what each was given, and the
    OMP_NUM_THREADS srun saw."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash on this machine")
    fake = tmp / "bin"
    fake.mkdir()
    for name, body in (("scontrol", FAKE_SCONTROL), ("srun", FAKE_SRUN)):
        (fake / name).write_text(body, encoding="utf-8")
        (fake / name).chmod(0o755)
    (tmp / "job.sh").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OMP_"))}
    env |= dict(PATH=f"{fake}{os.pathsep}{env.get('PATH', '')}", FAKE_SLURM=str(tmp))
    env |= dict(SLURM_JOB_NODELIST=NODELIST, SLURM_NODELIST=NODELIST, SLURM_JOB_ID=JOB_ID)
    env |= dict(SLURM_NNODES=str(ALLOCATED), SLURM_JOB_NUM_NODES=str(ALLOCATED))
    run = subprocess.run(
        [bash, str(tmp / "job.sh")], cwd=tmp, env=env, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, (
        f"the script failed under bash (fake scontrol and srun):\n{run.stderr[-1500:]}\n{text}"
    )

    def recorded(name):
        path = tmp / name
        return path.read_text(encoding="utf-8").split("\0")[:-1] if path.exists() else None

    omp = (tmp / "srun.omp").read_text(encoding="utf-8") if (tmp / "srun.omp").exists() else ""
    return recorded("scontrol.args"), recorded("srun.args"), omp


@pytest.mark.parametrize("job", [CPU_JOB, GPU_JOB], ids=["cpu", "gpu"])
def test_sbatch_script_runs_torchrun_on_every_node_meeting_at_the_head(job, tmp_path):
    text = mod.sbatch_script(**job)
    what = job_call(job)
    scontrol, srun, omp = run_with_fake_slurm(text, tmp_path)
    assert srun is not None, f"{what}: the script never ran srun\n{text}"
    assert scontrol == ["show", "hostnames", NODELIST], (
        f'{what}: scontrol was called with {scontrol}, expected show hostnames "$SLURM_JOB_NODELIST"'
        f"\n  likely cause: the head node is the first host of the allocation's node list\n{text}"
    )
    assert "torchrun" in srun, f"{what}: srun ran {srun}, not torchrun"
    at = srun.index("torchrun")
    tasks = [o for o in srun[:at] if o.startswith(("--ntasks", "-n"))]
    assert not tasks, (
        f"{what}: srun {srun[:at]}: one task per node comes from the header; {tasks} would start "
        "more torchruns per node"
    )
    argv = srun[at:]
    port = job.get("port", 29500)
    args = read_torchrun(argv, f"{what}, the srun line")
    assert args.nnodes == str(ALLOCATED), (
        f"{what}: torchrun got --nnodes {args.nnodes!r} with SLURM_NNODES={ALLOCATED} (header: "
        f'{job["nodes"]})\n  likely cause: --nnodes "$SLURM_NNODES": the allocation\'s node count, '
        "so `sbatch --nodes N job.sh` overriding the header still launches right"
    )
    assert args.rdzv_id == JOB_ID, (
        f"{what}: torchrun got --rdzv-id {args.rdzv_id!r} with SLURM_JOB_ID={JOB_ID}\n"
        '  likely cause: --rdzv-id "$SLURM_JOB_ID": the same on every node, different per job'
    )
    assert args.rdzv_endpoint == f"gpu-17:{port}", (
        f"{what}: torchrun got --rdzv-endpoint {args.rdzv_endpoint!r}, expected 'gpu-17:{port}' "
        f"(nodes {NODELIST})\n  likely cause: the endpoint is the FIRST host of the allocation "
        "(scontrol show hostnames ... | head -n 1), the same on every node; a name computed on "
        "each node (hostname) gives every node its own rendezvous"
    )
    target = job["target"]
    assert argv[len(argv) - len(target) :] == target, (
        f"{what}: srun ran torchrun ... {argv[len(argv) - len(target) :]}, expected the target "
        f"{target} last\n  likely cause: the target must be quoted for the shell (shlex.join): "
        "an argument with a space (a path) stays one argument"
    )
    assert_launch(
        args,
        argv,
        f"{what}, the srun line",
        nnodes=ALLOCATED,
        nproc=job["nproc_per_node"],
        endpoint=f"gpu-17:{port}",
        rdzv_id=JOB_ID,
        target=target,
    )
    threads = job["cpus_per_task"] // job["nproc_per_node"]
    assert omp == str(threads), (
        f"{what}: srun saw OMP_NUM_THREADS={omp!r}, expected {threads}\n  likely cause: the "
        "task's cpus_per_task cores are split among its nproc_per_node workers (cpus // nproc)"
    )


JOB = dict(target=["train.py"], job_name="j", nodes=2, nproc_per_node=2, cpus_per_task=4, minutes=5)


@pytest.mark.parametrize(
    "change,rule",
    [
        (dict(job_name=""), "a job name"),
        (dict(job_name="my job"), "no white space in the job name"),
        (dict(target=[]), "something to run"),
        (dict(nodes=0), "nodes >= 1"),
        (dict(nproc_per_node=0), "nproc_per_node >= 1"),
        (dict(minutes=0), "minutes >= 1"),
        (dict(cpus_per_task=1), "cpus_per_task >= nproc_per_node"),
        (dict(gpus_per_node=-1), "gpus_per_node >= 0"),
        (dict(gpus_per_node=4), "one worker per GPU: gpus_per_node == nproc_per_node"),
        (dict(port=1000), "port >= 1024"),
        (dict(port=70000), "port <= 65535"),
    ],
)
def test_sbatch_script_refuses_jobs_that_cannot_run(change, rule):
    with pytest.raises(ValueError):
        mod.sbatch_script(**{**JOB, **change})
        pytest.fail(f"sbatch_script({change}) returned: expected ValueError ({rule})")


@pytest.mark.parametrize(
    "change",
    [dict(cpus_per_task=2), dict(gpus_per_node=2), dict(minutes=1), dict(nodes=1), dict(port=1024)],
)
def test_sbatch_script_accepts_the_boundaries(change):
    try:
        mod.sbatch_script(**{**JOB, **change})
    except ValueError as e:
        raise AssertionError(
            f"sbatch_script({change}) raised ValueError({e}): allowed (cpus_per_task == "
            "nproc_per_node, gpus_per_node == nproc_per_node, the bounds themselves)"
        ) from None


# --- real launches: two torchrun launchers on this machine ---------------------------------------

LAUNCH_TIMEOUT = 150.0  # seconds before nodes.launch kills the launchers (~15-30 s seen, busy)


def node_argvs(target: list[str], nprocs: list[int], rdzv_id: str) -> list[list[str]]:
    """Your torchrun_argv for each node (read back with torchrun's parser before launching)."""
    port = free_port()
    argvs = []
    for nproc in nprocs:
        argv = mod.torchrun_argv(
            target,
            nnodes=len(nprocs),
            nproc_per_node=nproc,
            host="127.0.0.1",
            port=port,
            rdzv_id=rdzv_id,
        )
        what = f"torchrun_argv({target}, nnodes={len(nprocs)}, nproc_per_node={nproc}, ...)"
        assert_launch(
            read_torchrun(argv, what),
            argv,
            what,
            nnodes=len(nprocs),
            nproc=nproc,
            endpoint=f"127.0.0.1:{port}",
            rdzv_id=rdzv_id,
            target=target,
        )
        argvs.append(argv)
    return argvs


@pytest.mark.timeout(240)
def test_torchrun_really_sets_what_torchrun_env_says():
    """Nodes of 2 and 1 workers; the rendezvous decides which is node 0."""
    learner_first(mod.torchrun_env, [2, 1], 0, 0)
    argvs = node_argvs(["-m", "course.week10_distributed.whoami"], [2, 1], f"w10-env-{os.getpid()}")
    from course.week10_distributed.nodes import launch

    stdouts = launch(argvs, LAUNCH_TIMEOUT)
    seen = [
        [json.loads(line) for line in out.splitlines() if line.startswith("{")] for out in stdouts
    ]
    assert [len(s) for s in seen] == [2, 1], f"workers per launcher: {[len(s) for s in seen]}"
    group = {int(s[0]["GROUP_RANK"]): len(s) for s in seen}
    counts = [group[k] for k in sorted(group)]
    for worker in (w for s in seen for w in s):
        node, local = int(worker["GROUP_RANK"]), int(worker["LOCAL_RANK"])
        real = {k: int(worker[k]) for k in ENV_WHY}
        assert_env(
            mod.torchrun_env(counts, node, local),
            real,
            f"torchrun_env({counts}, node_rank={node}, local_rank={local}) vs what torchrun set",
        )


@pytest.mark.timeout(240)
def test_two_nodes_train_like_one_process(tmp_path):
    """train.py, torch's DDP, 2 nodes x 1 worker vs 1 process, global batch 6, 5 AdamW steps."""
    target = ["-m", "course.week10_distributed.train"]
    node_argvs(target, [1, 1], "w10-train")
    from course.week10_distributed.nodes import loss_table, train_on_nodes, train_one_process

    data = tmp_path / "shards"
    data.mkdir()
    np.random.default_rng(0).integers(0, 23, 3000).astype("<u2").tofile(data / "shard_00000.bin")
    manifest = dict(shards=[dict(file="shard_00000.bin")], eot=22, vocab_size=23)
    (data / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    train_args = ["--data", str(data), "--steps", "5", "--global-batch", "6"]
    train_args += ["--block-size", "16", "--n-layer", "1", "--n-head", "2", "--n-embd", "32"]
    single = train_one_process(train_args)["losses"]
    nodes = train_on_nodes(
        [*train_args, "--parallel", "torch-ddp"], tmp_path / "nodes.json", timeout=LAUNCH_TIMEOUT
    )
    assert nodes["world"] == 2, (
        f"the two launchers trained a world of {nodes['world']}, expected 2 (2 nodes x 1)\n"
        f"  likely cause: {WHY['nnodes']}"
    )
    table = "\n".join(loss_table(single, nodes["losses"], "2 nodes x 1"))
    worst = max(abs(a - b) / abs(a) for a, b in zip(single, nodes["losses"]))
    assert len(nodes["losses"]) == len(single) and worst <= 1e-5, (
        f"2 nodes x 1 worker vs 1 process on the same global batch differ (relative {worst:.1e} "
        f"> 1e-5):\n{table}"
    )
