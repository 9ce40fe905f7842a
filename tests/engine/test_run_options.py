"""Per-dataset defaults of a run (gancourse.engine.run_options)."""

from __future__ import annotations

import torch

from gancourse.cli import main
from gancourse.engine import memory
from gancourse.engine.run_options import recipe_defaults
from gancourse.runs import RunDir


def test_cyclegan_defaults_are_batch_1_and_cpu_sized_on_a_cpu():
    cpu = recipe_defaults("cyclegan", "monet2photo", torch.device("cpu"))
    assert cpu["batch_size"] == 1 and cpu["data_options"] == {"size": 128}
    assert cpu["recipe_options"] == {"ngf": 16, "n_blocks": 6, "ndf": 32, "upsample": "nearest", "residual": True,
                                     "lambda_cycle": 0.3, "lambda_identity": 0.0, "d_norm": "none", "ema": 100.0}
    gpu = recipe_defaults("cyclegan", "monet2photo", torch.device("cuda"))
    assert gpu["batch_size"] == 1 and gpu["data_options"] == {"size": 256}
    assert recipe_defaults("dcgan", "fashion-mnist", torch.device("cpu"))["batch_size"] == 64  # mnist: 32 (see
    # tests/recipes/test_dcgan_defaults.py)


def test_the_readme_cyclegan_command_trains_at_batch_1_cpu_sized(offline_root, tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 64 * memory.GB)
    out = tmp_path / "monet"
    assert main(["train", "--recipe", "cyclegan", "--dataset", "monet2photo", "--steps", "1", "--no-eval",
                 "--allow-stand-in", "--quiet", "--device", "cpu", "--out", str(out)]) == 0
    config = RunDir(out).read_config()
    assert config["batch_size"] == 1 and config["data_options"] == {"size": 128}
    assert config["recipe_config"]["image_size"] == 128 and config["recipe_config"]["ngf"] == 16
