"""Helpers for the service's end-to-end tests: start `iprisk serve` as a user would (own process
group, loopback, a free port), wait for /readyz, stop it; build demo applications from a book."""

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

import pandas as pd

IPRISK = str(Path(sys.executable).parent / "iprisk")
ROLES = ("credit_officer", "fund_manager", "data_scientist")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `iprisk serve` with its own keys file and audit log under `folder`."""

    def __init__(self, folder: Path, tracking_uri: str, home: Path, extra_env: dict | None = None):
        from pipelines.key_store import create_key

        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.keys_file = folder / "keys.json"
        self.audit_url = f"sqlite:///{folder / 'audit.db'}"
        self.keys = {r: create_key(self.keys_file, r, name=f"test-{r}") for r in ROLES}
        self.env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "IPRISK_HOME": str(home),
                    "IPRISK__SERVING__KEYS_FILE": str(self.keys_file), "IPRISK__SERVING__AUDIT_URL": self.audit_url,
                    "BENTOML_DO_NOT_TRACK": "True", **(extra_env or {})}
        self.log = folder / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 150) -> Server:
        self.proc = subprocess.Popen([IPRISK, "serve", "--port", str(self.port)], env=self.env,
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server not ready in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def pids(self) -> list[int]:
        """The supervisor and all its descendants (BentoML's workers run in their own process groups)."""
        return descendants(self.proc.pid) if self.proc is not None else []

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the supervisor, the BentoML arbiter and every worker at once."""
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.proc is None:
            return
        family = self.pids()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.5)
        for pid in family:  # leftovers (workers are in their own process groups)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def headers(self, role: str | None) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]} if role else {}


def serving_pins() -> dict[str, str]:
    """Environment pinning each book model to its champion, or to its latest version when the
    promotion gate kept it from being champion (the service itself is what these tests exercise)."""
    from mlflow import MlflowClient

    from pipelines import registry

    pins = {}
    for name in registry.BOOK_MODELS.values():
        v = registry.alias_version(name)
        if v is None:
            versions = MlflowClient().search_model_versions(f"name='{name}'")
            v = str(max(int(m.version) for m in versions)) if versions else None
        if v is not None:
            pins[name] = v
    return {"IPRISK__SERVING__VERSIONS": json.dumps(pins)}


def descendants(root: int) -> list[int]:
    """`root` and every process below it (from /proc), parents first."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _records(df: pd.DataFrame) -> list[dict]:
    out = json.loads(df.to_json(orient="records", date_format="iso"))
    for r in out:
        for k, v in list(r.items()):
            if isinstance(v, str) and len(v) >= 19 and v[10:19] == "T00:00:00":
                r[k] = v[:10]
    return out


def book_applications(book: Path, n: int, seed: int = 0) -> list[dict]:
    """`n` applications (firm, pledged patents, loan) taken from a demo book's tables."""
    from pipelines.readers import read_book

    t = read_book(book)
    loans = t["loans"].sample(n=n, random_state=seed)
    apps = []
    for loan in _records(loans):
        firm = _records(t["firms"][t["firms"]["firm_id"] == loan["firm_id"]])[0]
        pids = t["pledges"].loc[t["pledges"]["loan_id"] == loan["loan_id"], "patent_id"]
        patents = _records(t["patents"][t["patents"]["patent_id"].isin(pids)])
        from data_contracts import load_contract

        keep = {tb: set(load_contract(tb).column_names) for tb in ("firms", "patents", "loans")}
        apps.append({"firm": {k: v for k, v in firm.items() if k in keep["firms"]},
                     "patents": [{k: v for k, v in p.items() if k in keep["patents"]} for p in patents],
                     "loan": {k: v for k, v in loan.items() if k in keep["loans"]}})
    return apps
