"""The memory guard (gancourse.engine.memory): an estimate from the config, the limits it respects, the refusal."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest
import torch

from gancourse.cli import main
from gancourse.data import ImageSet
from gancourse.data.unpaired import UnpairedSet
from gancourse.engine import experiment, memory
from gancourse.engine.experiment import train
from gancourse.engine.spec import RunSpec
from gancourse.errors import NotEnoughMemory
from gancourse.recipes import build_recipe, recipe_class

from ..helpers import BLOBS as DATA
from ..helpers import CLI_TINY as TINY
from ..helpers import error_line

GIB = 1024**3


def tiny_spec(**changes) -> RunSpec:
    """The blobs' run (``data=DATA`` is given to train; the spec's dataset name only labels it: one without measured
    defaults, so train() adds no option, such as MNIST's EMA of G, to the config the estimates below are made for)."""
    return RunSpec("fashion-mnist", recipe_options={"nz": 8, "g_width": 8, "d_width": 8},
                   evaluate=False).replace(**changes)


def images(size: int, channels: int = 3, labelled: bool = False) -> ImageSet:
    x = torch.randint(0, 255, (8, channels, size, size), dtype=torch.uint8)
    if labelled:
        return ImageSet("toy", x, labels=torch.arange(8) % 2, class_names=["a", "b"])
    return ImageSet("toy", x)


def unpaired(size: int) -> UnpairedSet:
    return UnpairedSet("toy", images(size), images(size), ("a", "b"))


# every recipe family, with the options that change its step (passes of D, of G)
FAMILIES = [("dcgan", lambda: images(28, 1), {"g_width": 8, "d_width": 8}),
            ("dcgan", lambda: images(32), {"g_width": 8, "d_width": 8, "d_norm": "spectral", "minibatch_std": True,
                                           "loss": "relativistic"}),
            ("cgan", lambda: images(28, 1, labelled=True), {"g_width": 8, "d_width": 8}),
            ("acgan", lambda: images(28, 1, labelled=True), {"g_width": 8, "d_width": 8, "aux_weight": 1.0}),
            ("wgan", lambda: images(28, 1), {"g_width": 8, "d_width": 8}),
            ("wgan-gp", lambda: images(32), {"g_width": 8, "d_width": 8}),
            ("cyclegan", lambda: unpaired(32), {"ngf": 4, "ndf": 4, "n_blocks": 1}),
            ("cyclegan", lambda: unpaired(32), {"ngf": 4, "ndf": 4, "n_blocks": 2, "lambda_identity": 0.0}),
            ("cyclegan", lambda: unpaired(32), {"ngf": 4, "ndf": 4, "generator": "unet", "ema": 10.0})]


@pytest.mark.parametrize(("recipe", "data", "options"), FAMILIES)
def test_the_estimate_from_the_config_matches_the_probe_step(recipe, data, options, fp32_steps):
    """The calibration: the config-only estimate against one real fp32 training step's layer outputs (bfloat16
    autocast only makes a step smaller)."""
    data = data()
    config = recipe_class(recipe).config_for(data, **options)
    estimated = memory.estimate(recipe, config, 16)
    probed = memory.probe(build_recipe(recipe, config, "cpu"), data, 16)
    assert estimated.fixed == probed.fixed  # the same parameters
    assert estimated.per_image == pytest.approx(probed.per_image, rel=0.05)


def test_an_ema_generator_counts_one_more_copy_of_its_weights():
    plain = recipe_class("dcgan").config_for(images(28, 1), g_width=8, d_width=8)
    averaged = recipe_class("dcgan").config_for(images(28, 1), g_width=8, d_width=8, ema=0.99)
    g = build_recipe("dcgan", plain, "cpu").G
    extra = sum(p.numel() * p.element_size() for p in g.parameters())
    assert memory.estimate("dcgan", averaged, 1).fixed - memory.estimate("dcgan", plain, 1).fixed == extra


def test_the_estimate_grows_with_batch_and_image_size():
    def estimate(size):
        config = recipe_class("cyclegan").config_for(unpaired(size), ngf=4, n_blocks=1, ndf=4)
        return memory.estimate("cyclegan", config, 1)

    small, large = estimate(32), estimate(64)
    assert 3 < large.per_image / small.per_image < 5  # a convolutional net's activations follow the pixels
    assert large.fixed == small.fixed  # the same networks
    assert memory.MemoryEstimate(10, 5, 64).total == 645
    assert memory.MemoryEstimate(10, 5, 64).largest_batch(105) == 10


