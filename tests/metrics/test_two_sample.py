import pytest
import torch
import torch.nn.functional as F

from gancourse.metrics.two_sample import palette_matched, two_sample_accuracy, without_palette


def smooth_images(n: int, generator: torch.Generator, brightness: float = 0.0) -> torch.Tensor:
    """Landscape-like stand-ins: 4x4 random colour fields, upsampled to 16 px, around ``brightness``."""
    coarse = torch.rand(n, 3, 4, 4, generator=generator) * 0.8 - 0.4
    return (F.interpolate(coarse, size=(16, 16), mode="bilinear", align_corners=False) + brightness).clamp(-1, 1)


def with_strokes(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The same images with a fine random texture laid over them: what a palette change leaves alone."""
    return (images + (torch.rand(images.shape, generator=generator) - 0.5) * 0.4).clamp(-1, 1)


def test_two_sample_test_is_at_chance_on_one_distribution_and_separates_two():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(96, 3, 16, 16, generator=g) * 2 - 1, torch.rand(96, 3, 16, 16, generator=g) * 2 - 1
    same = two_sample_accuracy(a, b, folds=3, epochs=15, seed=0)
    grid = ((torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 0.6 - 0.3)
    different = two_sample_accuracy(a, (b * 0.5 + grid).clamp(-1, 1), folds=3, epochs=15, seed=0)
    assert 0.3 < same["c2st_acc"] < 0.7
    assert different["c2st_acc"] > 0.9
    state = torch.get_rng_state()
    two_sample_accuracy(a, b, folds=2, epochs=1, seed=1)
    assert torch.equal(state, torch.get_rng_state())  # leaves the caller's randomness alone
    with pytest.raises(ValueError, match="folds"):
        two_sample_accuracy(a[:3], b[:3], folds=4)


def test_without_palette_removes_each_images_colours_and_brightness_and_keeps_its_texture():
    g = torch.Generator().manual_seed(1)
    images = with_strokes(smooth_images(4, g), g)
    recoloured = images * torch.tensor([0.9, 1.0, 1.1])[:, None, None] + 0.1  # a colour cast and a lightening
    assert torch.allclose(without_palette(images), without_palette(recoloured), atol=0.1)
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert without_palette(flat).abs().max() < 1e-6  # a flat image stays flat, its noise not blown up
    assert not torch.allclose(without_palette(images[:1]), without_palette(smooth_images(1, g)), atol=0.5)


@pytest.mark.parametrize("palette", [True, False])
def test_both_views_separate_noise_from_images_and_not_two_halves_of_one_set(palette):
    g = torch.Generator().manual_seed(2)
    images = smooth_images(192, g)
    noise = torch.rand(96, 3, 16, 16, generator=g) * 2 - 1
    different = two_sample_accuracy(images[:96], noise, folds=3, epochs=10, seed=0, palette=palette)
    halves = two_sample_accuracy(images[:96], images[96:], folds=3, epochs=10, seed=0, palette=palette)
    assert different["c2st_acc"] >= 0.9
    assert abs(halves["c2st_acc"] - 0.5) < max(0.1, 2 * halves["c2st_std"])


def test_a_brightness_shift_alone_moves_set_a_no_closer_to_set_b_in_the_texture_view():
    # A: dark, with fine strokes; B: bright and smooth. Lightening A to B's level leaves its strokes, and the
    # texture view must still see them as far off (notebook 06's lighter photos were not Monets). The default
    # view scores the lightened A at 0.5 here: it learnt the brightness and never the strokes
    g = torch.Generator().manual_seed(3)
    a = with_strokes(smooth_images(96, g, brightness=-0.3), g)
    b = smooth_images(96, g, brightness=0.2)
    lightened = (a + 0.5).clamp(-1, 1)
    kwargs = {"folds": 3, "epochs": 10, "seed": 0, "palette": False}
    as_is, shifted = two_sample_accuracy(a, b, **kwargs), two_sample_accuracy(lightened, b, **kwargs)
    assert as_is["c2st_acc"] > 0.8
    assert shifted["c2st_acc"] >= as_is["c2st_acc"] - max(0.05, 2 * as_is["c2st_std"])
    # and it tells the lightened A from A only weakly: the texture is the same
    same_texture = two_sample_accuracy(a[:48], lightened[48:], **kwargs)
    assert same_texture["c2st_acc"] < 0.7


def test_palette_matched_moves_every_colour_to_the_targets_and_keeps_the_order_of_the_pixels():
    g = torch.Generator().manual_seed(4)
    photos = torch.randint(0, 160, (20, 3, 8, 8), generator=g, dtype=torch.uint8)  # dark
    paintings = torch.randint(90, 256, (30, 3, 8, 8), generator=g, dtype=torch.uint8)  # bright
    matched = palette_matched(photos, paintings)
    assert matched.dtype == torch.uint8 and matched.shape == photos.shape
    for c in range(3):  # each channel's quantiles now are the paintings'
        q = torch.tensor([0.1, 0.5, 0.9])
        got, want = (torch.quantile(x[:, c].float().flatten(), q) for x in (matched, paintings))
        assert torch.allclose(got, want, atol=6)
        source, moved = photos[:, c].flatten().float(), matched[:, c].flatten().float()
        brighter = source[:, None] < source[None, :]
        assert (moved[:, None] <= moved[None, :])[brighter].all()  # one monotone table: no texture reordered
    as_floats = palette_matched(photos.float() / 127.5 - 1, paintings.float() / 127.5 - 1)
    assert torch.equal(as_floats, matched)  # [-1, 1] floats, as a generator gives them, are read the same
