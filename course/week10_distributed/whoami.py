"""Print what torchrun told this process: one JSON line of its rank variables (given runtime).

    torchrun --nnodes 2 --nproc-per-node 2 --rdzv-backend c10d --rdzv-endpoint 127.0.0.1:29500 \\
        --rdzv-id demo -m course.week10_distributed.whoami      # in two terminals

Imports nothing heavy, so a launch costs only the launchers' start-up; the w10.launch check
compares these lines with your torchrun_env.
"""

import json
import os
import socket

VARIABLES = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "GROUP_RANK",
    "GROUP_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_RUN_ID",
)


def main() -> int:
    seen = {k: os.environ.get(k) for k in VARIABLES}
    seen["host"] = socket.gethostname()
    print(json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
