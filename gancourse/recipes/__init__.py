"""Recipes by name: ``build_recipe("dcgan", config, device)``. Each recipe is one GAN flavour."""

from __future__ import annotations

import torch

from .base import Recipe
from .dcgan import DCGAN, GANConfig

RECIPES: dict[str, type[Recipe]] = {"dcgan": DCGAN}


def recipe_class(name: str) -> type[Recipe]:
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def build_recipe(name: str, config, device: torch.device | str = "cpu") -> Recipe:
    return recipe_class(name)(config, device)


__all__ = ["DCGAN", "GANConfig", "RECIPES", "Recipe", "build_recipe", "recipe_class"]
