"""Reference solutions of every exercise, for instructors and for ``gancourse exercises --check-reference``.

Students find the placeholders in the notebooks; these are the answers the checkers are tested against, so
that a change to the package that breaks an exercise is caught by the tests, not by a student.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import linalg
from scipy.stats import rankdata

from ...models.dcgan import MinibatchStdDev
from ...recipes.cyclegan import ImagePool
from .scaffold import CriticExercise, GANExercise, plain_critic_step, plain_gan_step

# -- notebook 01 -------------------------------------------------------------------------------------------

def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


class Generator28(nn.Module):
    """z (B, nz) -> 7x7 map -> 14x14 -> 28x28 image in [-1, 1]."""

    def __init__(self, nz: int = 64, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, 2 * width, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(True),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class Discriminator28(nn.Module):
    """28x28 image -> 14x14 -> 7x7 -> one logit per image."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * width, 1, 7, 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class GAN(GANExercise):
    def step(self, batch):
        return plain_gan_step(self, batch)


def fid(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) between Gaussians fitted to the features."""
    mu_r, mu_f = real_features.mean(axis=0), fake_features.mean(axis=0)
    s_r, s_f = np.cov(real_features, rowvar=False), np.cov(fake_features, rowvar=False)
    covmean = linalg.sqrtm(s_r @ s_f).real  # sqrtm may return tiny imaginary parts from rounding
    return float(((mu_r - mu_f) ** 2).sum() + np.trace(s_r + s_f - 2 * covmean))


def kid(real_features: torch.Tensor, fake_features: torch.Tensor) -> float:
    """Unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3: the diagonals k(x_i, x_i) are left out."""
    x, y = real_features.double(), fake_features.double()
    n, m, d = len(x), len(y), x.shape[1]
    k_xx, k_yy, k_xy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
    within_real = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
    within_fake = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within_real + within_fake - 2 * k_xy.mean())


# -- notebook 02 -------------------------------------------------------------------------------------------

def translate(images: torch.Tensor, max_shift: float = 0.125) -> torch.Tensor:
    """Each image shifted by its own random (dx, dy), zero-filled: pad, then crop a window per image."""
    b, _, h, w = images.shape
    s = round(max_shift * h)
    padded = F.pad(images, (s, s, s, s))
    dx, dy = torch.randint(-s, s + 1, (b,)), torch.randint(-s, s + 1, (b,))
    rows = (torch.arange(h)[None, :] + s + dy[:, None])  # (B, H)
    cols = (torch.arange(w)[None, :] + s + dx[:, None])  # (B, W)
    batch = torch.arange(b)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def nearest_neighbours(queries: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    return torch.cdist(queries, references).argmin(dim=1)


def r1_penalty(D: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """mean over the batch of ||grad_x D(x)||^2 at the real images (the caller multiplies by gamma / 2)."""
    real = real.detach().requires_grad_(True)
    scores = D(real)
    (grad,) = torch.autograd.grad(scores.sum(), real, create_graph=True)  # create_graph: D learns from it
    return grad.flatten(1).pow(2).sum(dim=1).mean()


# -- notebook 03 -------------------------------------------------------------------------------------------

def kl_from_uniform(predicted: np.ndarray, num_classes: int) -> float:
    p = np.bincount(predicted, minlength=num_classes) / len(predicted)
    p = p[p > 0]
    return float(np.sum(p * np.log(p * num_classes)))


MinibatchStd = MinibatchStdDev  # the package's own layer is the reference


# -- notebook 04 -------------------------------------------------------------------------------------------

def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    eps = torch.rand(real.shape[0], 1, 1, 1)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class WGANGP(CriticExercise):
    def step(self, batch):
        return plain_critic_step(self, batch)


# -- notebook 05 -------------------------------------------------------------------------------------------

def per_class_accuracy(predicted: torch.Tensor, requested: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.stack([(predicted[requested == c] == c).float().mean() for c in range(num_classes)])


def projection_logits(features: torch.Tensor, labels: torch.Tensor, psi: nn.Linear, embed: nn.Embedding
                      ) -> torch.Tensor:
    """psi(phi(x)) + <embed(y), phi(x)>: how real the image looks, plus how well it matches its label."""
    return psi(features).squeeze(1) + (embed(labels) * features).sum(dim=1)


# -- notebook 06 -------------------------------------------------------------------------------------------

def lsgan_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Real patches pulled towards 1, fakes towards 0, by squared distances; CycleGAN halves it."""
    return 0.5 * (((real_logits - 1) ** 2).mean() + (fake_logits**2).mean())


def receptive_field(layers: list[tuple[int, int]]) -> int:
    """Walking back from the last layer: one unit sees `kernel` positions of its input, spaced `stride` apart."""
    r = 1
    for kernel, stride in reversed(layers):
        r = r * stride + (kernel - stride)
    return r


def cyclegan_generator_loss(G_AB, G_BA, D_A, D_B, real_a, real_b, lambda_cycle, lambda_identity):
    fake_b, fake_a = G_AB(real_a), G_BA(real_b)
    adversarial = ((D_A(fake_a) - 1) ** 2).mean() + ((D_B(fake_b) - 1) ** 2).mean()
    cycle = (G_BA(fake_b) - real_a).abs().mean() + (G_AB(fake_a) - real_b).abs().mean()
    identity = (G_BA(real_a) - real_a).abs().mean() + (G_AB(real_b) - real_b).abs().mean()
    return adversarial + lambda_cycle * cycle + lambda_identity * lambda_cycle * identity


class Pool(ImagePool):
    """The package's pool is the reference answer."""


# -- notebook 07 -------------------------------------------------------------------------------------------

def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = rankdata(x), rankdata(y)
    return float(np.corrcoef(rx, ry)[0, 1])
