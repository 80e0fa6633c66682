"""Beyond one machine: the command that starts a node, the ranks it hands out, a Slurm job.

`torchrun` runs once per node. With the c10d rendezvous every node runs the SAME command: the
launchers meet at one endpoint (HOST:PORT, a TCP store on the node called HOST), agree on a run id,
and the rendezvous numbers the nodes 0 .. nnodes-1 in the order they join (GROUP_RANK). Each
launcher then starts its --nproc-per-node workers and tells each one who it is through
environment variables (RANK, LOCAL_RANK, WORLD_SIZE, ...), which `init_process_group` reads.
On a Slurm cluster, `sbatch` allocates the nodes, runs the batch script on the first of them, and
`srun` starts one task per node: that task is torchrun. PyTorch docs: torchrun
https://pytorch.org/docs/stable/elastic/run.html; Slurm: https://slurm.schedmd.com/sbatch.html.
Check: `python tracker.py check w10.launch`
"""

import shlex


def torchrun_argv(
    target: list[str],
    *,
    nnodes: int,
    nproc_per_node: int,
    host: str,
    port: int,
    rdzv_id: str,
) -> list[str]:
    """The command line of one node of a multi-node run, the same on every node (c10d rendezvous).

    Args:
        target: what each worker runs, as torchrun takes it after its own options: a script and
            its arguments (["train.py", "--steps", "5"]) or a module (["-m",
            "course.week10_distributed.train", "--data", "DIR"]); appended unchanged, last.
        nnodes: how many nodes (launchers) take part: the rendezvous waits for all of them.
        nproc_per_node: how many workers THIS node's launcher starts (one per GPU, or per core
            group on CPU). Not the world size: the world is the sum over the nodes.
        host: the node that hosts the rendezvous's TCP store; every node must be able to reach it
            (on Slurm: the first node of the allocation).
        port: the store's TCP port on `host`, an unprivileged one: 1024 <= port <= 65535.
        rdzv_id: the run's id, the same on every node and unique per job (on Slurm the job id),
            so that two jobs sharing an endpoint never join each other's rendezvous.

    Returns:
        ["torchrun", <options>, *target] with the options --nnodes, --nproc-per-node,
        --rdzv-backend c10d, --rdzv-endpoint HOST:PORT and --rdzv-id in any order and any
        spelling torchrun accepts (the check reads the list with torchrun's own argument parser).
        No --node-rank, --master-addr or --master-port: with c10d the rendezvous numbers the
        nodes and its store lives at the endpoint.

    Example: torchrun_argv(["train.py"], nnodes=2, nproc_per_node=4, host="node17", port=29500,
    rdzv_id="831") -> ["torchrun", "--nnodes", "2", "--nproc-per-node", "4", "--rdzv-backend",
    "c10d", "--rdzv-endpoint", "node17:29500", "--rdzv-id", "831", "train.py"]: a world of 8.

    Raises:
        ValueError: if target is empty, nnodes < 1, nproc_per_node < 1, host or rdzv_id is empty,
            or port is outside 1024 .. 65535.
    """
    if not target:
        raise ValueError("target is empty: name the script or the module (-m) each worker runs")
    if nnodes < 1 or nproc_per_node < 1:
        raise ValueError(f"nnodes={nnodes} and nproc_per_node={nproc_per_node} must be >= 1")
    if not host or not rdzv_id:
        raise ValueError(f"host={host!r} and rdzv_id={rdzv_id!r} must not be empty")
    if not 1024 <= port <= 65535:
        raise ValueError(f"port={port}: choose an unprivileged TCP port, 1024 .. 65535")
    # the same list on every node: c10d numbers the nodes, so there is no --node-rank to pass
    return [
        "torchrun",
        "--nnodes",
        str(nnodes),
        "--nproc-per-node",
        str(nproc_per_node),
        "--rdzv-backend",
        "c10d",
        "--rdzv-endpoint",
        f"{host}:{port}",
        "--rdzv-id",
        rdzv_id,
        *target,
    ]


def torchrun_env(nproc_per_node: list[int], node_rank: int, local_rank: int) -> dict[str, int]:
    """What torchrun tells one worker: the variables `init_process_group` and the trainer read.

    Args:
        nproc_per_node: nproc_per_node[k] is the --nproc-per-node of the node the rendezvous
            numbered k (nodes may differ: one with 4 GPUs, one with 2).
        node_rank: this worker's node, 0 <= node_rank < len(nproc_per_node) (GROUP_RANK).
        local_rank: this worker on its node, 0 <= local_rank < nproc_per_node[node_rank].

    Returns:
        {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
        "GROUP_WORLD_SIZE"} as ints. Global ranks are handed out node by node: node k's workers
        take the ranks after all the workers of nodes 0 .. k-1, in local-rank order. WORLD_SIZE is
        every worker of every node, LOCAL_WORLD_SIZE this node's, GROUP_WORLD_SIZE the nodes.

    Example: torchrun_env([2, 2], node_rank=1, local_rank=0) -> {"RANK": 2, "LOCAL_RANK": 0,
    "WORLD_SIZE": 4, "LOCAL_WORLD_SIZE": 2, "GROUP_RANK": 1, "GROUP_WORLD_SIZE": 2};
    torchrun_env([4, 2], 1, 1) -> RANK 5 of WORLD_SIZE 6.

    Raises:
        ValueError: if nproc_per_node is empty or holds a count < 1, or node_rank or local_rank is
            out of its range.
    """
    if not nproc_per_node or min(nproc_per_node) < 1:
        raise ValueError(f"nproc_per_node={nproc_per_node}: every node runs at least 1 worker")
    if not 0 <= node_rank < len(nproc_per_node):
        raise ValueError(f"node_rank={node_rank} is not one of the {len(nproc_per_node)} nodes")
    if not 0 <= local_rank < nproc_per_node[node_rank]:
        raise ValueError(
            f"local_rank={local_rank}: node {node_rank} runs {nproc_per_node[node_rank]} workers"
        )
    # subtle: the ranks before this node are the SUM of the earlier nodes' workers, which is
    # node_rank * nproc only when every node runs the same number
    return {
        "RANK": sum(nproc_per_node[:node_rank]) + local_rank,
        "LOCAL_RANK": local_rank,
        "WORLD_SIZE": sum(nproc_per_node),
        "LOCAL_WORLD_SIZE": nproc_per_node[node_rank],
        "GROUP_RANK": node_rank,
        "GROUP_WORLD_SIZE": len(nproc_per_node),
    }


