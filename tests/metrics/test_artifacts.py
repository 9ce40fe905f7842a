import pytest
import torch

from gancourse.metrics.artifacts import checkerboard_energy


def test_checkerboard_energy_sees_a_period_2_grid():
    smooth = torch.cos(torch.arange(16) * 2 * torch.pi / 16).repeat(4, 3, 16, 1)  # one slow wave
    grid = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 0.2
    assert checkerboard_energy(smooth) < 1e-3
    assert checkerboard_energy(smooth + grid) > 0.015  # the grid holds 1/51 of the energy here
    with pytest.raises(ValueError, match="multiples of period=2"):
        checkerboard_energy(torch.zeros(1, 1, 15, 16))


def test_period_8_sees_tiles_that_period_2_misses():
    # A tile repeated every 8 pixels holds energy at multiples of 1/8 of the frequency range, not at period 2
    # alone; the slow wave (period 32) holds none at either.
    rng = torch.Generator().manual_seed(0)
    tile = torch.rand(8, 8, generator=rng)
    tiled = tile.repeat(4, 4).expand(2, 3, 32, 32)
    wave = torch.cos(torch.arange(32) * 2 * torch.pi / 32).repeat(2, 3, 32, 1)
    assert checkerboard_energy(tiled, period=8) == pytest.approx(1.0, abs=1e-5)  # all of it repeats every 8 px
    assert checkerboard_energy(tiled, period=2) < 0.5  # only part of a random tile alternates every pixel
    assert checkerboard_energy(wave, period=8) < 1e-6 and checkerboard_energy(wave, period=2) < 1e-6
    noise = torch.randn(16, 3, 32, 32, generator=rng)
    assert checkerboard_energy(noise, period=8) == pytest.approx(63 / 1024, rel=0.15)  # (8^2 - 1) / (H W)
    assert checkerboard_energy(noise, period=8) > checkerboard_energy(noise, period=4) > checkerboard_energy(noise)
    with pytest.raises(ValueError, match="period=8"):
        checkerboard_energy(torch.zeros(1, 1, 36, 36), period=8)
