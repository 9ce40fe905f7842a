"""Notebook 06's translation picker (gancourse.lessons.translation_picker)."""

from __future__ import annotations

import pytest
import torch

from gancourse.data import ImageSet
from gancourse.data.unpaired import UnpairedSet
from gancourse.devices import seed_everything
from gancourse.recipes.cyclegan import CycleGAN

TINY = {"ngf": 4, "n_blocks": 1, "ndf": 4}


def toy_unpaired(n: int = 12, size: int = 36, crop: int = 32, seed: int = 0) -> UnpairedSet:
    """Reddish noisy 'paintings' (A) and bluish 'photos' (B); preview images at the crop size."""
    g = torch.Generator().manual_seed(seed)

    def domain(name: str, channel: int, count: int, side: int) -> ImageSet:
        images = torch.randint(0, 90, (count, 3, side, side), generator=g, dtype=torch.uint8)
        images[:, channel] += 150
        return ImageSet(name, images)

    preview = UnpairedSet("toy", domain("a", 0, 4, crop), domain("b", 2, 5, crop), ("art", "photo"))
    return UnpairedSet("toy", domain("a", 0, n, size), domain("b", 2, n + 3, size), ("art", "photo"),
                       crop=crop, preview=preview)


def toy_recipe(data: UnpairedSet, **options) -> CycleGAN:
    seed_everything(0)
    return CycleGAN(CycleGAN.config_for(data, **(TINY | options)))


def test_translation_picker_builds_its_widget_and_static_view_without_a_frontend():
    import matplotlib.pyplot as plt

    from gancourse.lessons.translation_picker import TranslationPicker

    data = toy_unpaired()
    picker = TranslationPicker.from_recipe(toy_recipe(data), data)
    assert picker.row("photo", 4).shape == (3, 3, 32, 32)
    with pytest.raises(ValueError, match="images 0..3"):
        picker.row("art", 4)
    box = picker.widget()
    first = box.controls["image"].value
    box.controls["index"].value = 2
    assert box.controls["image"].value != first and "photo #2" in box.controls["caption"].value
    box.controls["domain"].value = "art"
    assert box.controls["index"].max == 3 and box.controls["caption"].value.startswith("art #")
    figure = picker.show()  # no frontend under pytest: the static table
    assert len(figure.axes) == 18
    plt.close(figure)
