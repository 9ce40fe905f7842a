"""CycleGAN: image pool, learning-rate schedule, losses, networks, unpaired data, resume, translate command."""

from __future__ import annotations

import copy
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from gancourse.checkpoints import load_translators
from gancourse.cli import main
from gancourse.data import to_uint8, to_unit_range
from gancourse.engine.training import Loop, fit
from gancourse.models.cyclegan import PatchDiscriminator, ResnetGenerator, UnetGenerator
from gancourse.recipes import RECIPES
from gancourse.recipes.cyclegan import CycleGAN, CycleGANConfig, ImagePool, LinearDecayLR
from gancourse.runs import RunDir

from ..helpers import toy_recipe, toy_unpaired, write_monet2photo

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- image pool ---------------------------------------------------------------------------------------

def test_image_pool_returns_new_images_while_filling_then_mixes_in_history():
    torch.manual_seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.0).reshape(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and len(pool) == 4
    seen_old = 0
    for step in range(20):
        new = torch.full((4, 1, 1, 1), 100.0 + step)
        out = pool.query(new)
        assert out.shape == new.shape
        seen_old += int((out != new).sum())
        stored = set(pool.images.flatten().tolist())
        assert len(pool) == 4 and stored <= set(range(4)) | {100.0 + s for s in range(step + 1)}
    assert 10 < seen_old < 70  # about half of the 80 images came from the history


def test_image_pool_of_size_zero_passes_through_and_state_round_trips():
    x = torch.randn(3, 2, 4, 4)
    assert ImagePool(0).query(x) is x
    torch.manual_seed(1)
    pool = ImagePool(5)
    pool.query(torch.randn(7, 2, 4, 4))
    copy = ImagePool(5)
    copy.load_state_dict(pool.state_dict())
    batch = torch.randn(3, 2, 4, 4)
    with torch.random.fork_rng():
        expected = pool.query(batch)
    assert torch.equal(copy.query(batch), expected)
    with pytest.raises(ValueError, match=">= 0"):
        ImagePool(-1)


# -- learning-rate schedule ---------------------------------------------------------------------------

def _lrs(scheduler: LinearDecayLR, optimizer, steps: int) -> list[float]:
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_linear_decay_is_constant_then_falls_linearly_to_zero():
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=1.0)
    rates = _lrs(LinearDecayLR(opt, constant_steps=3, decay_steps=4), opt, 9)
    assert rates[:3] == [1.0, 1.0, 1.0]
    assert rates[3:7] == pytest.approx([0.8, 0.6, 0.4, 0.2])
    assert rates[7:] == [0.0, 0.0]
    opt2 = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=0.5)
    assert _lrs(LinearDecayLR(opt2, 2, 0), opt2, 5) == [0.5] * 5  # decay_steps=0: constant


def test_linear_decay_resumes_from_its_state_dict():
    def fresh():
        opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=1.0)
        return opt, LinearDecayLR(opt, 2, 6)

    opt, sched = fresh()
    straight = _lrs(sched, opt, 8)
    opt, sched = fresh()
    _lrs(sched, opt, 4)
    opt2, sched2 = fresh()
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    assert straight[4:] == _lrs(sched2, opt2, 4)


# -- losses -------------------------------------------------------------------------------------------

