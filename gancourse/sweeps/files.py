"""The repository files a sweep needs (target notebooks, grid files), in a checkout or fetched for Colab."""

from __future__ import annotations

from pathlib import Path

from ..course.notebook import REPOSITORY
from ..data.download import DownloadError, fetch
from ..errors import MissingInput
from ..paths import REPO_ROOT

RAW_URL = REPOSITORY.replace("https://github.com/", "https://raw.githubusercontent.com/") + "/main"


def course_file(relative: str) -> Path:
    """``relative`` (e.g. ``sweeps/fashion_dropout_width.yaml``) in this checkout, else fetched beside the
    working directory from the course repository (an install from a wheel, as in Colab, has no such files).
    """
    local = REPO_ROOT / relative
    if local.is_file():
        return local
    copy = Path.cwd() / relative
    if copy.is_file():
        return copy

    try:
        return fetch(f"{RAW_URL}/{relative}", copy)
    except (DownloadError, OSError) as exc:
        raise MissingInput(f"{relative} is not in {REPO_ROOT} and could not be fetched ({exc}); "
                           f"clone {REPOSITORY} and run from the checkout") from exc


def target_notebook(name: str = "fashion_dcgan") -> Path:
    """A notebook written for sweeps, from ``notebooks/sweep_targets/``."""
    return course_file(f"notebooks/sweep_targets/{name}.ipynb")
