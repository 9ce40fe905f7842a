"""What the first code cell of every notebook calls: report the environment and choose the profile."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tomllib
from dataclasses import dataclass, field
from importlib.metadata import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from ..data import SOURCES_USED
from ..devices import pick_device
from ..engine.spec import RunSpec
from ..paths import REPO_ROOT, data_root, runs_root
from .profiles import budget, check_parameters, resolve_profile


def repository_url() -> str:
    """The repository, from ``[project.urls] Repository`` of pyproject.toml: the one place that names it.

    Read from the checkout's pyproject.toml when there is one, else from the installed package's metadata
    (a wheel or a git install, as in Colab). The badges and the install cells use the same URL.
    """
    pyproject = REPO_ROOT / "pyproject.toml"
    if pyproject.is_file():
        return tomllib.loads(pyproject.read_text())["project"]["urls"]["Repository"]
    for entry in metadata("gancourse").get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip()
    raise RuntimeError("gancourse's metadata names no Repository URL; reinstall the package")


REPOSITORY = repository_url()  # notebooks install the package from here in Colab


@dataclass
class NotebookEnv:
    device: str
    profile: str
    data_root: Path
    runs_root: Path
    in_colab: bool
    notebook: str = ""
    budget: SimpleNamespace = field(default_factory=SimpleNamespace)  # the notebook's budgets in this profile

    def run_dir(self, name: str) -> Path:
        """Where this notebook's run goes: ``runs/<notebook>/<name>`` (papermill may override)."""
        return self.runs_root / name

    def run_for(self, notebook: str | RunSpec, spec: RunSpec | str | None = None, source: str = "real",
                yours: str = "") -> Path:
        """The run directory of ``spec`` in ``notebook``: ``runs/<notebook>/<profile>-<spec.run_name(source)>``.

        Named by the spec, so a changed setting starts a new run and the same settings resume theirs
        (``steps`` is not in the name: a larger budget extends the run). ``yours``: a tag of the student's
        code (``code_tag``), for an exercise's run beside the package's. ``env.run_for(spec)`` names the
        notebook given to :func:`setup`.
        """
        if isinstance(notebook, RunSpec):  # run_for(spec) or run_for(spec, source): this notebook's run
            notebook, spec, source = self.notebook, notebook, spec if isinstance(spec, str) else source
        name = f"{self.profile}-{spec.run_name(source)}" + (f"-yours-{yours}" if yours else "")
        return self.runs_root / notebook / name


def setup(profile: str = "", notebook: str = "", parameters: dict[str, Any] | None = None,
          quiet: bool = False) -> NotebookEnv:
    """Pick the device and profile, and say where data and runs live, so nothing needs editing.

    ``notebook`` (e.g. "01_mnist_dcgan") with its ``parameters`` (the notebook passes ``globals()``): check
    them (a value out of range stops here, naming what is allowed) and give the profile's budgets as
    ``env.budget``.
    """
    import matplotlib.pyplot as plt  # lazy: sweeps read REPOSITORY from here without drawing anything

    plt.rcParams.update({"figure.dpi": 100, "image.cmap": "gray", "axes.grid": False})
    in_colab = "google.colab" in sys.modules
    if in_colab and "GANCOURSE_DATA" not in os.environ:
        os.environ["GANCOURSE_DATA"] = "/content/gancourse-data"
    if notebook and parameters is not None:
        check_parameters(notebook, parameters)
    resolved = resolve_profile(profile)
    env = NotebookEnv(str(pick_device()), resolved, data_root(), runs_root(), in_colab, notebook,
                      budget(notebook, resolved))
    if not quiet:
        print(f"torch {torch.__version__} on {env.device} | profile: {env.profile} | "
              f"data: {env.data_root} | runs: {env.runs_root}")
    return env


def record_headline(metric: str, value: float, *, floor: float | None = None, samples: str | Path | None = None,
                    run_dir: str | Path | None = None, lower_is_better: bool = True, source: str | None = None) -> dict:
    """Announce the notebook's headline result; the course runner (``gancourse course``) collects it.

    ``floor`` is what real data scores (e.g. the real-vs-real FID); ``samples`` a PNG of the final samples.
    ``source`` is "real" or "stand-in"; by default "stand-in" as soon as this process trained or measured
    on any generated stand-in (``gancourse.data.SOURCES_USED``), so a stand-in number is never a result.
    Outside a course run this only prints the line.
    """
    stand_ins = sorted(SOURCES_USED["stand-in"])
    source = source or ("stand-in" if stand_ins else "real")
    record = {"metric": metric, "value": float(value), "floor": None if floor is None else float(floor),
              "lower_is_better": lower_is_better, "run_dir": str(run_dir) if run_dir else None,
              "profile": os.environ.get("GANCOURSE_PROFILE", ""), "source": source, "stand_ins": stand_ins}
    floor_text = f" (real-data floor {floor:.4g})" if floor is not None else ""
    commands = " and ".join(f"`gancourse download {name}`" for name in stand_ins) or "`gancourse download all`"
    warning = (f"  [STAND-IN DATA ({', '.join(stand_ins) or 'given'}): not a result; "
               f"get the real data with {commands}]") if source != "real" else ""
    print(f"Headline: {metric} = {value:.4g}{floor_text}{warning}")
    course_dir, notebook = os.environ.get("GANCOURSE_COURSE_DIR"), os.environ.get("GANCOURSE_COURSE_NOTEBOOK")
    if course_dir and notebook:
        out = Path(course_dir)
        if samples is not None and Path(samples).is_file():
            target = out / f"{notebook}.samples{Path(samples).suffix}"
            shutil.copyfile(samples, target)
            record["samples"] = target.name
        (out / f"{notebook}.headline.json").write_text(json.dumps(record, indent=2))
    return record
