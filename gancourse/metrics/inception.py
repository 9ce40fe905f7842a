"""Inception FID, the number papers report: pytorch-fid's Inception network, one download away.

Published FIDs use the TensorFlow Inception graph of Heusel et al. (``inception-2015-12-05``). pytorch-fid
(mseitzer/pytorch-fid, Apache-2.0) ported its weights to PyTorch as ``pt_inception-2015-12-05-6726825d.pth``
(95.6 MB, a GitHub release asset) and rebuilt the network as torchvision's Inception-v3 with three kinds
of patched blocks; :func:`fid_inception_v3` builds the same network here, so FIDs match pytorch-fid's.

- ``gancourse download inception`` fetches the weights into ``<data root>/inception/`` and checks their
  size and full SHA-256 (pinned below). pytorch-fid itself checks nothing: it calls
  ``load_state_dict_from_url`` without ``check_hash``, so the ``6726825d`` in the name is only a label;
- the weights are also found where pytorch-fid keeps them (the torch hub cache), or at ``$GANCOURSE_INCEPTION``;
- nothing is downloaded implicitly: without the file, :func:`inception_fid` returns None and
  :func:`inception_status` names the command. The course's own feature networks
  (:mod:`gancourse.metrics.features`) give FID/KID offline either way.

Images go in as in pytorch-fid: bilinear resize to 299 x 299, values in [-1, 1], features of the final
average pool (2048-d). Grey images are repeated to three channels.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..data.download import fetch_large
from ..paths import data_root
from .scores import fid_from_features

WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_NAME}"
# The release asset's full SHA-256 and size, as published records of the file give them (the name carries
# only the first 8 hex digits, and pytorch-fid downloads without check_hash, so nothing else checks them).
WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
WEIGHTS_SIZE = 95_628_359
DOWNLOAD_COMMAND = "gancourse download inception"
INPUT_SIZE = 299  # what the network was trained at (tests use the smallest it takes, 75, to run fast)
_NET: dict[str, nn.Module] = {}


def weights_path() -> Path:
    """Where ``gancourse download inception`` puts the weights."""
    return data_root() / "inception" / WEIGHTS_NAME


def _candidates() -> list[Path]:
    return [weights_path(), Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_NAME]


def inception_weights() -> Path | None:
    """The local FID Inception weights, or None (``$GANCOURSE_INCEPTION``, the data root, pytorch-fid's cache)."""
    env = os.environ.get("GANCOURSE_INCEPTION")
    if env:
        return Path(env) if Path(env).is_file() else None
    return next((p for p in _candidates() if p.is_file()), None)


def inception_status() -> str:
    """One line for notebooks: whether Inception FID is computed here, and how to get it if not."""
    path = inception_weights()
    if path is not None:
        return f"Inception FID (pytorch-fid's network, the one papers use) is computed too: weights at {path}."
    looked = os.environ.get("GANCOURSE_INCEPTION") or " and ".join(str(p) for p in _candidates())
    return (f"Inception FID skipped: no FID Inception weights here (looked at {looked}). Get them once with "
            f"`{DOWNLOAD_COMMAND}` (96 MB); the course's own feature network gives FID/KID meanwhile.")


def download_inception(root: Path | str | None = None, progress: bool = True) -> Path:
    """Fetch the FID Inception weights into ``<root>/inception/`` (checked, resumable); returns the file."""
    dest = (Path(root) if root is not None else data_root()) / "inception" / WEIGHTS_NAME
    if dest.is_file():
        return dest
    made = not dest.parent.exists()
    try:
        fetch_large(WEIGHTS_URL, dest, sha256=WEIGHTS_SHA256, size=WEIGHTS_SIZE, progress=progress,
                    desc=WEIGHTS_NAME)
    finally:
        if made and not any(dest.parent.iterdir()):
            dest.parent.rmdir()
    return dest


# ---------------------------------------------------------------------------------------------------
# The network: torchvision's Inception-v3 with the blocks patched to behave like the TensorFlow graph
# ---------------------------------------------------------------------------------------------------


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's average pool leaves the zero padding out of the mean
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _patched_blocks():
    from torchvision.models import inception as tv

    class FIDInceptionA(tv.InceptionA):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))], 1)

    class FIDInceptionC(tv.InceptionC):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            d = x
            for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                          self.branch7x7dbl_5):
                d = layer(d)
            return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_tf_avg_pool(x))], 1)

    class FIDInceptionE(tv.InceptionE):
        """``max_pool`` True for the last block: the TF graph max-pools there (pytorch-fid's FIDInceptionE_2)."""

        def __init__(self, in_channels: int, max_pool: bool) -> None:
            super().__init__(in_channels)
            self.max_pool = max_pool

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _tf_avg_pool(x)
            return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pooled)], 1)

    return FIDInceptionA, FIDInceptionC, FIDInceptionE


