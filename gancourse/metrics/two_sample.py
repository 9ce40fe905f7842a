"""A classifier two-sample test: can a small CNN, trained from scratch, tell generated images from real ones?

Feature-network metrics (FID, KID) only see what their network learnt to look at; a network trained
to recognise painters can be lenient about blur, blobs and checkerboards. A classifier trained for this
one question looks at whatever differs (Lopez-Paz & Oquab 2017). Its cross-validated accuracy is 0.5
when the two sets are indistinguishable to it and 1.0 when it separates them every time.

Both sets are quantised to uint8 first, so the generated images cannot be told apart by their extra
precision alone. Every fold trains a fresh network with its own seed; the result is the mean and
spread of the held-out fold accuracies.

A small network trained briefly learns the easiest difference first, and between photos and paintings
that is the palette: mapping the photos' colours onto Monet's (one lookup table, no stroke changed)
moves its verdict as far as notebook 06's near-identity translations did (benchmarks/two_sample_check.py).
So a translation is compared with two baselines: the photos as they are, and the photos given the target's
palette by :func:`palette_matched`; only a translation closer than both has more than the palette in it.
``palette=False`` asks the same from the other side: each image is standardised per channel first, so
mostly strokes, edges and texture are left to tell the sets apart.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import to_uint8, to_unit_range


class TwoSampleNet(nn.Module):
    """Four stride-2 convolutions, global average pooling, one logit: small enough for a CPU, any size >= 16."""

    def __init__(self, channels: int = 3, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(4):
            c_out = width * 2 ** min(i, 2)
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3))).flatten()


def _as_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 or float in [-1, 1] -> float in [-1, 1], quantised to 256 levels."""
    uint8 = images if images.dtype == torch.uint8 else to_uint8(images)
    return to_unit_range(uint8)


def palette_matched(images: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``images`` with ``target``'s palette, as uint8 (both given as uint8 or [-1, 1] floats): each channel's
    pooled histogram mapped onto the target's by one lookup table for the whole set, so every colour moves
    and no stroke, edge or texture does."""
    images, target = (x if x.dtype == torch.uint8 else to_uint8(x) for x in (images, target))
    out = torch.empty_like(images)
    for c in range(images.shape[1]):
        cdf = [torch.bincount(x[:, c].flatten().long(), minlength=256).double().cumsum(0) for x in (images, target)]
        table = torch.searchsorted(cdf[1] / cdf[1][-1], cdf[0] / cdf[0][-1]).clamp(max=255).to(torch.uint8)
        out[:, c] = table[images[:, c].long()]
    return out


def without_palette(images: torch.Tensor) -> torch.Tensor:
    """Each image standardised per channel (zero mean, unit contrast): its colours and brightness gone, its
    strokes and texture kept. The floor on the contrast keeps flat images flat instead of amplifying noise."""
    mean = images.mean(dim=(2, 3), keepdim=True)
    std = images.std(dim=(2, 3), keepdim=True)
    return (images - mean) / (std + 0.05)


def two_sample_accuracy(real: torch.Tensor, fake: torch.Tensor, *, folds: int = 4, epochs: int = 15,
                        batch_size: int = 32, lr: float = 1e-3, width: int = 16, seed: int = 0,
                        palette: bool = True) -> dict[str, float]:
    """Cross-validated accuracy of telling ``real`` from ``fake`` (each (N, C, H, W), uint8 or [-1, 1] floats).

    The two sets are cut to the same size, so 0.5 is chance. Returns ``c2st_acc`` (mean over folds) and
    ``c2st_std`` (their standard deviation); each fold trains a new :class:`TwoSampleNet` for ``epochs``
    passes over the other folds, with random horizontal flips. ``palette=False``: every image loses its own
    per-channel mean and contrast first, so a global gain or shift cannot move the answer and a palette change
    moves it less.
    """
    n = min(len(real), len(fake))
    if n < 2 * folds:
        raise ValueError(f"need at least {2 * folds} images of each set for {folds} folds, got {n}")
    g = torch.Generator().manual_seed(seed)
    real = _as_unit(real[torch.randperm(len(real), generator=g)[:n]])
    fake = _as_unit(fake[torch.randperm(len(fake), generator=g)[:n]])
    x = torch.cat([real, fake])
    if not palette:
        x = without_palette(x)
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    order = torch.randperm(2 * n, generator=g)
    x, y = x[order], y[order]
    fold_of = torch.arange(2 * n) % folds
    accuracies = []
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        accuracies.append(_fit_and_score(x[train], y[train], x[test], y[test], epochs=epochs,
                                         batch_size=batch_size, lr=lr, width=width, seed=seed * 1000 + k))
    acc = torch.tensor(accuracies)
    return {"c2st_acc": float(acc.mean()), "c2st_std": float(acc.std()) if folds > 1 else 0.0}


def _fit_and_score(x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor, *, epochs: int,
                   batch_size: int, lr: float, width: int, seed: int) -> float:
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # leaves the caller's random streams untouched
        torch.manual_seed(seed)
        net = TwoSampleNet(x.shape[1], width)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    for _ in range(epochs):
        for index in torch.randperm(len(x), generator=g).split(batch_size):
            if len(index) < 2:
                continue  # batch norm needs two samples
            batch = x[index]
            flip = torch.rand(len(index), generator=g) < 0.5
            batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
            loss = F.binary_cross_entropy_with_logits(net(batch), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    net.eval()
    with torch.no_grad():
        predicted = torch.cat([net(chunk) for chunk in x_test.split(256)]) > 0
    return float((predicted == y_test.bool()).float().mean())