class Identity(nn.Module):
    """A 'generator' that returns its input (with one parameter, so an optimiser can hold it)."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x


class Constant(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.tensor(value))

    def forward(self, x):
        return self.value.expand(x.shape[0], 1, 3, 3)


def test_defaults_are_the_reference_settings():
    c = CycleGANConfig()
    assert (c.loss, c.lambda_cycle, c.lambda_identity, c.pool_size) == ("least-squares", 10.0, 0.5, 50)
    assert (c.lr, c.beta1, c.beta2, c.generator, c.n_blocks, c.norm) == (2e-4, 0.5, 0.999, "resnet", 9, "instance")


def test_generator_adversarial_loss_is_the_reference_mse_against_real():
    data = toy_unpaired()
    recipe = toy_recipe(data)
    recipe.G_AB, recipe.G_BA = Identity(), Identity()
    for score, expected in ((1.0, 0.0), (0.0, 2.0), (-1.0, 8.0)):  # sum over the two D of (D(fake) - 1)^2
        recipe.D_A, recipe.D_B = Constant(score), Constant(score)
        with torch.no_grad():
            total, parts, _, _ = recipe.generator_losses(torch.zeros(2, 3, 32, 32), torch.zeros(2, 3, 32, 32))
        assert float(recipe.config.lambda_gan * parts["adversarial"]) == pytest.approx(expected)
        assert float(total) == pytest.approx(expected)  # identity generators: no cycle or identity error


def test_cycle_and_identity_losses_vanish_for_identity_generators_and_grow_otherwise():
    data = toy_unpaired()
    recipe = toy_recipe(data)
    recipe.G_AB, recipe.G_BA = Identity(), Identity()
    recipe.D_A, recipe.D_B = Constant(1.0), Constant(1.0)  # D calls everything real: G's LSGAN loss is 0
    a, b = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    total, parts, fake_a, fake_b = recipe.generator_losses(a, b)
    total, parts = total.detach(), {k: v.detach() for k, v in parts.items()}
    assert float(total) == 0.0 and float(parts["cycle"]) == 0.0 and float(parts["identity"]) == 0.0
    assert torch.equal(fake_a, b) and torch.equal(fake_b, a)
    assert recipe.reconstruction_error(b, "photo2art") == 0.0

    class Darken(Identity):
        def forward(self, x):
            return x - 0.1

    recipe.G_AB = recipe.G_BA = Darken()
    total, parts, _, _ = recipe.generator_losses(a, b)
    total, parts = total.detach(), {k: v.detach() for k, v in parts.items()}
    assert float(parts["cycle"]) == pytest.approx(0.4, abs=1e-5)  # two cycles, each off by 0.2
    assert float(parts["identity"]) == pytest.approx(0.2, abs=1e-5)
    assert recipe.reconstruction_error(b, "photo2art") == pytest.approx(0.2, abs=1e-5)  # darkened twice
    assert float(total) == pytest.approx(10 * 0.4 + 0.5 * 10 * 0.2, abs=1e-4)  # lambda 10, identity 0.5 x 10


def test_discriminator_loss_is_zero_for_a_perfect_d_and_the_reference_weighting_holds():
    data = toy_unpaired()
    recipe = toy_recipe(data)

    class Perfect(nn.Module):  # 1 on the real batch (positive mean), 0 on fakes
        def __init__(self) -> None:
            super().__init__()
            self.p = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return (x.mean(dim=(1, 2, 3), keepdim=True) > 0).float().expand(-1, 1, 2, 2)

    recipe.D_A = recipe.D_B = Perfect()
    real, fake = torch.full((2, 3, 8, 8), 0.5), torch.full((2, 3, 8, 8), -0.5)
    losses = recipe.discriminator_losses(real, real, fake, fake)
    assert float(losses["A"]) == 0.0 and float(losses["B"]) == 0.0
    losses = recipe.discriminator_losses(fake, fake, real, real)  # all wrong: 0.5 * (1 + 1) per D
    assert float(losses["A"]) == pytest.approx(1.0)
    # the reference trains G on MSE(D(fake), 1); LeastSquaresLoss carries LSGAN's 1/2, lambda_gan=2 restores it
    assert recipe.config.lambda_gan * recipe.loss.generator(torch.zeros(4)) == pytest.approx(1.0)


# -- networks -----------------------------------------------------------------------------------------

def test_networks_keep_the_image_shape_and_patchgan_gives_30x30_at_256_px():
    x = torch.randn(1, 3, 256, 256)
    d = PatchDiscriminator(ndf=8)
    assert d(x).shape == (1, 1, 30, 30) and d.receptive_field() == 70
    assert PatchDiscriminator(ndf=8)(torch.randn(2, 3, 128, 128)).shape == (2, 1, 14, 14)
    assert ResnetGenerator(ngf=4, n_blocks=2)(torch.randn(2, 3, 64, 64)).shape == (2, 3, 64, 64)
    unet = UnetGenerator(ngf=4, image_size=256)
    assert unet.config["num_downs"] == 8 and unet(x).shape == x.shape
    assert UnetGenerator(ngf=4, image_size=128)(torch.randn(1, 3, 128, 128)).abs().max() <= 1.0
    with pytest.raises(ValueError, match="divisible by 128"):
        UnetGenerator(ngf=4, image_size=128)(torch.randn(1, 3, 96, 96))
    with pytest.raises(ValueError, match="divisible by 4"):
        ResnetGenerator(ngf=4, n_blocks=1)(torch.randn(1, 3, 30, 30))
    with pytest.raises(ValueError, match="instance, batch, none"):
        ResnetGenerator(norm="layer")


def _doublings(g: ResnetGenerator) -> list[nn.Module]:
    """The decoder's map-doubling layers of ``g``: each transposed convolution, or each resize + pad + conv."""
    layers = list(g.model)
    return ([m for m in layers if isinstance(m, nn.ConvTranspose2d)]
            + [nn.Sequential(*layers[i:i + 3]) for i, m in enumerate(layers) if isinstance(m, nn.Upsample)])


