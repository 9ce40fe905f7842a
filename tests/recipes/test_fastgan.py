"""The FastGAN-style recipe: skip-layer excitation in G, a discriminator that also redraws the real images."""

from __future__ import annotations

import pytest
import torch

from gancourse.checkpoints import generator_from_export
from gancourse.cli import main
from gancourse.data import ImageSet
from gancourse.devices import seed_everything
from gancourse.engine import memory
from gancourse.models import FastDiscriminator, FastGenerator
from gancourse.recipes import DCGAN, RECIPES, FastGAN

SMALL = {"g_width": 8, "d_width": 8, "nz": 16}


def paintings(n: int = 16, size: int = 32) -> ImageSet:
    """Smooth colour gradients with a bright disc: structure a small decoder can learn to redraw."""
    g = torch.Generator().manual_seed(0)
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    images = []
    for _ in range(n):
        a, b, c = torch.rand(3, generator=g) * 2 - 1
        disc = ((x - a / 2) ** 2 + (y - b / 2) ** 2 < 0.15).float()
        image = torch.stack([x * a, y * b, (x + y) * c / 2]) + disc
        images.append(((image.clamp(-1, 1) + 1) * 127.5).to(torch.uint8))
    return ImageSet("toy paintings", torch.stack(images))


def make(**options) -> FastGAN:
    seed_everything(0)
    return FastGAN(FastGAN.Config(image_size=32, **{**SMALL, **options}))


@pytest.mark.parametrize(("size", "gated"), [(32, {"3"}), (64, {"3", "4"}), (128, {"3", "4", "5"})])
def test_the_generator_draws_images_and_gates_maps_eight_times_larger(size, gated):
    g = FastGenerator(size, 3, nz=16, width=8)
    images = g(torch.randn(2, 16))
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    assert set(g.skips) == gated  # map i + 3 gated by map i: 4x4 -> 32x32, 8x8 -> 64x64, ...
    with pytest.raises(ValueError, match="unconditional"):
        g(torch.randn(2, 16), torch.zeros(2, dtype=torch.long))


def test_a_gate_scales_each_channel_of_the_large_map_by_a_value_read_from_the_small_one():
    g = FastGenerator(32, 3, nz=16, width=8)
    gate = g.skips["3"]
    small, large = torch.randn(2, g.widths[0], 4, 4), torch.ones(2, g.widths[3], 32, 32)
    out = gate(small, large)
    per_channel = out[:, :, :1, :1]
    assert torch.equal(out, per_channel.expand_as(out))  # one factor per channel, the same everywhere in the map
    assert ((per_channel > 0) & (per_channel < 1)).all()
    assert not torch.equal(gate(small, large), gate(torch.randn_like(small), large))


@pytest.mark.parametrize("norm", ["batch", "spectral", "none"])
def test_the_discriminator_scores_each_image_and_redraws_it_at_half_size(norm):
    d = FastDiscriminator(64, 3, width=8, norm=norm)
    x = torch.randn(3, 3, 64, 64)
    assert d(x).shape == (3,)
    logits, redrawn = d(x, with_reconstruction=True)
    assert logits.shape == (3,) and redrawn.shape == (3, 3, 32, 32)
    d.eval()
    assert torch.allclose(d(x), d(x, with_reconstruction=True)[0])  # redrawing changes no logit


@pytest.mark.parametrize(("options", "match"), [({"image_size": 28}, "power of two from 32"),
                                                ({"n_classes": 10}, "unconditional"),
                                                ({"minibatch_std": True}, "unconditional"),
                                                ({"reconstruction": -1.0}, "reconstruction must be >= 0"),
                                                ({"upsample": "nearest"}, "not fastgan's")])
def test_the_config_refuses_what_the_networks_cannot_do(options, match):
    with pytest.raises(ValueError, match=match):
        FastGAN.Config(**{"image_size": 32, **options})


def test_d_learns_to_redraw_the_real_images_and_only_the_reals_pay_for_it():
    data = paintings()
    recipe = make()
    stream = data.stream(8, "cpu", seed=0)
    errors = [recipe.step(stream.next())["loss_reconstruction"] for _ in range(60)]
    assert sum(errors[-10:]) / 10 < 0.75 * sum(errors[:10]) / 10
    # G's update never runs the decoder: its gradient reaches no decoder weight
    recipe.optimizers["D"].zero_grad(set_to_none=True)
    fake = recipe.G(recipe.noise(4))
    recipe.g_loss(data.images[:4].float() / 127.5 - 1, fake, None, None, None, {}).backward()
    assert all(p.grad is None for p in recipe.D.decoder.parameters())


def test_without_the_reconstruction_term_the_decoder_is_left_alone():
    data = paintings()
    recipe = make(reconstruction=0.0)
    before = [p.clone() for p in recipe.D.decoder.parameters()]
    logs = recipe.step(data.stream(8, "cpu", seed=0).next())
    assert "loss_reconstruction" not in logs
    assert all(torch.equal(a, b) for a, b in zip(before, recipe.D.decoder.parameters(), strict=True))


def test_its_exported_generator_loads_and_draws_what_the_recipe_draws(tmp_path):
    recipe = make(ema=0.9)
    recipe.step(paintings().stream(8, "cpu", seed=0).next())
    export = recipe.generator_export()
    assert export["class"] == "FastGenerator" and export["recipe"] == "fastgan"
    g = generator_from_export(export, tmp_path / "generator.pt")
    z = torch.randn(4, SMALL["nz"])
    assert torch.allclose(g(z), recipe.sampling_generator.eval()(z))


def test_the_memory_estimate_counts_the_redrawing_of_the_reals(fp32_steps):
    data = paintings(4)
    config = FastGAN.config_for(data, **SMALL)
    estimated = memory.estimate("fastgan", config, 16)
    probed = memory.probe(FastGAN(config), data, 16)
    assert estimated.fixed == probed.fixed
    assert estimated.per_image == pytest.approx(probed.per_image, rel=0.05)
    without = memory.estimate("fastgan", FastGAN.config_for(data, **SMALL, reconstruction=0.0), 16)
    assert without.per_image < estimated.per_image


def test_it_is_a_recipe_of_the_cli_with_dcgans_step():
    assert RECIPES["fastgan"] is FastGAN and issubclass(FastGAN, DCGAN)
    assert FastGAN.step is DCGAN.step and FastGAN.d_loss is DCGAN.d_loss


def test_the_cli_says_in_one_line_which_sizes_it_draws(offline_root, tmp_path, capsys):
    code = main(["train", "--dataset", "mnist", "--recipe", "fastgan", "--allow-stand-in", "--steps", "1",
                 "--no-eval", "--quiet", "--device", "cpu", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "power of two from 32" in err and "Traceback" not in err


def test_the_compute_ladder_trains_its_candidate_with_the_fastgan_recipe(tmp_path):
    from benchmarks.compute_ladder import train_command

    command = train_command("fastgan", 0, 5, tmp_path)
    assert command[command.index("--recipe") + 1] == "fastgan"
    assert "recipe=fastgan" not in command and "upsample=nearest" not in command  # not a --set; not its knob
    nb02 = train_command("nb02", 0, 5, tmp_path)
    assert nb02[nb02.index("--recipe") + 1] == "dcgan" and "upsample=nearest" in nb02
