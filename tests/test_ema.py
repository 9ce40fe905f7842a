import pytest
import torch

from gancourse.checkpoints import load_generator
from gancourse.data import Batch
from gancourse.ema import EMA, ema_beta
from gancourse.recipes import DCGAN, GANConfig

from .engine.test_training import run


def small(**options):
    torch.manual_seed(0)
    return DCGAN(GANConfig(image_size=16, channels=3, nz=8, g_width=8, d_width=8, **options))


def batch(seed):
    return Batch(torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1, None)


def test_beta_from_a_decay_or_a_half_life_in_images():
    assert ema_beta(0.99, 32) == 0.99
    assert ema_beta(10_000, 32) == pytest.approx(0.5 ** (32 / 10_000))
    assert ema_beta(64, 32) ** 2 == pytest.approx(0.5)  # two steps of 32 images: one half-life
    with pytest.raises(ValueError, match="ema"):
        GANConfig(ema=-1)


@pytest.mark.parametrize("ema", [0.7, 20.0])
def test_ema_weights_after_k_steps_match_the_formula(ema):
    recipe = small(ema=ema)
    beta = ema_beta(ema, 8)
    expected = [p.detach().clone() for p in recipe.G.parameters()]  # the average starts at G's initial weights
    for k in range(4):
        recipe.step(batch(k))
        expected = [beta * e + (1 - beta) * p.detach() for e, p in zip(expected, recipe.G.parameters(), strict=True)]
    got = list(recipe.G_ema.model.parameters())
    assert all(torch.allclose(e, g, atol=1e-6, rtol=1e-5) for e, g in zip(expected, got, strict=True))
    assert not all(torch.equal(g, p) for g, p in zip(got, recipe.G.parameters(), strict=True))
    for b_ema, b in zip(recipe.G_ema.model.buffers(), recipe.G.buffers(), strict=True):
        assert torch.equal(b_ema, b)  # batch-norm statistics are copied, not averaged


def test_the_ema_generator_is_sampled_and_exported(tmp_path):
    recipe = small(ema=0.5)
    for k in range(3):
        recipe.step(batch(k))
    fixed = recipe.fixed_inputs(4)
    recipe.G_ema.model.eval()
    with torch.no_grad():
        by_ema = recipe.G_ema.model(fixed["z"])
        by_g = recipe.G.eval()(fixed["z"])
    recipe.G.train()
    assert torch.equal(recipe.sample_fixed(fixed), by_ema) and not torch.allclose(by_ema, by_g)
    export = recipe.generator_export()
    assert export["ema"] is True
    from gancourse.checkpoints import export_generator

    export_generator(export, tmp_path / "g.pt")
    with torch.no_grad():
        assert torch.equal(load_generator(tmp_path / "g.pt")(fixed["z"]), by_ema)
    assert recipe.G.training and not recipe.G_ema.model.training


def test_ema_copy_has_no_gradients_and_no_optimizer():
    recipe = small(ema=0.9)
    assert not any(p.requires_grad for p in recipe.G_ema.model.parameters())
    assert set(recipe.modules) == {"G", "D"}  # not trained, not wrapped by DDP
    assert isinstance(recipe.G_ema, EMA)
    assert small().G_ema is None and "ema" not in small().state_dict()


def test_resume_with_ema_and_diffaugment_is_bit_for_bit(tmp_path):
    knobs = dict(ema=100.0, diffaugment="color,translation,cutout", r1=1.0, r2=1.0, loss="relativistic", d_norm="none",
                 penalty_every=4, upsample="nearest")  # the lazy penalties count D updates across the resume
    straight, _ = run(tmp_path, "straight", 30, **knobs)
    run(tmp_path, "resumed", 17, **knobs)
    resumed, _ = run(tmp_path, "resumed", 30, **knobs)
    for key, value in straight.G_ema.state_dict().items():
        assert torch.equal(value, resumed.G_ema.state_dict()[key]), f"G_ema.{key} differs"
    for key, value in straight.G.state_dict().items():
        assert torch.equal(value, resumed.G.state_dict()[key])


def test_generators_of_run_rebuilds_g_and_its_average(tmp_path):
    from gancourse.ema import generators_of_run

    recipe, result = run(tmp_path, "r", 6, ema=0.5)
    pair = generators_of_run(result.run.path)
    z = torch.randn(3, 8)
    with torch.no_grad():
        assert torch.equal(pair["EMA of G"](z), recipe.G_ema.model.eval()(z))
        assert torch.equal(pair["G"](z), recipe.G.eval()(z))
    _, plain = run(tmp_path, "plain", 2)
    with pytest.raises(ValueError, match="without ema"):
        generators_of_run(plain.run.path)


def test_cgan_average_starts_from_its_initialised_generator():
    from gancourse.recipes import CGAN
    from gancourse.recipes.cgan import CGANConfig

    torch.manual_seed(0)
    recipe = CGAN(CGANConfig(image_size=16, channels=1, n_classes=3, nz=8, g_width=8, d_width=8, ema=0.9,
                             diffaugment="translation"))
    for avg, p in zip(recipe.G_ema.model.parameters(), recipe.G.parameters(), strict=True):
        assert torch.equal(avg, p)
    labels = torch.tensor([0, 1, 2, 0])
    logs = recipe.step(Batch(torch.rand(4, 1, 16, 16) * 2 - 1, labels))
    assert "cls_d" in logs and recipe.sample_class(1, 2).shape == (2, 1, 16, 16)
