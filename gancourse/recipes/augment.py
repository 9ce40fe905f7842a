"""Differentiable augmentation of everything D sees (DiffAugment, Zhao et al. 2020).

With a few hundred training images D memorises them and its verdict stops carrying information to G.
Augmenting only the real images would teach G to draw the augmentations (translated, cut-out images);
DiffAugment applies the same random transform family T to *real and fake* images, in *both* D's and
G's updates, and every transform is differentiable so G's gradient flows through T. D then judges
``T(x)`` and can no longer memorise the exact pixels of the training set.

A policy is a comma-separated list of transform groups, as in mit-han-lab/data-efficient-gans:

- ``color``: random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5), per image;
- ``translation``: shift by up to 1/8 of the size in each direction, zero-filled, per image;
- ``cutout``: zero a square of half the size at a random position, per image.

Every call draws fresh parameters from torch's global generator (checkpoints save it, so a resumed
run draws the same), one draw per image. Images are float tensors in [-1, 1], shape (B, C, H, W).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Transform = Callable[[torch.Tensor], torch.Tensor]


def _uniform(x: torch.Tensor) -> torch.Tensor:
    """One U(0, 1) draw per image, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)


def brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (_uniform(x) - 0.5)


def saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_uniform(x) * 2) + mean


def contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size, filling what comes in with zeros (mid-grey)."""
    b, _, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (b, 1), device=x.device)
    dx = torch.randint(-max_dx, max_dx + 1, (b, 1), device=x.device)
    rows = torch.arange(h, device=x.device)[None, :] - dy  # (B, H): the source row of each output row
    cols = torch.arange(w, device=x.device)[None, :] - dx
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]  # (B, H, W)
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    # gather is differentiable: each output pixel is one input pixel (or zero outside)
    out = x.gather(2, rows[:, None, :, None].expand(b, x.shape[1], h, w))
    out = out.gather(3, cols[:, None, None, :].expand(b, x.shape[1], h, w))
    return out * inside[:, None].to(x.dtype)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of ``ratio`` times the size at a random centre (partly outside the image allowed)."""
    b, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - size_y % 2), (b, 1), device=x.device)
    cx = torch.randint(0, w + (1 - size_x % 2), (b, 1), device=x.device)
    rows = torch.arange(h, device=x.device)[None, :]
    cols = torch.arange(w, device=x.device)[None, :]
    in_y = (rows >= cy - size_y // 2) & (rows < cy - size_y // 2 + size_y)
    in_x = (cols >= cx - size_x // 2) & (cols < cx - size_x // 2 + size_x)
    keep = ~(in_y[:, :, None] & in_x[:, None, :])
    return x * keep[:, None].to(x.dtype)


POLICIES: dict[str, tuple[Transform, ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def parse_policy(policy: str | Sequence[str]) -> tuple[str, ...]:
    """``"color, translation"`` (or a list of names, as a command line's ``a,b`` arrives) -> ("color",
    "translation"); "" -> (); unknown names raise, naming the choices."""
    parts = policy.split(",") if isinstance(policy, str) else [str(p) for p in policy]
    names = tuple(p.strip() for p in parts if p.strip())
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment transform {', '.join(map(repr, unknown))}; "
                         f"a policy is a comma-separated list of {', '.join(POLICIES)} "
                         "(e.g. 'color,translation,cutout')")
    return names


def normalise_policy(policy: str | Sequence[str]) -> str:
    """The policy as a config stores it: names joined by commas, checked."""
    return ",".join(parse_policy(policy))


class DiffAugment:
    """``augment(images)``: the policy's transforms with fresh random parameters; identity when the policy is empty.

    ``bool(augment)`` is False for the empty policy, so a recipe skips the call (and its cost) entirely.
    """

    def __init__(self, policy: str | Sequence[str] = "") -> None:
        self.policy = ",".join(parse_policy(policy))
        self.transforms = [t for name in parse_policy(policy) for t in POLICIES[name]]

    def __bool__(self) -> bool:
        return bool(self.transforms)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        return f"DiffAugment({self.policy!r})"


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """Functional form: ``diff_augment(images, "color,translation,cutout")``."""
    return DiffAugment(policy)(x)
