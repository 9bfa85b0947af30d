"""Scoring-service benchmark on loopback (prints figures; asserts nothing).

1. Load test: 8 concurrent clients for 60 s against POST /v1/loans/score → p50/p99 latency,
   requests per second, errors, server memory (RSS of the whole process group) at start and end.
2. PD-only path: this service's POST /v1/pd (BentoML adaptive batching) against
   `mlflow models serve` on the same registered PD model version and the same feature records.
3. Full POST /v1/loans/score (validation, features, PD, LGD, EL, reasons, counterfactual, audit
   write) against the same service's no-op endpoint POST /v1/noop, with the CPU each request cost
   the server (its process tree, from /proc) and the client (steadier than req/s on a shared machine).

Registry: the project's (champions must exist), or `--train N` builds an N-firm demo book in a
temporary folder and trains into a temporary registry first. One worker process for both servers.

    .venv/bin/python bench/bench_service.py [--train 2500] [--load-seconds 60] [--side-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
BIN = Path(sys.executable).parent


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (MB)."""
    from servicekit import descendants

    total = 0
    for pid in descendants(root):
        d = Path("/proc") / str(pid)
        try:
            for line in (d / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, ProcessLookupError):
            continue
    return total / 1024


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its live descendants."""
    from servicekit import descendants

    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in descendants(root):
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):
            continue
    return total


def cpu_hammer(proc_pid: int, url: str, bodies: list, headers: dict, seconds: float, clients: int) -> dict:
    """``hammer`` plus the CPU it cost: server (process tree) and client (this process) ms per request."""
    s0, c0 = tree_cpu_s(proc_pid), time.process_time()
    r = asyncio.run(hammer(url, bodies, headers, seconds, clients))
    n = max(r["n"], 1)
    r["server_cpu_ms"], r["client_cpu_ms"] = 1000 * (tree_cpu_s(proc_pid) - s0) / n, 1000 * (time.process_time() - c0) / n
    return r


async def hammer(url: str, bodies: list, headers: dict, seconds: float, clients: int = 8) -> dict:
    """`clients` concurrent loops posting bodies round-robin for `seconds`; latencies of 2xx only."""
    lat: list[float] = []
    errors: dict[str, int] = {}
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as c:
        async def loop(k: int):
            i = k
            while time.perf_counter() < stop_at:
                body = bodies[i % len(bodies)]
                i += clients
                t0 = time.perf_counter()
                try:
                    r = await c.post(url, json=body, headers=headers)
                    if r.status_code // 100 == 2:
                        lat.append(time.perf_counter() - t0)
                    else:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as e:
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
        t0 = time.perf_counter()
        await asyncio.gather(*(loop(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    return {"n": len(lat), "rps": len(lat) / wall, "p50_ms": q(0.50), "p99_ms": q(0.99), "errors": errors,
            "mean_ms": statistics.fmean(lat) * 1000 if lat else float("nan")}


def line(name: str, r: dict) -> str:
    return (f"  {name:34s} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   "
            f"ok {r['n']:6d}   errors {sum(r['errors'].values())} {r['errors'] or ''}")


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} not ready in {timeout} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=0, help="Build an N-firm demo book and train into a temporary registry.")
    ap.add_argument("--book", type=Path, default=None, help="Demo book folder for the request records (default: build/demo).")
    ap.add_argument("--load-seconds", type=float, default=60)
    ap.add_argument("--side-seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()

    from servicekit import Server, book_applications, free_port, serving_pins

    work = Path(tempfile.mkdtemp(prefix="iprisk-bench-"))
    if args.train:
        from pipelines.demo_book import generate_book, write_book
        from pipelines.training import train_book

        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlruns.db'}"
        os.environ["IPRISK_HOME"] = str(work)
        book = work / "book"
        print(f"training on a {args.train}-firm demo book in {work} …", flush=True)
        write_book(generate_book(args.train, 11), book, seed=11, n_firms=args.train)
        train_book(book, out_dir=work / "train")
    else:
        book = args.book or REPO / "build" / "demo"
    from pipelines import registry, tracking

    uri = tracking.tracking_uri()
    tracking.connect(uri, create_experiment=False)
    pins = serving_pins()
    versions = json.loads(pins["IPRISK__SERVING__VERSIONS"])
    pd_version = versions.get(registry.BOOK_MODELS["pd"])
    if pd_version is None:
        raise SystemExit(f"no PD model in {uri}: run `make run` first or pass --train 2500")

    apps = book_applications(book, 200, seed=1)
    from data_contracts import application as checks
    from pipelines.registry import load_bundle

    bundle = load_bundle(uri, versions=versions)
    filled = [checks.fill_application(a, a["loan"]["loan_id"]) for a in apps]
    X = bundle.features(checks.application_tables(filled)).astype("float64")
    cols = list(bundle.pd_model.feature_names_) if hasattr(bundle.pd_model, "feature_names_") else list(X.columns)
    X = X[cols]
    rows = [[None if v != v else float(v) for v in row] for row in X.to_numpy()]  # NaN (missing) → null
    pd_records = [{"records": [dict(zip(cols, row))]} for row in rows]
    mlflow_records = [{"dataframe_split": {"columns": cols, "data": [row]}} for row in rows]

    srv = Server(work / "svc", uri, tracking.home(), {"IPRISK__SERVING__BENCH_ENDPOINTS": "true", **pins}).start()
    ml_proc = None
    try:
        h = srv.headers("credit_officer")
        for a in apps[:5]:  # warm up
            httpx.post(srv.url + "/v1/loans/score", json=a, headers=h, timeout=60).raise_for_status()
        print(f"\nregistry {uri}; PD model iprisk-pd v{pd_version}; {len(apps)} demo applications, {len(cols)} PD features; "
              f"{os.cpu_count()} CPUs; client and servers on the same machine\n")

        if args.load_seconds > 0:
            print(f"1. load test: {args.clients} clients × {args.load_seconds:.0f} s on POST /v1/loans/score")
            mem0 = tree_rss_mb(srv.proc.pid)
            r = asyncio.run(hammer(srv.url + "/v1/loans/score", apps, h, args.load_seconds, args.clients))
            mem1 = tree_rss_mb(srv.proc.pid)
            print(line("/v1/loans/score", r))
            print(f"  server memory (RSS, all processes): {mem0:.0f} MB at start → {mem1:.0f} MB at end\n")

        print(f"2. PD-only path, {args.clients} clients × {args.side_seconds:.0f} s each, one record per request")
        port = free_port()
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
        ml_proc = subprocess.Popen([str(BIN / "mlflow"), "models", "serve", "-m", registry.pd_model_uri(pd_version),
                                    "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_http(f"http://127.0.0.1:{port}/ping", ml_proc)
        ml_url = f"http://127.0.0.1:{port}/invocations"
        probe = httpx.post(ml_url, json=mlflow_records[0], timeout=30).json()
        ours = httpx.post(srv.url + "/v1/pd", json=pd_records[0], headers=h, timeout=30).json()
        print(f"  same model check: mlflow {probe} vs service {ours}")
        r_ml = asyncio.run(hammer(ml_url, mlflow_records, {}, args.side_seconds, args.clients))
        r_pd = asyncio.run(hammer(srv.url + "/v1/pd", pd_records, h, args.side_seconds, args.clients))
        print(line("mlflow models serve /invocations", r_ml))
        print(line("service /v1/pd (adaptive batching)", r_pd))
        print(f"  throughput ratio service/mlflow: {r_pd['rps'] / r_ml['rps']:.2f}× (target ≥ 2×); "
              f"p99 {r_pd['p99_ms']:.1f} vs {r_ml['p99_ms']:.1f} ms (target ≤)\n")

        print(f"3. full score vs no-op, {args.clients} clients × {args.side_seconds:.0f} s each")
        r_noop = cpu_hammer(srv.proc.pid, srv.url + "/v1/noop", apps, h, args.side_seconds, args.clients)
        r_full = cpu_hammer(srv.proc.pid, srv.url + "/v1/loans/score", apps, h, args.side_seconds, args.clients)
        print(line("service /v1/noop", r_noop))
        print(line("service /v1/loans/score", r_full))
        for name, r in (("no-op", r_noop), ("score", r_full)):
            print(f"  CPU per {name} request: server {r['server_cpu_ms']:.2f} ms, client {r['client_cpu_ms']:.2f} ms")
        print(f"  full/no-op throughput: {r_full['rps'] / r_noop['rps']:.2f} (target ≥ 0.25); p99 {r_full['p99_ms']:.1f} ms")
    finally:
        if ml_proc is not None:
            from servicekit import descendants

            for pid in descendants(ml_proc.pid)[::-1]:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            ml_proc.wait(20)
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
