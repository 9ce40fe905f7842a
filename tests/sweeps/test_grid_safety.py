"""What a sweep refuses before it runs anything: YAML alias bombs in a grid, a notebook that is not one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gancourse.sweeps.grid import GridError, load_grid, notebook_parameters

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_mnist_dcgan.ipynb"


def billion_laughs(path: Path, levels: int = 6) -> Path:
    """A grid of a few hundred bytes whose description nests ``levels`` anchors, each repeated nine times."""
    value = '&a0 "lol"'
    for level in range(1, levels + 1):
        value = f"&a{level} [{value}" + f", *a{level - 1}" * 8 + "]"
    path.write_text(f"description: {value}\nparameters:\n  seed: [0]\n")
    return path


def sweep(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gancourse", "sweep", *map(str, args)], capture_output=True,
                          text=True)


def test_an_alias_bomb_grid_is_refused_in_one_line_and_writes_nothing(tmp_path):
    grid = billion_laughs(tmp_path / "bomb.yaml")
    assert grid.stat().st_size < 500
    out = tmp_path / "out"
    result = sweep(NOTEBOOK, grid, "--out", out)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("gancourse sweep: error:")]
    assert len(lines) == 1 and "alias (*a0) at line 1" in lines[0] and "not allowed" in lines[0]
    assert not out.exists()  # no sweep.json (4.3 MB before the fix), no folder at all


def test_any_alias_is_refused_but_anchors_alone_and_plain_grids_load(tmp_path):
    (tmp_path / "alias.yaml").write_text("fixed: {lr: &lr 2e-4}\nparameters:\n  lr_g: [*lr]\n")
    with pytest.raises(GridError, match=r"alias \(\*lr\) at line 3"):
        load_grid(tmp_path / "alias.yaml")
    (tmp_path / "anchor.yaml").write_text("parameters:\n  dropout: &d [0.1, 0.3]\n  lr: [2e-4]\n")
    assert load_grid(tmp_path / "anchor.yaml").parameters == {"dropout": [0.1, 0.3], "lr": [2e-4]}


def test_a_grid_that_is_not_yaml_or_not_utf8_is_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("parameters: [unclosed\n")
    with pytest.raises(GridError) as error:
        load_grid(tmp_path / "bad.yaml")
    assert "is not valid YAML" in str(error.value) and "\n" not in str(error.value)
    (tmp_path / "binary.yaml").write_bytes(b"parameters:\n  a: [\xff\xfe]\n")
    with pytest.raises(GridError, match="is not valid YAML"):
        load_grid(tmp_path / "binary.yaml")


def test_a_notebook_that_is_not_a_notebook_is_one_line(tmp_path):
    from gancourse.course.profiles import ParameterError

    grid = tmp_path / "grid.yaml"
    grid.write_text("parameters:\n  seed: [0, 1]\n")
    (tmp_path / "text.ipynb").write_text("not json at all\n")
    result = sweep(tmp_path / "text.ipynb", grid, "--out", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "text.ipynb is not a Jupyter notebook" in result.stderr and not (tmp_path / "out").exists()
    for name, content in (("list.ipynb", b"[1, 2]"), ("object.ipynb", b'{"a": 1}'), ("binary.ipynb", b"\xff{")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ParameterError, match=f"{name} is not a Jupyter notebook"):
            notebook_parameters(tmp_path / name)