def test_the_estimate_builds_nothing_real_and_leaves_the_random_state_alone(monkeypatch):
    """A 2-billion-parameter generator (8 GB of weights) is estimated without a byte of it being allocated."""
    config = recipe_class("dcgan").config_for(images(28, 1), g_width=8000)
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = memory.estimate("dcgan", config, 64)
    assert torch.equal(torch.rand(3), expected)
    assert found.fixed > 30 * GIB  # weights, gradients and two Adam moments of 2.1e9 parameters
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # kB: nothing big was allocated
    assert torch.nn.init.normal_ is not None and torch.nn.init.normal_(torch.zeros(2)).ne(0).any()  # init restored


# -- the limits -----------------------------------------------------------------------------------------------------

def cgroup_tree(tmp_path: Path, proc: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A fake /sys/fs/cgroup (``files``: relative path -> content) and a /proc/self/cgroup holding ``proc``."""
    root = tmp_path / "cgroup"
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content + "\n")
    root.mkdir(exist_ok=True)
    proc_file = tmp_path / "proc-self-cgroup"
    proc_file.write_text(proc)
    return root, proc_file


def test_nested_v2_cgroups_give_the_smallest_room_on_the_way_up(tmp_path):
    job = "system.slice/slurmstepd.scope/job_42/step_0"
    root, proc = cgroup_tree(tmp_path, f"0::/{job}/user/task_0\n", {
        "memory.max": "max",  # the machine: no limit
        "system.slice/slurmstepd.scope/job_42/memory.max": str(6 * GIB),  # the job's limit: the one that binds
        "system.slice/slurmstepd.scope/job_42/memory.current": str(1 * GIB),
        f"{job}/memory.max": "max",
        f"{job}/memory.current": str(1 * GIB),
        f"{job}/user/task_0/memory.max": str(100 * GIB),  # a looser limit further down does not lift it
        f"{job}/user/task_0/memory.current": str(1 * GIB)})
    assert memory.cgroup_room(root, proc) == 5 * GIB


def test_cgroup_v1_memory_controller_is_read(tmp_path):
    root, proc = cgroup_tree(tmp_path, "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n", {
        "memory/memory.limit_in_bytes": "9223372036854771712",  # v1's "no limit"
        "memory/docker/abc/memory.limit_in_bytes": str(4 * GIB),
        "memory/docker/abc/memory.usage_in_bytes": str(3 * GIB)})
    assert memory.cgroup_room(root, proc) == 1 * GIB


def test_a_cgroup_path_not_visible_here_reads_the_mount_itself(tmp_path):
    """Inside a container's cgroup namespace /proc/self/cgroup may name a path that is not under the mount."""
    root, proc = cgroup_tree(tmp_path, "0::/elsewhere/job\n", {"memory.max": str(2 * GIB),
                                                                "memory.current": str(GIB // 2)})
    assert memory.cgroup_room(root, proc) == GIB + GIB // 2
    root, proc = cgroup_tree(tmp_path / "none", "0::/\n", {"memory.max": "max"})
    assert memory.cgroup_room(root, proc) is None
    assert memory.cgroup_room(tmp_path / "missing", tmp_path / "missing-proc") is None


def test_the_address_space_limit_counts(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda which: (8 * GIB, resource.RLIM_INFINITY)
                        if which == resource.RLIMIT_AS else (resource.RLIM_INFINITY,) * 2)
    monkeypatch.setattr(memory, "_virtual_size", lambda: 3 * GIB)
    assert memory.address_space_room() == 5 * GIB
    monkeypatch.setattr(memory, "system_available", lambda: 64 * GIB)
    monkeypatch.setattr(memory, "cgroup_room", lambda: None)
    assert memory.available_bytes("cpu") == 5 * GIB  # the smallest of what is known


def test_available_memory_is_a_positive_number_on_this_machine():
    free = memory.available_bytes("cpu")
    assert free is None or free > 0


# -- the refusal, before anything big is built ----------------------------------------------------------------------

@pytest.fixture
def limited(tmp_path, monkeypatch):
    """A machine with 64 GB free whose cgroup allows ``limit`` bytes, of which 1 GB are in use; nothing may be built."""
    def set_limit(limit: int) -> None:
        root, proc = cgroup_tree(tmp_path / "fake", "0::/job\n", {"job/memory.max": str(limit),
                                                                  "job/memory.current": str(GIB)})
        monkeypatch.setattr(memory, "CGROUP_ROOT", root)
        monkeypatch.setattr(memory, "PROC_CGROUP", proc)

    monkeypatch.setattr(memory, "system_available", lambda: 64 * GIB)
    monkeypatch.setattr(memory, "address_space_room", lambda: None)
    return set_limit


@pytest.fixture
def nothing_built(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the networks were built before the memory check")

    monkeypatch.setattr(experiment, "_built", refuse)
    monkeypatch.setattr(experiment, "make_evaluator", refuse)


def test_a_wide_generator_under_6_gb_is_one_line_before_it_is_built(offline_root, tmp_path, limited, nothing_built,
                                                                    capsys):
    limited(6 * GIB)
    out = tmp_path / "wide"
    assert main(["train", *TINY, "--set", "g_width=8000", "--steps", "3", "--out", str(out)]) == 2
    line = error_line(capsys)
    assert "networks alone need" in line and "5.0 GB free" in line and "g_width" in line
    assert not out.exists()


def test_cyclegan_at_256_px_under_5_gb_is_one_line_before_it_is_built(offline_root, tmp_path, limited, nothing_built,
                                                                      capsys):
    limited(5 * GIB)  # 4 GB of room; the reference networks at 256 px need about 3.3 GB per image in the batch
    out = tmp_path / "cyclegan"
    argv = ["train", "--recipe", "cyclegan", "--dataset", "monet2photo", "--allow-stand-in", "--limit", "8",
            "--data-option", "size=256", "--set", "ngf=64", "--set", "n_blocks=9", "--set", "ndf=64",
            "--batch-size", "2", "--steps", "3", "--no-eval", "--quiet", "--out", str(out)]
    assert main(argv) == 2
    line = error_line(capsys)
    assert "at 256 px, batch size 2" in line and "at most 1 fits" in line
    assert not out.exists()


def test_a_configuration_larger_than_free_memory_is_refused_before_it_starts(tmp_path, monkeypatch):
    config = recipe_class("dcgan").config_for(DATA, nz=8, g_width=8, d_width=8)
    needed = memory.estimate("dcgan", config, 64)
    monkeypatch.setattr(memory, "available_bytes", lambda device: needed.total // 2)
    out = tmp_path / "big"
    with pytest.raises(NotEnoughMemory, match=r"--batch-size \(at most \d+ fits\)"):
        train(tiny_spec(steps=5, batch_size=64), out=out, data=DATA, progress=False)
    assert not out.exists()  # refused before anything was written
    fits = needed.largest_batch(needed.total // 2)
    assert 0 < fits < 64
    train(tiny_spec(steps=2, batch_size=fits), out=out, data=DATA, progress=False)
    monkeypatch.setattr(memory, "available_bytes", lambda device: needed.fixed + 1)
    with pytest.raises(NotEnoughMemory, match="size"):  # not even one image: the size is what to change
        train(tiny_spec(steps=5, batch_size=1), out=tmp_path / "b2", data=DATA, progress=False)


def test_the_cli_refuses_too_large_a_batch_in_one_line(offline_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1024)
    assert main(["train", *TINY, "--steps", "3", "--out", str(tmp_path / "r")]) == 2
    line = error_line(capsys)
    assert "GB free" in line and "width" in line


def test_a_combination_the_recipe_refuses_is_still_one_line(tmp_path):
    """The guard builds the networks (shapes only) first, so the recipe's own refusals must still read as one line."""
    from gancourse.errors import UserError

    unlabelled = ImageSet("toy", DATA.images)
    with pytest.raises(UserError, match="cgan"):
        train(RunSpec(recipe="cgan", steps=2, batch_size=8, evaluate=False), out=tmp_path / "c", data=unlabelled,
              progress=False)


def test_a_network_the_meta_device_cannot_run_trains_without_the_guard(tmp_path, monkeypatch, capsys):
    def unsupported(*args):
        raise NotImplementedError("an op without a meta kernel")

    monkeypatch.setattr(memory, "estimate", unsupported)
    train(tiny_spec(steps=2, batch_size=8), out=tmp_path / "r", data=DATA, progress=False)
    assert "memory not estimated" in capsys.readouterr().err