class FIDInception(nn.Module):
    """Input (N, 3, H, W) in [-1, 1] -> the 2048-d pool features FID is computed on."""

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import inception_v3

        block_a, block_c, block_e = _patched_blocks()
        net = inception_v3(weights=None, num_classes=1008, aux_logits=False, init_weights=False)
        net.Mixed_5b, net.Mixed_5c, net.Mixed_5d = block_a(192, 32), block_a(256, 64), block_a(288, 64)
        net.Mixed_6b, net.Mixed_6c = block_c(768, 128), block_c(768, 160)
        net.Mixed_6d, net.Mixed_6e = block_c(768, 160), block_c(768, 192)
        net.Mixed_7b, net.Mixed_7c = block_e(1280, max_pool=False), block_e(2048, max_pool=True)
        self.net = net

    def load_weights(self, path: Path) -> FIDInception:
        """pytorch-fid's state dict: the keys of torchvision's Inception-v3 with 1008 classes."""
        self.net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        x = F.max_pool2d(n.Conv2d_2b_3x3(n.Conv2d_2a_3x3(n.Conv2d_1a_3x3(x))), kernel_size=3, stride=2)
        x = F.max_pool2d(n.Conv2d_4a_3x3(n.Conv2d_3b_1x1(x)), kernel_size=3, stride=2)
        for block in (n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d,
                      n.Mixed_6e, n.Mixed_7a, n.Mixed_7b, n.Mixed_7c):
            x = block(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def fid_inception_v3(path: Path | None = None) -> FIDInception:
    """The FID Inception network, with pytorch-fid's weights when ``path`` is given (eval mode)."""
    net = FIDInception()
    if path is not None:
        net.load_weights(path)
    return net.eval()


def _network(path: Path) -> nn.Module:
    if str(path) not in _NET:
        _NET[str(path)] = fid_inception_v3(path)
    return _NET[str(path)]


@torch.no_grad()
def inception_features(images: torch.Tensor, path: Path | nn.Module, batch_size: int = 50) -> torch.Tensor:
    """2048-d pool features of float images in [-1, 1] (grey images are repeated to three channels)."""
    net = path if isinstance(path, nn.Module) else _network(path)
    device = next(net.parameters()).device
    out = []
    for chunk in images.split(batch_size):
        x = chunk.float().to(device)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        out.append(net(x).cpu())
    return torch.cat(out)


def inception_fid(real: torch.Tensor, fake: torch.Tensor) -> float | None:
    """FID in Inception space between two float image batches in [-1, 1], or None without the weights."""
    path = inception_weights()
    if path is None:
        return None
    return fid_from_features(inception_features(real, path), inception_features(fake, path))


@torch.no_grad()
def inception_fid_of_generator(generator: nn.Module, real: torch.Tensor, n: int = 0, seed: int = 0,
                               nz: int | None = None) -> float | None:
    """Inception FID of ``n`` samples of an unconditional generator against ``real`` (uint8 or [-1, 1])."""
    if inception_weights() is None:
        return None
    real = real.float() / 127.5 - 1 if real.dtype == torch.uint8 else real.float()
    n = n or len(real)
    nz = nz or getattr(generator, "nz", None) or 100
    device = next(generator.parameters()).device
    z = torch.randn(n, nz, generator=torch.Generator().manual_seed(seed)).to(device)
    was_training = generator.training
    generator.eval()
    fake = torch.cat([generator(chunk).cpu() for chunk in z.split(64)])
    generator.train(was_training)
    return inception_fid(real[:n], fake)
