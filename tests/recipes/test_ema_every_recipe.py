"""Every recipe's EMA follows its generator: what is sampled, scored and exported is the average of G.

A recipe that writes its own step and forgets ``update_ema`` would export a generator stuck at its initial
weights; this runs each recipe in ``RECIPES`` with a fast average and checks that it stays close to G.
"""

from __future__ import annotations

import copy

import pytest
import torch

from gancourse.data import BatchStream, ImageSet
from gancourse.devices import seed_everything
from gancourse.recipes import RECIPES

from ..helpers import toy_recipe, toy_unpaired

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS, DECAY = 40, 0.5  # a per-step decay of 0.5: after 40 steps the average is G's last few steps
LR = 2e-3  # fast enough that G moves far from where it started: an average stuck there is easy to tell


def labelled_toy(n: int = 64, classes: int = 4) -> ImageSet:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 16, 16), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % classes
    return ImageSet("toy", images, labels, [f"c{k}" for k in range(classes)])


def unlabelled_toy(n: int = 64) -> ImageSet:
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    return ImageSet("toy", images)


def relative_distance(average: torch.nn.Module, live: torch.nn.Module) -> float:
    a = torch.cat([p.detach().flatten() for p in average.parameters()])
    b = torch.cat([p.detach().flatten() for p in live.parameters()])
    return float((a - b).norm() / b.norm())


def trained(name: str) -> list[tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module]]:
    """Train recipe ``name`` for STEPS steps with the EMA on; (exported, live, initial) generator triples."""
    if name == "cyclegan":
        data = toy_unpaired()
        recipe = toy_recipe(data, ema=DECAY, lr=LR)
        stream = data.stream(4, seed=0)
        live = [recipe.G_AB, recipe.G_BA]
    else:
        data = unlabelled_toy() if name == "fastgan" else labelled_toy()  # fastgan: unconditional, 32 px at least
        seed_everything(0)
        cls = RECIPES[name]
        recipe = cls(cls.config_for(data, ema=DECAY, g_width=8, d_width=8, nz=8, lr_g=LR, lr_d=LR))
        stream = BatchStream(data, 8, seed=0)
        live = [recipe.G]
    initial = [copy.deepcopy(g) for g in live]
    for _ in range(STEPS):
        recipe.step(stream.next())
    exported = [recipe.averages[k].model for k in ("G_AB", "G_BA")] if name == "cyclegan" else [
        recipe.sampling_generator]
    return list(zip(exported, live, initial, strict=True))


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_the_exported_generator_follows_g(name):
    for average, live, initial in trained(name):
        assert average is not live
        assert relative_distance(initial, live) > 0.1, "G should move far in this test, or it proves nothing"
        assert relative_distance(average, live) < 0.05, f"{name}: the EMA of G does not follow G"