@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
def test_resize_convolution_resnet_generator_has_no_checkerboard_by_construction(upsample):
    g = ResnetGenerator(ngf=4, n_blocks=1, upsample=upsample)
    assert g(torch.randn(2, 3, 32, 48)).shape == (2, 3, 32, 48)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in g.modules())
    assert g.config["upsample"] == upsample and ResnetGenerator(**g.config).config == g.config
    # a constant map stays constant through resize + reflection pad + conv: every output pixel gets the same taps
    doublings = _doublings(g)
    assert len(doublings) == 2
    for layer in doublings:
        width = layer[2].in_channels
        y = layer(torch.ones(1, width, 6, 6))
        assert y.shape == (1, width // 2, 12, 12)
        assert torch.allclose(y, y[..., :1, :1].expand_as(y), atol=1e-6)


def test_transposed_resnet_decoder_is_the_unchanged_default_and_draws_a_checkerboard():
    g = ResnetGenerator(ngf=4, n_blocks=1)
    assert "upsample" not in g.config  # exports made before the option existed load the same
    transposed = _doublings(g)[0]
    y = transposed(torch.ones(1, transposed.in_channels, 6, 6))[..., 2:-2, 2:-2]  # away from the border
    assert not torch.allclose(y[..., 0::2, 0::2], y[..., 1::2, 1::2])  # uneven overlap: a period-2 pattern
    with pytest.raises(ValueError, match="upsample"):
        ResnetGenerator(upsample="pixelshuffle")
    data = toy_unpaired()
    assert CycleGAN.config_for(data).upsample == "transposed"
    recipe = CycleGAN(CycleGAN.config_for(data, ngf=4, n_blocks=1, upsample="nearest"))
    assert not any(isinstance(m, nn.ConvTranspose2d) for g in (recipe.G_AB, recipe.G_BA) for m in g.modules())
    unet = CycleGAN(CycleGAN.config_for(data, generator="unet", ngf=4, upsample="nearest"))  # a resnet option
    assert any(isinstance(m, nn.ConvTranspose2d) for m in unet.G_BA.modules())
    with pytest.raises(ValueError, match="transposed, nearest, bilinear"):
        CycleGAN.config_for(data, upsample="cubic")


def test_residual_generator_starts_as_the_identity_and_then_changes_its_input_in_logit_space():
    torch.manual_seed(0)
    every_level = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16).repeat(1, 3, 1, 2)  # (1, 3, 16, 32)
    x = to_unit_range(every_level)  # includes -1 and +1, where atanh is infinite
    g = ResnetGenerator(ngf=4, n_blocks=1, upsample="nearest", residual=True)
    assert g.config["residual"] is True and ResnetGenerator(**g.config).config == g.config
    assert "residual" not in ResnetGenerator(ngf=4, n_blocks=1).config  # older exports load unchanged
    assert torch.equal(to_uint8(g(x)), every_level)  # untrained: every pixel level comes back as it went in
    with torch.no_grad():  # a trained one adds f(x) to the input's logits, then squashes
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    y, change = g(x), g.model(x)
    assert not torch.equal(to_uint8(y), every_level) and y.abs().max() < 1
    assert torch.allclose(y, torch.tanh(torch.atanh(x.clamp(-0.999, 0.999)) + change), atol=1e-6)


