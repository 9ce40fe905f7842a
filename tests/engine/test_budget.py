import time

import torch

from gancourse.engine.budget import equal_time_steps, measure_step_rate

from ..helpers import SMALL, blob_images


def test_equal_time_steps_fills_the_same_seconds_with_each_recipes_rate():
    assert equal_time_steps({"dcgan": 4.0, "wgan-gp": 0.5}, 10) == {"dcgan": 40, "wgan-gp": 5}
    assert equal_time_steps({"slow": 0.01}, 10, minimum=3) == {"slow": 3}  # never below the minimum


def test_measuring_a_step_rate_does_not_change_the_random_stream():
    data = blob_images(64)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    rate = measure_step_rate("dcgan", data, batch_size=16, steps=2, device="cpu", **SMALL)
    assert rate > 0
    assert torch.equal(torch.rand(3), expected)


def test_a_step_rate_is_timed_for_at_least_the_seconds_asked():
    data = blob_images(64)
    start = time.perf_counter()
    rate = measure_step_rate("dcgan", data, batch_size=16, steps=1, seconds=0.5, device="cpu", **SMALL)
    assert time.perf_counter() - start >= 0.5  # one step of this tiny DCGAN takes milliseconds
    assert rate > 0
