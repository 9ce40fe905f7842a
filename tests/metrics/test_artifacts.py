import pytest
import torch

from gancourse.metrics.artifacts import checkerboard_energy


def test_checkerboard_energy_sees_a_period_2_grid():
    smooth = torch.cos(torch.arange(16) * 2 * torch.pi / 16).repeat(4, 3, 16, 1)  # one slow wave
    grid = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 0.2
    assert checkerboard_energy(smooth) < 1e-3
    assert checkerboard_energy(smooth + grid) > 0.015  # the grid holds 1/51 of the energy here
    with pytest.raises(ValueError, match="even"):
        checkerboard_energy(torch.zeros(1, 1, 15, 16))
