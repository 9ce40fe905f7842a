"""gancourse.sweeps.grid: grid files, what they expand to, the notebook's parameters cell and the checks against it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gancourse.course.profiles import ParameterError
from gancourse.sweeps import GridError, load_grid, notebook_parameters, parse_grid, plan_sweep

from .conftest import make_notebook


def test_value_of_the_wrong_type_is_rejected(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb")
    with pytest.raises(ParameterError, match="a=0.5 does not fit"):
        plan_sweep(notebook, parse_grid({"parameters": {"a": [1, 0.5]}}), tmp_path / "out")
    plan_sweep(notebook, parse_grid({"parameters": {"b": [1, 2]}}), tmp_path / "out")  # an int for a float is fine


def test_notebook_without_run_dir_is_rejected(tmp_path):
    notebook = make_notebook(tmp_path / "no_run_dir.ipynb", parameters="a = 1\n")
    assert notebook_parameters(notebook) == {"a": 1}
    with pytest.raises(ParameterError, match="no `run_dir` parameter"):
        plan_sweep(notebook, parse_grid({"parameters": {"a": [1, 2]}}), tmp_path / "out")


def test_parameters_cell_is_read_with_python_not_a_line_pattern(tmp_path):
    # papermill's inspect skips lines with a second "=" (here in the comment); the sweep must still see them
    notebook = make_notebook(tmp_path / "p.ipynb", parameters='%matplotlib inline\nlr = 2e-4  # 0 = off\n'
                                                               'names = ["a", "b"]\nrun_dir = ""\n')
    assert notebook_parameters(notebook) == {"lr": 2e-4, "names": ["a", "b"], "run_dir": ""}


def test_grid_product_explicit_combinations_and_fixed(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text("description: test\nparameters:\n  lr: [1e-4, 2e-4]\n  beta1: [0.5, 0.6]\n"
                    "combinations:\n  - {lr: 1e-4, beta1: 0.5}\n  - {lr: 4e-4, beta1: 0.9, width: 64}\n"
                    "fixed:\n  steps: 100\n  profile: quick\n")
    grid = load_grid(path)
    combos = grid.expand()
    assert combos[:4] == [{"lr": 1e-4, "beta1": 0.5}, {"lr": 1e-4, "beta1": 0.6},
                          {"lr": 2e-4, "beta1": 0.5}, {"lr": 2e-4, "beta1": 0.6}]
    assert combos[4] == {"lr": 4e-4, "beta1": 0.9, "width": 64}  # the duplicate explicit one was dropped
    assert len(combos) == 5 and isinstance(combos[0]["lr"], float)  # "1e-4" is a number, not text
    assert grid.varying == ["lr", "beta1", "width"]
    assert grid.fixed == {"steps": 100, "profile": "quick"}
    assert grid.names == ["lr", "beta1", "width", "steps", "profile"]
    assert parse_grid({"combinations": [{"seed": 0}, {"seed": 1}]}).expand() == [{"seed": 0}, {"seed": 1}]
    assert grid.with_fixed(steps=5).fixed["steps"] == 5
    with pytest.raises(GridError, match="already varies"):
        grid.with_fixed(lr=1.0)


@pytest.mark.parametrize("spec, message", [
    ({"parameters": {"lr": 2e-4}}, "must be a non-empty list"),
    ({"parameters": {"lr": [1.0]}, "fixed": {"lr": 2.0}}, "both varies and is fixed"),
    ({"parameters": {"run_dir": ["x"]}}, "set by the sweep"),
    ({"fixed": {"lr": 1.0}}, "nothing to run"),
    ({"grid": {"lr": [1.0]}}, "unknown section grid"),
    ({"combinations": [[1, 2]]}, "list of mappings"),
])
def test_bad_grids_say_what_to_write(spec, message):
    with pytest.raises(GridError, match=message):
        parse_grid(spec)


def test_grid_reads_seeds_and_replicates_as_replicates():
    grid = parse_grid({"parameters": {"width": [64, 128]}, "replicates": 3})
    assert grid.expand()[:3] == [{"width": 64, "seed": 0}, {"width": 64, "seed": 1}, {"width": 64, "seed": 2}]
    assert grid.replicates == 3 and grid.settings == ["width"]
    assert parse_grid({"parameters": {"seed": [0, 1], "width": [64]}}).replicates == 2
    assert parse_grid({"parameters": {"width": [64, 128]}}).replicates == 1
    assert parse_grid({"replicates": 2}).expand() == [{"seed": 0}, {"seed": 1}]
    assert parse_grid({"combinations": [{"width": 64}], "replicates": 2}).expand() == [
        {"width": 64, "seed": 0}, {"width": 64, "seed": 1}]
    with pytest.raises(GridError, match="remove `seed`"):
        parse_grid({"parameters": {"width": [64]}, "fixed": {"seed": 1}, "replicates": 2})
    with pytest.raises(GridError, match="number of seeds"):
        parse_grid({"parameters": {"width": [64]}, "replicates": 0})


# -- what a sweep refuses before it runs anything: YAML alias bombs, a notebook that is not one -----------------

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
