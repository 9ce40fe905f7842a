"""Recipes by name: ``build_recipe("dcgan", config, device)``. Each recipe is one GAN flavour."""

from __future__ import annotations

import torch

from .base import Recipe
from .cgan import ACGAN, CGAN
from .cyclegan import CycleGAN, CycleGANConfig
from .dcgan import DCGAN, GANConfig
from .fastgan import FastGAN, FastGANConfig
from .wgan import WGAN, WGANGP, WGANConfig, WGANGPConfig

RECIPES: dict[str, type[Recipe]] = {"dcgan": DCGAN}
RECIPES.update({"wgan": WGAN, "wgan-gp": WGANGP, "cgan": CGAN, "acgan": ACGAN})
RECIPES["fastgan"] = FastGAN
RECIPES["cyclegan"] = CycleGAN


def recipe_class(name: str) -> type[Recipe]:
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def build_recipe(name: str, config, device: torch.device | str = "cpu") -> Recipe:
    return recipe_class(name)(config, device)


__all__ = ["ACGAN", "CGAN", "CycleGAN", "CycleGANConfig", "DCGAN", "FastGAN", "FastGANConfig", "GANConfig", "RECIPES",
           "Recipe", "WGAN", "WGANConfig", "WGANGP", "WGANGPConfig", "build_recipe", "recipe_class"]
