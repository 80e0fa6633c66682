"""A warm runner for `watch`: torch and pytest are imported once, and every check run is a fork.

One exercise's `check` takes about 4 s, almost all of it starting Python, importing torch and loading
pytest's plugins; the checks themselves take a fraction of a second. So `watch` starts this server
once (`python -m roadmap.warm FD`). It imports torch and pytest and runs pytest once on an empty
folder, which loads every pytest plugin and the roadmap's own. Then, for each run, it forks a child
that behaves like the `python -m pytest` subprocess of roadmap/runner.py: its own session and process
group, the same memory limit, stdin from /dev/null, stdout and stderr into the run's output file, the
same environment (LLM_TRACKER_EVENTS, LLM_IMPL), `pytest.main(args)`, exit with pytest's code. The
runner's watchdog kills the child's process group; the server reaps the child and reports its exit
status (negative for a signal, as subprocess does). So a learner's os.abort, infinite loop, memory
blow-up or sys.exit ends only that child, and the runner classifies it as it always did.

The server never imports exercises/, solutions/ or checks/, so every child imports the learner's
newest code. It serves one run at a time over a socket pair (JSON lines: the request, then {"pid"},
then {"code"}) and exits when watch closes its end. Only `watch` uses it: `check` is one command,
and a server that outlived it would be a daemon to find, keep in step with your packages and the
tracker's code, and stop. Where fork is not safe (only Linux is trusted: macOS aborts some forked
children) or the server is gone, a run starts a fresh `python -m pytest` as before.

Check: pytest tests/test_warm_runner.py
"""

import contextlib
import faulthandler
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from roadmap import ROOT
from roadmap.runner import PYTEST_OPTIONS, limit_resources

LEARNER_PACKAGES = ("exercises", "solutions", "checks")
READY_TIMEOUT_S = 300  # imports and the plugin warm-up take 3-10 s; a loaded machine is slower


class Forked:
    """A child of the warm server, driven like a subprocess.Popen: pid, poll(), wait(), returncode."""

    def __init__(self, server: "WarmRunner", pid: int):
        self.server, self.pid, self.returncode = server, pid, None

    def poll(self, timeout: float | None = 0) -> int | None:
        if self.returncode is None:
            try:
                reply = self.server.read(timeout)
            except EOFError:  # the server died: the child's status is lost, so stop the child too
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                reply = {"code": -signal.SIGKILL}
            if reply is not None:
                self.returncode = reply["code"]
        return self.returncode

    def wait(self) -> int:
        return self.poll(timeout=None)


class WarmRunner:
    """watch's handle on the server: start it, fork one run at a time, stop it."""

    def __init__(self):
        self.sock, theirs = socket.socketpair()
        self.proc: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-m", "roadmap.warm", str(theirs.fileno())],
            cwd=ROOT,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches watch alone, and watch stops the server
        )
        theirs.close()
        self.buffer, self.ready = b"", False

    def read(self, timeout: float | None) -> dict | None:
        """The server's next JSON line; None if none came within `timeout`; EOFError if it died."""
        while b"\n" not in self.buffer:
            if not select.select([self.sock], [], [], timeout)[0]:
                return None
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the warm runner stopped")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def run(self, args: list[str], env: dict[str, str], out: Path) -> Forked | None:
        """Fork a child that runs `pytest.main(args)`; None when the server is gone (run cold)."""
        if self.proc is None:
            return None
        try:
            if not self.ready:
                self.ready = self.read(timeout=READY_TIMEOUT_S) is not None
                if not self.ready:
                    raise EOFError(f"the warm runner was not ready after {READY_TIMEOUT_S} s")
            request = {"args": args, "env": env, "out": str(out)}
            self.sock.sendall(json.dumps(request).encode() + b"\n")
            return Forked(self, self.read(timeout=None)["pid"])
        except (EOFError, OSError) as error:
            print(f"{error}; each run now starts a fresh Python", file=sys.stderr)
            self.close()
            return None

    def close(self) -> None:
        """Stop the server: closing our end of the socket makes it leave its loop."""
        if self.proc is None:
            return
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def start() -> WarmRunner | None:
    """A warm runner on Linux, else None (every run starts a fresh `python -m pytest`)."""
    return WarmRunner() if sys.platform == "linux" else None


def serve(sock: socket.socket) -> None:
    """The server: import once, then fork a child per request and report how it ended."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as the plugin sets it, before torch loads
    import pytest
    import torch  # noqa: F401  (loaded once here, shared by every child)

    # loading the plugins through pytest rewrites their asserts, as in a fresh run
    with tempfile.TemporaryDirectory(prefix="llm-warm-") as empty:
        pytest.main(["--collect-only", *PYTEST_OPTIONS, "-p", "roadmap.pytest_plugin", empty])
    sys.stdout.flush()
    loaded = [name for name in sys.modules if name.split(".")[0] in LEARNER_PACKAGES]
    assert not loaded, f"the warm runner must not hold the learner's modules: {loaded}"
    sock.sendall(b'{"ready": true}\n')
    requests = sock.makefile("rb")
    for line in requests:  # ends when watch closes its end
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            requests.close()
            sock.close()
            _child(request)
        sock.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        sock.sendall(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode() + b"\n")


def _child(request: dict) -> None:
    """In the forked child: become the runner's `python -m pytest` subprocess, run, exit."""
    import pytest

    code = 1
    try:
        limit_resources()  # own session and process group, memory limit (roadmap/runner.py)
        out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.environ.clear()
        os.environ.update(request["env"])
        faulthandler.enable()  # as PYTHONFAULTHANDLER=1 does: a fatal error prints the stack
        sys.argv = ["pytest", *request["args"]]
        code = pytest.main(request["args"])
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # subtle: os._exit, never a return or sys.exit: unwinding would carry the child back into
        # serve()'s loop (and its atexit handlers), and it would go on as a second server
        os._exit(int(code))


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