def sbatch_script(
    target: list[str],
    *,
    job_name: str,
    nodes: int,
    nproc_per_node: int,
    cpus_per_task: int,
    minutes: int,
    gpus_per_node: int = 0,
    port: int = 29500,
    output: str = "%x-%j.out",
) -> str:
    """A Slurm batch script that runs `target` under torchrun on `nodes` nodes (submit with sbatch).

    Args:
        target: what each worker runs, as for torchrun_argv (["-m", "course...train", ...]).
        job_name: the job's name (no white space); nodes: how many nodes to allocate.
        nproc_per_node: the workers torchrun starts on each node.
        cpus_per_task: the cores of the one task per node, shared by its workers: at least
            nproc_per_node.
        minutes: the time limit (Slurm kills the job after it), at least 1.
        gpus_per_node: GPUs per node; 0 for a CPU job, else exactly nproc_per_node (one worker
            per GPU).
        port: the rendezvous port on the head node, 1024 .. 65535.
        output: the log file pattern (%x the job name, %j the job id).

    The script: `#!/bin/bash`, then the header, one `#SBATCH` option per line, before any command
    (Slurm stops reading #SBATCH lines at the first command): --job-name, --nodes,
    --ntasks-per-node=1 (one task per node: torchrun starts the workers itself), --cpus-per-task,
    --time, --output and, for a GPU job, --gpus-per-node. Then the commands:
    - OMP_NUM_THREADS exported as cpus_per_task // nproc_per_node (the task's cores split among
      its workers);
    - HEAD, the first host of the allocation: `scontrol show hostnames "$SLURM_JOB_NODELIST" |
      head -n 1` (the batch script runs on it);
    - `srun torchrun` with --nnodes "$SLURM_NNODES" (so `sbatch --nodes 4 job.sh` overriding the
      header still launches right), --nproc-per-node, --rdzv-id "$SLURM_JOB_ID", --rdzv-backend
      c10d, --rdzv-endpoint "$HEAD:PORT", then `target` quoted for the shell (a path with a
      space stays one argument).
    The check runs the script with bash and a fake `scontrol` and `srun` (no Slurm needed).

    Returns:
        the script's text, ending with a newline.

    Raises:
        ValueError: if job_name is empty or holds white space, target is empty, nodes,
            nproc_per_node or minutes < 1, cpus_per_task < nproc_per_node, gpus_per_node < 0,
            gpus_per_node > 0 and != nproc_per_node, or port is outside 1024 .. 65535.
    """
    if not job_name or any(c.isspace() for c in job_name):
        raise ValueError(f"job_name={job_name!r}: a non-empty name without white space")
    if not target:
        raise ValueError("target is empty: name the script or the module (-m) each worker runs")
    if min(nodes, nproc_per_node, minutes) < 1:
        raise ValueError(f"nodes={nodes}, nproc_per_node={nproc_per_node}, minutes={minutes}: >= 1")
    if cpus_per_task < nproc_per_node:
        raise ValueError(f"cpus_per_task={cpus_per_task} < nproc_per_node={nproc_per_node}")
    if gpus_per_node < 0 or (gpus_per_node and gpus_per_node != nproc_per_node):
        raise ValueError(
            f"gpus_per_node={gpus_per_node}: 0 for a CPU job, else one worker per GPU "
            f"(nproc_per_node={nproc_per_node})"
        )
    if not 1024 <= port <= 65535:
        raise ValueError(f"port={port}: choose an unprivileged TCP port, 1024 .. 65535")
    header = [
        f"--job-name={job_name}",
        f"--nodes={nodes}",
        "--ntasks-per-node=1",  # one torchrun per node; it starts nproc_per_node workers itself
        f"--cpus-per-task={cpus_per_task}",
        f"--time={minutes}",  # a bare number is minutes
        f"--output={output}",
    ]
    if gpus_per_node:
        header.append(f"--gpus-per-node={gpus_per_node}")
    torchrun = [
        "srun torchrun",
        '--nnodes "$SLURM_NNODES"',
        f"--nproc-per-node {nproc_per_node}",
        '--rdzv-id "$SLURM_JOB_ID"',
        "--rdzv-backend c10d",
        f'--rdzv-endpoint "$HEAD:{port}"',
        shlex.join(target),
    ]
    lines = ["#!/bin/bash", *(f"#SBATCH {option}" for option in header), ""]
    lines += [
        "set -eu",
        f"export OMP_NUM_THREADS={cpus_per_task // nproc_per_node}",
        "# the rendezvous lives on the first node, where this script runs",
        'HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        " \\\n    ".join(torchrun),
    ]
    return "\n".join(lines) + "\n"