def test_residual_cyclegan_learns_from_its_first_steps_and_exports_a_residual_translator(tmp_path):
    data = toy_unpaired()
    recipe = toy_recipe(data, upsample="nearest", residual=True)
    assert recipe.G_BA.residual and recipe.G_AB.residual
    assert not toy_recipe(data, residual=False).G_BA.residual
    body = list(recipe.G_BA.model)[1].weight.clone()  # the first convolution, behind the zero-initialised last
    stream = data.stream(2, seed=0)
    for _ in range(2):  # the first step moves only the last convolution; from the second the gradient reaches all
        recipe.step(stream.next())
    assert not torch.equal(body, list(recipe.G_BA.model)[1].weight)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert not torch.allclose(recipe.translate(x, "photo2art"), x, atol=1e-3)
    result = fit(recipe, data, tmp_path / "run", Loop(steps=3, batch_size=2), progress=False)
    translators = load_translators(result.run.generator_path)
    assert translators["photo2art"].residual
    assert torch.allclose(translators["photo2art"](x), recipe.translate(x, "photo2art"), atol=1e-6)


def test_config_rejects_bad_choices_with_the_allowed_values():
    data = toy_unpaired()
    with pytest.raises(ValueError, match="resnet, unet"):
        CycleGAN.config_for(data, generator="vgg")
    with pytest.raises(TypeError, match="its options"):
        CycleGAN.config_for(data, n_block=3)
    with pytest.raises(ValueError, match="d_norm must be one of instance, batch, none"):
        CycleGAN.config_for(data, d_norm="layer")
    config = CycleGAN.config_for(data)
    assert (config.image_size, config.domain_a, config.domain_b) == (32, "art", "photo")
    assert RECIPES["cyclegan"] is CycleGAN


def test_discriminators_take_their_own_norm_or_the_generators():
    data = toy_unpaired()

    def has_instance_norm(m: nn.Module) -> bool:
        return any(isinstance(x, nn.InstanceNorm2d) for x in m.modules())

    same = toy_recipe(data)
    assert has_instance_norm(same.D_A) and has_instance_norm(same.G_BA)
    own = toy_recipe(data, d_norm="none")
    assert not has_instance_norm(own.D_A) and not has_instance_norm(own.D_B) and has_instance_norm(own.G_BA)


# -- unpaired data ------------------------------------------------------------------------------------


# -- curation -----------------------------------------------------------------------------------------


# -- training, resume, export, translate ---------------------------------------------------------------

@pytest.mark.parametrize("generator", ["resnet", "unet"])
def test_a_step_updates_all_four_networks_with_finite_losses(generator):
    data = toy_unpaired()
    recipe = toy_recipe(data, generator=generator)
    assert type(recipe.G_BA).__name__ == {"resnet": "ResnetGenerator", "unet": "UnetGenerator"}[generator]
    before = {k: [p.clone() for p in m.parameters()] for k, m in recipe.modules.items()}
    scalars = recipe.step(data.stream(2, seed=0).next())
    assert all(np.isfinite(v) for v in scalars.values())
    assert {"loss_g", "loss_d", "loss_cycle", "loss_identity", "loss_adversarial", "lr"} <= set(scalars)
    for name, module in recipe.modules.items():
        assert any(not torch.equal(p, q) for p, q in zip(before[name], module.parameters(), strict=True)), name
    assert all(p.requires_grad for p in recipe.D_A.parameters())


def test_ema_of_both_generators_follows_the_formula_and_is_what_translates_and_is_exported(tmp_path):
    data = toy_unpaired()
    half_life = 3.0  # images; batch 2 -> beta = 0.5 ** (2 / 3)
    recipe = toy_recipe(data, ema=half_life)
    beta = 0.5 ** (2 / half_life)
    expected = {k: [p.detach().clone() for p in recipe.modules[k].parameters()] for k in ("G_AB", "G_BA")}
    stream = data.stream(2, seed=0)
    for _ in range(3):
        recipe.step(stream.next())
        for k, average in expected.items():
            for avg, p in zip(average, recipe.modules[k].parameters(), strict=True):
                avg.mul_(beta).add_(p.detach(), alpha=1 - beta)
    for k, average in expected.items():
        ema_params = list(recipe.averages[k].model.parameters())
        assert all(torch.allclose(a, e, atol=1e-6) for a, e in zip(ema_params, average, strict=True)), k
        assert not all(torch.equal(a, p) for a, p in zip(ema_params, recipe.modules[k].parameters(), strict=True))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(recipe.translate(x, "photo2art"), recipe.averages["G_BA"].model(x))
        assert not torch.equal(recipe.translate(x, "photo2art"), recipe.G_BA.eval()(x))
    assert recipe.directions["art2photo"] is recipe.averages["G_AB"].model
    export = recipe.generator_export()
    assert export["ema"] and not toy_recipe(data).generator_export()["ema"]
    for key, value in recipe.averages["G_BA"].model.state_dict().items():
        assert torch.equal(export["state_dict"][key], value)
    with pytest.raises(ValueError, match="ema must be 0"):
        CycleGAN.config_for(data, ema=-1)


