"""Checkers for networks and layers a student writes: a generator and a discriminator for 28 px, the
minibatch standard-deviation layer, and CycleGAN's image pool.

Networks are checked by behaviour, not by matching the package's: output shape and range, that the output
depends on the input, a parameter count in a sensible band, and that the gradient reaches every layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from ...models.dcgan import MinibatchStdDev
from ._common import Attempt, call, close, guarded

PARAMETER_BAND = (20_000, 20_000_000)  # a 28 px GAN network that can draw digits and still trains on a CPU


def _build(factory: Callable[..., Any], *args: Any) -> Any:
    module = call(factory, *args)
    if not isinstance(module, nn.Module):
        raise Attempt(f"expected an nn.Module, got {type(module).__name__}")
    return module


def _parameter_band(module: nn.Module, who: str) -> str | None:
    count = sum(p.numel() for p in module.parameters())
    low, high = PARAMETER_BAND
    if count < low:
        return f"{who} has {count:,} parameters: too few to draw digits (aim for {low:,} to a few million)"
    if count > high:
        return f"{who} has {count:,} parameters: far more than 28 px needs, and slow on a CPU"
    return None


def _dead_parameters(module: nn.Module) -> list[str]:
    return [name for name, p in module.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]


def _learning_hint(module: nn.Module, who: str, out: torch.Tensor, loss: torch.Tensor) -> str | None:
    """Why ``module`` could not learn from ``loss`` (computed from its output ``out``): a parameter count out of
    the band, an output cut from the graph, or parameters the gradient of ``loss`` does not reach."""
    hint = _parameter_band(module, who)
    if hint:
        return hint
    module.zero_grad()
    if not out.requires_grad:
        return f"{who}'s output carries no gradient: no .detach() or torch.no_grad() in forward()"
    loss.backward()
    dead = _dead_parameters(module)
    if dead:
        return f"{who}'s gradient does not reach {', '.join(dead[:3])}: is every layer used in forward()?"
    return None


def check_generator_module(factory: Callable[..., nn.Module], nz: int = 64) -> bool:
    """A generator for 28 px: ``factory(nz)`` builds it; ``G(z (B, nz)) -> (B, 1, 28, 28)`` in [-1, 1]."""

    def body() -> str | None:
        torch.manual_seed(0)
        G = _build(factory, nz)
        G.train()
        z = torch.randn(16, nz)
        out = call(G, z)
        if not isinstance(out, torch.Tensor) or out.shape != (16, 1, 28, 28):
            return (f"G(z) with z of shape (16, {nz}) should return (16, 1, 28, 28), got "
                    f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}: project z to a "
                    f"7x7 map, then two stride-2 transposed convolutions (7 -> 14 -> 28)")
        big = call(G, torch.randn(16, nz) * 10)
        if out.min() < -1 - 1e-6 or out.max() > 1 + 1e-6 or big.min() < -1 - 1e-6 or big.max() > 1 + 1e-6:
            return "images must lie in [-1, 1], like the data: end with nn.Tanh()"
        if bool(out.min() >= -1e-6) and bool(big.min() >= -1e-6):
            return "no output is negative: a sigmoid gives [0, 1], but the data is in [-1, 1]: end with nn.Tanh()"
        if close(out[0], out[1], tol=1e-5) and close(out[2], out[3], tol=1e-5):
            return "every z gives the same image: the output must depend on z"
        return _learning_hint(G, "G", out, out.mean())

    return guarded("generator for 28 px", body, solution="Generator28")


def check_discriminator_module(factory: Callable[[], nn.Module]) -> bool:
    """A discriminator for 28 px: ``factory()`` builds it; ``D(x (B, 1, 28, 28)) -> (B,)`` raw logits."""

    def body() -> str | None:
        torch.manual_seed(0)
        D = _build(factory)
        D.train()
        x = (torch.rand(16, 1, 28, 28) * 2 - 1).requires_grad_(True)
        out = call(D, x)
        if not isinstance(out, torch.Tensor):
            return f"D(x) should return a tensor of logits, got {type(out).__name__}"
        if out.shape != (16,):
            if out.numel() == 16:
                return (f"D(x) has shape {tuple(out.shape)}: return one logit per image, shape (B,) "
                        f"(.flatten() or .view(-1))")
            return (f"D(x) on a batch of 16 should return 16 logits, got shape {tuple(out.shape)}: two stride-2 "
                    f"convolutions (28 -> 14 -> 7), then one logit per image")
        extreme = call(D, torch.sign(torch.randn(16, 1, 28, 28)) * 50)
        if bool((out > 0).all() and (out < 1).all() and (extreme >= 0).all() and (extreme <= 1).all()):
            return ("the outputs look like probabilities: return raw logits (no nn.Sigmoid at the end); the losses "
                    "apply the sigmoid in a numerically stable way")
        hint = _learning_hint(D, "D", out, out.sum())
        if hint:
            return hint
        if x.grad is None or not bool(x.grad.abs().sum() > 0):
            return "no gradient reaches the input image, so G could not learn from D"
        return None

    return guarded("discriminator for 28 px", body, solution="Discriminator28")


def _reference_std(x: torch.Tensor, group_size: int, contiguous: bool) -> torch.Tensor:
    b, c, h, w = x.shape
    g = min(group_size, b)
    while b % g:
        g -= 1
    if not contiguous:
        return MinibatchStdDev(group_size)(x)
    y = x.reshape(-1, g, c, h, w)  # groups of consecutive samples
    std = (y.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
    return torch.cat([x, std.repeat_interleave(g)[:, None, None, None].expand(b, 1, h, w)], dim=1)


def check_minibatch_std(factory: Callable[[int], nn.Module]) -> bool:
    """The minibatch standard-deviation layer (Karras et al. 2018): ``factory(group_size)`` builds it;
    ``layer(x (B, C, H, W)) -> (B, C + 1, H, W)``: x and one more channel holding, for each sample, the mean
    over (C, H, W) of the standard deviation across the samples of its group.

    Groups of ``group_size`` samples (fewer when B is smaller), either i, i + B/g, ... (the package's,
    StyleGAN's) or consecutive samples. The population std (``unbiased=False``) with 1e-8 inside the root.
    """

    def body() -> str | None:
        g = torch.Generator().manual_seed(11)
        layer = _build(factory, 4)
        for b in (8, 12, 2):
            x = torch.randn(b, 5, 3, 3, generator=g) * torch.rand(b, 1, 1, 1, generator=g) * 3
            out = call(layer, x.clone())
            if not isinstance(out, torch.Tensor) or out.shape != (b, 6, 3, 3):
                return (f"for x of shape {tuple(x.shape)} expected ({b}, 6, 3, 3): x with one extra channel "
                        f"(torch.cat([x, std_channel], dim=1)), got "
                        f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
            if not close(out[:, :5], x, tol=1e-6):
                return "the first C channels must be x itself, unchanged"
            if any(close(out, _reference_std(x, 4, contiguous), tol=1e-4) for contiguous in (False, True)):
                continue
            extra = out[:, 5]
            if not bool((extra == extra[:, :1, :1]).all()):
                return "the extra channel holds one value per sample, the same at every pixel (expand it over H, W)"
            per_sample = x.flatten(1).std(dim=1, unbiased=False)
            if close(extra[:, 0, 0], per_sample, tol=1e-4) or close(extra[:, 0, 0], x.flatten(1).std(dim=1), tol=1e-4):
                return ("that is each sample's own spread: the std must run *across the samples* of a group (dim 0), "
                        "which is what shows D that the fakes look alike")
            for contiguous in (False, True):
                y = x.reshape(-1, min(4, b), 5, 3, 3) if contiguous else x.reshape(min(4, b), -1, 5, 3, 3)
                unbiased = (y.var(dim=1 if contiguous else 0, unbiased=True) + 1e-8).sqrt().mean(dim=(1, 2, 3))
                if close(torch.sort(extra[:, 0, 0]).values.unique(), torch.sort(unbiased).values.unique(), tol=1e-4):
                    return "use the population std (unbiased=False), as the layer's reference does"
            whole = (x.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
            if close(extra[:, 0, 0], whole.expand(b), tol=1e-4):
                return "that is the std over the whole batch: split it into groups of group_size (4) samples"
            return ("for each group of samples: std across the group (dim 0, unbiased=False, + 1e-8 inside the root), "
                    "averaged over (C, H, W), one value per group, repeated for its samples")
        return None

    return guarded("minibatch standard deviation", body, solution="MinibatchStd")


def check_image_pool(factory: Callable[[int], Any]) -> bool:
    """CycleGAN's image pool: ``factory(size)`` builds it; ``pool.query(images) -> images`` of the same shape.

    While fewer than ``size`` images are stored, it stores each new image and returns it. Once full, each new
    image is, with probability 1/2, swapped for a random stored one (the new image takes its place in the
    pool, the old one is returned), else returned as is. ``size=0``: returns its input.
    """

    def body() -> str | None:
        with torch.random.fork_rng(devices=[]):  # a fixed draw, without touching the notebook's random stream
            torch.manual_seed(0)
            return _pool_hint(call(factory, 10), 10, factory)

    return guarded("image pool", body, solution="Pool")


def _pool_hint(pool: Any, size: int, factory: Callable[[int], Any]) -> str | None:
    """None if ``pool`` behaves like CycleGAN's image pool of ``size`` on a stream of numbered images, else a hint."""
    if not hasattr(pool, "query"):
        return "the pool needs a query(images) method"
    seen, returned_old, swaps, total = 0, [], 0, 0
    for _ in range(60):
        ids = torch.arange(seen, seen + 4, dtype=torch.float32)
        images = ids[:, None, None, None].expand(4, 1, 2, 2).clone().requires_grad_(True)
        out = call(pool.query, images)
        if not isinstance(out, torch.Tensor) or out.shape != images.shape:
            return f"query must return a batch of the input's shape {tuple(images.shape)}"
        if out.requires_grad:
            return "the pool's images must be detached (images.detach()): D's update must not reach G"
        out_ids = out[:, 0, 0, 0].round().long().tolist()
        for i, got in enumerate(out_ids):
            new = int(ids[i])
            if new < size:
                if got != new:
                    return "while the pool is filling, store each new image and return it unchanged"
                continue
            total += 1
            if got == new:
                continue
            if got > new or got < 0:
                return "query returned an image it was never given"
            swaps += 1
            returned_old.append(got)
        seen += 4
    if swaps == 0:
        return ("once the pool is full, half of the time swap a new image for a random stored one and return "
                "the stored one: the discriminator must see some older fakes")
    if len(set(returned_old)) < len(returned_old):
        return ("a stored image came back twice: when you return a stored image, put the new one in its place "
                "in the pool")
    rate = swaps / total
    if not 0.3 <= rate <= 0.7:
        return f"{rate:.0%} of the images were swapped for stored ones: swap each with probability 1/2"
    empty = call(factory, 0)
    x = torch.randn(3, 1, 2, 2)
    out = call(empty.query, x)
    if not isinstance(out, torch.Tensor) or not close(out, x):
        return "a pool of size 0 returns its input unchanged"
    return None
