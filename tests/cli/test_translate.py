"""gancourse translate (gancourse.cli.translate)."""

from __future__ import annotations

from pathlib import Path

from gancourse.cli import main
from gancourse.engine import memory


def test_translate_gives_inputs_with_the_same_name_distinct_outputs():
    from gancourse.cli.translate import output_names

    paths = [Path("a/x.jpg"), Path("b/x.jpg"), Path("c/y.png"), Path("a/x.png")]
    names = output_names(paths, "photo2monet")
    assert len(set(names)) == 4 and names[2] == "y_photo2monet.png"
    assert names[0] == "a-x_photo2monet.png" and names[1] == "b-x_photo2monet.png"


def test_translate_writes_one_output_per_input_of_the_same_name(offline_root, tmp_path, monkeypatch, capsys):
    from PIL import Image

    monkeypatch.setattr(memory, "available_bytes", lambda device: 64 * memory.GB)
    out = tmp_path / "cg"
    assert main(["train", "--recipe", "cyclegan", "--dataset", "monet2photo", "--steps", "1", "--no-eval",
                 "--allow-stand-in", "--quiet", "--device", "cpu", "--data-option", "size=32", "--set", "ngf=4",
                 "--set", "n_blocks=1", "--set", "ndf=4", "--out", str(out)]) == 0
    inputs = []
    for folder, colour in (("one", (200, 0, 0)), ("two", (0, 0, 200))):
        (tmp_path / folder).mkdir()
        inputs.append(tmp_path / folder / "photo.png")
        Image.new("RGB", (40, 40), colour).save(inputs[-1])
    assert main(["translate", str(out), *map(str, inputs), "--out", str(tmp_path / "t")]) == 0
    assert len(list((tmp_path / "t").glob("*.png"))) == 2
