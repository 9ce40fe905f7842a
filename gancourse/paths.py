"""Where data, caches and runs live. Every location can be moved with an environment variable."""

from __future__ import annotations

import os
import stat
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _in_checkout() -> bool:
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "gancourse").is_dir()


def _default_base() -> Path:
    # In a clone (editable install) data/ and runs/ sit beside the package; installed from a wheel
    # (Colab) they sit in the working directory.
    return REPO_ROOT if _in_checkout() else Path.cwd()


def data_root() -> Path:
    """The data root: ``$GANCOURSE_DATA`` if set, else ``data/`` of the checkout."""
    env = os.environ.get("GANCOURSE_DATA")
    return Path(env).expanduser().resolve() if env else _default_base() / "data"


def runs_root() -> Path:
    """Where run directories go: ``$GANCOURSE_RUNS`` if set, else ``runs/`` of the checkout."""
    env = os.environ.get("GANCOURSE_RUNS")
    return Path(env).expanduser().resolve() if env else _default_base() / "runs"


def _writable_folder(path: Path) -> bool:
    """Whether ``path``'s folder (or the nearest existing parent) may be written to.

    The permission bits are checked as well as ``os.access``: as root, os.access says yes to a
    read-only folder (``dr-xr-xr-x``), and a shared read-only data root must stay untouched.
    """
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return os.access(probe, os.W_OK) and bool(probe.stat().st_mode & stat.S_IWUSR)


def cache_dir() -> Path:
    """Where prepared arrays and judge networks are cached.

    ``$GANCOURSE_CACHE`` if set; else ``<data root>/.cache`` when the data root is writable (so a
    cache travels with the data); else ``~/.cache/gancourse`` (CI reads a read-only data root).
    """
    env = os.environ.get("GANCOURSE_CACHE")
    if env:
        path = Path(env).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
    beside_data = data_root() / ".cache"
    if _writable_folder(beside_data):
        beside_data.mkdir(parents=True, exist_ok=True)
        return beside_data
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gancourse"
    home.mkdir(parents=True, exist_ok=True)
    return home
