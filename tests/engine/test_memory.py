"""The memory guard (gancourse.engine.memory)."""

from __future__ import annotations

import pytest
import torch

from gancourse.cli import main
from gancourse.engine import memory
from gancourse.engine.experiment import train
from gancourse.engine.spec import RunSpec
from gancourse.errors import NotEnoughMemory

from ..helpers import BLOBS as DATA
from ..helpers import CLI_TINY as TINY
from ..helpers import error_line
from ..helpers import tiny_dcgan as make_recipe


def tiny_spec(**changes) -> RunSpec:
    """The blobs' run (``data=DATA`` is given to train; the spec's dataset name only labels it)."""
    return RunSpec(recipe_options={"nz": 8, "g_width": 8, "d_width": 8}, evaluate=False).replace(**changes)


def test_memory_estimate_grows_with_batch_and_image_size():
    from gancourse.data import ImageSet
    from gancourse.data.unpaired import UnpairedSet
    from gancourse.recipes import build_recipe, recipe_class

    def per_image(size):
        domain = ImageSet("a", torch.randint(0, 255, (4, 3, size, size), dtype=torch.uint8))
        data = UnpairedSet("toy", domain, domain, ("a", "b"))
        config = recipe_class("cyclegan").config_for(data, ngf=4, n_blocks=1, ndf=4)
        return memory.estimate(build_recipe("cyclegan", config, torch.device("cpu")), data, 1)

    small, large = per_image(32), per_image(64)
    assert 3 < large.per_image / small.per_image < 5  # a convolutional net's activations follow the pixels
    assert large.fixed == small.fixed  # the same networks
    assert memory.MemoryEstimate(10, 5, 64).total == 645
    assert memory.MemoryEstimate(10, 5, 64).largest_batch(105) == 10


def test_estimate_leaves_the_recipe_and_the_random_state_untouched():
    recipe = make_recipe()
    before = {k: v.clone() for k, v in recipe.G.state_dict().items()}
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    memory.estimate(recipe, DATA, 64)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(v, recipe.G.state_dict()[k]) for k, v in before.items())


def test_a_configuration_larger_than_free_memory_is_refused_before_it_starts(tmp_path, monkeypatch, capsys):
    recipe = make_recipe()
    needed = memory.estimate(recipe, DATA, 64)
    monkeypatch.setattr(memory, "available_bytes", lambda device: needed.total // 2)
    out = tmp_path / "big"
    with pytest.raises(NotEnoughMemory, match=r"--batch-size \(at most \d+ fits\)"):
        train(tiny_spec(steps=5, batch_size=64), out=out, data=DATA, progress=False)
    assert not out.exists()  # refused before anything was written
    fits = needed.largest_batch(needed.total // 2)
    assert 0 < fits < 64
    train(tiny_spec(steps=2, batch_size=fits), out=out, data=DATA, progress=False)
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1)
    with pytest.raises(NotEnoughMemory, match="size"):  # not even one image: the size is what to change
        train(RunSpec(steps=5, batch_size=1, evaluate=False), out=tmp_path / "b2", data=DATA, progress=False)


def test_the_cli_refuses_too_large_a_batch_in_one_line(offline_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1024)
    assert main(["train", *TINY, "--steps", "3", "--out", str(tmp_path / "r")]) == 2
    line = error_line(capsys)
    assert "GB free" in line and "size" in line


def test_available_memory_is_a_positive_number_on_this_machine():
    free = memory.available_bytes("cpu")
    assert free is None or free > 0
