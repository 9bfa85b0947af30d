"""Where a model came from: the input data's fingerprint, the code version and the exact packages
a logged model needs."""

from __future__ import annotations

import hashlib
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

MODEL_PACKAGES = ("mlflow", "lightgbm", "scikit-learn", "pandas", "numpy", "scipy", "optbinning", "pyarrow", "pyyaml",
                  "pydantic")
"""Packages whose exact versions a logged model records (those its pickled estimators need)."""


def fingerprint(path: str | Path) -> str:
    """SHA-256 over the bytes of a file, or of every file in a folder (sorted by name; the folder's
    own `validation/` output is left out)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file() and "validation" not in f.parts) if p.is_dir() else [p]
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def code_version() -> str:
    """`git describe` of the source tree (with `-dirty`), or the package version outside git."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return f"iprisk-{version('iprisk')}"


def pip_requirements(packages: tuple[str, ...] = MODEL_PACKAGES) -> list[str]:
    """Exact pins of the packages a logged model needs, read from the installed environment."""
    out = []
    for pkg in packages:
        try:
            out.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            pass
    return out