def test_a_deep_copy_trains_on_its_own_schedule_without_warnings_and_leaves_the_original_untouched():
    data = toy_unpaired()
    stream = data.stream(2, seed=0)
    for steps_before in (0, 2):  # a fresh recipe (the memory probe's case), and one into its decay
        recipe = toy_recipe(data, constant_steps=1, decay_steps=4)
        for _ in range(steps_before):
            recipe.step(stream.next())
        before = {k: [p.detach().clone() for p in m.parameters()] for k, m in recipe.modules.items()}
        rate, epoch = recipe.optimizers["G"].param_groups[0]["lr"], recipe.schedulers["G"].last_epoch
        clone = copy.deepcopy(recipe)
        assert clone.optimizers["G"].param_groups[0]["lr"] == rate and clone.schedulers["G"].last_epoch == epoch
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # torch warns if a scheduler's first step finds its optimizer unwrapped
            clone.step(stream.next())
        for name, module in recipe.modules.items():
            assert all(torch.equal(p, q) for p, q in zip(before[name], module.parameters(), strict=True)), name
            assert any(not torch.equal(p, q) for p, q in zip(before[name], clone.modules[name].parameters(),
                                                            strict=True)), name
        assert recipe.schedulers["G"].last_epoch == epoch and clone.schedulers["G"].last_epoch == epoch + 1
        assert recipe.optimizers["G"].param_groups[0]["lr"] == rate


def _fit(tmp_path, name, steps, data, **options):
    recipe = toy_recipe(data, constant_steps=3, decay_steps=4, pool_size=3, **options)
    result = fit(recipe, data, tmp_path / name, Loop(steps=steps, batch_size=2, flip=True, sample_every=3, log_every=1),
                 progress=False)
    return recipe, result


@pytest.mark.parametrize("options", [{}, {"ema": 4.0, "residual": True, "upsample": "nearest"}],
                         ids=["reference", "ema-residual"])
def test_resume_is_bit_for_bit_identical_including_pools_and_schedule(tmp_path, options):
    data = toy_unpaired()
    straight, straight_result = _fit(tmp_path, "straight", 7, data, **options)
    _fit(tmp_path, "resumed", 4, data, **options)
    resumed, resumed_result = _fit(tmp_path, "resumed", 7, data, **options)
    for name, module in straight.modules.items():
        for key, value in module.state_dict().items():
            assert torch.equal(value, resumed.modules[name].state_dict()[key]), f"{name}.{key} differs"
    for name, average in straight.averages.items():
        for key, value in average.state_dict().items():
            assert torch.equal(value, resumed.averages[name].state_dict()[key]), f"EMA of {name}.{key} differs"
    for key in ("A", "B"):
        assert torch.equal(straight.pools[key].images, resumed.pools[key].images)
    drop_time = [{k: v for k, v in r.items() if k != "time"} for r in straight_result.run.losses()]
    assert drop_time == [{k: v for k, v in r.items() if k != "time"} for r in resumed_result.run.losses()]
    assert [r["lr"] for r in drop_time] == pytest.approx([2e-4] * 3 + [1.6e-4, 1.2e-4, 0.8e-4, 0.4e-4])


