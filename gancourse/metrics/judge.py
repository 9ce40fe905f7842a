"""The judge: a small classifier trained on the real data, whose features and predictions the metrics use.

Inception-v3 features need a 100 MB download and were trained on ImageNet photos, not digits. A judge
trained in seconds on the course's own data needs no internet and knows what a digit is; its numbers
are comparable within this course (same judge, same data), not with papers' Inception FIDs.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import ImageSet, to_unit_range
from ..paths import cache_dir
from .cache import data_fingerprint, load_or_train
from .embedding import Embeds

JUDGE_VERSION = 2  # bump whenever the judge's architecture or training changes: it keys the cache


class Judge(Embeds):
    """conv-conv-conv-fc classifier with batch norm; ``features`` is its 128-d penultimate layer."""

    def __init__(self, channels: int = 1, num_classes: int = 10, width: int = 16, feature_dim: int = 128) -> None:
        super().__init__()
        self.config = dict(channels=channels, num_classes=num_classes, width=width, feature_dim=feature_dim)
        self.num_classes = num_classes
        # Batch norm after each conv: the judge learns MNIST better in two short epochs with it than without
        # (docs/performance.md, "Figures behind code choices"); in eval mode it is a fixed affine map, so
        # features stay deterministic.
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(), nn.Linear(2 * width * 16, feature_dim), nn.ReLU(),
        )
        self.classifier = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _float_batches(data: ImageSet, index: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = data.rows(index)
    return to_unit_range(images.to(device)), labels.to(device)


def train_judge(data: ImageSet, *, epochs: int = 2, batch_size: int = 128, max_images: int = 15000,
                lr: float = 5e-3, seed: int = 0, device: torch.device | str = "cpu", progress: bool = True) -> Judge:
    """Train a judge on labelled uint8 images: a few seconds to a minute on a CPU."""
    if data.labels is None or not data.num_classes:
        raise ValueError(f"{data.name} has no labels: a judge classifier needs them")
    from tqdm.auto import tqdm

    device = torch.device(device)
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # training the judge must not shift the caller's random stream
        torch.manual_seed(seed)
        judge = Judge(data.channels, data.num_classes).to(device)
        opt = torch.optim.Adam(judge.parameters(), lr=lr)
        n = min(len(data), max_images)
        steps = epochs * (n // batch_size)
        # One-cycle (warm up, then anneal to ~0): a high peak rate learns fast, the annealed end
        # leaves settled weights; a constant rate ends noisy, a few points of accuracy lower.
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.2)
        bar = tqdm(total=steps, desc=f"training the {data.name} judge", disable=not progress, leave=False)
        for _ in range(epochs):
            perm = torch.randperm(len(data), generator=g)[:n]
            for index in perm.split(batch_size):
                if len(index) < batch_size:
                    continue
                x, y = _float_batches(data, index, device)
                # one-pixel random shifts make the judge robust to slight misplacements of generated images
                # (two pixels cost accuracy and bought nothing)
                x = torch.roll(x, shifts=tuple(torch.randint(-1, 2, (2,), generator=g).tolist()), dims=(2, 3))
                loss = F.cross_entropy(judge(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                schedule.step()
                bar.update(1)
        bar.close()
    return judge.eval()


@torch.no_grad()
def judge_accuracy(judge: Judge, data: ImageSet, n: int = 5000) -> float:
    index = torch.arange(min(n, len(data)))
    images, labels = data.rows(index)
    _, pred = judge.embed(to_unit_range(images))
    return float((pred == labels).float().mean())


def _cache_key(data: ImageSet) -> str:
    safe = data.name.replace("/", "-")
    shape = f"{data.channels}x{data.size}-{len(data)}"
    return f"judge-{safe}-{data.source}-{shape}-{data_fingerprint(data)}-v{JUDGE_VERSION}"


def get_judge(train: ImageSet, test: ImageSet | None = None, *, device: torch.device | str = "cpu",
              progress: bool = True) -> Judge:
    """The judge for ``train``, from the cache when an earlier run trained it (keyed by a data fingerprint)."""
    return load_or_train(cache_dir() / "judges" / f"{_cache_key(train)}.pt", Judge,
                         lambda: train_judge(train, device=device, progress=progress),
                         accuracy=(lambda judge: judge_accuracy(judge, test)) if test is not None else None,
                         device=device)
