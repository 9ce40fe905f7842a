import pytest
import torch

from gancourse.metrics.two_sample import two_sample_accuracy


def test_two_sample_test_is_at_chance_on_one_distribution_and_separates_two():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(96, 3, 16, 16, generator=g) * 2 - 1, torch.rand(96, 3, 16, 16, generator=g) * 2 - 1
    same = two_sample_accuracy(a, b, folds=3, epochs=15, seed=0)
    grid = ((torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 0.6 - 0.3)
    different = two_sample_accuracy(a, (b * 0.5 + grid).clamp(-1, 1), folds=3, epochs=15, seed=0)
    assert 0.3 < same["c2st_acc"] < 0.7
    assert different["c2st_acc"] > 0.9
    state = torch.get_rng_state()
    two_sample_accuracy(a, b, folds=2, epochs=1, seed=1)
    assert torch.equal(state, torch.get_rng_state())  # leaves the caller's randomness alone
    with pytest.raises(ValueError, match="folds"):
        two_sample_accuracy(a[:3], b[:3], folds=4)