def test_export_holds_both_directions_and_translate_writes_images(tmp_path, capsys):
    data = toy_unpaired()
    recipe, result = _fit(tmp_path, "run", 2, data)
    with Image.open(sorted(result.run.samples_dir.glob("*.png"))[-1]) as grid:
        assert grid.size == (1 + 8 * 33, 1 + 6 * 33)  # 8 columns of 32 px (+1 padding), 6 rows
    translators = load_translators(result.run.generator_path)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert set(translators) == {"photo2art", "art2photo"}
    assert torch.allclose(translators["photo2art"](x), recipe.translate(x, "photo2art"), atol=1e-6)

    # a fresh process that never imported the CycleGAN recipe reads the export too
    fresh = subprocess.run([sys.executable, "-c", "import sys; from gancourse.checkpoints import load_translators; "
                            "print(sorted(load_translators(sys.argv[1])))", str(result.run.generator_path)],
                           capture_output=True, text=True)
    assert fresh.returncode == 0 and fresh.stdout.strip() == "['art2photo', 'photo2art']", fresh.stderr

    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((50, 70, 3), 90, np.uint8)).save(photo)
    out = tmp_path / "out"
    assert main(["translate", str(result.run.path), str(photo), "--out", str(out)]) == 0
    written = out / "photo_photo2art.png"
    with Image.open(written) as image:
        assert image.size == (32, 32)
    assert main(["translate", str(result.run.path), str(photo), "--out", str(out), "--direction", "art2photo",
                 "--size", "48", "--side-by-side"]) == 0
    with Image.open(out / "photo_art2photo.png") as image:
        assert image.size == (96, 48)
    assert main(["translate", str(result.run.path), str(photo), "--direction", "sideways"]) == 2
    assert "choose one of photo2art, art2photo" in capsys.readouterr().err
    assert main(["translate", str(result.run.path), str(tmp_path / "missing.jpg")]) == 2
    assert "no such image file or folder" in capsys.readouterr().err


# -- metrics ------------------------------------------------------------------------------------------


# -- widget -------------------------------------------------------------------------------------------


# -- command line: train, then translate --------------------------------------------------------------

def test_cli_trains_on_monet2photo_and_translates_photos_to_monet(tmp_data_root, tmp_path, capsys):
    base = write_monet2photo(tmp_data_root)
    run_dir, out = tmp_path / "run", tmp_path / "monets"
    tiny = ["--set", "ngf=4", "--set", "n_blocks=1", "--set", "ndf=4"]
    assert main(["train", "--recipe", "cyclegan", "--dataset", "monet2photo", "--data-option", "size=32",
                 "--steps", "3", "--batch-size", "1", "--flip", "--no-eval", "--quiet", "--out", str(run_dir),
                 *tiny]) == 0
    assert "steps: 3" in capsys.readouterr().out
    config = RunDir(run_dir).read_config()
    assert config["recipe"] == "cyclegan" and config["dataset"] == "monet2photo"
    assert config["recipe_config"]["domain_a"] == "monet" and config["recipe_config"]["image_size"] == 32
    assert RunDir(run_dir).generator_path.is_file() and RunDir(run_dir).sample_paths()

    photos = [str(base / "testB" / "p_test0.jpg"), str(base / "testB" / "p_test1.jpg")]
    assert main(["translate", str(run_dir), *photos, "--direction", "photo2monet", "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["p_test0_photo2monet.png", "p_test1_photo2monet.png"]
    with Image.open(out / written[0]) as image:
        assert image.size == (32, 32) and image.mode == "RGB"
    assert main(["translate", str(run_dir), str(base / "testA"), "--direction", "monet2photo", "--out",
                 str(out)]) == 0  # a folder of images
    assert (out / "m_test1_monet2photo.png").is_file()
    assert main(["translate", str(run_dir), *photos, "--direction", "photo2van_gogh"]) == 2
    assert "choose one of photo2monet, monet2photo" in capsys.readouterr().err


def test_cyclegan_optimizer_knob_builds_that_optimizer():
    small = dict(image_size=16, ngf=4, n_blocks=1, ndf=4, d_layers=1)
    for name, kind in [("adam", torch.optim.Adam), ("rmsprop", torch.optim.RMSprop)]:
        recipe = CycleGAN(CycleGANConfig(optimizer=name, lr=4e-4, **small))
        assert all(isinstance(o, kind) and o.param_groups[0]["lr"] == 4e-4 for o in recipe.optimizers.values())
    with pytest.raises(ValueError, match="optimizer must be one of adam, rmsprop"):
        CycleGANConfig(optimizer="sgd", **small)

    data = toy_unpaired()
    recipe = toy_recipe(data, optimizer="rmsprop", lr=1e-4)
    before = [p.clone() for p in recipe.G_AB.parameters()]
    scalars = recipe.step(data.stream(2, seed=0).next())  # one RMSprop step trains
    assert all(np.isfinite(v) for v in scalars.values()) and scalars["lr"] == pytest.approx(1e-4)
    assert any(not torch.equal(p, q) for p, q in zip(before, recipe.G_AB.parameters(), strict=True))
