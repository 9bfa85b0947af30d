"""Child processes the command starts (the service, the MLflow UI) and stops again, whatever stops it.

Each child runs in its own session (process group), so a Ctrl+C in the terminal reaches only the
command, which then stops its children in order; SIGTERM is handled the same way. Stopping sends
SIGTERM, waits up to a timeout, then kills whatever is left, including grandchildren that moved to
process groups of their own (BentoML's workers do) and were remembered before the stop began.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psutil

STOP_TIMEOUT = 20.0
"""Seconds a child gets to exit after SIGTERM before it (and what it started) is killed."""


class Stopped(Exception):
    """SIGTERM or SIGINT arrived while children were running."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into `Stopped` in the main thread (restoring the old handlers after)."""
    def raise_stopped(signum: int, _frame: Any) -> None:
        raise Stopped(signum)

    old = {s: signal.signal(s, raise_stopped) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    try:
        old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: nothing to guard
        old = {}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def family(pid: int) -> list[psutil.Process]:
    """`pid` and every process below it (an empty list once it is gone)."""
    try:
        p = psutil.Process(pid)
        return [p, *p.children(recursive=True)]
    except psutil.Error:
        return []


class Children:
    """Processes started with `start`, each in its own session; `stop()` ends them all."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen:
        proc = subprocess.Popen(list(cmd), start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM to each child's process group (latest first), wait up to `timeout` seconds for
        all of them, then SIGKILL every process of theirs still alive, and reap the children.
        A second Ctrl+C or SIGTERM meanwhile does not cut this short (it is bounded anyway)."""
        with _signals_ignored():
            self._stop(timeout)

    def _stop(self, timeout: float) -> None:
        known = [p for proc in self.procs for p in family(proc.pid)]
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        _, alive = psutil.wait_procs(known, timeout=max(0.0, deadline - time.monotonic()))
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=5)
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
                pass
