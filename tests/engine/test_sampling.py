import pytest
import torch

from gancourse.engine.sampling import GeneratorSampler, sample_generator
from gancourse.errors import UserError
from gancourse.models import Generator
from gancourse.models.cyclegan import ResnetGenerator
from gancourse.recipes import RECIPES

from ..helpers import blob_images


def small_generator(n_classes: int = 0) -> Generator:
    torch.manual_seed(0)
    return Generator(image_size=16, channels=1, nz=8, width=8, n_classes=n_classes).eval()


def test_the_same_seed_gives_the_same_images_whatever_the_chunk_size():
    g = small_generator()
    a = sample_generator(g, 10, seed=3, batch_size=4)
    b = sample_generator(g, 10, seed=3, batch_size=10)
    assert a.shape == (10, 1, 16, 16) and a.dtype == torch.float32
    assert torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, sample_generator(g, 10, seed=4))


def test_a_conditional_generator_cycles_through_its_classes_unless_told():
    g = small_generator(n_classes=3)
    cycled = sample_generator(g, 6, seed=0)
    asked = sample_generator(g, 6, seed=0, labels=torch.tensor([0, 1, 2, 0, 1, 2]))
    only_ones = sample_generator(g, 6, seed=0, labels=torch.ones(6, dtype=torch.long))
    assert torch.allclose(cycled, asked)
    assert not torch.allclose(cycled, only_ones)


def test_an_image_translator_is_refused_with_the_command_to_use():
    with pytest.raises(UserError, match="gancourse translate"):
        sample_generator(ResnetGenerator(channels=3, ngf=4, n_blocks=1), 2)


def test_an_exported_generator_sees_the_noise_its_recipe_saw():
    """Scoring the export of a run (gancourse eval) draws the same images as scoring its recipe."""
    cls = RECIPES["dcgan"]
    recipe = cls(cls.config_for(blob_images(32), g_width=8, d_width=8, nz=8))
    from_recipe = recipe.sample(5, generator=torch.Generator().manual_seed(1))
    from_export = GeneratorSampler(recipe.G).sample(5, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(from_recipe, from_export, atol=1e-6)
