import pytest
import torch

from gancourse.data import Batch
from gancourse.recipes import DCGAN, GANConfig
from gancourse.recipes.augment import POLICIES, DiffAugment, cutout, parse_policy, translation
from gancourse.recipes.cyclegan import CycleGAN, CycleGANConfig

ALL = "color,translation,cutout"


def images(b=4, c=3, s=16, seed=0):
    return torch.rand(b, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("policy", [*POLICIES, ALL])
def test_gradient_flows_through_every_transform(policy):
    x = images().requires_grad_(True)
    DiffAugment(policy)(x).square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_empty_policy_is_the_identity_and_falsy():
    x = images()
    augment = DiffAugment("")
    assert not augment and augment(x) is x
    recipe = DCGAN(GANConfig(image_size=16, channels=3, nz=8, g_width=8, d_width=8))
    assert recipe.seen_by_d(x) is x  # knob off: not even a copy


def test_every_call_draws_fresh_parameters_per_image():
    x = images(b=8)
    augment = DiffAugment(ALL)
    torch.manual_seed(0)
    a, b = augment(x), augment(x)
    assert not torch.equal(a, b)
    torch.manual_seed(0)
    assert torch.equal(augment(x), a)  # the global generator (checkpointed) fixes the draws
    same = augment(x[:1].expand(8, -1, -1, -1).contiguous())
    assert not all(torch.equal(same[0], same[i]) for i in range(1, 8))  # per image, not per batch


def test_translation_moves_pixels_and_fills_with_zero():
    torch.manual_seed(0)
    x = torch.arange(1, 16 * 16 + 1, dtype=torch.float).reshape(1, 1, 16, 16).repeat(32, 1, 1, 1)
    y = translation(x)
    for out in y:
        values = out[out != 0]
        assert set(values.tolist()) <= set(x[0].flatten().tolist())
        # a shifted grid: neighbours along a row still differ by 1, along a column by 16
        rows = out[0]
        inner = rows[(rows[:, 1:] != 0).any(1)]
        assert ((inner[:, 1:] - inner[:, :-1])[(inner[:, 1:] != 0) & (inner[:, :-1] != 0)] == 1).all()
    shifts = {int((y[i] == 0).sum()) for i in range(32)}
    assert len(shifts) > 1 and max(shifts) <= 16 * 16 - 14 * 14  # at most 2 of 16 rows and columns (1/8)


def test_cutout_zeroes_one_square_of_half_the_size_at_most():
    torch.manual_seed(0)
    y = cutout(torch.ones(64, 3, 16, 16))
    zeros = (y[:, 0] == 0).sum(dim=(1, 2))
    assert (zeros > 0).all() and (zeros <= 64).all() and (zeros == 64).any()
    assert torch.equal(y[:, 0], y[:, 1])  # the same hole in every channel


def test_unknown_transform_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="color"):
        parse_policy("colour")
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        GANConfig(diffaugment="translation,rotate")
    assert parse_policy(" color , cutout ") == ("color", "cutout")


class Spy:
    """Records every batch given to the augmentation and applies ``fn``."""

    def __init__(self, fn=lambda x: x):
        self.seen, self.fn = [], fn

    def __bool__(self):
        return True

    def __call__(self, x):
        self.seen.append(x.detach().clone())
        return self.fn(x)


def test_dcgan_augments_real_and_fake_in_both_updates():
    torch.manual_seed(0)
    recipe = DCGAN(GANConfig(image_size=16, channels=3, nz=8, g_width=8, d_width=8, diffaugment=ALL))
    spy = recipe.augment = Spy(recipe.augment)
    real = images(b=8)
    recipe.step(Batch(real, None))
    assert len(spy.seen) == 3  # real and fake in D's update, fake in G's
    assert torch.equal(spy.seen[0], real)
    assert torch.equal(spy.seen[1], spy.seen[2]) and not torch.equal(spy.seen[1], real)


def test_cgan_augments_real_and_fake_in_both_updates():
    from gancourse.recipes import CGAN
    from gancourse.recipes.cgan import CGANConfig

    torch.manual_seed(0)
    recipe = CGAN(CGANConfig(image_size=16, channels=3, nz=8, g_width=8, d_width=8, n_classes=3, diffaugment=ALL))
    spy = recipe.augment = Spy(recipe.augment)
    real = images(b=8)
    recipe.step(Batch(real, torch.arange(8) % 3))
    assert len(spy.seen) == 3 and torch.equal(spy.seen[0], real)  # real and fake in D's update, fake in G's
    assert torch.equal(spy.seen[1], spy.seen[2])


def test_relativistic_g_update_augments_the_real_batch_too():
    torch.manual_seed(0)
    recipe = DCGAN(GANConfig(image_size=16, channels=3, nz=8, g_width=8, d_width=8, diffaugment=ALL,
                             loss="relativistic"))
    spy = recipe.augment = Spy(recipe.augment)
    real = images(b=8)
    recipe.step(Batch(real, None))
    assert len(spy.seen) == 4 and torch.equal(spy.seen[3], real)  # G's fakes are scored against T(real)


def test_g_learns_through_the_augmentation():
    # An augmentation that erases everything leaves D's verdict on fakes independent of G: G gets no gradient.
    torch.manual_seed(0)
    recipe = DCGAN(GANConfig(image_size=16, channels=3, nz=8, g_width=8, d_width=8, d_norm="none", diffaugment=ALL))
    recipe.augment = Spy(lambda x: x * 0)
    before = [p.detach().clone() for p in recipe.G.parameters()]
    recipe.step(Batch(images(b=8), None))
    assert all(torch.equal(a, p) for a, p in zip(before, recipe.G.parameters(), strict=True))
    recipe.augment = Spy()  # the identity: now G moves
    recipe.step(Batch(images(b=8), None))
    assert any(not torch.equal(a, p) for a, p in zip(before, recipe.G.parameters(), strict=True))


def test_wgan_critic_and_generator_see_augmented_images():
    from gancourse.recipes import WGANGP, WGANGPConfig

    torch.manual_seed(0)
    recipe = WGANGP(WGANGPConfig(image_size=16, channels=3, nz=8, g_width=8, d_width=8, n_critic=2,
                                 track_grad_norm=False, diffaugment=ALL))
    spy = recipe.augment = Spy(recipe.augment)
    recipe.step(Batch(images(b=8), None))
    assert len(spy.seen) == 2 * 2 + 1  # real and fake per critic update, fake in G's update


def test_cyclegan_discriminators_see_augmented_images():
    from types import SimpleNamespace

    torch.manual_seed(0)
    config = CycleGANConfig(image_size=16, ngf=4, n_blocks=1, ndf=4, d_layers=2, pool_size=0, diffaugment=ALL)
    recipe = CycleGAN(config)
    spy = recipe.augment = Spy(recipe.augment)
    recipe.step(SimpleNamespace(a=images(b=2), b=images(b=2, seed=1)))
    assert len(spy.seen) == 2 + 4  # fakes in G's update; real and fake of each domain in D's
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        CycleGANConfig(diffaugment="zoom")


def test_a_policy_given_as_a_list_is_stored_as_a_string():
    # the command line's --set diffaugment=color,cutout arrives as a list
    assert GANConfig(diffaugment=["color", "cutout"]).diffaugment == "color,cutout"
    assert CycleGANConfig(diffaugment=["translation"]).diffaugment == "translation"
