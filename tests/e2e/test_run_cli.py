"""`iprisk run` (what `make run` does) end to end: demo book, validation, features summary, training
into a private registry, development keys, the URLs printed; a second run reuses the book and the
champions; with the service, SIGTERM (as Ctrl+C) stops the service and the MLflow UI it started,
leaving no process behind and the ports free, and a second `iprisk run` then starts cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from servicekit import free_port  # noqa: E402

IPRISK = str(Path(sys.executable).with_name("iprisk"))
pytestmark = [pytest.mark.e2e, pytest.mark.slow]
FIRMS, SEED = "1500", "3"


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """`iprisk run --no-serve` in a fresh home with a private registry: (home, env, args, result)."""
    home = tmp_path_factory.mktemp("run-home")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlruns.db'}", "IPRISK_HOME": str(home), "COLUMNS": "200"}
    args = [IPRISK, "run", "--firms", FIRMS, "--seed", SEED, "--out", str(home / "demo")]
    r = subprocess.run([*args, "--no-serve"], capture_output=True, text=True, timeout=900, env=env, cwd=home)
    return home, env, args, r


def test_run_builds_validates_trains_and_prints_where_things_are(first_run):
    home, env, args, r = first_run
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    for text in ("default rate", "pledged patents' appraised value", "validation report", "iprisk-pd v1: promoted",
                 "web page:  http://127.0.0.1:3000/ui", "MLflow UI: http://127.0.0.1:5000"):
        assert text in out, text
    keys = json.loads((home / ".iprisk" / "dev-keys.json").read_text())
    assert set(keys) == {"credit_officer", "fund_manager", "data_scientist"}
    stored = (home / ".iprisk" / "api_keys.json").read_text()
    assert all(k not in stored for k in keys.values())  # only hashes are stored

    again = subprocess.run([*args, "--no-serve"], capture_output=True, text=True, timeout=600, env=env, cwd=home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "is current" in again.stdout and "champions already in the registry" in again.stdout


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a connection in TIME_WAIT is not a listener
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _until(condition, seconds: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _serve_then_sigterm(home: Path, env: dict, args: list[str], log: Path, port: int, mlflow_port: int) -> None:
    with open(log, "wb") as out:
        proc = subprocess.Popen([*args, "--port", str(port), "--mlflow-port", str(mlflow_port)], env=env, cwd=home,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    family: list[psutil.Process] = []
    try:
        ready = _until(lambda: proc.poll() is not None or _answers(f"http://127.0.0.1:{port}/readyz"), 400, 1.0)
        assert ready and proc.poll() is None, log.read_text()[-3000:]
        assert _until(lambda: _answers(f"http://127.0.0.1:{mlflow_port}/"), 120, 1.0), "the MLflow UI never answered"
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        assert len(family) >= 4, family  # iprisk run, mlflow ui (+ its server), iprisk serve, bentoml (+ workers)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        assert _until(lambda: not _alive(family), 30), f"left running: {_alive(family)}"
        assert _port_free(port) and _port_free(mlflow_port)
        assert "SIGTERM: stopping the service and the MLflow UI" in log.read_text()
    finally:
        for p in _alive(family) + ([psutil.Process(proc.pid)] if proc.poll() is None else []):
            p.kill()
        proc.wait(10)


def test_sigterm_stops_the_service_and_the_mlflow_ui_and_a_second_run_starts(first_run):
    home, env, args, r = first_run
    assert r.returncode == 0, r.stderr[-3000:]
    port, mlflow_port = free_port(), free_port()
    _serve_then_sigterm(home, env, args, home / "run-1.log", port, mlflow_port)
    _serve_then_sigterm(home, env, args, home / "run-2.log", port, mlflow_port)  # the same ports: they were freed
